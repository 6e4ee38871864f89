"""News organisations, written every way the rules meet them, and other language-neutral data."""

from __future__ import annotations

#: Folded names of news agencies and relayed outlets -> their canonical name. An outlet that
#: credits one of these carries it as the claim's origin.
NEWS_ORGANISATIONS: dict[str, str] = {
    "afp": "AFP",
    "agence france-presse": "AFP",
    "agence france presse": "AFP",
    "l'agence france-presse": "AFP",
    "reuters": "Reuters",
    "thomson reuters": "Reuters",
    "bloomberg": "Bloomberg",
    "bloomberg news": "Bloomberg",
    "aof": "AOF",
    "ap": "AP",
    "associated press": "AP",
    "the associated press": "AP",
    "dpa": "dpa",
    "ansa": "ANSA",
    "efe": "EFE",
    "belga": "Belga",
    "ats": "ATS",
    "xinhua": "Xinhua",
    # outlets that others relay
    "le monde": "Le Monde",
    "les echos": "Les Echos",
    "le figaro": "Le Figaro",
    "financial times": "Financial Times",
    "the wall street journal": "The Wall Street Journal",
    "wall street journal": "The Wall Street Journal",
    "the new york times": "The New York Times",
    "cnbc": "CNBC",
    "bfm business": "BFM Business",
}
#: Wire tags that, alone on a line ("(AFP)"), are not article text.
WIRE_TAGS: tuple[str, ...] = ("AFP", "AOF", "Reuters", "AP", "Bloomberg", "dpa")

#: Currency signs and codes -> ISO code (language-neutral).
CURRENCY_SIGNS: dict[str, str] = {
    "€": "EUR",
    "eur": "EUR",
    "$": "USD",
    "usd": "USD",
    "us$": "USD",
    "£": "GBP",
    "gbp": "GBP",
}
#: Unit signs (language-neutral).
UNIT_SIGNS: dict[str, str] = {"%": "%"}

#: Names that refer to the same actor for cross-checking ("AWS" is reported as "Amazon").
SUBJECT_ALIASES: dict[str, str] = {
    "aws": "amazon",
    "amazon web services": "amazon",
    "amazon web services (aws)": "amazon",
    "amazon.com": "amazon",
    "msft": "microsoft",
    "alphabet": "google",
    "l'elysée": "élysée",
    "elysée": "élysée",
    "l'élysée": "élysée",
    "elysee": "élysée",
}

#: Places inside a country, so that "région parisienne" does not differ from "France" (folded
#: names -> the country's folded name).
PLACE_COUNTRY: dict[str, str] = {
    "paris": "france",
    "région parisienne": "france",
    "paris region": "france",
    "marseille": "france",
    "lyon": "france",
    "mulhouse": "france",
    "grand est": "france",
    "alsace": "france",
    "auvergne-rhône-alpes": "france",
    "hexagone": "france",
    "l'hexagone": "france",
    "versailles": "france",
    "île-de-france": "france",
    "ile-de-france": "france",
    "berlin": "allemagne",
    "germany": "allemagne",
    "munich": "allemagne",
    "london": "royaume-uni",
    "londres": "royaume-uni",
    "united kingdom": "royaume-uni",
    "uk": "royaume-uni",
    "spain": "espagne",
    "italy": "italie",
}
#: Regions (folded): a place named by one of these is a wide area, not a town. France's regions
#: (2016), with their usual short forms.
REGIONS: frozenset[str] = frozenset(
    {
        "auvergne-rhône-alpes",
        "bourgogne-franche-comté",
        "bretagne",
        "centre-val de loire",
        "corse",
        "grand est",
        "hauts-de-france",
        "île-de-france",
        "ile-de-france",
        "normandie",
        "nouvelle-aquitaine",
        "occitanie",
        "pays de la loire",
        "provence-alpes-côte d'azur",
        "paca",
        "guadeloupe",
        "martinique",
        "guyane",
        "la réunion",
        "mayotte",
        "alsace",
        "lorraine",
        "champagne-ardenne",
        "picardie",
        "nord-pas-de-calais",
        "aquitaine",
        "limousin",
        "poitou-charentes",
        "midi-pyrénées",
        "languedoc-roussillon",
        "rhône-alpes",
        "auvergne",
        "bourgogne",
        "franche-comté",
        "basse-normandie",
        "haute-normandie",
        "région parisienne",
        "paris region",
        "hexagone",
        "l'hexagone",
    }
)
#: Words that look like places after a preposition but are not ("en IA").
NOT_PLACES: frozenset[str] = frozenset({"ia", "ai", "big", "tech"})
