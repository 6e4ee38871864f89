"""Prefix reuse on the embedded server (``Settings.reuse_prefix``), against a loopback fake of the
llama.cpp endpoints it uses: each system prompt's prefix is evaluated alone once and saved, its
state is restored before every request, a request that does not start with it gets an empty slot,
and a recording keeps the chat completions only. (The real server's answers, identical whatever
ran before, are checked in ``test_embedded.py``.)"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jinja2
import pytest
from pydantic import BaseModel

from recoupe.llm import LLM
from recoupe.llm.embedded import PrefixSlot
from recoupe.llm.prompts import Prompt
from recoupe.settings import Settings


class Answer(BaseModel):
    ok: bool


class FakeLlamaServer:
    """/apply-template, /tokenize, /completion, /slots/0 and /v1/chat/completions, logging each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                outer.calls.append((self.path, body))
                if self.path == "/apply-template":
                    reply: Any = {
                        "prompt": "".join(f"<{m['role']}>{m['content']}</>" for m in body["messages"]) + "<assistant>"
                    }
                elif self.path == "/tokenize":
                    reply = {"tokens": [ord(ch) for ch in body["content"]]}
                elif self.path.startswith("/v1/chat/completions"):
                    reply = {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "m",
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": '{"ok": true}'},
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
                    }
                else:
                    reply = {}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        host, port = self.httpd.server_address[:2]
        self.root = f"http://{host!s}:{port}"

    def paths(self) -> list[str]:
        return [p for p, _ in self.calls]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Any:
    fake = FakeLlamaServer()
    yield fake
    fake.close()


def _llm(server: FakeLlamaServer, tmp_path: Path) -> tuple[LLM, PrefixSlot]:
    llm = LLM(Settings(model="m", base_url=server.root + "/v1", use_cache=False, cache_dir=tmp_path))
    slot = PrefixSlot(server.root)
    llm._prefix_slot = slot  # what the embedded server hands its client with reuse_prefix on
    return llm, slot


PROMPT = Prompt(id="p", sha256="0" * 64, system=jinja2.Template("You answer."), user=jinja2.Template("Say {{ what }}."))


def test_the_prefix_is_saved_once_and_restored_before_every_request(server: FakeLlamaServer, tmp_path: Path) -> None:
    llm, slot = _llm(server, tmp_path)
    for what in ("yes", "no", "yes"):
        assert llm.complete(stage="s", prompt=PROMPT, variables={"what": what}, response_model=Answer).ok
    paths = server.paths()
    # once: the prefix evaluated alone from an empty slot, then saved
    assert paths[:4] == ["/apply-template", "/slots/0?action=erase", "/completion", "/slots/0?action=save"]
    warm = server.calls[2][1]
    assert warm["prompt"] == "<system>You answer.</><user>" and warm["n_predict"] == 0
    # then, for every request: its prompt checked against the prefix, the prefix restored, the request
    per_request = ["/apply-template", "/tokenize", "/slots/0?action=restore", "/v1/chat/completions"]
    assert paths[4:6] == ["/tokenize", "/apply-template"]  # the prefix's tokens, then the first request's
    rest = paths[5:]
    assert rest == per_request * 3
    assert paths.count("/completion") == 1 and paths.count("/slots/0?action=save") == 1
    assert slot.restored == 3 and slot.whole == 0
    assert slot.reused_tokens == 3 * len("<system>You answer.</><user>")


def test_a_prompt_that_does_not_start_with_the_prefix_gets_an_empty_slot(
    server: FakeLlamaServer, tmp_path: Path
) -> None:
    slot = PrefixSlot(server.root)
    slot.prepare([{"role": "user", "content": "no system message"}])
    assert server.paths() == ["/slots/0?action=erase"] and slot.whole == 1


def test_settings_send_the_slot_and_keep_the_modes_apart(tmp_path: Path) -> None:
    reuse = Settings(reuse_prefix=True, cache_dir=tmp_path)
    assert reuse.request_extra_body() == {"cache_prompt": True, "id_slot": 0}
    assert Settings(cache_dir=tmp_path, reuse_prefix=False).request_extra_body() == {"cache_prompt": False}
    assert Settings(cache_dir=tmp_path).reuses_prefix  # the embedded default
    assert not Settings(cache_dir=tmp_path, async_requests=True).reuses_prefix
    assert not Settings(base_url="http://127.0.0.1:1/v1").reuses_prefix
    one = LLM(reuse)._prepare("s", PROMPT, {"what": "yes"}, Answer, None, None, None)
    other = LLM(Settings(cache_dir=tmp_path, reuse_prefix=False))._prepare(
        "s", PROMPT, {"what": "yes"}, Answer, None, None, None
    )
    assert one.key != other.key  # cached answers of the two modes never mix


def test_a_recording_keeps_the_chat_completions_only(server: FakeLlamaServer, tmp_path: Path) -> None:
    from recoupe.evaluation.recording import cassette

    path = tmp_path / "c.yaml"
    with cassette(path, record=True):
        llm, _ = _llm(server, tmp_path)
        llm.complete(stage="s", prompt=PROMPT, variables={"what": "yes"}, response_model=Answer)
    recorded = path.read_text(encoding="utf-8")
    assert "/v1/chat/completions" in recorded
    assert "action=restore" not in recorded and "/tokenize" not in recorded and "/apply-template" not in recorded
    assert "/slots" in " ".join(server.paths())  # they did reach the server
