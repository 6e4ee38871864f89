"""A loopback OpenAI-compatible stub for the throughput benchmark, run in its own process.

    python benchmarks/stub_server.py --latency 0.2

prints ``BASE_URL http://127.0.0.1:<port>/v1`` on stdout and serves until stdin is closed (the
parent holds the pipe) or the process is terminated. It wraps
:class:`recoupe.testing.FakeOpenAIServer` and answers every ``/v1/chat/completions`` request after a
fixed delay with a minimal answer that fits what was asked:

* recoupe extraction (``response_format`` json_schema named ``ClaimDrafts``): one claim, the first
  sentence of the TARGET copied as both ``claim`` and ``quote``, ``subject`` its first capitalised
  word (articles, prepositions and day names skipped), ``claimant`` null;
* recoupe pair adjudication (json_schema named ``PairAdjudication``):
  ``{"relation": "compatible", "rationale": "stub"}``;
* LangExtract (``response_format`` ``{"type": "json_object"}``): one ``claim`` extraction of the
  first sentence of the chunk, in LangExtract's JSON format (``{"extractions": [...]}``).

Usage is realistic in size: ``prompt_tokens`` is the characters of all messages / 4 and
``completion_tokens`` the characters of the answer / 4.

Control requests (model ``__stats__``, ``__count__``, ``__reset__``) are answered at once:
``__stats__`` gives the counters by kind since the last reset (calls, tokens, first and last
arrival, the most requests in flight at once) and the stub's own CPU seconds; ``__count__`` only
the number of calls; ``__reset__`` sets everything back to zero.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import sys
import threading
import time
from typing import Any

from recoupe.testing import FakeOpenAIServer, Reply

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"“A-ZÀ-ÖØ-Þ0-9(])")
_CAPITALISED = re.compile(r"\b[A-ZÀ-ÖØ-Þ][\w’'-]*")
_NOT_SUBJECTS = {
    "le",
    "la",
    "les",
    "l",
    "un",
    "une",
    "des",
    "du",
    "de",
    "d",
    "au",
    "aux",
    "à",
    "en",
    "dans",
    "selon",
    "pour",
    "par",
    "sur",
    "il",
    "elle",
    "ce",
    "cette",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
    "the",
    "a",
    "an",
    "in",
    "on",
}


def first_sentence(text: str) -> str:
    text = text.strip()
    return _SENTENCE_END.split(text, maxsplit=1)[0].strip() if text else ""


def subject_of(sentence: str) -> str | None:
    for m in _CAPITALISED.finditer(sentence):
        word = m.group().strip("’'")
        if word.lower().split("’")[0].split("'")[0] not in _NOT_SUBJECTS and len(word) > 1:
            return word
    return None


def _tokens(chars: int) -> int:
    return max(1, math.ceil(chars / 4))


def _schema_name(body: dict[str, Any]) -> str | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return (fmt.get("json_schema") or {}).get("name")
    return fmt.get("type")


def answer_for(body: dict[str, Any]) -> tuple[str, Any]:
    """(kind, answer object) for one chat completion request."""
    messages = body.get("messages") or []
    last = str(messages[-1].get("content", "")) if messages else ""
    name = _schema_name(body)
    if name == "ClaimDrafts":
        target = last.split("TARGET:\n", 1)[-1]
        sentence = first_sentence(target)
        claims = [{"quote": sentence, "subject": subject_of(sentence)}]
        return "extract", {"claims": claims if sentence else []}
    if name == "PairAdjudication":
        return "adjudicate", {"relation": "compatible", "rationale": "stub"}
    if name == "json_object":
        question = last.rsplit("Q: ", 1)[-1]
        question = re.sub(r"\s*A:\s*$", "", question)
        sentence = first_sentence(question)
        extractions = []
        if sentence:
            attributes = {"claim": sentence}
            subject = subject_of(sentence)
            if subject:
                attributes["subject"] = subject
            extractions.append({"claim": sentence, "claim_attributes": attributes})
        return "langextract", {"extractions": extractions}
    return "other", {}


class Counters:
    """Per-kind counters since the last reset; thread-safe."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.kinds: dict[str, dict[str, float]] = {}
            self.arrivals: list[float] = []
            self.cpu_at_reset = time.process_time()

    def add(self, kind: str, prompt_tokens: int, completion_tokens: int) -> None:
        now = time.monotonic()
        with self._lock:
            k = self.kinds.setdefault(
                kind, {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "first": now, "last": now}
            )
            k["calls"] += 1
            k["prompt_tokens"] += prompt_tokens
            k["completion_tokens"] += completion_tokens
            k["last"] = now
            self.arrivals.append(now)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            arrivals = sorted(self.arrivals)
            kinds = {name: dict(v) for name, v in self.kinds.items()}
            cpu = time.process_time() - self.cpu_at_reset
        # Each request is held for `latency` seconds: the most in flight at once is the most
        # arrivals within any window of that length.
        peak, lo = 0, 0
        for hi, t in enumerate(arrivals):
            while arrivals[lo] < t - self.latency:
                lo += 1
            peak = max(peak, hi - lo + 1)
        t0 = arrivals[0] if arrivals else 0.0
        for v in kinds.values():
            v["first_s"] = round(v.pop("first") - t0, 4)
            v["last_s"] = round(v.pop("last") - t0, 4)
        # time.monotonic() is the system's monotonic clock: the client can compare it with its own.
        return {
            "kinds": kinds,
            "calls": len(arrivals),
            "peak_in_flight": peak,
            "first_arrival_monotonic": t0 if arrivals else None,
            "last_arrival_monotonic": arrivals[-1] if arrivals else None,
            "span_s": round(arrivals[-1] - t0, 4) if arrivals else 0.0,
            "stub_cpu_s": round(cpu, 3),
            "latency": self.latency,
        }


