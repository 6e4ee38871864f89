"""recoupe: turn news articles into source-grounded claims and cross-check them across sources.

>>> import recoupe
>>> articles = recoupe.load_articles("seeds/")
>>> result = recoupe.extract_claims(articles[0])  # doctest: +SKIP
>>> report = recoupe.check(articles)  # doctest: +SKIP

``extract_claims`` runs the embedded model (no key needed); ``check`` gives claims, facts and
verdicts.
"""

from __future__ import annotations

from .api import check, extract, extract_claims
from .articles import iter_articles, load_articles
from .errors import (
    ArticleError,
    ConfigError,
    GoldError,
    LLMError,
    ModelNotInstalledError,
    RecordingMissingError,
    RecoupeError,
    SchemaError,
    TransientLLMError,
    TruncatedOutputError,
)
from .llm import LLM
from .models import (
    Alignment,
    Article,
    ArticleClaims,
    Bound,
    Claim,
    Extraction,
    Fact,
    FactMember,
    Modality,
    Quantity,
    Relation,
    Report,
    Span,
    TimeRef,
    Usage,
    Verdict,
)
from .settings import Settings

__version__ = "0.1.0"

__all__ = [
    "LLM",
    "Alignment",
    "Article",
    "ArticleClaims",
    "ArticleError",
    "Bound",
    "Claim",
    "ConfigError",
    "Extraction",
    "Fact",
    "FactMember",
    "GoldError",
    "LLMError",
    "Modality",
    "ModelNotInstalledError",
    "Quantity",
    "RecordingMissingError",
    "RecoupeError",
    "Relation",
    "Report",
    "SchemaError",
    "Settings",
    "Span",
    "TimeRef",
    "TransientLLMError",
    "TruncatedOutputError",
    "Usage",
    "Verdict",
    "check",
    "extract",
    "extract_claims",
    "iter_articles",
    "load_articles",
]
