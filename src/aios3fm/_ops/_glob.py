"""Glob patterns: one matcher for source expansion and ``fm.glob``.

``*``, ``?`` and ``[...]`` match within one name, ``**`` spans directories, a pattern
ending in ``/`` matches directories only, and a directory's own marker is never one of
the names inside it. ``[*]``, ``[?]`` and ``[[]`` match a literal ``*``, ``?`` and ``[``
(fnmatch's rule), for names that hold them. The listing is narrowed server-side by the
pattern's literal prefix.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

__all__ = ["Glob", "has_wildcard", "match_parts", "split_pattern"]

_WILDCARD = re.compile(r"[*?\[]")


def has_wildcard(text: str) -> bool:
    return _WILDCARD.search(text) is not None


def split_pattern(pattern: str) -> tuple[str, str]:
    """``("logs/2026-", "logs/")`` for ``logs/2026-*/app?.log``: the literal prefix the
    server can narrow the listing by, and the directory holding the first wildcard."""
    found = _WILDCARD.search(pattern)
    literal = pattern if found is None else pattern[: found.start()]
    return literal, literal[: literal.rfind("/") + 1]


@lru_cache(maxsize=256)
def _segment(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


def match_parts(pattern: Sequence[str], parts: Sequence[str]) -> bool:
    """Glob match by path segment: ``*`` never crosses ``/``; ``**`` spans zero or more
    segments (as in pathlib)."""
    if not pattern:
        return not parts
    head = pattern[0]
    if head == "**":
        return any(match_parts(pattern[1:], parts[i:]) for i in range(len(parts) + 1))
    return (
        bool(parts) and bool(_segment(head).match(parts[0])) and match_parts(pattern[1:], parts[1:])
    )


class Glob:
    """A key pattern with wildcards, matched against the keys of a listing of ``literal``."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.literal, self.base = split_pattern(pattern)
        self.dirs_only = pattern.endswith("/")
        self._parts = pattern[len(self.base) :].rstrip("/").split("/")

    @property
    def is_pattern(self) -> bool:
        return self.literal != self.pattern

    @property
    def spans_directories(self) -> bool:
        return "**" in self._parts

    def matches(self, key: str) -> Iterator[tuple[str, bool]]:
        """``(matched_key, is_dir)`` for every name on the way to ``key`` that the pattern
        matches, shallowest first; a matched directory's key ends in ``/``. The base
        directory's own marker, and empty names (``a//b``), never match."""
        rest = key[len(self.base) :] if key.startswith(self.base) else ""
        if not rest:
            return
        names = rest.removesuffix("/").split("/")
        for depth in range(1, len(names) + 1):
            is_dir = depth < len(names) or rest.endswith("/")
            if not names[depth - 1] or (self.dirs_only and not is_dir):
                continue
            if match_parts(self._parts, names[:depth]):
                yield self.base + "/".join(names[:depth]) + ("/" if is_dir else ""), is_dir
