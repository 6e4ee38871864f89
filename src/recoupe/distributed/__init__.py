"""recoupe on a Ray cluster (``pip install 'recoupe[ray]'``).

- :func:`extract` — extraction as a Ray Data map over articles (paths, :class:`~recoupe.Article`
  objects or an :class:`~recoupe.archive.Archive`), each worker with its own model client;
- :func:`crosscheck` — blocking as a shuffle, candidate tests as a map over blocks, the partner cap
  as a shuffle by claim, judging as a map; the facts are those of
  :func:`recoupe.crosscheck.crosscheck`;
- :func:`check` — both, as :func:`recoupe.check`;
- :func:`add_to_archive` — distributed extraction, then :meth:`Archive.add_extracted
  <recoupe.archive.Archive.add_extracted>` (one writer).

Connect first (``ray.init(address="auto")`` on a cluster; without it Ray starts a local one).
A worker's model is described by :data:`ModelSpec`: :class:`~recoupe.Settings` (an endpoint, or
the embedded model, started once per node) or a picklable function returning a model.
"""

from __future__ import annotations

from .api import add_to_archive, check
from .crosscheck import crosscheck
from .extraction import extract
from .workers import ModelSpec, stop_embedded_servers

__all__ = ["ModelSpec", "add_to_archive", "check", "crosscheck", "extract", "stop_embedded_servers"]
