"""LangExtract on the same model and endpoint as recoupe, scored by the same rule.

LangExtract (``langextract`` 1.7.1) is run as a user would run it against an OpenAI-compatible
endpoint: its OpenAI provider, chosen explicitly (the model name alone would route a ``qwen…`` id
to its Ollama provider), raw JSON answers (``fence_output=False``, no schema constraints, so the
provider asks for ``response_format={"type": "json_object"}``), one extraction pass, one worker,
its default chunking (``max_char_buffer=1000``) and its default alignment. The prompt is one class,
``claim``, whose text is the supporting words of the article, with the self-contained claim in the
``claim`` attribute, and one made-up French example.

Each extraction becomes a recoupe :class:`~recoupe.models.Claim`: the span is LangExtract's
``char_interval`` and the quote the article's text at that span; quantity, time, location and
modality are read from the quote by :mod:`recoupe.normalize`, as recoupe does for its own claims.
Extractions LangExtract could not place are counted as ungrounded and kept out of the claims, as
recoupe does; spans shorter than 12 characters (recoupe's minimum quote) are kept but counted.

Every request goes through a vcrpy cassette per article (``<folder>/<article id>.yaml``); usage
(calls and tokens) is read from the recorded responses. LangExtract offers no way to send extra
JSON with its requests, so ``cache_prompt`` is not sent (the embedded server has its prompt cache
off anyway); ``seed`` and ``max_tokens`` are passed through its provider keyword arguments.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import langextract as lx  # ImportError here: the harness reports LangExtract as not installed
from langextract.core import data as lx_data
from langextract.core import tokenizer as lx_tokenizer

from ..chunking import split_sentences
from ..errors import RecordingMissingError
from ..extraction import fill_claim, named_in
from ..grounding import sentence_at
from ..models import (
    Alignment,
    Article,
    ArticleClaims,
    Claim,
    Sentence,
    Span,
    StageUsage,
    Usage,
)
from ..settings import Settings
from .gold import GoldSet
from .langextract_prompt import EXAMPLES, PROMPT_DESCRIPTION, prompt_sha256
from .matching import match_claims
from .metrics import score_extraction
from .recording import cassette
from .scoring import score_extraction_strict

__all__ = [
    "EXAMPLES",
    "MAX_CHAR_BUFFER",
    "MIN_SPAN_CHARS",
    "PROMPT_DESCRIPTION",
    "LangExtractRun",
    "langextract_claims",
    "langextract_kwargs",
    "run_langextract",
    "run_langextract_article",
]

log = logging.getLogger(__name__)

#: LangExtract's default chunk size (characters), kept.
MAX_CHAR_BUFFER = 1000
#: recoupe's minimum quote length; shorter LangExtract spans are counted as ``short_spans``.
MIN_SPAN_CHARS = 12
STAGE = "langextract"


def _base_url(settings: Settings, record: bool) -> str:
    if settings.base_url is not None:
        return settings.base_url
    if not record:
        from ..llm import REPLAY_BASE_URL

        return REPLAY_BASE_URL
    from ..llm.embedded import (
        embedded_server,  # pragma: no cover - needs the embedded model
    )

    return embedded_server(parallel=max(1, min(settings.concurrency, 4))).base_url  # pragma: no cover


def langextract_kwargs(settings: Settings, base_url: str, max_char_buffer: int = MAX_CHAR_BUFFER) -> dict[str, Any]:
    """The keyword arguments given to ``lx.extract`` (besides the text), for the record."""
    provider_kwargs: dict[str, Any] = {
        "api_key": settings.api_key or "not-needed",  # the provider refuses an empty key
        "base_url": base_url,
        "temperature": settings.temperature,
        "seed": settings.seed,
        "max_output_tokens": settings.max_tokens,
        "max_workers": 1,
    }
    return {
        "prompt_description": PROMPT_DESCRIPTION,
        "examples": EXAMPLES,
        "config": lx.factory.ModelConfig(
            model_id=settings.model, provider="OpenAILanguageModel", provider_kwargs=provider_kwargs
        ),
        "fence_output": False,
        "use_schema_constraints": False,
        "max_char_buffer": max_char_buffer,
        "max_workers": 1,
        "batch_length": 1,
        "extraction_passes": 1,
        "show_progress": False,
    }


def _described_kwargs(settings: Settings, max_char_buffer: int = MAX_CHAR_BUFFER) -> dict[str, Any]:
    """:func:`langextract_kwargs` without the secret, the endpoint and the objects."""
    kwargs = langextract_kwargs(settings, "<endpoint>", max_char_buffer)
    config = kwargs.pop("config")
    kwargs.pop("examples")
    kwargs.pop("prompt_description")
    provider = {k: v for k, v in config.provider_kwargs.items() if k not in ("api_key", "base_url")}
    return {
        "model_id": config.model_id,
        "provider": config.provider,
        "provider_kwargs": provider,
        **kwargs,
        "examples": len(EXAMPLES),
    }


# -- one article ---------------------------------------------------------------------------------
@dataclass
class LangExtractRun:
    """What LangExtract did on one article."""

    claims: ArticleClaims
    chunks: int = 0
    omitted_chunks: int = 0
    extractions: int = 0
    short_spans: int = 0
    classes: dict[str, int] = field(default_factory=dict)
    usage: StageUsage = field(default_factory=StageUsage)
    http_errors: int = 0
    seconds: float | None = None
    error: BaseException | None = None

    def stats(self) -> dict[str, Any]:
        return {
            "article_id": self.claims.article.id,
            "chunks": self.chunks,
            "omitted_chunks": self.omitted_chunks,
            "extractions": self.extractions,
            "claims": len(self.claims.claims),
            "ungrounded": self.claims.ungrounded,
            "short_spans": self.short_spans,
            "classes": dict(sorted(self.classes.items())),
            "calls": self.usage.calls,
            "http_errors": self.http_errors,
            "failed": self.error is not None,
            "seconds": None if self.seconds is None else round(self.seconds, 2),
        }


class _OmittedChunks(logging.Handler):
    """Counts LangExtract's "Chunk omitted from results" warnings (it logs through absl)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if "Chunk omitted from results" in record.getMessage():
                self.count += 1
        except Exception:  # noqa: BLE001 - a logging handler never raises
            pass


