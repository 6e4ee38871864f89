"""``recoupe serve``: the HTTP service over the archive, on uvicorn.

``add_serve_parser(subparsers)`` adds the command to the ``recoupe`` parser; its handler is
:func:`cmd_serve`. The model options are those of ``recoupe check``.
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from ..errors import ConfigError
from ..settings import add_model_options, settings_from_args
from .config import DEFAULT_MAX_BODY, api_keys_from_env

__all__ = ["add_serve_parser", "cmd_serve"]

log = logging.getLogger(__name__)


def _add_model_options(p: argparse.ArgumentParser) -> None:
    # the same options as `recoupe check`
    add_model_options(p)
    p.add_argument("--no-adjudicate", action="store_true", help="rules only: send no pair to the model")
    p.add_argument(
        "--model-contradictions",
        action="store_true",
        help="accept the model's word for a conflict (use with a strong model)",
    )


_settings = settings_from_args


def _max_body(value: str | None) -> int:
    if value is None:
        return DEFAULT_MAX_BODY
    try:
        size = int(value)
    except ValueError:
        raise ConfigError(f"RECOUPE_MAX_BODY: expected a number of bytes, got {value!r}") from None
    if size < 1:
        raise ConfigError(f"the body size limit must be at least 1 byte, got {size}")
    return size


def add_serve_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``serve`` to the ``recoupe`` sub-commands (``parser.add_subparsers()``)."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "serve",
        help="serve the claim archive over HTTP (add articles, read claims and facts, review page)",
        description="Serve the claim archive over HTTP: POST /v1/articles queues a job, GET /v1/facts lists "
        "the facts (conflicts first), / is the review page, /docs the API. With RECOUPE_API_KEYS "
        "(comma-separated) set, requests need 'Authorization: Bearer <key>'.",
    )
    p.add_argument(
        "--store", help="the archive's database URL (env RECOUPE_STORE; default sqlite:///recoupe-archive.sqlite)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument(
        "--max-body",
        type=int,
        help=f"largest request body in bytes (env RECOUPE_MAX_BODY; default {DEFAULT_MAX_BODY})",
    )
    p.add_argument("--batch-size", type=int, default=8, help="articles a job adds per archive call (default 8)")
    _add_model_options(p)
    p.set_defaults(func=cmd_serve)
    return p


def cmd_serve(args: argparse.Namespace) -> int:
    """Open the archive, then serve until interrupted; unfinished jobs resume at the next start."""
    import uvicorn

    from ..archive import Archive
    from .app import create_app

    max_body = args.max_body if args.max_body is not None else _max_body(os.environ.get("RECOUPE_MAX_BODY"))
    if max_body < 1:
        raise ConfigError(f"--max-body: at least 1 byte, got {max_body}")
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port: expected 1 to 65535, got {args.port}")
    keys = api_keys_from_env()
    settings = _settings(args)
    archive = Archive.from_settings(
        args.store, settings, adjudicate=not args.no_adjudicate, model_contradictions=args.model_contradictions
    )
    try:
        app = create_app(archive, api_keys=keys, max_body=max_body, batch_size=args.batch_size)
        if not keys and args.host not in ("127.0.0.1", "localhost", "::1"):
            log.warning("serving on %s without RECOUPE_API_KEYS: anyone who reaches it can add articles", args.host)
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", server_header=False)
    finally:
        archive.close()
    return 0