def make_handler(counters: Counters, server_ref: list[FakeOpenAIServer]):
    def handle(body: dict[str, Any]) -> Reply:
        model = body.get("model")
        if model == "__stats__":
            return Reply.json(counters.snapshot())
        if model == "__count__":
            return Reply.json({"calls": len(counters.arrivals)})
        if model == "__reset__":
            counters.reset()
            return Reply.json({"ok": True})
        server = server_ref[0]
        # FakeOpenAIServer keeps every request for tests; a benchmark does not need them.
        server.requests.clear()
        server.headers_seen.clear()
        server.raw_requests.clear()
        kind, answer = answer_for(body)
        content = json.dumps(answer, ensure_ascii=False)
        prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages") or [])
        pt, ct = _tokens(prompt_chars), _tokens(len(content))
        counters.add(kind, pt, ct)
        reply = Reply.completion(content, prompt_tokens=pt, completion_tokens=ct)
        reply.delay = counters.latency
        return reply

    return handle


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds held before each answer")
    args = parser.parse_args(argv)
    counters = Counters(args.latency)
    ref: list[FakeOpenAIServer] = []
    # latency=0 on the server: the delay is set per answer, so that control requests are instant.
    server = FakeOpenAIServer(default=make_handler(counters, ref), latency=0.0)
    ref.append(server)
    # A benchmark opens many keep-alive connections at once; socketserver listens with a backlog
    # of 5, and a burst of connections beyond it waits a SYN retransmission (a second or more).
    server._httpd.socket.listen(512)
    # http.server writes the headers and the body in two sends; without TCP_NODELAY, Nagle's
    # algorithm holds the body until the client's delayed ACK (~40 ms on Linux) and every answer
    # would come that much later than --latency. Real servers (uvicorn, llama.cpp) set it.
    server._httpd.RequestHandlerClass.disable_nagle_algorithm = True
    with server:
        print(f"BASE_URL {server.base_url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            sys.stdin.read()  # returns when the parent closes the pipe or exits
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
