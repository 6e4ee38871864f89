"""Loading and validating gold annotations, and converting them into recoupe claims."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from recoupe.errors import GoldError
from recoupe.evaluation import find_occurrence, gold_hash, load_gold, match_claims
from recoupe.models import Alignment, Bound, Modality

ROOT = Path(__file__).resolve().parents[1]
REAL_GOLD = ROOT / "eval" / "gold"
REAL_SEEDS = ROOT / "seeds"

ART = "000_test"
TEXT = (
    "Titre\n\n"
    "Dimanche, Microsoft a annoncé un investissement de quatre milliards d’euros (4,3 milliards de "
    "dollars) en France. Microsoft ouvrira un site. Amazon ouvrira un site.\n"
)
ART2 = "001_test"
TEXT2 = "Lundi, Microsoft a annoncé investir quatre milliards d’euros en France.\n"


def claim(cid: str, quote: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "kind": extra.pop("kind", "other"),
        "text": extra.pop("text", quote),
        "quote": quote,
        "occurrence": extra.pop("occurrence", 1),
        "subject": extra.pop("subject", None),
        "claimant": extra.pop("claimant", None),
        "quantity": extra.pop("quantity", None),
        "time": extra.pop("time", None),
        "location": extra.pop("location", None),
        "modality": extra.pop("modality", "reported_fact"),
        **extra,
    }


def good_claims() -> dict[str, list[dict[str, Any]]]:
    return {
        ART: [
            claim(
                "000-01",
                "Dimanche, Microsoft a annoncé",
                kind="date",
                time={"text": "Dimanche", "start": None, "end": None},
            ),
            claim(
                "000-02",
                "quatre milliards d’euros (4,3 milliards de dollars)",
                kind="amount",
                quantity={
                    "value": 4e9,
                    "unit": None,
                    "currency": "EUR",
                    "bound": "exact",
                    "equivalents": [{"value": 4.3e9, "unit": None, "currency": "USD"}],
                },
                modality="announced_plan",
                subject="Microsoft",
                claimant="AFP",
            ),
            claim("000-03", "ouvrira un site", occurrence=2, kind="plan", subject="Amazon"),
        ],
        ART2: [
            claim(
                "001-01",
                "Lundi, Microsoft a annoncé",
                kind="date",
                time={"text": "Lundi", "start": "2024-05-13", "end": "2024-05-13"},
            ),
        ],
    }


def good_facts() -> dict[str, Any]:
    return {
        "facts": [
            {
                "id": "F1",
                "statement": "Jour de l’annonce",
                "verdict": "conflicting",
                "origins": ["AFP", "article:001"],
                "members": [
                    {"claim": "000-01", "relation": "equivalent"},
                    {"claim": "001-01", "relation": "contradicts"},
                ],
            },
            {
                "id": "F2",
                "statement": "4 Md€",
                "verdict": "single_source",
                "origins": ["AFP"],
                "members": [{"claim": "000-02", "relation": "equivalent"}],
            },
        ]
    }


def write(
    tmp_path: Path, claims: dict[str, list[dict[str, Any]]] | None = None, facts: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    seeds = tmp_path / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    (seeds / f"{ART}.txt").write_text(TEXT, encoding="utf-8")
    (seeds / f"{ART2}.txt").write_text(TEXT2, encoding="utf-8")
    gold = tmp_path / "gold"
    (gold / "claims").mkdir(parents=True, exist_ok=True)
    for article_id, items in (claims if claims is not None else good_claims()).items():
        payload = {"article_id": article_id, "claims": items}
        (gold / "claims" / f"{article_id}.json").write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    (gold / "facts.json").write_text(json.dumps(facts if facts is not None else good_facts()), encoding="utf-8")
    return gold, seeds


def test_find_occurrence() -> None:
    assert find_occurrence("abcabc", "abc", 1).start == 0
    assert find_occurrence("abcabc", "abc", 2).start == 3
    assert find_occurrence("abcabc", "abc", 3) is None
    assert find_occurrence("aaa", "aa", 2).start == 1  # the N-th text.find, overlapping allowed
    assert find_occurrence("abc", "", 1) is None


def test_load_gold_computes_spans(tmp_path: Path) -> None:
    gold_dir, seeds = write(tmp_path)
    gold = load_gold(gold_dir, seeds)
    assert sorted(gold.articles) == [ART, ART2]
    assert [c.id for c in gold.claims] == ["000-01", "000-02", "000-03", "001-01"]
    for c in gold.claims:
        text = gold.articles[c.article_id].text
        assert text[c.span.start : c.span.end] == c.quote
    third = gold.claim("000-03")
    assert third.span.start == TEXT.index("Amazon ouvrira un site") + len("Amazon ")
    assert gold.fact_of("000-02").id == "F2" and gold.fact_of("000-03") is None
    assert gold.hash == gold_hash(gold_dir) and len(gold.hash) == 64


def test_to_claims(tmp_path: Path) -> None:
    gold = load_gold(*write(tmp_path))
    claims = gold.to_claims()
    assert sorted(claims) == [ART, ART2]
    by_id = {c.id: c for cs in claims.values() for c in cs}
    for c in by_id.values():
        assert c.alignment == Alignment.exact
        assert gold.articles[c.article_id].text[c.span.start : c.span.end] == c.quote
    assert by_id["000-01"].time.weekday == 6 and by_id["000-01"].time.start is None
    assert by_id["001-01"].time.weekday == 0 and by_id["001-01"].time.start == dt.date(2024, 5, 13)
    q = by_id["000-02"].quantity
    assert (q.value, q.currency, q.bound, q.equivalents[0].currency) == (4e9, "EUR", Bound.exact, "USD")
    assert by_id["000-02"].modality == Modality.announced_plan and by_id["000-02"].claimant == "AFP"
    # Gold claims fed back as predictions match themselves one to one with score 1.
    matches = match_claims(claims[ART], claims[ART])
    assert [(m.pred_id, m.gold_id, m.score) for m in matches] == [
        ("000-01", "000-01", 1.0),
        ("000-02", "000-02", 1.0),
        ("000-03", "000-03", 1.0),
    ]


def test_rejects_quote_not_in_article(tmp_path: Path) -> None:
    claims = good_claims()
    claims[ART][1]["quote"] = "quatre milliards d'euros"  # straight apostrophe: not verbatim
    gold_dir, seeds = write(tmp_path, claims)
    with pytest.raises(GoldError) as err:
        load_gold(gold_dir, seeds)
    message = str(err.value)
    assert f"{ART}.json" in message and "000-02" in message and "not found verbatim" in message


def test_rejects_missing_occurrence(tmp_path: Path) -> None:
    claims = good_claims()
    claims[ART][2]["occurrence"] = 3
    with pytest.raises(GoldError, match=r"000_test\.json: claim 000-03: quote occurs 2 time"):
        load_gold(*write(tmp_path, claims))


def test_rejects_unknown_fact_member(tmp_path: Path) -> None:
    facts = good_facts()
    facts["facts"][1]["members"].append({"claim": "000-99", "relation": "compatible"})
    with pytest.raises(GoldError) as err:
        load_gold(*write(tmp_path, facts=facts))
    assert "facts.json" in str(err.value) and "000-99" in str(err.value) and "F2" in str(err.value)


def test_rejects_claim_in_two_facts(tmp_path: Path) -> None:
    facts = good_facts()
    facts["facts"][1]["members"].append({"claim": "000-01", "relation": "compatible"})
    with pytest.raises(GoldError, match=r"facts\.json: claim 000-01: in two facts \(F1, F2\)"):
        load_gold(*write(tmp_path, facts=facts))


def test_rejects_duplicate_ids_bad_fields_and_typed_offsets(tmp_path: Path) -> None:
    claims = good_claims()
    claims[ART2][0]["id"] = "000-01"
    with pytest.raises(GoldError, match=r"001_test\.json: claim 000-01: duplicate claim id"):
        load_gold(*write(tmp_path / "dup", claims))

    claims = good_claims()
    claims[ART][0]["kind"] = "opinion"
    with pytest.raises(GoldError, match=r"000_test\.json: claim 000-01: kind"):
        load_gold(*write(tmp_path / "kind", claims))

    claims = good_claims()
    claims[ART][0]["confidence"] = 0.9
    with pytest.raises(GoldError, match=r"claim 000-01: confidence"):
        load_gold(*write(tmp_path / "extra", claims))

    claims = good_claims()
    claims[ART][0]["span"] = {"start": 0, "end": 5}
    with pytest.raises(GoldError, match=r"claim 000-01: span must not be written by hand"):
        load_gold(*write(tmp_path / "span", claims))

    claims = {"999_missing": [claim("999-01", "x")]}
    with pytest.raises(GoldError, match=r"999_missing\.json: no seed article"):
        load_gold(*write(tmp_path / "noart", claims, facts={"facts": []}))


def test_rejects_bad_json_and_missing_facts(tmp_path: Path) -> None:
    gold_dir, seeds = write(tmp_path)
    (gold_dir / "facts.json").write_text("{", encoding="utf-8")
    with pytest.raises(GoldError, match=r"facts\.json: invalid JSON"):
        load_gold(gold_dir, seeds)
    (gold_dir / "facts.json").unlink()
    with pytest.raises(GoldError, match=r"facts\.json: no such file"):
        load_gold(gold_dir, seeds)


def test_gold_hash_changes_with_content(tmp_path: Path) -> None:
    gold_dir, _ = write(tmp_path)
    first = gold_hash(gold_dir)
    assert gold_hash(gold_dir) == first
    path = gold_dir / "facts.json"
    path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert gold_hash(gold_dir) != first


@pytest.mark.skipif(not REAL_GOLD.is_dir(), reason="eval/gold/ is absent: no real gold annotations to check")
def test_real_gold_quotes_are_verbatim_and_facts_consistent() -> None:
    gold = load_gold(REAL_GOLD, REAL_SEEDS)  # raises GoldError naming the file and claim otherwise
    assert gold.claims and gold.facts
    ids = {c.id for c in gold.claims}
    for c in gold.claims:
        text = gold.articles[c.article_id].text
        assert c.quote in text, c.id
        assert text[c.span.start : c.span.end] == c.quote, c.id
    members = [m.claim for f in gold.facts for m in f.members]
    assert set(members) <= ids
    assert len(members) == len(set(members))
    # The oracle conversion works on the real gold.
    converted = gold.to_claims()
    assert sum(len(v) for v in converted.values()) == len(gold.claims)
