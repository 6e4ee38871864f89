"""French vocabulary the rules run on, as data.

Regex fragments are marked as such (``*_PATTERNS``); everything else is plain words, lower case
and typography-folded (``’`` written ``'``) unless said otherwise.
"""

from __future__ import annotations

#: Weekday names -> ``datetime.weekday()`` numbers.
WEEKDAYS: dict[str, int] = {
    "lundi": 0,
    "mardi": 1,
    "mercredi": 2,
    "jeudi": 3,
    "vendredi": 4,
    "samedi": 5,
    "dimanche": 6,
}
#: Month names, with and without accents -> month numbers.
MONTHS: dict[str, int] = {
    "janvier": 1,
    "février": 2,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "août": 8,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "décembre": 12,
    "decembre": 12,
}
#: Ordinals of a quarter ("au premier trimestre").
QUARTERS: dict[str, int] = {"premier": 1, "deuxième": 2, "troisième": 3, "quatrième": 4}

#: Scale words after a number ("4 milliards") -> multiplier.
SCALES: dict[str, float] = {
    "milliard": 1e9,
    "milliards": 1e9,
    "md": 1e9,
    "mds": 1e9,
    "mrd": 1e9,
    "million": 1e6,
    "millions": 1e6,
    "mln": 1e6,
    "mille": 1e3,
}
#: Currency words -> ISO code.
CURRENCIES: dict[str, str] = {"euro": "EUR", "euros": "EUR", "livre": "GBP", "livres": "GBP"}
#: Words after a number -> the unit it counts.
UNITS: dict[str, str] = {
    "emploi": "emploi",
    "emplois": "emploi",
    "poste": "emploi",
    "postes": "emploi",
    "opportunités": "emploi",
    "opportunité": "emploi",
    "cdi": "emploi",
    "employés": "employé",
    "employé": "employé",
    "salariés": "employé",
    "personnes": "personne",
    "personne": "personne",
    "français": "personne",
    "startups": "startup",
    "startup": "startup",
    "start-ups": "startup",
    "start-up": "startup",
    "ans": "an",
    "an": "an",
    "années": "an",
    "centres": "centre",
    "centre": "centre",
    "sites": "site",
    "site": "site",
    "projets": "projet",
    "projet": "projet",
    "pdg": "PDG",
    "places": "place",
    "place": "place",
    "sièges": "place",
    "jours": "jour",
    "jour": "jour",
    "matches": "match",
    "matchs": "match",
    "match": "match",
    "rencontres": "match",
    "billets": "billet",
    "billet": "billet",
    "hectares": "hectare",
    "hectare": "hectare",
    "ha": "hectare",
    "km": "km",
    "kilomètres": "km",
    "voitures": "voiture",
    "voiture": "voiture",
    "véhicules": "voiture",
    "stades": "stade",
    "stade": "stade",
    "usines": "usine",
    "usine": "usine",
    "gwh": "GWh",
    "mw": "MW",
    "gw": "GW",
    "gpu": "GPU",
}
#: Words that may sit between a number and its unit ("3 000 nouveaux emplois").
UNIT_FILLERS: frozenset[str] = frozenset(
    {"de", "d", "nouveaux", "nouvelles", "nouveau", "nouvelle", "supplémentaires", "des", "du", "en"}
)
#: Regex fragments that, right before a number, make it a bound.
BOUND_PATTERNS: dict[str, list[str]] = {
    "more_than": [r"plus\s+d['’]\s*", r"plus\s+de\s+", r"au\s+moins\s+", r"dépassant\s+"],
    "less_than": [r"moins\s+d['’]\s*", r"moins\s+de\s+"],
    "up_to": [r"jusqu['’]\s*à\s+", r"jusqu['’]\s*au?x?\s+", r"allant\s+jusqu['’]\s*à\s+"],
    "about": [r"environ\s+", r"près\s+d['’]\s*", r"près\s+de\s+", r"quelque\s+", r"autour\s+de\s+"],
}

#: Regex fragments of wording that makes a claim a target or forecast, or an announced plan.
TARGET_PATTERNS: list[str] = [
    r"d['’]ici",
    "objectif",
    "ambition",
    "vise",
    "visant",
    "devrait",
    "devraient",
    "prévoit",
    "projette",
]
PLAN_PATTERNS: list[str] = [
    "va",
    "vont",
    "investira",
    "investirait",
    "ouvrira",
    "agrandira",
    "lancera",
    "sera",
    "seront",
    "créera",
    "débloquera",
    r"annonc\w*",
    "promet",
    r"s['’]engag\w*",
    "engagement",
    "intention",
    "prévoit",
    "compte",
    r"s['’]apprête",
    r"dévoilé\w*",
]

