"""The claim archive: every article read, its claims, the facts they form and how each fact's
verdict changed, so that a new dispatch is checked against everything seen before.

>>> from recoupe.archive import Archive
>>> Archive  # doctest: +ELLIPSIS
<class 'recoupe.archive.archive.Archive'>
"""

from __future__ import annotations

from .archive import Archive
from .store import DEFAULT_STORE, database_url
from .types import AddReport, ArchiveStats, FactChange, FactDetail, FactEvent, FactPage, MemberDetail

__all__ = [
    "DEFAULT_STORE",
    "AddReport",
    "Archive",
    "ArchiveStats",
    "FactChange",
    "FactDetail",
    "FactEvent",
    "FactPage",
    "MemberDetail",
    "database_url",
]