@contextlib.contextmanager
def _count_omitted_chunks() -> Iterator[_OmittedChunks]:
    handler = _OmittedChunks()
    logger = logging.getLogger("absl")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _recording_missing(exc: BaseException | None) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if type(exc).__name__ == "CannotOverwriteExistingCassetteException":
            return True
        exc = getattr(exc, "original", None) or exc.__cause__ or exc.__context__
    return False


def _body_json(response: dict[str, Any]) -> Any:
    body = (response.get("body") or {}).get("string")
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _cassette_usage(cas: Any, record: bool) -> tuple[StageUsage, int]:
    """Calls and tokens from the interactions of this run: every recorded one when recording, the
    ones played back when replaying. Returns the usage and the number of non-2xx answers."""
    usage = StageUsage()
    errors = 0
    for index, (_request, response) in enumerate(cas.data):
        if not record and not cas.play_counts[index]:
            continue
        usage.calls += 1
        status = (response.get("status") or {}).get("code", 200)
        if not 200 <= int(status) < 300:
            errors += 1
        payload = _body_json(response)
        tokens = payload.get("usage") if isinstance(payload, dict) else None
        if isinstance(tokens, dict):
            usage.prompt_tokens += int(tokens.get("prompt_tokens") or 0)
            usage.completion_tokens += int(tokens.get("completion_tokens") or 0)
    return usage, errors


