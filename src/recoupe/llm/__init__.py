"""The LLM layer: the only code that imports ``openai`` and ``instructor``.

- :mod:`.model` — the :class:`Model` protocol the stages depend on;
- :mod:`.client` — :class:`LLM`, an OpenAI-compatible client with retries, re-asks, cache and usage;
- :mod:`.concurrency` — one bounded, lazily fed pool of requests in flight (threads, or the calling
  thread with calls that suspend on the event loop);
- :mod:`.aio` — the event loop the requests leave from with ``Settings.async_requests``, and the
  in-flight limit that halves after repeated 429s;
- :mod:`.cache` — the response cache (one diskcache entry per answer);
- :mod:`.prompts` — prompt files under ``prompts/``, versioned and rendered strictly;
- :mod:`.embedded` — the embedded llama.cpp server on 127.0.0.1.
"""

from __future__ import annotations

from .client import LLM, REPLAY_BASE_URL, using_llm
from .concurrency import run_concurrently
from .model import Model
from .prompts import Prompt, load_prompt

__all__ = ["LLM", "REPLAY_BASE_URL", "Model", "Prompt", "load_prompt", "run_concurrently", "using_llm"]
