"""Expanding sources into items, streamed: a listing page becomes items at once, so
transfers start after the first page and memory does not grow with the number of objects.

``cp -r SRC... DIR/`` naming: each source lands inside the destination directory under
its own name (``s3://b/src/`` copied into ``s3://b/dst/`` gives ``s3://b/dst/src/...``),
or under the name a Source gives it (how ``rename`` and single-file copies place a source
at an exact destination). A source without a trailing ``/`` is a file, a directory, or
both at once on S3; it is listed once with its own key as prefix (no HEAD), keeping the
key itself and whatever lies under ``key/``.

Globs: ``*``, ``?`` and ``[...]`` match within one name, ``**`` spans directories, a
pattern ending in ``/`` matches directories only, and a directory's own marker is never
one of the names inside it. The listing is narrowed server-side by the pattern's literal
prefix. One matcher (``Glob``) serves source expansion and ``fm.glob`` alike.

An S3 key bound for a local directory must stay inside it under its own name: a key with
a ``..``, ``.`` or empty segment (or a backslash form) becomes a ``Refused`` item that
fails with UnsafeKeyError, and nothing is written for it.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import anyio.to_thread

from .._exceptions import UnsafeKeyError
from .._location import S3Location, parse_location
from .._models import ObjectInfo
from .._s3 import S3Client

__all__ = [
    "Glob",
    "Item",
    "Location",
    "Missing",
    "Refused",
    "Source",
    "expand",
    "local_target",
    "match_parts",
    "split_pattern",
]

Location = S3Location | Path
_WILDCARD = re.compile(r"[*?\[]")


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
    local folder); ``destination`` is None for a delete."""

    source: Location
    destination: Location | None
    size: int = 0
    etag: str | None = None
    is_dir: bool = False
    mtime: float | None = None


@dataclass(frozen=True, slots=True)
class Missing:
    """A source that matched nothing."""

    source: str


@dataclass(frozen=True, slots=True)
class Refused:
    """A source object whose key cannot be written under the local destination."""

    source: str
    error: UnsafeKeyError


# -- glob matching ----------------------------------------------------------------------------


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


# -- expansion --------------------------------------------------------------------------------


def local_target(root: Path, relative: str) -> Path:
    """``root/relative`` for the ``/``-separated rest of an S3 key, refusing any key that
    would leave ``root`` or lose its name on the way (UnsafeKeyError)."""
    parts = relative.removesuffix("/").split("/")  # a directory marker keeps one "/"
    for part in parts:
        pieces = part.split("\\")
        if not part or pieces[0] == "" or any(p in (".", "..") for p in pieces) or "\0" in part:
            what = f"a {part!r} segment" if part else "an empty segment"
            raise UnsafeKeyError(
                f"{relative!r} has {what}: it cannot be written under {root} "
                "as its own file; refused, nothing written"
            )
    target = root.joinpath(*parts)
    if os.path.isabs(parts[0]) or os.path.relpath(target, root).startswith(".."):
        raise UnsafeKeyError(f"{relative!r} would be written outside {root}; refused")
    return target


def _target(destination: Location | None, name: str, rest: str) -> Location | None:
    if destination is None:
        return None
    relative = name + ("/" + rest if rest else "")
    if isinstance(destination, Path):
        return local_target(destination, relative)
    base = (
        destination.key
        if not destination.key or destination.key.endswith("/")
        else destination.key + "/"
    )
    return S3Location(destination.bucket, base + relative)


async def expand(
    client: S3Client,
    sources: Sequence[Source],
    destination: Location | None,
    *,
    local_tree: Callable[[Path], None] | None = None,
) -> AsyncIterator[Item | Missing | Refused]:
    """The items of every source, in order; ``local_tree`` is told each local directory
    whose whole tree was expanded (a move or delete removes it once emptied)."""
    for source in sources:
        location = parse_location(source.location)
        found = False
        iterator: AsyncIterator[Item | Refused]
        if isinstance(location, Path):
            dirs_only = source.location.endswith(("/", os.sep))  # Path() drops the "/"
            iterator = _expand_local(location, destination, source.name, dirs_only, local_tree)
        else:
            iterator = _expand_s3(client, location, destination, source)
        async for item in iterator:
            found = True
            yield item
        if not found:
            yield Missing(source.location)


