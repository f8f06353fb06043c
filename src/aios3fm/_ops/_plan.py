"""Expanding sources into items, streamed: a listing page becomes items at once, so
transfers start after the first page and memory does not grow with the number of objects.

``cp -r SRC... DIR/`` naming: each source lands inside the destination directory under
its own name (``s3://b/src/`` copied into ``s3://b/dst/`` gives ``s3://b/dst/src/...``),
or under the name a Source gives it (how ``rename`` and single-file copies place a source
at an exact destination). A source without a trailing ``/`` is a file, a directory, or
both at once on S3; it is listed once with its own key as prefix (no HEAD), keeping the
key itself and whatever lies under ``key/``.

A location holding ``*``, ``?`` or ``[`` is a pattern (``_glob``), unless it exists as
typed: then it means itself. Refused, before anything is written: a source whose
destination lies inside it (it would copy its own copies), an S3 key that cannot become a
local file under the destination (``_names``), and a key ending in ``/`` that holds bytes
bound for a local directory (it cannot be both). Local trees follow ``_local_plan``'s
symlink policy.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import anyio.to_thread

from .._exceptions import InvalidLocationError, NotFoundError, UnsafeKeyError
from .._location import S3Location, parse_location
from .._models import ObjectInfo
from .._s3 import S3Client
from ._glob import Glob, has_wildcard
from ._items import Item, Location, Missing, Planned, Refused, Skipped, Source
from ._local_plan import Policy, expand_local
from ._names import escapes, inside_refusal, same_refusal, target

__all__ = ["Policy", "expand"]


async def expand(
    client: S3Client,
    sources: Sequence[Source],
    destination: Location | None,
    *,
    policy: Policy,
    local_tree: Callable[[Path], None] | None = None,
) -> AsyncIterator[Planned]:
    """The plan of every source, in order; ``local_tree`` is told each local directory
    whose whole tree was expanded (a move or delete removes it once emptied)."""
    for source in sources:
        location = parse_location(source.location)
        found = False
        iterator: AsyncIterator[Item | Refused | Skipped]
        if isinstance(location, Path):
            dirs_only = source.location.endswith(("/", os.sep))  # Path() drops the "/"
            iterator = expand_local(
                location, destination, source.name, dirs_only, policy, local_tree
            )
        else:
            pattern = has_wildcard(location.key) and not await _exists_as_typed(client, location)
            refusal = _overlap(location, destination, source, pattern)
            if refusal is not None:
                yield Refused(source.location, refusal)
                continue
            iterator = _expand_s3(client, location, destination, source, pattern)
        async for item in iterator:
            found = True
            yield item
        if not found:
            yield Missing(source.location)


# -- a destination inside its source ----------------------------------------------------------


def _overlap(
    source: S3Location, destination: Location | None, spec: Source, pattern: bool
) -> InvalidLocationError | None:
    """Why ``source`` must not go to ``destination`` as a whole, if it must not: the
    destination lies inside it, so the copy would list and copy its own copies. (Local
    trees are checked as they are walked, in ``_local_plan``.)"""
    if not isinstance(destination, S3Location) or source.bucket != destination.bucket:
        return None
    if spec.info is not None and not spec.info.is_dir:
        return None
    base = (
        destination.key
        if not destination.key or destination.key.endswith("/")
        else (destination.key + "/")
    )
    if pattern:
        glob = Glob(source.key)
        under = base.startswith(glob.base)
        copied_again = under and (glob.spans_directories or any(glob.matches(base)))
        return inside_refusal(source, destination) if copied_again else None
    tree = source.key if not source.key or source.key.endswith("/") else source.key + "/"
    name = spec.name or (source.key.rstrip("/").rsplit("/", 1)[-1] or source.bucket)
    landing = base + name + "/"
    if landing == tree:
        return same_refusal(source, destination)
    return inside_refusal(source, destination) if landing.startswith(tree) else None


# -- S3 sources --------------------------------------------------------------------------------


async def _exists_as_typed(client: S3Client, location: S3Location) -> bool:
    """Whether a key holding ``*``, ``?`` or ``[`` names an object or directory as typed:
    then it means itself, not a pattern (one HEAD, and a one-key listing if needed)."""
    try:
        await client.head(location.bucket, location.key)
    except NotFoundError:
        directory = location.key if location.key.endswith("/") else location.key + "/"
        return await client.probe_dir(location.bucket, directory) is not None
    return True


async def _expand_s3(
    client: S3Client, source: S3Location, destination: Location | None, spec: Source,
    pattern: bool,
) -> AsyncIterator[Item | Refused]:  # fmt: skip
    bucket, key = source.bucket, source.key
    if pattern:
        glob = Glob(key)
        if spec.name is not None:
            raise ValueError(f"{spec.location}: a pattern cannot be placed under one name")
        async for page in client.list_tree(bucket, glob.literal):
            placed = []
            for info in page:
                for matched, is_dir in glob.matches(info.key):
                    name = matched.removesuffix("/").rsplit("/", 1)[-1]
                    placed.append((info, name, info.key[len(matched) :] if is_dir else ""))
                    break
            for item in await _items(bucket, placed, destination):
                yield item
        return
    name = spec.name or (key.rstrip("/").rsplit("/", 1)[-1] if key else bucket)
    if spec.info is not None and not spec.info.is_dir:
        for item in await _items(bucket, [(spec.info, name, "")], destination):
            yield item
        return
    directory = key if key.endswith("/") or not key else key + "/"
    async for page in client.list_tree(bucket, key):
        placed = []
        for info in page:
            if info.key == key and not key.endswith("/"):
                placed.append((info, name, ""))
            elif info.key.startswith(directory):
                placed.append((info, name, info.key[len(directory) :]))
            # else a sibling sharing the prefix ("key1" for "key")
        for item in await _items(bucket, placed, destination):
            yield item


async def _items(
    bucket: str, placed: list[tuple[ObjectInfo, str, str]], destination: Location | None
) -> list[Item | Refused]:
    """The items of one listing page; bound for a local directory, their targets are
    checked against symlinks on disk in one worker thread for the page."""
    items = [_placed(bucket, info, destination, name, rest) for info, name, rest in placed]
    if not isinstance(destination, Path):
        return items
    return await anyio.to_thread.run_sync(_resolved, destination, items)


def _resolved(root: Path, items: list[Item | Refused]) -> list[Item | Refused]:
    checked: list[Item | Refused] = []
    for item in items:
        refusal = None
        if isinstance(item, Item) and isinstance(item.destination, Path):
            refusal = escapes(root, item.destination)
        checked.append(item if refusal is None else Refused(str(item.source), refusal))
    return checked


def _placed(
    bucket: str, info: ObjectInfo, destination: Location | None, name: str, rest: str
) -> Item | Refused:
    location = str(S3Location(bucket, info.key))
    if not rest and info.key.endswith("/") and not name.endswith("/"):
        name += "/"  # a directory's own marker stays a marker at the destination
    if info.key.endswith("/") and info.size and isinstance(destination, Path):
        return Refused(location, UnsafeKeyError(
            f"{location} holds {info.size} bytes but its key ends in '/': it cannot become "
            "a local directory or file; refused, the object is kept"
        ))  # fmt: skip
    try:
        where = target(destination, name, rest)
    except UnsafeKeyError as refusal:
        return Refused(location, refusal)
    return Item(
        source=S3Location(bucket, info.key), destination=where, size=info.size,
        etag=info.etag, is_dir=info.key.endswith("/"), mtime=info.mtime,
    )  # fmt: skip
