"""What LangExtract is shown besides the article, for the eval's LangExtract system: the task
description and one worked example (an invented French dispatch), and their hash."""

from __future__ import annotations

import hashlib
import json

from langextract.core import data as lx_data

__all__ = ["EXAMPLES", "PROMPT_DESCRIPTION", "prompt_sha256"]


PROMPT_DESCRIPTION = (
    "Extract the check-worthy factual claims stated in this news text, for fact-checkers: amounts, "
    "numbers, dates or days, places, records, who announced or said what, plans and targets. "
    "One extraction per fact; a sentence with two facts gives two extractions. "
    "The extraction text is the exact words of the text that state the fact, copied verbatim, "
    "as short as possible (a clause, not the whole sentence), in order of appearance. "
    'Attributes: "claim" is one short sentence stating the fact, readable alone, in the language of '
    'the text, with pronouns replaced by the names they refer to; "subject" is the main company, '
    'person or place; "claimant" is who the text says made the statement, if anyone. '
    "Skip opinions, author biographies, links and site navigation."
)

_EXAMPLE_TEXT = (
    "La coopérative Terres du Sud a inauguré lundi à Agen une usine de 12 millions d'euros, "
    "qui emploiera 85 personnes d'ici 2026, a indiqué son président à l'AFP."
)

EXAMPLES = [
    lx_data.ExampleData(
        text=_EXAMPLE_TEXT,
        extractions=[
            lx_data.Extraction(
                extraction_class="claim",
                extraction_text="a inauguré lundi à Agen une usine de 12 millions d'euros",
                attributes={
                    "claim": "Terres du Sud a inauguré lundi à Agen une usine de 12 millions d'euros.",
                    "subject": "Terres du Sud",
                    "claimant": "AFP",
                },
            ),
            lx_data.Extraction(
                extraction_class="claim",
                extraction_text="qui emploiera 85 personnes d'ici 2026",
                attributes={
                    "claim": "L'usine de Terres du Sud à Agen emploiera 85 personnes d'ici 2026.",
                    "subject": "Terres du Sud",
                    "claimant": "AFP",
                },
            ),
        ],
    )
]


def prompt_sha256() -> str:
    """Hash of the description and the examples: what the model is shown besides the article."""
    payload = {
        "description": PROMPT_DESCRIPTION,
        "examples": [
            {
                "text": ex.text,
                "extractions": [[e.extraction_class, e.extraction_text, e.attributes] for e in ex.extractions],
            }
            for ex in EXAMPLES
        ],
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
