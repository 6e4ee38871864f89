"""A deterministic synthetic corpus of short French business news for the throughput benchmark.

``make_corpus(n, seed)`` returns ``n`` :class:`recoupe.models.Article` objects. Each article is
3 to 5 sentences about one of 30 made-up companies: an investment of some amount in some city,
announced on some day of the week, the jobs it creates, the staff already employed, a regional
subsidy, a worksite date, a plain statement of intent. Every company has a few "events" (one
investment each) and several articles cover the same event, as outlets do, with the usual
variations: rounded or bounded amounts ("plus de", "environ"), the amount in dollars, a stated
euro/dollar equivalent, now and then a different day or a different figure (a conflict), and a
wire tag "(AFP)" / "(Reuters)" closing some of them (shared origins). So cross-article pairing has
real work: the same company and city recur, amounts of the same size recur across companies, and
the plain statements about one company share their wording.

The companies are fictional; nothing here is a real fact.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from recoupe.models import Article

__all__ = ["COMPANIES", "make_corpus"]

COMPANIES = [
    "Ardoise",
    "Brumal",
    "Calanque",
    "Dolmen",
    "Escarpe",
    "Falaise",
    "Garrigue",
    "Hêtraie",
    "Isatis",
    "Jonquille",
    "Kermor",
    "Lavandin",
    "Mistral",
    "Noroît",
    "Oyat",
    "Pampre",
    "Quercy",
    "Ressac",
    "Sillon",
    "Tramontane",
    "Ubac",
    "Verveine",
    "Wissant",
    "Xaintrie",
    "Yeuse",
    "Zéphyr",
    "Arbousier",
    "Bocage",
    "Causse",
    "Drailles",
]
CITIES = [
    "Toulouse",
    "Lyon",
    "Marseille",
    "Lille",
    "Nantes",
    "Bordeaux",
    "Rennes",
    "Grenoble",
    "Strasbourg",
    "Dunkerque",
    "Metz",
    "Brest",
    "Montpellier",
    "Rouen",
    "Orléans",
    "Dijon",
    "Reims",
    "Angers",
    "Limoges",
    "Pau",
]
REGIONS = ["Occitanie", "Bretagne", "Normandie", "Grand Est", "Hauts-de-France", "Nouvelle-Aquitaine"]
PEOPLE = ["Claire Vasseur", "Marc Lenoir", "Sophie Carré", "Julien Morel", "Hélène Dubreuil", "Paul Garnier"]
OUTLETS = ["Les Echos", "Le Figaro", "La Tribune", "Ouest-France"]
DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "septembre", "octobre", "novembre"]
#: Investment sizes in millions of euros: spread over two orders of magnitude, so that amounts of
#: the same size (a blocking key) recur across companies.
AMOUNTS_M = [40, 60, 75, 90, 120, 150, 200, 250, 300, 350, 400, 500, 650, 800, 1000, 1200, 1500, 2000, 3000]
INTENTS = [
    (
        "{co} entend ainsi renforcer sa présence industrielle en Europe, dans un marché où la concurrence "
        "asiatique s'est nettement durcie ces dernières années."
    ),
    (
        "{co} veut ainsi renforcer sa présence industrielle en Europe et réduire sa dépendance aux "
        "importations, explique la direction du groupe."
    ),
    (
        "{co} compte ainsi consolider son empreinte industrielle en Europe, après plusieurs années de "
        "fermetures de sites dans le secteur."
    ),
    (
        "{co} souhaite accélérer la décarbonation de sa production grâce à ce nouveau site, alimenté en "
        "grande partie par de l'électricité renouvelable."
    ),
    (
        "{co} mise sur ce site pour accélérer la décarbonation de sa production et réduire ses coûts "
        "énergétiques à moyen terme."
    ),
]


@dataclass(frozen=True)
class _Event:
    company: str
    city: str
    amount_m: int
    jobs: int
    staff: int
    day: int
    year: int
    month: str
    subsidy_m: int
    region: str
    person: str


def _money(millions: float) -> str:
    """French wording of an amount in millions of euros."""
    if millions >= 1000:
        value = millions / 1000
        text = f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")
        return f"{text} milliard{'s' if value >= 2 else ''}"
    return f"{millions:g} millions"


def _amount_phrase(rng: random.Random, amount_m: int) -> str:
    roll = rng.random()
    if roll < 0.40:
        return f"{_money(amount_m)} d'euros"
    if roll < 0.55:
        return f"plus de {_money(round(amount_m * 0.95))} d'euros"
    if roll < 0.65:
        return f"environ {_money(round(amount_m, -1) or amount_m)} d'euros"
    if roll < 0.75:
        return f"{_money(round(amount_m * 1.1))} de dollars"
    if roll < 0.85:
        return f"{_money(amount_m)} d'euros ({_money(round(amount_m * 1.08))} de dollars)"
    if roll < 0.93:
        return f"près de {_money(amount_m)} d'euros"
    return f"{_money(amount_m * rng.choice([2, 3]))} d'euros"  # a conflicting figure


def _events(rng: random.Random) -> list[_Event]:
    events = []
    for company in COMPANIES:
        for _ in range(rng.randint(2, 4)):
            events.append(
                _Event(
                    company=company,
                    city=rng.choice(CITIES),
                    amount_m=rng.choice(AMOUNTS_M),
                    jobs=rng.choice([80, 120, 150, 200, 250, 300, 400, 500, 700, 1000, 1500]),
                    staff=rng.choice([900, 1200, 2500, 3000, 4500, 6000, 8000, 12000]),
                    day=rng.randrange(7),
                    year=rng.choice([2026, 2027, 2028, 2030]),
                    month=rng.choice(MONTHS),
                    subsidy_m=rng.choice([5, 8, 10, 12, 15, 20, 25]),
                    region=rng.choice(REGIONS),
                    person=rng.choice(PEOPLE),
                )
            )
    return events


def _de(name: str) -> str:
    return ("d'" if name[0] in "AEIOUYÉÈÊaeiouy" else "de ") + name


def _thousands(n: int) -> str:
    return f"{n:,}".replace(",", "\u00a0")


def _article(rng: random.Random, event: _Event, index: int) -> Article:
    co, city = event.company, event.city
    day = event.day if rng.random() < 0.85 else rng.randrange(7)  # sometimes the wrong day
    jobs = event.jobs if rng.random() < 0.9 else event.jobs * 2
    lead = rng.choice(
        [
            (
                "{co} a annoncé {day} un investissement de {amount} à {city}, où le groupe compte installer "
                "une nouvelle ligne de production pour répondre à la hausse de la demande européenne."
            ),
            (
                "{co} va investir {amount} à {city}, a annoncé le groupe {day} dans un communiqué, "
                "confirmant un projet évoqué depuis plusieurs mois par les élus locaux."
            ),
            (
                "{co} a confirmé {day} son projet d'investir {amount} dans une usine à {city}, "
                "l'un des plus importants investissements industriels annoncés dans la région cette année."
            ),
        ]
    ).format(co=co, day=DAYS[day], amount=_amount_phrase(rng, event.amount_m), city=city)
    bound = rng.choice(["", "", "plus de ", "près de "])
    others = [
        (
            f"{co} prévoit de créer {bound}{_thousands(jobs)} emplois à {city} d'ici {event.year}, "
            "principalement des postes d'opérateurs et de techniciens de maintenance."
        ),
        (
            f"{co} emploie déjà {_thousands(event.staff)} salariés en France, selon {rng.choice(OUTLETS)}, "
            "répartis entre son siège, ses centres de recherche et ses usines."
        ),
        (
            f"La région {event.region} a accordé une aide de {event.subsidy_m} millions d'euros à {co} "
            "pour ce projet, au titre de son programme de soutien à la réindustrialisation."
        ),
        (
            f"Le chantier du site {_de(city)} doit démarrer en {event.month} {event.year - 1}, a précisé {co}, "
            "pour une mise en service progressive des premières lignes l'année suivante."
        ),
        rng.choice(INTENTS).format(co=co),
        (
            f"Le directeur général {_de(co)}, {event.person}, a salué une étape majeure pour le groupe "
            "et remercié les collectivités locales pour leur accompagnement."
        ),
    ]
    rng.shuffle(others)
    sentences = [lead, *others[: rng.randint(2, 4)]]
    text = " ".join(sentences)
    if rng.random() < 0.3:
        text += "\n(" + rng.choice(["AFP", "AFP", "Reuters"]) + ")"
    published = dt.date(2025, 3, 3) + dt.timedelta(days=rng.randrange(60))
    return Article(
        id=f"syn{index:05d}",
        text=text,
        outlet=rng.choice(OUTLETS),
        published=published,
        language="fr",
        source=f"synthetic:{index}",
    )


def make_corpus(n: int, seed: int = 20250301) -> list[Article]:
    """``n`` articles, the same for the same ``n`` and ``seed``; the first ``n`` of a larger
    corpus are the corpus of size ``n``."""
    rng = random.Random(seed)
    events = _events(rng)
    # Popular events get more articles, as in the news (a Zipf-like weighting).
    weights = [1.0 / (1 + i % 7) for i in range(len(events))]
    return [_article(rng, rng.choices(events, weights)[0], i) for i in range(n)]


if __name__ == "__main__":  # a look at a few articles
    import sys

    for article in make_corpus(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        print(article.id, article.published, "\n" + article.text + "\n")
