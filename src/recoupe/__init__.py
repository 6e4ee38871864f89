"""recoupe: turn news articles into source-grounded claims and cross-check them across sources.

>>> import recoupe
>>> articles = recoupe.load_articles("seeds/")
>>> result = recoupe.extract_claims(articles[0])  # doctest: +SKIP
>>> report = recoupe.check(articles)  # doctest: +SKIP

``extract_claims`` runs the embedded model (no key needed); ``check`` gives claims, facts and
verdicts.
"""

from __future__ import annotations

from importlib import metadata

from .api import check, extract, extract_claims
from .articles import iter_articles, load_articles
from .crosscheck import crosscheck
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
from .files import OutputError
from .llm import LLM, Model
from .models import (
    Alignment,
    Amount,
    Article,
    ArticleClaims,
    Bound,
    Claim,
    Extraction,
    Fact,
    FactMember,
    Failure,
    Modality,
    PairingStats,
    PairJudgement,
    Quantity,
    Relation,
    Report,
    Span,
    StageUsage,
    TimeRef,
    Usage,
    Verdict,
)
from .report import to_claimreview, to_html, to_json, to_markdown
from .settings import Settings

try:
    __version__ = metadata.version("recoupe")
except metadata.PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0.0.0"

__all__ = [
    "LLM",
    "Alignment",
    "Amount",
    "Article",
    "ArticleClaims",
    "ArticleError",
    "Bound",
    "Claim",
    "ConfigError",
    "Extraction",
    "Fact",
    "FactMember",
    "Failure",
    "GoldError",
    "LLMError",
    "Modality",
    "Model",
    "ModelNotInstalledError",
    "OutputError",
    "PairJudgement",
    "PairingStats",
    "Quantity",
    "RecordingMissingError",
    "RecoupeError",
    "Relation",
    "Report",
    "SchemaError",
    "Settings",
    "Span",
    "StageUsage",
    "TimeRef",
    "TransientLLMError",
    "TruncatedOutputError",
    "Usage",
    "Verdict",
    "__version__",
    "check",
    "crosscheck",
    "extract",
    "extract_claims",
    "iter_articles",
    "load_articles",
    "to_claimreview",
    "to_html",
    "to_json",
    "to_markdown",
]
