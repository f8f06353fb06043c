"""What a plan is made of: the sources asked for, and the items they expand to.

An item is one object to act on; ``Missing`` a source that matched nothing; ``Refused``
an entry that must not be acted on (an unsafe key, a destination inside its source, the
same object on both sides); ``Skipped`` an entry deliberately left alone (a symlink that
is not followed, a special file), with its reason. Every entry of a source tree becomes
one of them, so none vanishes from an operation's result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._location import S3Location
from .._models import ObjectInfo

__all__ = ["Item", "Location", "Missing", "Planned", "Refused", "Skipped", "Source", "Stamp"]

Location = S3Location | Path

Stamp = tuple[int, int, int, int]
"""A local file as it was: ``(size, mtime_ns, inode, device)``; a move deletes its source
only if the file still has the stamp it had when it was read."""


@dataclass(frozen=True, slots=True)
class Source:
    """A location to act on. ``name``: the name it takes inside the destination (default:
    its own). ``info``: what is already known of it; a known file expands to its one item
    with no listing."""

    location: str
    name: str | None = None
    info: ObjectInfo | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One object to act on. ``is_dir``: a directory to recreate (an S3 marker or an empty
    local folder); ``destination`` is None for a delete; ``etag`` what the listing said
    (S3 sources)."""

    source: Location
    destination: Location | None
    size: int = 0
    etag: str | None = None
    is_dir: bool = False
    mtime: float | None = None
    stamp: Stamp | None = None
    """A local source as its listing saw it (for ``delete(if_unchanged=True)``)."""


@dataclass(frozen=True, slots=True)
class Missing:
    """A source that matched nothing."""

    source: str


@dataclass(frozen=True, slots=True)
class Refused:
    """An entry that must not be acted on, and why (nothing is written for it)."""

    source: str
    error: Exception


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry left alone on purpose, and why (a symlink not followed, a special file)."""

    source: str
    reason: str


Planned = Item | Missing | Refused | Skipped
