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
from typing import Any, Literal, Self

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
        #: the body of each request as it was sent, bytes for bytes, in the order of ``requests``
        self.raw_requests: list[bytes] = []
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
                raw = self.rfile.read(length)
                body = json.loads(raw or b"{}")
                with outer._lock:
                    outer.arrivals.append(time.monotonic())
                    outer.requests.append(body)
                    outer.raw_requests.append(raw)
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


class FakeBatchServer:
    """OpenAI's Files and Batches endpoints on 127.0.0.1: upload a batch input file, create a batch,
    read it, download its output and error files. Each line is answered by ``answer`` (a function of
    the request body, like :class:`FakeOpenAIServer`'s ``default``) when the batch is created.

    A 200 reply goes to the output file, any other status to the error file; a line whose
    ``custom_id`` ``expire`` accepts is not run (an error line ``batch_expired``, and the batch ends
    ``expired``). A batch reads ``in_progress`` for its first ``polls_before_done`` reads. Chat
    completions are refused (HTTP 500) and counted in ``chat_calls``: a check pointed here must
    not ask the model.

    >>> with FakeBatchServer(lambda body: Reply.json({"claims": []})) as server:
    ...     server.base_url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(
        self,
        answer: Callable[[dict[str, Any]], Reply],
        *,
        polls_before_done: int = 0,
        expire: Callable[[str], bool] | None = None,
    ) -> None:
        self.answer = answer
        self.polls_before_done = polls_before_done
        self.expire = expire
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.reads: dict[str, int] = {}
        #: what each batch's lines were asked (custom_id -> body), for tests
        self.asked: dict[str, dict[str, dict[str, Any]]] = {}
        self.chat_calls = 0
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
                body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _error(self, status: int, message: str) -> None:
                self._send(status, {"error": {"message": message, "type": "invalid_request_error"}})

            def do_GET(self) -> None:
                parts = self.path.split("?")[0].strip("/").split("/")
                with outer._lock:
                    if parts[:2] == ["v1", "files"] and len(parts) == 4 and parts[3] == "content":
                        content = outer.contents.get(parts[2])
                        if content is None:
                            return self._error(404, f"no file {parts[2]}")
                        return self._send(200, content, "application/octet-stream")
                    if parts[:2] == ["v1", "files"] and len(parts) == 3 and parts[2] in outer.files:
                        return self._send(200, outer.files[parts[2]])
                    if parts[:2] == ["v1", "batches"] and len(parts) == 3 and parts[2] in outer.batches:
                        return self._send(200, outer._read(parts[2]))
                self._error(404, f"nothing at {self.path}")

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                path = self.path.split("?")[0].rstrip("/")
                if path == "/v1/chat/completions":
                    with outer._lock:
                        outer.chat_calls += 1
                    return self._error(500, "this fake serves batches only")
                if path == "/v1/files":
                    fields = _multipart(self.headers.get("content-type", ""), raw)
                    if fields.get("purpose", (None, b""))[1] != b"batch" or "file" not in fields:
                        return self._error(400, "expected a file with purpose=batch")
                    name, content = fields["file"]
                    with outer._lock:
                        file_id = f"file-{len(outer.files) + 1}"
                        outer.files[file_id] = outer._file(file_id, name or "upload.jsonl", "batch", content)
                        outer.contents[file_id] = content
                        return self._send(200, outer.files[file_id])
                if path == "/v1/batches":
                    try:
                        request = json.loads(raw or b"{}")
                    except ValueError:
                        return self._error(400, "the body is not JSON")
                    problem = outer._refuse(request)
                    if problem:
                        return self._error(400, problem)
                    return self._send(200, outer._create(request))
                self._error(404, f"nothing at {self.path}")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @staticmethod
    def _file(file_id: str, name: str, purpose: str, content: bytes) -> dict[str, Any]:
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": name,
            "purpose": purpose,
            "status": "processed",
        }

    def _refuse(self, request: dict[str, Any]) -> str | None:
        if request.get("input_file_id") not in self.contents:
            return f"no input file {request.get('input_file_id')!r}"
        if request.get("endpoint") != "/v1/chat/completions":
            return f"unsupported endpoint {request.get('endpoint')!r}"
        if request.get("completion_window") != "24h":
            return f"unsupported completion_window {request.get('completion_window')!r}"
        return None

    def _create(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run every line at once (the replies are ready before the first read)."""
        with self._lock:
            content = self.contents[request["input_file_id"]]
            batch_id = f"batch_{len(self.batches) + 1}"
        output: list[str] = []
        errors: list[str] = []
        asked: dict[str, dict[str, Any]] = {}
        expired = 0
        items: list[tuple[int, dict[str, Any]]] = []
        invalid: list[dict[str, Any]] = []
        for n, line in enumerate(content.decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                item = None
            if not isinstance(item, dict) or not isinstance(item.get("custom_id"), str) or "body" not in item:
                invalid.append({"code": "invalid_request", "line": n, "message": "not a batch request line"})
                continue
            items.append((n, item))
        if invalid:  # the whole batch fails validation and nothing runs, as on OpenAI
            return self._store(
                batch_id, request, {}, {"status": "failed", "errors": {"object": "list", "data": invalid}}
            )
        for n, item in items:
            custom_id = item["custom_id"]
            asked[custom_id] = item["body"]
            result: dict[str, Any] = {"id": f"batch_req_{n}", "custom_id": custom_id, "response": None, "error": None}
            if self.expire is not None and self.expire(custom_id):
                expired += 1
                result["error"] = {
                    "code": "batch_expired",
                    "message": "This request could not be executed before the completion window expired.",
                }
                errors.append(json.dumps(result))
                continue
            reply = self.answer(item["body"])
            try:
                body: Any = json.loads(reply.body) if reply.body else None
            except ValueError:
                body = reply.body.decode("utf-8", "replace")
            result["response"] = {"status_code": reply.status, "request_id": f"req_{n}", "body": body}
            (output if reply.status == 200 else errors).append(json.dumps(result))
        final: dict[str, Any] = {
            "status": "expired" if expired else "completed",
            "request_counts": {"total": len(asked), "completed": len(output), "failed": len(errors)},
        }
        with self._lock:
            for kind, lines in (("output", output), ("error", errors)):
                if lines:
                    file_id = f"file-{len(self.files) + 1}"
                    content_out = "".join(x + "\n" for x in lines).encode()
                    self.files[file_id] = self._file(file_id, f"{batch_id}_{kind}.jsonl", "batch_output", content_out)
                    self.contents[file_id] = content_out
                    final[f"{kind}_file_id"] = file_id
        return self._store(batch_id, request, asked, final)

    def _store(
        self, batch_id: str, request: dict[str, Any], asked: dict[str, dict[str, Any]], final: dict[str, Any]
    ) -> dict[str, Any]:
        """Keep a new batch, which reads ``final`` once it is over; returns it as first read."""
        with self._lock:
            batch: dict[str, Any] = {
                "id": batch_id,
                "object": "batch",
                "endpoint": request["endpoint"],
                "input_file_id": request["input_file_id"],
                "completion_window": request["completion_window"],
                "status": "validating",
                "created_at": int(time.time()),
                "metadata": request.get("metadata"),
                "request_counts": {"total": len(asked), "completed": 0, "failed": 0},
                "_final": final,
            }
            self.batches[batch_id] = batch
            self.asked[batch_id] = asked
            self.reads[batch_id] = 0
            return {k: v for k, v in batch.items() if not k.startswith("_")}

    def _read(self, batch_id: str) -> dict[str, Any]:
        """The batch as a read sees it (the caller holds the lock)."""
        batch = self.batches[batch_id]
        self.reads[batch_id] += 1
        if self.reads[batch_id] > self.polls_before_done:
            batch.update(batch.pop("_final", {}))
        elif batch["status"] == "validating":
            batch["status"] = "in_progress"
        return {k: v for k, v in batch.items() if not k.startswith("_")}

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a multipart/form-data body: name -> (file name, content)."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    fields: dict[str, tuple[str | None, bytes]] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str):
            fields[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


__all__ += ["FakeBatchServer"]


class RuleModel:
    """A deterministic model in process, for tests and benchmarks of the stages around a model:
    extraction makes every sentence (20 characters or more) of the target a claim, its subject the
    first capitalised word that is not an article; adjudication answers from a hash of the pair, so
    that answers differ between pairs but never between runs. ``calls`` counts every request.

    >>> from recoupe.crosscheck.adjudicate import PairAdjudication
    >>> RuleModel().complete(stage="adjudicate", prompt=None, variables={"a": "x"}, response_model=PairAdjudication).relation
    'equivalent'
    """

    name = "rule-model"
    concurrency = 2
    target_chars = 350
    in_process = True  # an archive calls it inside its write transaction: it answers at once
    _ARTICLES = frozenset({"Le", "La", "Les", "Un", "Une"})

    def __init__(self) -> None:
        from .models import Usage

        self.usage = Usage()
        self.calls = 0

    def complete(self, *, stage: str, prompt: Any, variables: dict[str, Any], response_model: type, **_: Any) -> Any:
        import hashlib
        import re

        from .crosscheck.adjudicate import PairAdjudication
        from .extraction.schema import ClaimDraft, ClaimDrafts

        self.calls += 1
        self.usage.stage(stage).calls += 1
        if response_model is ClaimDrafts:
            drafts = []
            for sentence in re.split(r"(?<=[.!?])\s+", str(variables["target"]).strip()):
                if len(sentence) < 20:
                    continue
                words = [w for w in re.findall(r"\b[A-ZÀ-Ö][\w-]+", sentence) if w not in self._ARTICLES]
                drafts.append(ClaimDraft(quote=sentence, subject=words[0] if words else None))
            return ClaimDrafts(claims=drafts[:8])
        digest = hashlib.sha256(repr(sorted(variables.items())).encode()).digest()[0]
        relations: list[Literal["equivalent", "compatible", "unrelated"]] = [
            "equivalent",
            "compatible",
            "unrelated",
            "compatible",
        ]
        return PairAdjudication(relation=relations[digest % 4], rationale="rule")


__all__ += ["RuleModel"]