def _chunk_intervals(text: str, max_char_buffer: int = MAX_CHAR_BUFFER) -> list[tuple[int, int]]:
    """The character intervals of LangExtract's chunks of ``text`` (its default tokenizer)."""
    out = []
    for chunk in lx.chunking.ChunkIterator(
        text=text, max_char_buffer=max_char_buffer, tokenizer_impl=lx_tokenizer.RegexTokenizer()
    ):
        ci = chunk.char_interval
        if ci is not None and ci.start_pos is not None and ci.end_pos is not None:
            out.append((ci.start_pos, ci.end_pos))
    return out


def _attribute(extraction: Any, name: str) -> str | None:
    value = (extraction.attributes or {}).get(name)
    if isinstance(value, list):
        value = " ".join(str(v) for v in value if v is not None)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _alignment(extraction: Any) -> Alignment:
    status = extraction.alignment_status
    if status is lx_data.AlignmentStatus.MATCH_EXACT:
        return Alignment.exact
    return Alignment.fuzzy  # MATCH_FUZZY, MATCH_LESSER, MATCH_GREATER (or unset with an interval)


def _span(extraction: Any, text: str) -> Span | None:
    ci = extraction.char_interval
    if ci is None or ci.start_pos is None or ci.end_pos is None:
        return None
    start, end = int(ci.start_pos), int(ci.end_pos)
    if not 0 <= start < end <= len(text):
        return None
    return Span(start=start, end=end)


def _to_claim(
    article: Article,
    extraction: Any,
    sentences: Sequence[Sentence],
    chunks: Sequence[tuple[int, int]],
) -> Claim:
    """A recoupe claim from one LangExtract extraction; fields read from the quote by the code."""
    text = article.text
    span = _span(extraction, text)
    claim_text = _attribute(extraction, "claim") or (extraction.extraction_text or "").strip()
    if span is None:
        quote = (extraction.extraction_text or "").strip()
        sentence_text = ""
        chunk_index = None
    else:
        quote = span.slice(text)
        sentence = sentence_at(span, sentences)
        sentence_text = sentence.text if sentence else quote
        chunk_index = next((i for i, (s, e) in enumerate(chunks) if s <= span.start < e), None)
    return fill_claim(
        article,
        text=claim_text,
        quote=quote,
        span=span,
        alignment=_alignment(extraction) if span is not None else Alignment.none,
        sentence=sentence_text,
        subject=_attribute(extraction, "subject"),
        claimant=named_in(_attribute(extraction, "claimant"), text),  # as recoupe: only names the article has
        chunk_index=chunk_index,
    )


def _convert(article: Article, extractions: Sequence[Any], run: LangExtractRun) -> ArticleClaims:
    sentences = split_sentences(article.text, article.lang)
    chunks = _chunk_intervals(article.text)
    grounded: list[Claim] = []
    ungrounded: list[Claim] = []
    seen: set[str] = set()
    classes: Counter[str] = Counter()
    for extraction in extractions:
        classes[str(extraction.extraction_class)] += 1
        if not (extraction.extraction_text or "").strip() and not _attribute(extraction, "claim"):
            continue
        claim = _to_claim(article, extraction, sentences, chunks)
        if claim.id in seen:
            continue
        seen.add(claim.id)
        if claim.span is None:
            ungrounded.append(claim)
            continue
        if len(claim.span) < MIN_SPAN_CHARS:
            run.short_spans += 1
        grounded.append(claim)
    grounded.sort(key=lambda c: (c.span.start, c.span.end) if c.span else (0, 0))
    run.classes = dict(classes)
    return ArticleClaims(article=article, claims=grounded, ungrounded=len(ungrounded), ungrounded_claims=ungrounded)


