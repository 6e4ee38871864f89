"""English vocabulary the rules run on, as data (the same names as :mod:`recoupe.lexicon.fr`)."""

from __future__ import annotations

WEEKDAYS: dict[str, int] = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
MONTHS: dict[str, int] = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
}
QUARTERS: dict[str, int] = {"first": 1, "second": 2, "third": 3, "fourth": 4}

SCALES: dict[str, float] = {
    "billion": 1e9,
    "billions": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "million": 1e6,
    "millions": 1e6,
    "m": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "thousand": 1e3,
    "k": 1e3,
}
CURRENCIES: dict[str, str] = {"dollar": "USD", "dollars": "USD", "pounds": "GBP"}
UNITS: dict[str, str] = {
    "job": "emploi",
    "jobs": "emploi",
    "employees": "employé",
    "people": "personne",
    "gpu": "GPU",
    "gpus": "GPU",
    "mw": "MW",
    "gw": "GW",
    "percent": "%",
    "years": "an",
    "year": "an",
    "centers": "centre",
    "projects": "projet",
    "ceos": "PDG",
    "ceo": "PDG",
    "person": "personne",
    "employee": "employé",
    "seats": "place",
    "seat": "place",
    "days": "jour",
    "day": "jour",
    "matches": "match",
    "match": "match",
    "games": "match",
    "tickets": "billet",
    "ticket": "billet",
    "hectares": "hectare",
    "hectare": "hectare",
    "kilometres": "km",
    "kilometers": "km",
    "miles": "mile",
    "cars": "voiture",
    "car": "voiture",
    "vehicles": "voiture",
    "stadiums": "stade",
    "stadium": "stade",
    "plants": "usine",
    "plant": "usine",
    "factories": "usine",
    "gwh": "GWh",
    "startups": "startup",
    "centres": "centre",
    "center": "centre",
    "centre": "centre",
    "project": "projet",
}
UNIT_FILLERS: frozenset[str] = frozenset({"new", "more", "additional"})
BOUND_PATTERNS: dict[str, list[str]] = {
    "more_than": [r"more\s+than\s+", r"over\s+", r"at\s+least\s+", r"exceeding\s+"],
    "less_than": [r"less\s+than\s+", r"under\s+", r"fewer\s+than\s+"],
    "up_to": [r"up\s+to\s+"],
    "about": [r"about\s+", r"around\s+", r"nearly\s+", r"approximately\s+", r"roughly\s+", r"some\s+"],
}

TARGET_PATTERNS: list[str] = ["target", r"aims?\s+to", "expected", "forecast", "should", r"by\s+20\d\d"]
PLAN_PATTERNS: list[str] = ["will", "plans?", r"pledg\w*", r"commit\w*", r"announc\w*"]

PLACE_PREPOSITIONS: list[str] = ["in"]
PLACE_PHRASES: list[str] = ["Paris region"]

SITE_CUES: list[str] = [
    r"plants?",
    r"factor(?:y|ies)",
    r"sites?",
    r"stadium",
    r"warehouses?",
    r"headquarters",
    r"campus",
    r"data cent(?:er|re)s?",
    r"gigafactor(?:y|ies)",
    r"located",
    r"based",
    r"built",
    r"set up",
    r"will be",
    r"is to be",
]
SITE_PREPOSITIONS: list[str] = [r"in", r"at", r"near", r"outside", r"on"]
START_CUES: list[str] = [r"begin\w*", r"began", r"start\w*", r"launch\w*", r"break ground", r"kick\w* off"]

SOURCE_CUES: list[str] = [
    r"according\s+to",
    r"reported\s+by",
    r"cited\s+by",
    r"quoted\s+by",
    r"interviewed\s+by",
    r"speaking\s+to",
    r"told\s+by",
]
SOURCE_AFTER: list[str] = [r"reported", r"reports", r"said", r"says", r"wrote"]
ARTICLE_CREDITS: list[str] = [
    r"based\s+on\s+(?:an?|the)\s+{who}\s+(?:dispatch|report|story|wire)",
    r"\(\s*with\s+{who}\s*\)",
    r"(?:additional\s+)?reporting\s+by\s+{who}",
    r"source\s*:\s*{who}",
]
RELAY_CUES: list[str] = [r"told"]
CLAIMANT_CUES: list[str] = [r"according to", r"reported by", r"said"]
DETERMINERS: list[str] = ["the"]

FUNCTION_WORDS: frozenset[str] = frozenset(
    {"the", "a", "an", "it", "this", "that", "in", "on", "according", "and", "but"}
)
ENTITY_STOPWORDS: frozenset[str] = FUNCTION_WORDS | set(WEEKDAYS) | {"by", "ai"}
SUBJECT_STOPWORDS: frozenset[str] = FUNCTION_WORDS | {"for", "its", "their"}