#: Regex fragments: the prepositions before a place name ("en France", "dans la région Grand Est").
PLACE_PREPOSITIONS: list[str] = [
    "en",
    "à",
    "au",
    "aux",
    r"dans\s+(?:la|le|l['’]|les)\s*(?:région\s+|ville\s+)?",
    r"au\s+sein\s+de",
]
#: Places named without a capital or a preposition.
PLACE_PHRASES: list[str] = ["région parisienne"]

#: Regex fragments: words that say where a site is when a place follows them ("usine à
#: Saint-Nazaire", "situé à Genas", "construira sa gigafactory à Loon-Plage"): site nouns and
#: verbs of location. A place elsewhere in a claim ("confié à une agence de Lyon") is not where
#: its subject is.
SITE_CUES: list[str] = [
    r"usines?",
    r"sites?",
    r"stades?",
    r"entrepôts?",
    r"sièges?",
    r"campus",
    r"centres? de données",
    r"gigafactor(?:y|ies)",
    r"situ[ée]e?s?",
    r"se trouv\w*",
    r"implant\w*",
    r"install\w*",
    r"localis\w*",
    r"constru\w*",
    r"bâti\w*",
    r"sera",
    r"verra le jour",
]
#: Regex fragments: the prepositions between a site cue and its place.
SITE_PREPOSITIONS: list[str] = [r"à", r"au", r"aux", r"près\s+de", r"dans\s+(?:la|le|l['’]|les)?", r"sur"]
#: Regex fragments: words that make a dated event its start ("la production démarrera en 2027"):
#: the start of an event and the event itself are not compared by their years.
START_CUES: list[str] = [r"débu\w*", r"commenc\w*", r"démarr\w*", r"lanc\w*", r"première pierre", r"coup d['’]envoi"]

#: Regex fragments: cue words before a news organisation that is the source of a claim ("selon
#: Reuters", "d'après l'AFP", "écrit Bloomberg").
SOURCE_CUES: list[str] = [
    r"selon",
    r"d['’]après",
    r"écrit",
    r"rapporte",
    r"citée?s?\s+par",
    r"interrogée?s?\s+par",
    r"a\s+indiqué\s+à",
    r"a\s+précisé\s+à",
]
#: Weaker cues, counted only before a news agency ("(via Reuters)", "a déclaré à l'AFP").
RELAY_CUES: list[str] = [r"via", r"déclaré\s+à", r"confié\s+à"]
#: Cues before the claimant of a statement, agency or not (case-sensitive, literal spaces).
CLAIMANT_CUES: list[str] = [r"selon", r"d['’]après", r"via", r"écrit", r"rapporte"]
#: Regex fragments after a news organisation that make it the source ("l'AFP rapporte").
SOURCE_AFTER: list[str] = [r"rapporte", r"a\s+rapporté", r"indique", r"précise"]
#: Regex fragments of an article-level credit line naming the agency the whole text comes from;
#: ``{who}`` stands for the agency ("(avec AFP)", "d'après une dépêche de l'AFP").
ARTICLE_CREDITS: list[str] = [
    r"\(\s*avec\s+(?:l['’])?{who}\s*\)",
    r"(?:d['’]après|selon)\s+une\s+dépêche\s+(?:de\s+)?(?:l['’])?{who}",
    r"source\s*:\s*(?:l['’])?{who}",
]
#: Articles that may precede a name ("l'AFP", "la Commission").
DETERMINERS: list[str] = ["l'", "la", "le", "les"]

#: Function words: never an entity, never the start of a subject.
FUNCTION_WORDS: frozenset[str] = frozenset(
    {
        "le",
        "la",
        "les",
        "l",
        "un",
        "une",
        "des",
        "du",
        "de",
        "il",
        "elle",
        "ils",
        "elles",
        "ce",
        "cette",
        "ces",
        "en",
        "dans",
        "au",
        "aux",
        "plus",
        "selon",
        "par",
        "pour",
        "mais",
        "et",
    }
)
#: Capitalised words that never key a pairing block.
ENTITY_STOPWORDS: frozenset[str] = (
    FUNCTION_WORDS
    | set(WEEKDAYS)
    | {
        "cet",
        "son",
        "sa",
        "ses",
        "leur",
        "leurs",
        "grâce",
        "ia",
    }
)
#: Capitalised words that never start an inferred subject (a city is a place, not a subject).
SUBJECT_STOPWORDS: frozenset[str] = (
    FUNCTION_WORDS
    | set(WEEKDAYS)
    | {
        "cela",
        "avec",
        "ou",
        "nous",
        "vous",
        "paris",
    }
)

