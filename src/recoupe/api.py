"""The top-level API: :func:`extract`, :func:`extract_claims` and :func:`check` over articles or
paths. It owns the model's lifetime: a model is made from the settings (or the environment) and
closed on the way out, unless the caller passes one in.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .articles import iter_articles
from .errors import ArticleError, ConfigError, RecoupeError
from .extraction import OnDone, extract_articles
from .extraction.processes import extract_in_processes
from .llm import LLM, using_llm
from .models import Article, ArticleClaims, Extraction, Report
from .settings import Settings

__all__ = ["Inputs", "check", "extract", "extract_claims"]

#: What :func:`extract` and :func:`check` take: one path (a file or a folder), one article, or an
#: iterable of articles, load errors and paths.
Inputs = str | Path | Article | Iterable[Article | ArticleError | str | Path]


def _items(articles: Any, parameter: str = "articles") -> list[Article | ArticleError]:
    """The inputs as loaded articles and load errors. A str or Path is one path, never a sequence
    of characters; anything that is not an article, a path or an iterable of them is refused."""
    if isinstance(articles, str | Path | Article):
        articles = [articles]
    elif articles is None or isinstance(articles, bytes | dict) or not isinstance(articles, Iterable):
        raise ConfigError(
            f"{parameter}: expected a path, an Article or an iterable of them, got {type(articles).__name__}"
        )
    items: list[Article | ArticleError] = []
    paths: list[str | Path] = []
    for a in articles:
        if isinstance(a, Article | ArticleError):  # already loaded (a load error is reported as is)
            items.append(a)
        elif isinstance(a, str | Path):
            paths.append(a)
        else:
            raise ConfigError(f"{parameter}: expected an Article or a path, got {type(a).__name__}")
    items.extend(iter_articles(paths))
    return items


def _settings(settings: Any) -> Settings | None:
    if settings is not None and not isinstance(settings, Settings):
        raise ConfigError(f"settings: expected a recoupe.Settings, got {type(settings).__name__}")
    return settings


def _resolved(settings: Any, llm: LLM | None) -> Settings | None:
    """The settings a model will be made from (the environment's when none are given), or None
    when a model is passed in (it is used as it is)."""
    checked = _settings(settings)
    return None if llm is not None else (checked or Settings.from_env())


def _extraction(
    items: list[Article | ArticleError], model: LLM, settings: Settings | None, on_done: OnDone | None
) -> Extraction:
    """In worker processes when the settings ask for them (each makes its own model), else with
    ``model`` here."""
    if settings is not None and settings.processes > 1:
        return extract_in_processes(items, settings, on_done=on_done)
    return extract_articles(items, model, chunk_chars=model.target_chars, on_done=on_done)


def extract(
    articles: Inputs,
    settings: Settings | None = None,
    *,
    llm: LLM | None = None,
    on_done: OnDone | None = None,
) -> Extraction:
    """Extract grounded claims from articles (objects, files or folders).

    Bad inputs and failing articles are listed in ``Extraction.failures``; the others are processed.

    >>> result = extract("seeds/")  # doctest: +SKIP
    >>> len(result.articles), len(result.failures)  # doctest: +SKIP
    (5, 0)
    """
    items = _items(articles)
    made = _resolved(settings, llm)
    if made is not None and made.processes > 1:  # the workers make their own models: none here
        return extract_in_processes(items, made, on_done=on_done)
    with using_llm(llm, made) as model:
        return extract_articles(items, model, chunk_chars=model.target_chars, on_done=on_done)


def extract_claims(article: Article, settings: Settings | None = None, *, llm: LLM | None = None) -> ArticleClaims:
    """Extract grounded claims from one article; a failure raises the :class:`RecoupeError` that
    :func:`extract` would list.

    >>> from recoupe import load_articles
    >>> article = load_articles("seeds/000_6aa68e9ac400efb7.txt")[0]
    >>> result = extract_claims(article)  # doctest: +SKIP
    >>> all(article.text[c.span.start:c.span.end] == c.quote for c in result.claims)  # doctest: +SKIP
    True
    """
    if not isinstance(article, Article):
        raise ConfigError(f"article: expected a recoupe.Article, got {type(article).__name__}")
    errors: list[RecoupeError] = []

    def keep_error(_: Article | ArticleError, outcome: ArticleClaims | RecoupeError) -> None:
        if isinstance(outcome, RecoupeError):
            errors.append(outcome)

    with using_llm(llm, _settings(settings)) as model:
        result = extract_articles([article], model, chunk_chars=model.target_chars, on_done=keep_error)
    if errors:
        raise errors[0]
    return result.articles[0]


def check(
    articles: Inputs,
    settings: Settings | None = None,
    *,
    llm: LLM | None = None,
    adjudicate: bool = True,
    model_contradictions: bool = False,
    on_done: OnDone | None = None,
) -> Report:
    """Extract claims from every article, then cross-check them into facts with verdicts.

    Conflicts come from differences in numbers and dates found by rules; set
    ``model_contradictions=True`` to also accept the model's word for one (a strong model).

    >>> report = check("seeds/")  # doctest: +SKIP
    >>> [f.verdict.value for f in report.facts][:1]  # doctest: +SKIP
    ['conflicting']
    """
    from .crosscheck import (
        crosscheck,  # numpy and rapidfuzz load only when a check runs
    )

    items = _items(articles)
    made = _resolved(settings, llm)
    with using_llm(llm, made) as model:
        extraction = _extraction(items, model, made, on_done)
        return crosscheck(extraction, model, adjudicate=adjudicate, model_contradictions=model_contradictions)
