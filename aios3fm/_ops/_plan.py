"""Expanding sources into items, streamed: a listing page becomes items at once, so
transfers start after the first page and memory does not grow with the number of objects.

``cp -r SRC... DIR/`` naming: each source lands inside the destination directory under
its own name (``s3://b/src/`` copied into ``s3://b/dst/`` gives ``s3://b/dst/src/...``).
A source without a trailing ``/`` is a file, a directory, or both at once on S3; it is
listed once with its own key as prefix (no HEAD), keeping the key itself and whatever lies
under ``key/``.

An S3 key bound for a local directory must stay inside it under its own name: a key with
a ``..``, ``.`` or empty segment (or a backslash form) becomes a ``Refused`` item that
fails with UnsafeKeyError, and nothing is written for it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread

from .._client import S3Client
from .._exceptions import UnsafeKeyError
from .._location import S3Location, parse_location
from .._models import ObjectInfo
from .._tree import match_parts, split_pattern

__all__ = ["Item", "Missing", "Refused", "expand", "local_target"]

Location = S3Location | Path


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
    client: S3Client, sources: list[str], destination: Location | None
) -> AsyncIterator[Item | Missing | Refused]:
    for text in sources:
        source = parse_location(text)
        found = False
        iterator: AsyncIterator[Item | Refused]
        if isinstance(source, Path):
            iterator = _expand_local(source, destination)
        else:
            iterator = _expand_s3(client, source, destination)
        async for item in iterator:
            found = True
            yield item
        if not found:
            yield Missing(text)


async def _expand_s3(
    client: S3Client, source: S3Location, destination: Location | None
) -> AsyncIterator[Item | Refused]:
    bucket, key = source.bucket, source.key
    literal, base = split_pattern(key)
    if literal != key:  # a glob: each match, file or directory, under its own name
        wanted = key[len(base) :].rstrip("/").split("/")
        async for page in client.list_tree(bucket, literal):
            for info in page:
                parts = info.key[len(base) :].split("/")
                for depth in range(1, len(parts) + 1):
                    if match_parts(wanted, parts[:depth]):
                        rest = "/".join(parts[depth:])
                        try:
                            target = _target(destination, parts[depth - 1], rest)
                        except UnsafeKeyError as refusal:
                            yield Refused(str(S3Location(bucket, info.key)), refusal)
                        else:
                            yield _item(bucket, info, target)
                        break
        return
    directory = key if key.endswith("/") or not key else key + "/"
    name = key.rstrip("/").rsplit("/", 1)[-1] if key else bucket
    async for page in client.list_tree(bucket, key):
        for info in page:
            if info.key == key and not key.endswith("/"):
                rest = ""
            elif info.key.startswith(directory):
                rest = info.key[len(directory) :]
            else:
                continue  # a sibling sharing the prefix ("key1" for "key")
            try:
                if rest or info.key != directory or destination is None:
                    target = _target(destination, name, rest)
                else:  # the directory's own marker
                    target = _target(destination, name + "/", "")
            except UnsafeKeyError as refusal:
                yield Refused(str(S3Location(bucket, info.key)), refusal)
            else:
                yield _item(bucket, info, target)


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


async def _expand_local(source: Path, destination: Location | None) -> AsyncIterator[Item]:
    text = str(source)
    literal, base = split_pattern(text)
    if literal != text:
        pattern = text[len(base) :]
        matches = await anyio.to_thread.run_sync(lambda: sorted(Path(base or ".").glob(pattern)))
        for match in matches:
            async for item in _expand_local(match, destination):
                yield item
        return
    if await anyio.Path(source).is_file():
        st = await anyio.Path(source).stat()
        target = _target(destination, source.name, "")
        yield Item(source=source, destination=target, size=st.st_size, mtime=st.st_mtime)
        return
    if not await anyio.Path(source).is_dir():
        return
    pending = [source]
    while pending:  # one directory at a time, each scanned in a worker thread
        directory = pending.pop()
        files, dirs = await anyio.to_thread.run_sync(_scan, directory)
        rest = directory.relative_to(source).as_posix()
        rest = "" if rest == "." else rest
        if not files and not dirs:  # an empty directory is recreated too
            target = _target(destination, source.name, rest + "/" if rest else "")
            if isinstance(target, S3Location) and not target.key.endswith("/"):
                target = S3Location(target.bucket, target.key + "/")
            yield Item(source=directory, destination=target, is_dir=True)
        for path, size, mtime in files:
            relative = path.relative_to(source).as_posix()
            target = _target(destination, source.name, relative)
            yield Item(source=path, destination=target, size=size, mtime=mtime)
        pending.extend(reversed(dirs))