#: Regex fragments: what a number is about. Two amounts conflict only when they share one.
PREDICATES: dict[str, list[str]] = {
    "invest": ["invest", "injection", "débloqu", "financ", r"engag\w* à investir"],
    "jobs": ["emploi", "poste", "embauch", "recrut", r"\bcdi\b"],
    "revenue": ["chiffre d'affaires", "généré", "revenu", "ventes", "bénéfice"],
    "staff": ["employés", "salariés", "effectif"],
    "training": [r"\bformer\b", r"\bformera\b", "formation", "compétences"],
    "announce": ["annonc", "dévoil", "s'engag", "engagement", "promet", "confirm"],
    "production": ["production", r"\bprodui", "fabrication", r"\bfabriqu"],
    "opening": [r"\bouvr", "ouverture", "inaugur", r"\blivr", "réouvert", "mise en service", "achèvement", r"\bachev"],
    "works": ["travaux", "chantier", "première pierre"],
    "site": [
        r"\bsite\b",
        "implant",
        r"\busine",
        "installé",
        "construit",
        "gigafactory",
        r"\bstade\b",
        r"\bsitué",
        "localis",
    ],
    "capacity": ["capacité", r"\bplaces\b", r"\bsièges\b", "gwh", r"\bmw\b"],
    "cost": [r"\bcoût", r"\bcoûte", "budget", r"\bmontant\b", r"\bfacture\b"],
}

#: Regex fragments: words that make a number a different figure from an unqualified one.
QUALIFIERS: dict[str, list[str]] = {
    "indirect": [r"\bindirects?\b", r"\binduits?\b"],
    "additional": [r"supplémentaires?", r"\ben plus\b", r"additionnel", r"\bautres?\b"],
    "earlier": [
        r"\bdéjà\b",
        r"\brécemment\b",
        r"précédemment",
        r"auparavant",
        r"l['’]an dernier",
        r"l['’]année dernière",
    ],
    "total": [r"\bau total\b", r"\ben tout\b", r"\bcumulé"],
    "remaining": [r"\brestants?\b", r"\ble reste\b", r"\bcomplément\b"],
    "current": [r"\baujourd['’]hui\b", r"\bactuellement\b", r"\bactuelle?s?\b"],
    "public": [r"\bpublics?\b", r"\bpubliques?\b"],
    "private": [r"\bprivés?\b", r"\bprivées?\b"],
}
#: Nouns that name an organisation generically ("président du club"): they match any name.
GENERIC_ORGANISATIONS: list[str] = [
    "club",
    "groupe",
    "entreprise",
    "société",
    "firme",
    "compagnie",
    "constructeur",
    "fabricant",
    "ville",
    "région",
    "métropole",
    "gouvernement",
    "agence",
    "cabinet",
]
#: Regex fragments: a role or title held by a person ("ministre de l'Industrie").
ROLES: list[str] = [
    r"(?:premier|première|vice-)?\s*ministre(?:\s+délégué(?:e)?)?",
    r"secrétaire\s+d['’]État",
    r"(?:vice-)?président(?:e)?",
    r"directeur\s+général|directrice\s+générale|pdg|p-dg",
    r"(?:premier|première)?\s*adjoint(?:e)?",
    r"maire",
    r"(?:architecte|cabinet\s+d['’]architectes)",
]
ROLE_COMPLEMENT = r"(?:\s+(?:de\s+la|de\s+l['’]|de|du|des|aux|à\s+la|au|chargée?\s+de(?:\s+la|\s+l['’])?)\s*[\w'’-]+)?"
#: Words that make a place a wide area (a region, a metropolis) rather than a town.
WIDE_PLACE_WORDS: list[str] = [
    "région",
    "métropole",
    "agglomération",
    "département",
    "territoire",
    "bassin",
    "pays",
    "hexagone",
    "littoral",
    "nord",
    "sud",
    "est",
    "ouest",
]
#: Site furniture and links that are never claims (a line starting with one of these).
BOILERPLATE: list[str] = [
    "laisser un commentaire",
    "votre adresse e-mail",
    "les champs obligatoires",
    "en savoir plus",
    "lire aussi",
    "à lire aussi",
    "partager",
    "abonnez-vous",
]

#: Words that open a quote in place of its subject's name ("il créera 500 emplois"): the code
#: writes the name in their place when it makes a claim's wording from its quote.
SUBJECT_PRONOUNS: list[str] = [
    r"il",
    r"elle",
    r"ils",
    r"elles",
    r"celui-ci",
    r"celle-ci",
    r"l['’]entreprise",
    r"la\s+société",
    r"le\s+groupe",
    r"la\s+firme",
    r"l['’]américain",
]