def _refused_or_item(
    bucket: str, info: ObjectInfo, destination: Location | None, name: str, rest: str
) -> Item | Refused:
    if not rest and info.key.endswith("/") and not name.endswith("/"):
        name += "/"  # a directory's own marker stays a marker at the destination
    try:
        target = _target(destination, name, rest)
    except UnsafeKeyError as refusal:
        return Refused(str(S3Location(bucket, info.key)), refusal)
    return _item(bucket, info, target)


async def _expand_s3(
    client: S3Client, source: S3Location, destination: Location | None, spec: Source
) -> AsyncIterator[Item | Refused]:
    bucket, key = source.bucket, source.key
    glob = Glob(key)
    if glob.is_pattern:  # each match, file or directory, under its own name
        if spec.name is not None:
            raise ValueError(f"{spec.location}: a pattern cannot be placed under one name")
        async for page in client.list_tree(bucket, glob.literal):
            for info in page:
                for matched, is_dir in glob.matches(info.key):
                    name = matched.removesuffix("/").rsplit("/", 1)[-1]
                    rest = info.key[len(matched) :] if is_dir else ""
                    yield _refused_or_item(bucket, info, destination, name, rest)
                    break
        return
    name = spec.name or (key.rstrip("/").rsplit("/", 1)[-1] if key else bucket)
    if spec.info is not None and not spec.info.is_dir:
        yield _refused_or_item(bucket, spec.info, destination, name, "")
        return
    directory = key if key.endswith("/") or not key else key + "/"
    async for page in client.list_tree(bucket, key):
        for info in page:
            if info.key == key and not key.endswith("/"):
                rest = ""
            elif info.key.startswith(directory):
                rest = info.key[len(directory) :]
            else:
                continue  # a sibling sharing the prefix ("key1" for "key")
            yield _refused_or_item(bucket, info, destination, name, rest)


def _item(bucket: str, info: ObjectInfo, target: Location | None) -> Item:
    return Item(
        source=S3Location(bucket, info.key),
        destination=target,
        size=info.size,
        etag=info.etag,
        is_dir=info.key.endswith("/"),
        mtime=info.mtime,
    )


def _scan(directory: Path) -> tuple[list[tuple[Path, int, float]], list[Path]]:
    files, dirs = [], []
    with os.scandir(directory) as it:
        for entry in sorted(it, key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False):
                dirs.append(Path(entry.path))
            elif entry.is_file():
                st = entry.stat()
                files.append((Path(entry.path), st.st_size, st.st_mtime))
    return files, dirs


def _local_matches(base: Path, pattern: str, dirs_only: bool) -> list[Path]:
    return sorted(p for p in base.glob(pattern) if not dirs_only or p.is_dir())


async def _expand_local(
    source: Path,
    destination: Location | None,
    name: str | None,
    dirs_only: bool,
    local_tree: Callable[[Path], None] | None,
) -> AsyncIterator[Item]:
    text = str(source)
    literal, base = split_pattern(text)
    if literal != text:
        if name is not None:
            raise ValueError(f"{text}: a pattern cannot be placed under one name")
        pattern = text[len(base) :]
        matches = await anyio.to_thread.run_sync(
            _local_matches, Path(base or "."), pattern, dirs_only
        )
        for match in matches:
            async for item in _expand_local(match, destination, None, False, local_tree):
                yield item
        return
    own = name or source.name
    if await anyio.Path(source).is_file():
        st = await anyio.Path(source).stat()
        target = _target(destination, own, "")
        yield Item(source=source, destination=target, size=st.st_size, mtime=st.st_mtime)
        return
    if not await anyio.Path(source).is_dir():
        return
    if local_tree is not None:
        local_tree(source)
    pending = [source]
    while pending:  # one directory at a time, each scanned in a worker thread
        directory = pending.pop()
        files, dirs = await anyio.to_thread.run_sync(_scan, directory)
        rest = directory.relative_to(source).as_posix()
        rest = "" if rest == "." else rest
        if not files and not dirs:  # an empty directory is recreated too
            target = _target(destination, own, rest + "/" if rest else "")
            if isinstance(target, S3Location) and not target.key.endswith("/"):
                target = S3Location(target.bucket, target.key + "/")
            yield Item(source=directory, destination=target, is_dir=True)
        for path, size, mtime in files:
            relative = path.relative_to(source).as_posix()
            target = _target(destination, own, relative)
            yield Item(source=path, destination=target, size=size, mtime=mtime)
        pending.extend(reversed(dirs))
