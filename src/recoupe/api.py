"""The top-level API: ``extract`` and ``check`` over articles or paths."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from .articles import iter_articles
from .errors import ArticleError, RecoupeError
from .extraction import extract_articles
from .llm import LLM, using_llm
from .models import Article, ArticleClaims, Extraction, Report
from .settings import Settings

__all__ = ["extract", "check"]

Progress = Callable[[Article | ArticleError, ArticleClaims | RecoupeError], None]


def _items(articles: Iterable[Article | ArticleError | str | Path]) -> list[Article | ArticleError]:
    items: list[Article | ArticleError] = []
    paths: list[str | Path] = []
    for a in articles:
        if isinstance(a, Article | ArticleError):  # already loaded (a load error is reported as is)
            items.append(a)
        else:
            paths.append(a)
    items.extend(iter_articles(paths))
    return items


def extract(
    articles: Iterable[Article | ArticleError | str | Path],
    settings: Settings | None = None,
    *,
    llm: LLM | None = None,
    on_done: Progress | None = None,
) -> Extraction:
    """Extract grounded claims from articles (objects, files or folders).

    Bad inputs and failing articles are listed in ``Extraction.failures``; the others are processed.

    >>> result = extract(["seeds/"])
    >>> len(result.articles), len(result.failures)
    (5, 0)
    """
    with using_llm(llm, settings) as model:
        return extract_articles(_items(articles), model, on_done=on_done)


def check(
    articles: Iterable[Article | ArticleError | str | Path],
    settings: Settings | None = None,
    *,
    llm: LLM | None = None,
    adjudicate: bool = True,
    model_contradictions: bool = False,
    on_done: Progress | None = None,
) -> Report:
    """Extract claims from every article, then cross-check them into facts with verdicts.

    Conflicts come from differences in numbers and dates found by rules; set
    ``model_contradictions=True`` to also accept the model's word for one (a strong model).

    >>> report = check(["seeds/"])
    >>> [f.verdict.value for f in report.facts][:1]
    ['conflicting']
    """
    from .verify import build_report

    with using_llm(llm, settings) as model:
        extraction = extract_articles(_items(articles), model, on_done=on_done)
        return build_report(extraction, model, adjudicate=adjudicate, model_contradictions=model_contradictions)