#: Words that open a sentence before its subject, up to the next comma ("Selon l'Élysée, ce sommet
#: ..."; "Grâce à cet investissement, le pays ..."): the subject is read after them.
LEAD_OPENERS: list[str] = [
    r"selon",
    r"d['’]après",
    r"pour",
    r"alors\s+que",
    r"grâce\s+à",
    r"après",
    r"avant",
    r"avec",
    r"hors",
    r"dans",
    r"en\s+revanche",
    r"par\s+ailleurs",
    r"de\s+son\s+côté",
    r"de\s+leur\s+côté",
    r"en\s+outre",
    r"au\s+total",
    r"à\s+terme",
    r"lors\s+d[eu]",
]
#: Words that join a sentence to the one before without being its subject ("Mais la Région ...").
LEAD_JOINERS: list[str] = [r"mais", r"et", r"ou", r"puis", r"enfin", r"ainsi", r"aussi"]
#: Words that open a noun phrase: what follows is its head ("le stade", "cette enceinte").
NP_DETERMINERS: list[str] = [
    r"l['’]",
    r"d['’]",
    r"la",
    r"le",
    r"les",
    r"un",
    r"une",
    r"des",
    r"du",
    r"ce",
    r"cet",
    r"cette",
    r"ces",
    r"son",
    r"sa",
    r"ses",
    r"leur",
    r"leurs",
    r"notre",
    r"nos",
    r"plusieurs",
]
#: Words that join a head noun to the name it belongs to ("stade du Grand Large").
NAME_LINKS: list[str] = [r"de\s+la", r"de\s+l['’]", r"du", r"des", r"de", r"d['’]"]
#: Head nouns that name a side of a project, not a thing of their own ("les travaux", "le
#: financement", "la livraison"): with no name attached, a claim they head is about the last
#: facility the article named (:mod:`recoupe.extraction.subjects`).
ASPECT_NOUNS: frozenset[str] = frozenset(
    {
        "travaux",
        "chantier",
        "construction",
        "financement",
        "coût",
        "budget",
        "projet",
        "programme",
        "livraison",
        "ouverture",
        "réouverture",
        "inauguration",
        "production",
        "conception",
        "rénovation",
        "extension",
        "montage",
        "capacité",
        "investissement",
        "calendrier",
    }
)
#: Head nouns of a built thing a project is about ("le stade du Grand Large", "l'usine de X").
FACILITY_NOUNS: frozenset[str] = frozenset(
    {
        "usine",
        "site",
        "stade",
        "enceinte",
        "aréna",
        "salle",
        "entrepôt",
        "siège",
        "campus",
        "centre",
        "gigafactory",
        "port",
        "aéroport",
        "gare",
        "hôpital",
        "bâtiment",
        "complexe",
        "pont",
        "tour",
        "parc",
        "ligne",
        "terminal",
        "raffinerie",
        "centrale",
    }
)
#: A verb of saying and the "que" that opens what was said ("a déclaré que le stade ..."): the
#: claim is about the subject of what was said.
SPEECH_VERBS: list[str] = [
    r"(?:a\s+)?(?:déclar|indiqu|affirm|assur|expliqu|précis|estim|annonc|soulign|rappel)(?:é|e)\s+qu(?:e\b|['’])",
]
#: Words that open a relative clause: a clause that opens with one has no subject of its own.
RELATIVE_PRONOUNS: list[str] = [r"qui", r"que", r"dont", r"lequel", r"laquelle", r"où"]
#: Conjunctions that join two statements, where a code-made claim may end or start.
CLAUSE_CONJUNCTIONS: list[str] = [r"et", r"tandis\s+que", r"alors\s+que", r"mais"]
#: Lower-case words after a number that never say what it counts ("3 fois", "2 000 contre").
NOT_UNITS: frozenset[str] = frozenset(
    {
        "fois",
        "ans",
        "heures",
        "minutes",
        "dont",
        "contre",
        "sur",
        "pour",
        "par",
        "et",
        "ou",
        "avec",
        "entre",
        "vers",
        "sous",
        "chez",
        "depuis",
        "selon",
        "millions",
        "milliards",
        "prochaines",
        "derniers",
        "premiers",
        "dernières",
        "premières",
    }
)
#: Words that name who holds a role only one can hold for a thing (who designs it): "conçu par
#: l'agence X" and "confié à l'agence Y" give two designers, a conflict when they differ.
AGENT_CUES: dict[str, list[str]] = {
    "design": [
        r"con[çc]ue?s?\s+par",
        r"dessinée?s?\s+par",
        r"redessinée?s?\s+par",
        r"architectes?\s*:",
        r"(?:projet|conception|maîtrise\s+d['’]œuvre)[^.;]{0,40}?confiée?\s+à",
    ],
}
