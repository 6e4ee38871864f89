"""How the archive's incremental check scales: time per added article and stored claims retrieved
per new claim, as the archive grows, and whether the final facts equal a from-scratch check.

    python benchmarks/archive_growth.py --sizes 100 1000 10000 --probe 100 \
        --out benchmarks/results/archive_growth.json

For each size a new archive (a SQLite file) is filled with that many articles in one bulk load
(``Archive.add(..., bulk=True)``), then ``--probe`` more articles are added one by one and timed:
the time per added article and the stored claims retrieved per new claim are what must stay flat.
The model is an in-process rule-based stub (every sentence of a chunk becomes a claim; adjudication
answers from a hash of the pair), so what is timed is the archive and the cross-check, not a model.
The corpus is ``synthetic_corpus.make_corpus`` with each company renamed per cohort of 300 articles,
so that, as in a real archive, subjects keep coming (30 fictional companies covering 10,000
articles would be 30 blocks that grow without end). Cities and regions do recur across cohorts:
their blocks outgrow the block window, as a common place name does in a newsroom's archive.

``--subjects`` says what the stub gives as a claim's subject. ``company`` (the default): the
company the sentence names, else its first capitalised word, as a model names who a claim is
about. ``first-word``: the first capitalised word (:class:`recoupe.testing.RuleModel`'s rule),
which makes the city the subject of "Le chantier du site de Lyon doit démarrer en 2027, a précisé
Sillhor": every company's works in Lyon, across all cohorts, become claims about one subject, their
differing years contradict by rule, and conflicting facts grow with the archive (287 members at
10,000 articles). That is the worst case of the facts rebuilt per article, which grows with the
size of the facts an article touches.

After the probes, ``crosscheck`` runs from scratch on every archived article (in archive order,
with the same stub) and its facts are compared with the archive's.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from output import save_result
from recoupe.archive import Archive
from recoupe.archive.schema import FactRow
from recoupe.crosscheck import crosscheck
from recoupe.models import Article
from recoupe.testing import RuleModel
from synthetic_corpus import COMPANIES, make_corpus

COHORT = 300
_SYLLABLES = ["bra", "cel", "dor", "fin", "gal", "hor", "lim", "mar", "nov", "pel", "quin", "ros", "sel", "tav", "vor"]


#: The rule-based in-process stub (every sentence a claim; adjudication from a hash of the pair).
StubModel = RuleModel


class CompanyStub(RuleModel):
    """:class:`RuleModel` whose claims are about the company their sentence names (any cohort's
    name), else about its first capitalised word."""

    def __init__(self, names: set[str]) -> None:
        super().__init__()
        self.names = names

    def complete(
        self, *, stage: str, prompt: Any, variables: dict[str, Any], response_model: type, **options: Any
    ) -> Any:
        answer = super().complete(
            stage=stage, prompt=prompt, variables=variables, response_model=response_model, **options
        )
        if stage != "extract":
            return answer
        for draft in answer.claims:
            named = [w for w in re.findall(r"\b[A-ZÀ-Ö][\w-]+", draft.claim) if w in self.names]
            if named:
                draft.subject = named[0]
        return answer


def company_names(cohorts: int) -> set[str]:
    return {_name(company, cohort) for cohort in range(cohorts) for company in COMPANIES}


def _name(company: str, cohort: int) -> str:
    if cohort == 0:
        return company
    a, b = divmod(cohort, len(_SYLLABLES))
    return company[:4] + _SYLLABLES[b] + (_SYLLABLES[a % len(_SYLLABLES)] if a else "")


def corpus(n: int, seed: int) -> list[Article]:
    """``n`` articles: cohorts of :data:`COHORT`, each the synthetic corpus with its own company names."""
    out: list[Article] = []
    cohort = 0
    while len(out) < n:
        part = make_corpus(COHORT, seed + cohort)
        for article in part[: n - len(out)]:
            text = article.text
            for company in COMPANIES:
                text = re.sub(rf"\b{re.escape(company)}\b", _name(company, cohort), text)
            out.append(article.model_copy(update={"id": f"c{cohort:03d}-{article.id}", "text": text}))
        cohort += 1
    return out


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(sizes: list[int], probe: int, seed: int, scratch: bool, subjects: str = "company") -> dict[str, Any]:
    articles = corpus(max(sizes) + probe, seed)
    names = company_names((max(sizes) + probe) // COHORT + 1)

    def stub() -> RuleModel:
        return CompanyStub(names) if subjects == "company" else StubModel()

    folder = tempfile.mkdtemp(prefix="recoupe-archive-bench-")
    points = []
    started = time.monotonic()
    calls = 0
    for size in sizes:
        model = stub()
        archive = Archive(str(Path(folder) / f"archive-{size}.sqlite"), model=model)
        t = time.monotonic()
        report = archive.add(articles[:size], bulk=True)
        assert not report.failures and len(report.added) == size, report.failures[:3]
        fill = time.monotonic() - t
        per_article: list[float] = []
        per_claim: list[float] = []
        for article in articles[size : size + probe]:
            t0 = time.monotonic()
            report = archive.add([article])
            per_article.append(time.monotonic() - t0)
            claims = len(archive.claims(article.id) or [])
            per_claim.append(report.candidates / max(1, claims))
        stats = archive.stats()
        with Session(archive.engine) as session:
            largest = session.scalar(select(func.max(FactRow.size))) or 0
        point: dict[str, Any] = {
            "archive_articles": size,
            "archive_claims_after": stats.claims,
            "probe_articles": probe,
            "seconds_per_added_article": {
                "median": round(statistics.median(per_article), 4),
                "mean": round(statistics.fmean(per_article), 4),
                "p90": round(sorted(per_article)[int(0.9 * (len(per_article) - 1))], 4),
            },
            "candidates_retrieved_per_claim": {
                "median": round(statistics.median(per_claim), 2),
                "mean": round(statistics.fmean(per_claim), 2),
                "max": round(max(per_claim), 2),
            },
            "bulk_fill_seconds": round(fill, 1),
            "facts": stats.facts,
            "largest_fact_members": largest,
            "sqlite_mb": round((Path(folder) / f"archive-{size}.sqlite").stat().st_size / 2**20, 1),
            "peak_rss_mb": round(_rss_mb(), 1),
        }
        if scratch:
            t = time.monotonic()
            extraction = archive.extraction()
            from_scratch = crosscheck(extraction, stub())
            got = archive.report().facts
            point["from_scratch"] = {
                "articles": len(extraction.articles),
                "facts": len(got),
                "equal": [f.model_dump(mode="json") for f in got]
                == [f.model_dump(mode="json") for f in from_scratch.facts],
                "seconds": round(time.monotonic() - t, 1),
            }
        calls += model.calls
        archive.close()
        points.append(point)
        print(json.dumps(point), flush=True)
    return {
        "sizes": sizes,
        "probe": probe,
        "seed": seed,
        "store": "sqlite",
        "subjects": subjects,
        "points": points,
        "total_seconds": round(time.monotonic() - started, 1),
        "model_calls": calls,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--probe", type=int, default=100, help="articles added one by one at each size")
    parser.add_argument("--seed", type=int, default=20250301)
    parser.add_argument("--no-scratch", action="store_true", help="skip the from-scratch comparison")
    parser.add_argument("--subjects", choices=["company", "first-word"], default="company", help="the stub's subjects")
    parser.add_argument("--out", help="write the result JSON here")
    args = parser.parse_args()
    result = run(sorted(args.sizes), args.probe, args.seed, not args.no_scratch, args.subjects)
    save_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
