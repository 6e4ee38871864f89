"""The body of ``POST /v1/articles``, checked as the command line checks a JSON file of articles
(:mod:`recoupe.articles`): the same fields, the same reasons, plus a required ``id``."""

from __future__ import annotations

import json
from typing import Any

from ..articles import MAX_ARTICLE_BYTES, _from_record
from ..errors import ArticleError
from ..models import Article

__all__ = ["ARTICLES_BODY_SCHEMA", "MAX_FIELD_CHARS", "BodyError", "parse_articles"]

#: The JSON schema of the body, for the OpenAPI description (the checks are :func:`parse_articles`).
ARTICLES_BODY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["articles"],
    "additionalProperties": False,
    "properties": {
        "articles": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "text"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "description": "unique in the archive"},
                    "text": {
                        "type": "string",
                        "description": f"the article as published (at most {MAX_ARTICLE_BYTES} bytes)",
                    },
                    "outlet": {"type": ["string", "null"]},
                    "url": {"type": ["string", "null"]},
                    "published": {"type": ["string", "null"], "format": "date"},
                    "language": {"type": ["string", "null"], "description": "fr, en...; detected when missing"},
                },
            },
        }
    },
}


#: The longest article id or outlet the archive keeps.
MAX_FIELD_CHARS = 200


class BodyError(ValueError):
    """The body cannot be used; ``errors`` lists each problem as ``{"loc", "msg"}``."""

    def __init__(self, detail: str, errors: list[dict[str, Any]]) -> None:
        self.detail = detail
        self.errors = errors
        super().__init__(detail)


def _record(record: Any, index: int) -> Article:
    where = f"articles[{index}]"
    if isinstance(record, dict) and "id" not in record:
        raise ArticleError(where, "JSON object has no 'id' field")
    if isinstance(record, dict) and isinstance(record.get("text"), str):
        size = len(record["text"].encode("utf-8", "surrogatepass"))
        if size > MAX_ARTICLE_BYTES:
            raise ArticleError(where, f"too large: {size} bytes (limit {MAX_ARTICLE_BYTES})")
    article = _from_record(record, where, "")
    for field in ("id", "outlet"):  # the archive's columns hold this much
        value = getattr(article, field)
        if value is not None and len(value) > MAX_FIELD_CHARS:
            raise ArticleError(where, f"'{field}' is longer than {MAX_FIELD_CHARS} characters")
    return article.model_copy(update={"source": None})


def parse_articles(raw: bytes) -> list[Article]:
    """The articles of a request body, or :class:`BodyError` naming every bad one."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc).splitlines()[0][:200]
        raise BodyError(f"the body is not JSON: {message}", [{"loc": ["body"], "msg": message}]) from None
    if not isinstance(data, dict) or "articles" not in data:
        raise BodyError(
            'expected a JSON object {"articles": [...]}',
            [{"loc": ["body"], "msg": "expected an object with 'articles'"}],
        )
    unknown = sorted(set(data) - {"articles"})
    if unknown:
        raise BodyError(
            f"unknown field(s): {', '.join(unknown)}", [{"loc": ["body", k], "msg": "unknown field"} for k in unknown]
        )
    records = data["articles"]
    if not isinstance(records, list) or not records:
        raise BodyError(
            "'articles' must be a non-empty list", [{"loc": ["body", "articles"], "msg": "a non-empty list"}]
        )
    articles: list[Article] = []
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, record in enumerate(records):
        try:
            article = _record(record, i)
        except ArticleError as exc:
            errors.append({"loc": ["body", "articles", i], "msg": exc.reason})
            continue
        if article.id in seen:
            errors.append({"loc": ["body", "articles", i], "msg": f"duplicate article id {article.id!r}"})
            continue
        seen.add(article.id)
        articles.append(article)
    if errors:
        bad = len(errors)
        raise BodyError(f"{bad} of {len(records)} article(s) cannot be used: {errors[0]['msg']}", errors)
    return articles
