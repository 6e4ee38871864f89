"""Extraction as a Ray Data map over articles: each worker holds its own model client and runs
:func:`~recoupe.extraction.extract_articles` on a batch; a failing article is kept as a
:class:`~recoupe.models.Failure` and the others go on, as in one process."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ArticleError, ConfigError
from ..extraction import extract_articles
from ..extraction.driver import admit
from ..extraction.schema import EXTRACT_PROMPT
from ..llm.prompts import load_prompt
from ..models import Article, ArticleClaims, Extraction, Failure, Usage
from ..settings import Settings
from .workers import (
    ModelSpec,
    build_model,
    check_spec,
    chunk_chars_of,
    close_model,
    cluster_cpus,
    dumps,
    loads,
    usage_delta,
)

__all__ = ["DEFAULT_BATCH_SIZE", "extract", "load_items"]

#: Articles per worker batch: enough to keep a model's requests in flight, few enough to spread.
DEFAULT_BATCH_SIZE = 16


def load_items(articles: Any, parameter: str = "articles") -> list[Article | ArticleError]:
    """The inputs as loaded articles and load errors, as :func:`recoupe.extract` takes them; an
    archive gives its articles in archive order."""
    from ..api import _items
    from ..archive import Archive

    if isinstance(articles, Archive):
        return [ac.article for ac in articles.extraction().articles]
    return _items(articles, parameter)


class _Extractor:
    """A Ray Data worker: one model for every batch it is given."""

    def __init__(self, spec: ModelSpec, chunk_chars: int | None) -> None:
        self.model = build_model(spec)
        assert self.model is not None
        self.chunk_chars = chunk_chars_of(spec, self.model, chunk_chars)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        assert self.model is not None
        positions = [int(p) for p in batch["position"]]
        articles: list[Article] = [loads(a) for a in batch["article"]]
        before = self.model.usage.model_copy(deep=True)
        result = extract_articles(articles, self.model, chunk_chars=self.chunk_chars)
        done = {ac.article.id: ac for ac in result.articles}
        failed = {f.article_id: f for f in result.failures}
        outcomes: list[bytes] = []
        for article in articles:
            outcome: ArticleClaims | Failure | None = done.get(article.id) or failed.get(article.id)
            if outcome is None:  # never expected: say so rather than lose the article
                outcome = Failure(
                    source=article.source or article.id, article_id=article.id, stage="extract", reason="no result"
                )
            outcomes.append(dumps(outcome))
        usage = usage_delta(self.model.usage, before)
        return {
            "position": positions,
            "outcome": outcomes,
            "usage": [dumps(usage)] + [b""] * (len(positions) - 1),
            "model": [self.model.name] * len(positions),
        }

    def __del__(self) -> None:
        close_model(getattr(self, "model", None))


def extract(
    articles: Any,
    model: ModelSpec,
    *,
    chunk_chars: int | None = None,
    workers: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    num_cpus: float = 1,
) -> Extraction:
    """Extract the claims of ``articles`` on the Ray cluster this process is connected to
    (``ray.init(address="auto")``; without one, Ray starts a local one).

    ``model``: :class:`~recoupe.Settings` (each worker makes its own client; the embedded model
    runs once per node) or a picklable function returning a model, called once per worker.
    ``workers``: model-holding workers (default: one per CPU of the cluster), each given
    ``batch_size`` articles at a time. The result is what
    :func:`recoupe.extract` gives: articles in input order, bad inputs and failing articles in
    ``failures`` (load errors first, then extraction failures in input order), usage summed over
    the workers.
    """
    import ray

    spec = check_spec(model)
    if spec is None:
        raise ConfigError("model: extraction needs a model (recoupe.Settings or a function returning one)")
    result = Extraction()
    prompt = load_prompt(EXTRACT_PROMPT)
    result.prompts[prompt.id] = prompt.sha256
    good = admit(load_items(articles), result.failures)
    if isinstance(spec, Settings):
        result.model = spec.model
    if not good:
        return result
    size = workers or max(1, int(cluster_cpus() // max(num_cpus, 1e-3)))
    size = max(1, min(size, -(-len(good) // batch_size)))
    ds = ray.data.from_items([{"position": n, "article": dumps(a)} for n, a in enumerate(good)])
    rows = ds.map_batches(
        _Extractor,
        fn_constructor_kwargs={"spec": spec, "chunk_chars": chunk_chars},
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=size),
        num_cpus=num_cpus,
    ).take_all()
    outcomes: dict[int, ArticleClaims | Failure] = {}
    usage = Usage()
    for row in rows:
        outcomes[int(row["position"])] = loads(row["outcome"])
        if row["usage"]:
            usage.add(loads(row["usage"]))
        result.model = result.model or str(row["model"])
    for n in range(len(good)):
        outcome = outcomes[n]
        if isinstance(outcome, Failure):
            result.failures.append(outcome)
        else:
            result.articles.append(outcome)
    result.usage = usage
    return result