def run_langextract_article(
    article: Article, settings: Settings, record_folder: Path, record: bool, max_char_buffer: int = MAX_CHAR_BUFFER
) -> LangExtractRun:
    """Run LangExtract on one article inside its cassette. A LangExtract error is kept in
    ``.error`` (the article then has no claims); a request missing from the recording when
    replaying raises :class:`~recoupe.errors.RecordingMissingError`."""
    path = Path(record_folder) / f"{article.id}.yaml"
    run = LangExtractRun(claims=ArticleClaims(article=article, claims=[]))
    run.chunks = len(_chunk_intervals(article.text, max_char_buffer))
    kwargs = langextract_kwargs(settings, _base_url(settings, record), max_char_buffer)
    result = None
    started = time.monotonic()
    with cassette(path, record=record) as cas, _count_omitted_chunks() as omitted:
        try:
            result = lx.extract(article.text, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any LangExtract failure fails this article only
            if not record and _recording_missing(exc):
                raise RecordingMissingError(
                    f"{path}: no recorded response matches this request (record it with --record)",
                    stage=STAGE,
                    article_id=article.id,
                ) from None
            run.error = exc
        finally:
            run.usage, run.http_errors = _cassette_usage(cas, record)
            run.omitted_chunks = omitted.count
    if record:
        run.seconds = time.monotonic() - started
    if result is not None:
        extractions = list(result.extractions or [])
        run.extractions = len(extractions)
        run.claims = _convert(article, extractions, run)
    return run


def langextract_claims(article: Article, settings: Settings, record_folder: Path, record: bool) -> ArticleClaims:
    """The claims LangExtract finds in one article (recorded to, or replayed from,
    ``record_folder/<article id>.yaml``). A LangExtract error is raised."""
    run = run_langextract_article(article, settings, record_folder, record)
    if run.error is not None:
        raise run.error
    return run.claims


def _reason(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 500 else text[:497] + "..."


def run_langextract(
    articles: Sequence[Article],
    gold: GoldSet,
    folder: Path,
    settings: Settings,
    record: bool,
    max_char_buffer: int = MAX_CHAR_BUFFER,
) -> dict[str, Any]:
    """Every article through LangExtract, scored like the other systems of ``recoupe eval``."""
    runs: list[LangExtractRun] = []
    failures: list[dict[str, str]] = []
    started = time.monotonic()
    for article in articles:
        run = run_langextract_article(article, settings, folder, record, max_char_buffer)
        if run.error is not None:
            log.warning("langextract failed on article %s: %s", article.id, _reason(run.error))
            failures.append({"article_id": article.id, "reason": _reason(run.error)})
        runs.append(run)
    seconds = round(time.monotonic() - started, 2) if record else None
    predicted = [r.claims for r in runs]
    gold_claims = gold.to_claims()
    matches: dict[str, list[Any]] = {}
    for ac in predicted:
        matches[ac.article.id] = match_claims(ac.claims, gold_claims.get(ac.article.id, []))
    usage = Usage()
    stage = usage.stage("extract")
    for r in runs:
        for name in ("calls", "prompt_tokens", "completion_tokens"):
            setattr(stage, name, getattr(stage, name) + getattr(r.usage, name))
    try:
        version = metadata.version("langextract")
    except metadata.PackageNotFoundError:  # pragma: no cover
        version = None
    strict, _ = score_extraction_strict(predicted, gold)
    return {
        "extraction": score_extraction(predicted, gold, matches).model_dump(mode="json"),
        "extraction_v2": strict.model_dump(mode="json"),
        "usage": {
            "calls": usage.calls,
            "cache_hits": usage.cache_hits,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "stages": {k: v.model_dump(exclude={"seconds"}) for k, v in usage.stages.items()},
        },
        "pairing": None,
        "seconds": seconds,
        "failures": failures,
        "short_spans": sum(r.short_spans for r in runs),
        "omitted_chunks": sum(r.omitted_chunks for r in runs),
        "articles": [r.stats() for r in runs],
        "langextract": {
            "version": version,
            "prompt_sha256": prompt_sha256(),
            "params": _described_kwargs(settings, max_char_buffer),
        },
    }
