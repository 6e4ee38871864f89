import json
from pathlib import Path

import pytest

from conftest import SEEDS
from recoupe import Article, ArticleError, iter_articles, load_articles
from recoupe.articles import MAX_ARTICLE_BYTES


def test_loads_the_five_seeds_verbatim() -> None:
    articles = load_articles(SEEDS)
    assert [a.id for a in articles] == sorted(p.stem for p in SEEDS.glob("*.txt"))
    for a in articles:
        assert a.text == (SEEDS / f"{a.id}.txt").read_text(encoding="utf-8")


def test_json_and_jsonl_records(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(json.dumps({"id": "x1", "text": "Un texte.", "published": "2024-05-13"}))
    (tmp_path / "many.jsonl").write_text(
        json.dumps({"id": "a", "text": "Premier."})
        + "\n\n"
        + json.dumps({"id": "b", "text": "Second.", "outlet": "AFP"})
        + "\n"
    )
    articles = {a.id: a for a in load_articles(tmp_path)}
    assert set(articles) == {"x1", "a", "b"}
    assert str(articles["x1"].published) == "2024-05-13"
    assert articles["b"].outlet == "AFP"


def test_front_matter_sets_metadata_and_offsets_follow_the_body(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\npublished: 2024-05-12\noutlet: AFP\n---\nDimanche, Microsoft a annoncé.")
    article = load_articles(tmp_path)[0]
    assert article.outlet == "AFP" and str(article.published) == "2024-05-12"
    assert article.text == "Dimanche, Microsoft a annoncé."


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b"  \n\n ", "empty file"),
        ("blob.txt", b"\x00\x01\x02binary", "binary"),
        ("latin1.txt", "Élysée".encode("latin-1"), "not UTF-8"),
        ("notext.json", b'{"id": "x"}', "no 'text' field"),
        ("wrongtype.json", b'{"text": 42}', "'text' must be a string"),
        ("broken.json", b'{"text": ', "invalid JSON"),
        ("list.jsonl", b"[1, 2]\n", "expected a JSON object"),
        ("bad.pdf", b"%PDF-1.4", "unsupported file type"),
    ],
)
def test_bad_input_names_the_file_and_the_problem(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ArticleError) as info:
        load_articles(path)
    assert info.value.source.startswith(str(path))
    assert reason in info.value.reason


def test_missing_path_and_size_limit(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="no such file"):
        load_articles(tmp_path / "nope.txt")
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * (MAX_ARTICLE_BYTES + 1))
    with pytest.raises(ArticleError, match="too large"):
        load_articles(big)


def test_a_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("Amazon investit 1,2 milliard d'euros en France.")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blob.txt").write_bytes(b"\x00" * 10)
    items = list(iter_articles([tmp_path]))
    good = [i for i in items if isinstance(i, Article)]
    bad = sorted(Path(i.source).name for i in items if isinstance(i, ArticleError))
    assert [a.id for a in good] == ["good"]
    assert bad == ["blob.txt", "empty.txt"]
    assert load_articles(tmp_path, strict=False)[0].id == "good"
