"""`recoupe eval` replays the recorded answers offline and reproduces the committed reference."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import EVAL, ROOT, SEEDS
from recoupe.cli import main
from recoupe.evaluation.harness import run_eval
from recoupe.settings import Settings

REFERENCE = EVAL / "results" / "embedded.json"


@pytest.fixture(scope="module")
def replayed() -> dict:
    return run_eval(EVAL, SEEDS, Settings(), backend="embedded")


def test_replay_matches_the_committed_reference(replayed: dict) -> None:
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert set(replayed["systems"]) == set(reference["systems"])
    for name, system in replayed["systems"].items():
        ours = json.loads(json.dumps(system, sort_keys=True))
        theirs = reference["systems"][name]
        assert ours == theirs, f"system {name} differs from {REFERENCE.name}"
    assert replayed["gold_hash"] == reference["gold_hash"]
    assert replayed["prompts"] == reference["prompts"]


def test_two_replays_give_identical_metrics(replayed: dict) -> None:
    again = run_eval(EVAL, SEEDS, Settings(), backend="embedded")
    assert json.dumps(again["systems"], sort_keys=True) == json.dumps(replayed["systems"], sort_keys=True)


def test_the_verifier_finds_the_conflict_and_the_corroborations(replayed: dict) -> None:
    recoupe = replayed["systems"]["recoupe"]
    oracle = replayed["systems"]["oracle"]
    assert recoupe["extraction"]["micro"]["f1"] > 0
    assert oracle["crosscheck"]["contradiction"]["recall"] > 0
    assert oracle["crosscheck"]["bcubed"]["f1"] > 0.5


def test_cli_eval_prints_the_table_without_writing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--no-save", "--eval-dir", str(EVAL), "--seeds", str(SEEDS)]) == 0
    out = capsys.readouterr().out
    assert "overall (micro)" in out and "Grounding" in out and "Cross-check" in out


def test_a_missing_recording_is_named(tmp_path: Path) -> None:
    from recoupe import RecordingMissingError

    eval_dir = tmp_path / "eval"
    (eval_dir / "gold").mkdir(parents=True)
    for item in (EVAL / "gold").rglob("*.json"):
        target = eval_dir / "gold" / item.relative_to(EVAL / "gold")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(item.read_bytes())
    with pytest.raises(RecordingMissingError, match="no such recording"):
        run_eval(eval_dir, SEEDS, Settings(), backend="nowhere")
    assert ROOT.exists()


def test_a_backend_replays_at_the_target_size_it_was_recorded_with(capsys: pytest.CaptureFixture[str]) -> None:
    """``embedded-chunk350`` holds the same model's answers for 350-character targets; its
    backend.json says so, and a replay at the default 1000 would find no recording."""
    from recoupe import RecordingMissingError

    reference = json.loads((EVAL / "results" / "embedded-chunk350.json").read_text(encoding="utf-8"))
    assert reference["settings"]["chunk_chars"] == 350
    assert (
        main(["eval", "--backend", "embedded-chunk350", "--no-save", "--eval-dir", str(EVAL), "--seeds", str(SEEDS)])
        == 0
    )
    micro = reference["systems"]["recoupe"]["extraction"]["micro"]
    assert f"{micro['precision']:.3f}   {micro['recall']:.3f}   {micro['f1']:.3f}" in capsys.readouterr().out
    with pytest.raises(RecordingMissingError):
        run_eval(EVAL, SEEDS, Settings(), backend="embedded-chunk350")


def test_eval_without_vcrpy_says_what_to_install(tmp_path: Path) -> None:
    """On an install without the eval extra, `recoupe eval` prints one line naming the extra."""
    import subprocess
    import sys

    code = "import sys; sys.modules['vcr'] = None; from recoupe.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "eval", "--no-save", "--eval-dir", str(EVAL), "--seeds", str(SEEDS)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pip install 'recoupe[eval]'" in lines[0], done.stderr


def test_predictions_of_a_replayed_extract_reproduce_the_pipeline_row(tmp_path: Path, replayed: dict) -> None:
    """The JSON `recoupe extract seeds/` writes (here made from the same recorded answers), scored
    with `recoupe eval --predictions`, gives the pipeline's own strict row."""
    from recoupe.articles import load_articles
    from recoupe.evaluation.harness import datasets, score_predictions
    from recoupe.evaluation.recording import cassette
    from recoupe.extraction import extract_articles
    from recoupe.llm import LLM

    seeds = datasets(EVAL, SEEDS)[0]
    llm = LLM(Settings(use_cache=False, max_retries=0), replay_only=True)
    articles = load_articles(SEEDS)
    extracted = []
    for article in articles:  # one article per recording, as the harness replays them
        with cassette(seeds.cassettes("embedded") / "extract" / f"{article.id}.yaml"):
            extracted.extend(extract_articles([article], llm, chunk_chars=llm.target_chars).articles)
    from recoupe.models import Extraction

    path = tmp_path / "claims.json"
    path.write_text(Extraction(articles=extracted).model_dump_json(indent=2), encoding="utf-8")
    scored = score_predictions(path, seeds)
    assert scored["extraction_v2"] == replayed["systems"]["recoupe"]["extraction_v2"]
