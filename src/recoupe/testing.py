"""Test fakes shipped with the library: a scripted OpenAI-compatible server on 127.0.0.1.

>>> from recoupe import Settings
>>> with FakeOpenAIServer() as server:
...     server.script(Fault.rate_limited(retry_after=0.1), Reply.json({"claims": []}))
...     settings = Settings(base_url=server.base_url, model="fake")
>>> settings.base_url.startswith("http://127.0.0.1:")
True
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

__all__ = ["FakeOpenAIServer", "Fault", "Reply"]


@dataclass
class Reply:
    """One scripted answer: status, headers and body, after an optional delay."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    reset: bool = False  # close the connection without an answer

    @staticmethod
    def completion(
        content: str, *, finish_reason: str = "stop", prompt_tokens: int = 10, completion_tokens: int = 5
    ) -> Reply:
        payload = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": "fake",
            "choices": [
                {"index": 0, "finish_reason": finish_reason, "message": {"role": "assistant", "content": content}}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return Reply(body=json.dumps(payload).encode(), headers={"content-type": "application/json"})

    @staticmethod
    def json(answer: Any, **kwargs: Any) -> Reply:
        return Reply.completion(json.dumps(answer, ensure_ascii=False), **kwargs)


class Fault:
    """Ready-made faulty replies."""

    @staticmethod
    def rate_limited(retry_after: float = 0.05) -> Reply:
        return Reply(
            status=429,
            body=b'{"error": {"message": "rate limited"}}',
            headers={"content-type": "application/json", "retry-after": str(retry_after)},
        )

    @staticmethod
    def server_error(status: int = 500) -> Reply:
        return Reply(
            status=status, body=b'{"error": {"message": "server error"}}', headers={"content-type": "application/json"}
        )

    @staticmethod
    def reset() -> Reply:
        return Reply(reset=True)

    @staticmethod
    def slow(seconds: float, then: Reply | None = None) -> Reply:
        reply = then or Reply.json({"claims": []})
        return Reply(status=reply.status, body=reply.body, headers=reply.headers, delay=seconds)

    @staticmethod
    def malformed_json() -> Reply:
        return Reply.completion('{"claims": [ {"claim": ')

    @staticmethod
    def malformed_body() -> Reply:
        """A 200 whose body is not JSON at all (cut by a proxy or a dying worker)."""
        return Reply(
            body=b'{"id": "chatcmpl-fake", "object": "chat.compl', headers={"content-type": "application/json"}
        )

    @staticmethod
    def html_body() -> Reply:
        """A 200 with a proxy's HTML page instead of a completion."""
        return Reply(body=b"<html><body><h1>502 Bad Gateway</h1></body></html>", headers={"content-type": "text/html"})

    @staticmethod
    def truncated() -> Reply:
        return Reply.completion('{"claims": [{"claim": "Amazon', finish_reason="length")

    @staticmethod
    def empty_choices() -> Reply:
        payload = {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "fake",
            "choices": [],
            "usage": {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1},
        }
        return Reply(body=json.dumps(payload).encode(), headers={"content-type": "application/json"})


class FakeOpenAIServer:
    """An OpenAI-compatible ``/v1/chat/completions`` on 127.0.0.1 answering from a script (a queue
    of :class:`Reply`) or, when the script is empty, from ``default`` (a function of the request)."""

    def __init__(self, default: Callable[[dict[str, Any]], Reply] | None = None, latency: float = 0.0) -> None:
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self.default = default
        self.latency = latency
        self.requests: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        #: ``time.monotonic()`` at which each request arrived, in the order of ``requests``
        self.arrivals: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall on every small answer

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with outer._lock:
                    outer.arrivals.append(time.monotonic())
                    outer.requests.append(body)
                    outer.headers_seen.append(dict(self.headers))
                    reply = outer._script.popleft() if outer._script else None
                if reply is None:
                    reply = outer.default(body) if outer.default else Reply.json({"claims": []})
                delay = reply.delay + outer.latency
                if delay:
                    time.sleep(delay)
                if reply.reset:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (a timeout test)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
