"""A claim's subject, read by the code from the claim's own words and the text before them.

A small model names one subject and copies it onto every claim of a request ("the Lyon
metropolitan authority" for "the stadium will grow to 62,000 seats"); a claim made by the code has
no subject at all. Both get theirs here, by rules a reader applies without thinking:

1. **A name at the head of the claim is its subject**: "La Métropole en apportera 180 millions" is
   about the Métropole, once the words before the subject are set aside ("Selon l'Élysée, ce
   sommet ...", "Mais la Région ...", a wire dateline).
2. **A noun phrase stands for the name it was attached to before**: "le stade" is the "stade du
   Grand Large" the article named, "the stadium" its "Grand Large stadium", "ce sommet" the
   "sommet Choose France".
3. **A name between commas after a noun is the subject**: "Le président de Microsoft, Brad Smith,
   a déclaré".
4. **What was said is about its own subject**: "Club president X said the stadium would host six
   matches" is about the stadium ("a précisé que le stade ...").
5. **A side of a project is about the facility named before it**: "Les travaux", "le
   financement", "Construction", "pour un coût de" (``ASPECT_NOUNS`` in the lexicon) name no thing
   of their own; with nothing attached to them they are about the last facility the article named
   ("stade du Grand Large", ``FACILITY_NOUNS``).
6. **A pronoun opening a sentence stands for the previous sentence's subject** ("La Ville en sera
   le maître d'ouvrage. Elle financera 40 %"), as the code reads that subject.

Where none of them names one (a relative clause, a head with nothing attached to it), the
proposed subject is kept: the model's, or for a code-made claim the nearest model claim's.

A word counts as a name only if the article writes it capitalised somewhere other than at the
start of a sentence ("Microsoft", "Grand Large"), after an elided French article ("L'État": French
writes "l'entreprise" in lower case), or all in capitals ("LRFC"): "Construction" or "Public" at
the head of a sentence are not names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property

from .. import lexicon
from ..lexicon import fold
from ..models import Article, Sentence, Span
from ..normalize import NAME_WORD, places_in

__all__ = ["Subjects"]

_WORD = r"[\w’'-]+"
_CAPITAL = r"[A-ZÀ-ÖØ-Þ]"
_LINKS = lexicon.alternation(lexicon.NAME_LINKS)
_LINK = re.compile(rf"(?:{_LINKS})", re.I)
#: A run of capitalised words, linked by "de", "du", "of"... ("Métropole de Lyon", "Grand Large"):
#: at most eight words, since a name is short and a bound keeps every search linear in the text.
_NAME = re.compile(rf"{NAME_WORD}(?:[ \u00a0]+(?:(?:{_LINKS})[ \u00a0]*)?{NAME_WORD}){{0,7}}")
_HEAD = r"(?P<head>[a-zà-öø-ÿ][\w-]{2,})"
#: A thing attached to a name: "stade du Grand Large", "Grand Large stadium", "Voltéra's plant".
_THINGS = [
    re.compile(rf"(?<!\w){_HEAD}[ \u00a0]+(?:{_LINKS})[ \u00a0]*[«\"“]?[ \u00a0]*(?P<name>{_NAME.pattern})"),
    # in English the name comes first; a one-word name only with "'s" (not "French port")
    re.compile(rf"(?P<name>{_NAME.pattern})(?P<s>['’]s)?[ \u00a0]+{_HEAD}"),
    # a noun set before a name ("battery maker Voltéra", "le constructeur Norvane"), or with an
    # adjective between ("le sommet annuel Choose France", "le groupe américain Microsoft")
    re.compile(rf"(?<!\w){_HEAD}[ \u00a0]+(?P<name>{_NAME.pattern})"),
    re.compile(rf"(?<!\w){_HEAD}[ \u00a0]+[a-zà-öø-ÿ][\w-]{{2,}}[ \u00a0]+(?P<name>{_NAME.pattern})"),
]

_OPENER = re.compile(
    rf"^(?:{lexicon.alternation(lexicon.LEAD_OPENERS)})\b[^,;:]{{0,90}}[,;:]\s*",
    re.I,
)
_JOINER = re.compile(rf"^(?:{lexicon.alternation(lexicon.LEAD_JOINERS)})\b[\s,]*", re.I)
_DETERMINER = re.compile(rf"^(?:{lexicon.alternation(lexicon.NP_DETERMINERS)})(?:\b|(?<=['’]))\s*", re.I)
_PRONOUN = re.compile(
    rf"^(?:qu['’]\s*)?(?:{lexicon.alternation(lexicon.SUBJECT_PRONOUNS + lexicon.RELATIVE_PRONOUNS)})\b", re.I
)
_PUNCTUATION = re.compile(r"^[\s«»\"“”‘’'(\[—–-]+")
#: A wire dateline before the first sentence ("LYON (AFP) -", "DUNKIRK, France, March 9 (Reuters) -").
_DATELINE = re.compile(r"^[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ' .-]{2,}(?:,[^()\n]{0,40})?\s*\([^)\n]{1,30}\)\s*[-–—]+\s*")
#: Words that are never a head noun.
_NOT_HEADS = frozenset(lexicon.SUBJECT_STOPWORDS | lexicon.ENTITY_STOPWORDS)
#: A capitalised word after something that does not end a sentence: a name.
_MID_SENTENCE = re.compile(
    rf"(?<=[\w,;:)’'%»\"][ \u00a0])({_CAPITAL}[\w’'-]*)|(?<=[\w,;:)%][ \u00a0]\()({_CAPITAL}[\w’'-]*)"
)
#: A capitalised word after an elided French article ("L'État", "l'Élysée").
_ELIDED_NAME = re.compile(rf"(?<!\w)[LlDd]['’]({_CAPITAL}[\w-]*)")
#: A noun phrase, then a name between commas: the name is the subject ("Le président de
#: Microsoft, Brad Smith, a déclaré", "Its chief executive, Paul Ferrand, said").
_APPOSITION = re.compile(rf"^[^,;:]{{2,60}},[ \u00a0]*(?P<name>{_NAME.pattern})[ \u00a0]*,")


#: A preposition before a noun phrase at the head of a clause ("pour un coût de ...").
_PREPOSITION = re.compile(r"^(?:pour|avec|for|with)\s+(?=\w)", re.I)
#: Who said it, then what was said: "Club president X said the stadium would ...".
_SAID = re.compile(rf"^[^,;:«»\"“”]{{1,80}}?\b(?:{lexicon.alternation(lexicon.SPEECH_VERBS)})\s+", re.I)
#: A claim that opens a sentence (its first word capitalised, after any punctuation).
_TEXT_START = re.compile(rf"^[\s«»\"“”‘’'(\[—–-]*{_CAPITAL}")


def _lead(text: str) -> str:
    """``text`` without what opens it before its subject: punctuation, "Selon X,", "Mais"."""
    previous = None
    while previous != text:
        previous = text
        text = _PUNCTUATION.sub("", text)
        text = _DATELINE.sub("", text)
        text = _OPENER.sub("", text)
        text = _JOINER.sub("", text)
    return text


class Subjects:
    """The subjects of one article's claims (see the module's rules)."""

    def __init__(self, article: Article, sentences: Sequence[Sentence]) -> None:
        self.article = article
        self.sentences = [s for s in sentences if s.kind == "body"]

    @cached_property
    def _names(self) -> frozenset[str]:
        """The words the article writes as names: capitalised in mid-sentence, or all capitals."""
        text = self.article.text
        found = {m.group(1) or m.group(2) for m in _MID_SENTENCE.finditer(text)}
        # after an elided article French writes a common noun in lower case ("l'entreprise"), so
        # a capital there is a name even at the head of a sentence ("L'État", "D'Amazon")
        found |= set(_ELIDED_NAME.findall(text))
        found |= set(re.findall(r"\b[A-ZÀ-ÖØ-Þ]{2,5}\b", text))  # not a dateline's "DUNKIRK"
        never = lexicon.SUBJECT_STOPWORDS | set(lexicon.MONTHS) | set(lexicon.WEEKDAYS)
        return frozenset(found - {w.capitalize() for w in never})

    @cached_property
    def _places(self) -> frozenset[str]:
        return frozenset(fold(p) for p in places_in(self.article.text))

    @cached_property
    def _folded(self) -> str:
        return fold(self.article.text)

    def _may_be_subject(self, name: str) -> bool:
        """Whether a thing attached to ``name`` makes it a subject: not a place the article names
        as one ("à Dunkerque"), not a news organisation."""
        key = fold(name)
        return key not in self._places and key not in lexicon.NEWS_ORGANISATIONS

    def _is_name(self, word: str) -> bool:
        word = re.sub(r"^[LDld][’']", "", word)
        return word in self._names

    def _name_at(self, text: str) -> str | None:
        """The name that ``text`` opens with, trimmed of trailing links and stop-words."""
        m = _NAME.match(text)
        if m is None:
            return None
        words = re.split(r"(\s+)", m.group())
        # keep the longest prefix that ends on a name word
        while words and not self._is_name(words[-1]):
            words.pop()
            while words and (words[-1].isspace() or _LINK.fullmatch(words[-1])):
                words.pop()
        name = "".join(words).strip(" -")
        if not name or not self._is_name(name.split()[0]):
            return None
        return name

    @cached_property
    def _things(self) -> list[tuple[int, str, str]]:
        """(position, head noun, name) of every thing the article attaches to a name: "stade du
        Grand Large", "projet de Voltéra", "Grand Large stadium", "Voltéra's gigafactory"."""
        found: list[tuple[int, str, str]] = []
        for sentence in self.sentences:
            for pattern in _THINGS:
                for m in pattern.finditer(sentence.text):
                    head = m.group("head").lower()
                    name = self._name_at(m.group("name"))
                    english = "s" in pattern.groupindex
                    if english and name and " " not in name and not m.group("s"):
                        continue
                    if name and head not in _NOT_HEADS and self._may_be_subject(name):
                        found.append((sentence.span.start + m.start(), head, name))
        return sorted(found)

    def _antecedent(self, head: str, at: int) -> str | None:
        """The name ``head`` is attached to in the article at its last mention up to ``at`` ("le
        stade" -> "Grand Large", "the stadium" -> "Grand Large"); a mention at ``at`` itself counts
        ("le stade du Grand Large")."""
        mentions = [(position, name) for position, h, name in self._things if h == head]
        earlier = [mention for mention in mentions if mention[0] <= at]
        return earlier[-1][1] if earlier else None

    def _facility(self, at: int) -> str | None:
        """The name of the last facility the article named up to ``at`` ("stade du Grand Large",
        "Voltéra's gigafactory"): what "les travaux" or "the cost" is about."""
        earlier = [name for position, head, name in self._things if position <= at and head in lexicon.FACILITY_NOUNS]
        return earlier[-1] if earlier else None

    def _previous_subject(self, at: int) -> str | None:
        """The subject the code reads at the head of the body sentence before the one at ``at``."""
        before = [s for s in self.sentences if s.span.end <= at]
        if not before:
            return None
        sentence = before[-1]
        return self._named(sentence.text, sentence.span.start, follow=False)

    def _named(self, text: str, start: int, follow: bool = True) -> str | None:
        """The subject that ``text``, found at ``start`` in the article, names at its head; with
        ``follow``, a pronoun at its head stands for the previous sentence's subject."""
        lead = _lead(text)
        if _PRONOUN.match(lead):
            return self._previous_subject(start) if follow and _TEXT_START.match(text) else None
        said = _SAID.match(lead)
        if said and said.end() < len(lead):
            reported = self._named(lead[said.end() :], start + len(text) - len(lead) + said.end(), follow=False)
            if reported:
                return reported
        bare = _DETERMINER.sub("", _PREPOSITION.sub("", lead, count=1), count=1)
        apposition = _APPOSITION.match(bare)
        if apposition and self._name_at(apposition.group("name")) == apposition.group("name"):
            return apposition.group("name")
        name = self._name_at(bare)
        if name:
            return name
        head = re.match(_WORD, bare)
        if head and len(head.group()) >= 3 and head.group().isalpha() and head.group().lower() not in _NOT_HEADS:
            noun = head.group().lower()
            antecedent = self._antecedent(noun, start + len(text) - len(bare))
            if antecedent is None and noun in lexicon.ASPECT_NOUNS:
                return self._facility(start)
            return antecedent
        return None

    def subject_for(self, span: Span, quote: str, proposed: str | None = None) -> str | None:
        """The subject of the claim whose quote is ``quote`` at ``span``: the one its head names,
        else ``proposed`` when the article names it."""
        name = self._named(quote, span.start)
        if name:
            return name
        if proposed and fold(proposed) in self._folded:
            return proposed
        return None
