"""One root error, a few subclasses that carry what a caller needs."""

from __future__ import annotations

from pathlib import Path


class RecoupeError(Exception):
    """Root of every error recoupe raises on purpose."""


class ConfigError(RecoupeError):
    """The settings cannot work (bad endpoint, missing model, unreadable prompt)."""


class ModelNotInstalledError(ConfigError):
    """The embedded model or its server package is not installed."""


class ArticleError(RecoupeError):
    """An input article cannot be read or is not usable.

    ``source`` names the file (and line, for JSONL); ``reason`` says what is wrong.
    """

    def __init__(self, source: str | Path, reason: str) -> None:
        self.source = str(source)
        self.reason = reason
        super().__init__(f"{self.source}: {reason}")


class LLMError(RecoupeError):
    """A model call failed for good after bounded retries or re-asks.

    Carries the stage, the article and chunk it was working on, how many attempts were made and the
    last raw output of the model, when there was one.
    """

    def __init__(
        self,
        message: str,
        *,
        stage: str = "",
        article_id: str | None = None,
        chunk_index: int | None = None,
        attempts: int = 0,
        last_output: str | None = None,
        cause: str | None = None,
    ) -> None:
        self.stage = stage
        self.article_id = article_id
        self.chunk_index = chunk_index
        self.attempts = attempts
        self.last_output = last_output
        self.cause = cause or message
        where = []
        if article_id is not None:
            where.append(f"article {article_id}")
        if chunk_index is not None:
            where.append(f"chunk {chunk_index}")
        if stage:
            where.append(f"stage {stage}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class TransientLLMError(LLMError):
    """Transport failure, timeout, rate limit or server error that outlived its retries."""


class SchemaError(LLMError):
    """The model's answer did not fit the response schema after the allowed re-asks."""


class TruncatedOutputError(LLMError):
    """The model hit its token limit before finishing the answer."""


class RecordingMissingError(LLMError):
    """Replay mode asked for a response that no cassette holds."""


class GoldError(RecoupeError):
    """A gold annotation file is invalid (a quote not in its article, an unknown fact member)."""


class StoreError(RecoupeError):
    """The archive's database cannot be opened or used (bad URL, unreachable server, a database
    written by a newer recoupe)."""
