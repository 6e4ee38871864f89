"""The review page of `recoupe serve` in a real headless browser (Debian's chromium) against the
running service (uvicorn in a thread on 127.0.0.1): the facts are listed, conflicts first, and a
click on a fact shows each article's wording highlighted.

The browser is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: fd 3 in,
fd 4 out), so the click is a real mouse event at the element's place. Set
``RECOUPE_UPDATE_SCREENSHOT=1`` to write the screenshot to ``docs/review-page.png``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import select
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from conftest import ROOT
from recoupe.archive import Archive
from recoupe.models import Article
from recoupe.service import create_app
from test_service import CORPUS, MORE, SentenceModel

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BASH = shutil.which("bash")  # puts the pipes on fd 3 and 4 (dash takes only fds 0 to 9)
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(BASH is None, reason="bash is needed to hand the browser its pipes"),
]

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-pipe",
]


def _high(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Browser:
    """Chromium on the DevTools protocol over a pipe: JSON messages ended by a NUL byte."""

    def __init__(self, profile: Path) -> None:
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # above fd 4, so that placing one on 3 or 4 never overwrites the other
        to_browser_r, from_browser_w = (_high(to_browser_r), _high(from_browser_w))
        # bash puts the pipes on fd 3 and 4, where chromium looks for them
        self.process = subprocess.Popen(
            [
                str(BASH),
                "-c",
                f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}',
                str(CHROMIUM),
                *FLAGS,
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next = 0
        self.session: str | None = None

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._from_browser], [], [], max(0.0, left))
            if not ready:
                raise TimeoutError("the browser did not answer")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("the browser closed its pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def call(self, method: str, params: dict[str, Any] | None = None, *, timeout: float = 60) -> dict[str, Any]:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read(timeout)
            if answer.get("id") == self._next:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                result: dict[str, Any] = answer.get("result", {})
                return result

    def open(self, url: str, width: int = 1400, height: int = 950) -> None:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        self.call("Page.enable")
        self.call("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete' && document.body")

    def evaluate(self, expression: str, timeout: float = 60) -> Any:
        """The value of ``expression`` (a promise is awaited)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, condition: str, timeout: float = 60) -> Any:
        """Wait in the page until ``condition`` (a JS expression) is truthy; returns its value."""
        return self.evaluate(
            "new Promise(function (resolve, reject) { var t0 = Date.now(); (function poll() {"
            f" var v = null; try {{ v = ({condition}); }} catch (e) {{ v = null; }} if (v) return resolve(v);"
            f" if (Date.now() - t0 > {int(timeout * 1000)}) return reject(new Error('timed out: ' + {json.dumps(condition)}));"
            " setTimeout(poll, 50); })(); })",
            timeout=timeout + 5,
        )

    def click(self, selector: str) -> None:
        """A real mouse click at the middle of the element."""
        box = self.evaluate(
            f"(function () {{ var e = document.querySelector({json.dumps(selector)}); e.scrollIntoView({{block: 'center'}});"
            " var r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent", {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1}
            )

    def screenshot(self) -> bytes:
        return base64.b64decode(self.call("Page.captureScreenshot", {"format": "png"})["data"])

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, TimeoutError, OSError):
            self.call("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)


@pytest.fixture
def running_service(tmp_path: Path) -> Iterator[tuple[str, Archive]]:
    """The service on 127.0.0.1 at a free port, over an archive holding a conflict."""
    archive = Archive(f"sqlite:///{tmp_path / 'archive.sqlite'}", model=SentenceModel())
    report = archive.add(Article.model_validate(a) for a in CORPUS + MORE)
    assert not report.failures
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(archive, api_keys=()), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}", archive
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
        archive.close()


def test_review_page_lists_conflicts_first_and_a_click_highlights_the_wording(
    running_service: tuple[str, Archive], tmp_path: Path
) -> None:
    base, archive = running_service
    expected = archive.facts(limit=500).facts
    conflicts = [f for f in expected if f.verdict.value == "conflicting"]
    assert conflicts
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(base + "/")
        loaded = browser.wait_for("document.body.getAttribute('data-facts-loaded')")
        assert int(loaded) == len(expected)
        listed = browser.evaluate(
            "Array.from(document.querySelectorAll('li.fact')).map(function (li) {"
            " return [li.getAttribute('data-fact-id'), li.className]; })"
        )
        assert [fact_id for fact_id, _ in listed] == [f.id for f in expected]
        classes = [cls for _, cls in listed]
        n = len(conflicts)
        assert all("verdict-conflicting" in c for c in classes[:n])
        assert not any("verdict-conflicting" in c for c in classes[n:])
        browser.wait_for("document.getElementById('summary').textContent.indexOf('articles') !== -1")

        target = conflicts[0]
        browser.click(f'li.fact[data-fact-id="{target.id}"]')
        members = len(target.members)
        browser.wait_for(
            f"document.getElementById('fact-body').getAttribute('data-fact-id') === {json.dumps(target.id)}"
            f" && document.querySelectorAll('#fact-body .member mark.claim').length === {members}"
        )
        panel = browser.evaluate(
            "(function () { var p = document.getElementById('fact-panel'); return {hidden: p.hidden,"
            " marks: Array.from(p.querySelectorAll('.member')).map(function (m) {"
            " var mark = m.querySelector('mark.claim'); return [m.getAttribute('data-claim-id'), mark.textContent,"
            " mark.className, m.querySelector('.excerpt').textContent, m.querySelector('.meta').textContent]; })}; })()"
        )
        assert panel["hidden"] is False
        detail = archive.fact(target.id)
        assert detail is not None
        texts = {a["id"]: a["text"] for a in CORPUS + MORE}
        by_claim = {m.claim.id: m for m in detail.members}
        assert {claim_id for claim_id, *_ in panel["marks"]} == set(by_claim)
        for claim_id, marked, cls, excerpt, meta in panel["marks"]:
            member = by_claim[claim_id]
            span = member.claim.span
            assert span is not None
            assert marked == texts[member.article_id][span.start : span.end] == member.claim.quote
            assert "verdict-conflicting" in cls
            assert marked in excerpt and meta.startswith(member.article_id)
        assert browser.evaluate("location.hash") == f"#fact={target.id}"
        png = browser.screenshot()
    finally:
        browser.close()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    (tmp_path / "review-page.png").write_bytes(png)
    if os.environ.get("RECOUPE_UPDATE_SCREENSHOT"):
        (ROOT / "docs").mkdir(exist_ok=True)
        (ROOT / "docs" / "review-page.png").write_bytes(png)


def test_a_deep_link_opens_the_fact(running_service: tuple[str, Archive], tmp_path: Path) -> None:
    base, archive = running_service
    fact = archive.facts(verdict="corroborated").facts[0]
    detail = archive.fact(fact.id)
    assert detail is not None
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(f"{base}/#fact={fact.id}")
        browser.wait_for(
            f"document.getElementById('fact-body').getAttribute('data-fact-id') === {json.dumps(fact.id)}"
            f" && document.querySelectorAll('#fact-body mark.claim').length === {len(fact.members)}"
        )
        marked = browser.evaluate(
            "Array.from(document.querySelectorAll('#fact-body mark.claim')).map(function (m) { return m.textContent; })"
        )
        assert sorted(marked) == sorted(m.claim.quote for m in detail.members)
        assert browser.evaluate("document.getElementById('fact-panel').hidden") is False
    finally:
        browser.close()
