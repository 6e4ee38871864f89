"""The review page at ``/``: the archive's facts, conflicts first; a click opens a fact with each
article's wording highlighted. One HTML file with its style (the report viewer's ``viewer.css``
and ``review.css``) and script (``review.js``) inline; the script reads the API and builds every
element from text (nothing from the archive is parsed as HTML)."""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib.resources import files

__all__ = ["content_security_policy", "review_page"]


def _file(package: str, name: str) -> str:
    return files(package).joinpath(name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


@cache
def _parts() -> tuple[str, str]:
    style = _file("recoupe.report", "viewer.css") + _file(__package__ or "recoupe.service", "review.css")
    script = _file(__package__ or "recoupe.service", "review.js")
    return style, script


@cache
def content_security_policy() -> str:
    """Only the page's own style and script run, and it talks only to this service."""
    style, script = _parts()
    return (
        f"default-src 'none'; connect-src 'self'; script-src '{_sha256(script)}'; style-src '{_sha256(style)}'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


@cache
def review_page() -> str:
    style, script = _parts()
    options = "".join(
        f'<option value="{v}">{v.replace("_", " ")}</option>' for v in ("conflicting", "corroborated", "single_source")
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>recoupe archive</title>
<style>{style}</style>
</head>
<body>
<header>
<h1>recoupe archive</h1>
<p class="summary" id="summary">Loading…</p>
<div class="controls">
<label>Verdict <select id="verdict"><option value="">all</option>{options}</select></label>
<form id="key-form" hidden><label>API key <input type="password" id="key-input" autocomplete="off"></label>
<button type="submit">Use</button></form>
</div>
</header>
<main>
<p id="status" class="meta"></p>
<ul id="facts" class="facts"></ul>
<button type="button" id="more" hidden>More facts</button>
</main>
<aside id="fact-panel" hidden>
<button type="button" class="close" id="fact-close" aria-label="Close">×</button>
<div id="fact-body"></div>
</aside>
<script>{script}</script>
</body>
</html>
"""
