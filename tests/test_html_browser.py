"""The HTML viewer in a real headless browser (Debian's chromium), on the gold claims of the seeds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import EVAL, SEEDS
from recoupe.crosscheck import crosscheck
from recoupe.evaluation import load_gold
from recoupe.models import ArticleClaims, Extraction
from recoupe.report import to_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _report_html(tmp_path: Path) -> tuple[Path, object]:
    gold = load_gold(EVAL / "gold", SEEDS)
    claims = gold.to_claims()
    from recoupe import load_articles

    articles = [ArticleClaims(article=a, claims=claims.get(a.id, [])) for a in load_articles(SEEDS)]
    report = crosscheck(Extraction(articles=articles))  # rules only: no model
    path = tmp_path / "report.html"
    path.write_text(to_html(report), encoding="utf-8")
    return path, report


def _dom(url: str, tmp_path: Path) -> str:
    out = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_viewer_highlights_claims_and_opens_a_conflict(tmp_path: Path) -> None:
    path, report = _report_html(tmp_path)
    conflict = next(f for f in report.facts if f.verdict.value == "conflicting")
    claim_id = conflict.members[0].claim_id
    dom = _dom(path.as_uri() + "#claim=" + quote(claim_id, safe=""), tmp_path)
    assert 'id="conflicts"' in dom
    assert dom.count('<mark class="claim') >= len(report.claims()) * 0.9
    panel = dom.split('id="fact-panel"', 1)[1].split("</aside>", 1)[0]
    assert "hidden" not in panel.split(">", 1)[0]  # the panel was opened by the script
    assert "conflicting" in panel
    # the other articles' wording of the same fact is shown
    for member in conflict.members:
        other = next(c for c in report.claims() if c.id == member.claim_id)
        assert other.quote.replace("’", "’") in panel.replace("&nbsp;", "\u00a0")