QUALIFIERS: dict[str, list[str]] = {
    "indirect": [r"\bindirect\b", r"\binduced\b"],
    "additional": [r"\badditional\b", r"\bextra\b", r"\bfurther\b", r"\bother\b"],
    "earlier": [r"\balready\b", r"\brecently\b", r"\bpreviously\b", r"\bearlier\b", r"\blast year\b"],
    "total": [r"\bin total\b", r"\ba total of\b", r"\bcombined\b"],
    "remaining": [r"\bremaining\b", r"\bthe rest\b", r"\bbalance\b"],
    "current": [r"\bcurrently\b", r"\btoday\b", r"\bcurrent\b", r"\bat present\b"],
    "public": [r"\bpublic\b"],
    "private": [r"\bprivate\b"],
}
GENERIC_ORGANISATIONS: list[str] = [
    "club",
    "group",
    "company",
    "firm",
    "carmaker",
    "maker",
    "city",
    "region",
    "government",
    "agency",
    "practice",
]
ROLES: list[str] = [
    r"(?:prime\s+|deputy\s+)?minister(?:\s+(?:of|for)\s+[\w'’-]+)?",
    r"[\w-]+\s+minister",
    r"(?:vice-)?president",
    r"chief\s+executive(?:\s+officer)?|ceo|managing\s+director",
    r"(?:deputy\s+)?mayor(?:\s+for\s+[\w'’-]+)?",
    r"chair(?:man|woman)?",
    r"architects?",
]
ROLE_COMPLEMENT = r"(?:\s+(?:of|for|in\s+charge\s+of)\s+(?:the\s+)?[\w'’-]+)?"
WIDE_PLACE_WORDS: list[str] = [
    "region",
    "metropolitan",
    "metropolis",
    "area",
    "county",
    "department",
    "province",
    "country",
    "north",
    "south",
    "east",
    "west",
    "coast",
]

PREDICATES: dict[str, list[str]] = {
    "invest": ["fund", "capex", "pledg", "commit"],
    "jobs": [r"\bjobs?\b", "hire", "hiring"],
    "revenue": ["profit", "revenue", "sales", "earn"],
    "staff": ["employees", "workforce", "headcount"],
    "training": [r"\btrain(?:ing|s)?\b", r"\bskills?\b"],
    "announce": ["announc", "unveil", "pledg"],
    "production": [r"\bproduc", r"\bmanufactur"],
    "opening": [r"\bopen", "inaugurat", r"\bdeliver", "reopen", "complet", "commission"],
    "works": ["construction work", r"\bworks\b", "groundbreaking", "building site"],
    "site": [r"\bsite\b", r"\bplant\b", r"\bfactory\b", "located", r"\bbuilt\b", r"\bstadium\b", r"\bbased in\b"],
    "capacity": ["capacity", r"\bseats?\b", "gwh", r"\bmw\b"],
    "cost": [r"\bcosts?\b", r"\bbudget", "price tag", r"\bbill\b"],
}

BOILERPLATE: list[str] = [
    "leave a (comment|reply)",
    "your email address",
    "required fields",
    "read more",
    "share this",
    "subscribe",
]

#: Words that open a quote in place of its subject's name ("it will create 500 jobs").
SUBJECT_PRONOUNS: list[str] = [r"it", r"he", r"she", r"they", r"the\s+company", r"the\s+group", r"the\s+firm"]

#: Words that open a sentence before its subject, up to the next comma ("According to Reuters, the
#: plant ..."): the subject is read after them.
LEAD_OPENERS: list[str] = [
    r"according\s+to",
    r"for",
    r"while",
    r"after",
    r"before",
    r"with",
    r"thanks\s+to",
    r"as",
    r"in",
    r"however",
    r"meanwhile",
    r"in\s+addition",
    r"overall",
    r"on\s+\w+day",
]
LEAD_JOINERS: list[str] = [r"but", r"and", r"or", r"then", r"also"]
NP_DETERMINERS: list[str] = [
    r"the",
    r"a",
    r"an",
    r"this",
    r"that",
    r"these",
    r"those",
    r"its",
    r"their",
    r"our",
    r"several",
    r"some",
]
NAME_LINKS: list[str] = [r"of\s+the", r"of"]
#: Head nouns that name a side of a project, not a thing of their own ("construction", "the cost").
ASPECT_NOUNS: frozenset[str] = frozenset(
    {
        "works",
        "construction",
        "funding",
        "financing",
        "cost",
        "budget",
        "project",
        "programme",
        "program",
        "plans",
        "delivery",
        "opening",
        "reopening",
        "production",
        "design",
        "renovation",
        "expansion",
        "capacity",
        "investment",
        "schedule",
    }
)
#: Head nouns of a built thing a project is about ("the Grand Large stadium", "Voltéra's plant").
FACILITY_NOUNS: frozenset[str] = frozenset(
    {
        "plant",
        "factory",
        "site",
        "stadium",
        "arena",
        "venue",
        "hall",
        "warehouse",
        "headquarters",
        "campus",
        "centre",
        "center",
        "gigafactory",
        "port",
        "airport",
        "station",
        "hospital",
        "building",
        "complex",
        "bridge",
        "tower",
        "park",
        "line",
        "terminal",
        "refinery",
    }
)
#: A verb of saying, and the "that" that may open what was said ("said the stadium would ...").
SPEECH_VERBS: list[str] = [r"(?:said|says|stated|added|explained|confirmed|told\s+\w+)(?:\s+that\b)?"]
#: Words that open a relative clause: a clause that opens with one has no subject of its own.
RELATIVE_PRONOUNS: list[str] = [r"which", r"who", r"whose", r"where"]
#: Conjunctions that join two statements, where a code-made claim may end or start.
CLAUSE_CONJUNCTIONS: list[str] = [r"and", r"while", r"whereas", r"but"]
#: Lower-case words after a number that never say what it counts ("3 fois", "2 000 contre").
NOT_UNITS: frozenset[str] = frozenset(
    {
        "times",
        "for",
        "with",
        "from",
        "into",
        "over",
        "under",
        "between",
        "per",
        "than",
        "and",
        "who",
        "which",
        "that",
        "million",
        "billion",
        "last",
        "next",
        "first",
    }
)
AGENT_CUES: dict[str, list[str]] = {
    "design": [
        r"(?:re)?designed\s+by",
        r"design\w*[^.;]{0,40}?(?:awarded|entrusted|given)\s+to",
        r"architects?\s*:",
        r"will\s+lead\s+the\s+(?:re)?design",
    ],
}
