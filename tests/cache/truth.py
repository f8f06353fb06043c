"""The concurrency test kit's oracle: what S3 holds, read with a plain boto3 client (no
aios3fm code on the way), and every read of FileManager worked out from it, normalized
so that an aios3fm answer and the oracle's compare with ``==``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread

from aios3fm import EmbeddedS3, FileManager, NotADirectoryS3Error, NotFoundError

from ..conftest import plain_boto3

Answer = Any
"""A normalized answer: a tuple, a bool, a sorted list, or ("missing",) for not found."""


class Truth:
    """What the server holds right now, by boto3; sizes by key, and the buckets."""

    def __init__(self, s3: EmbeddedS3) -> None:
        self._client = plain_boto3(s3)

    async def objects(self, bucket: str) -> dict[str, int]:
        def scan() -> dict[str, int]:
            found: dict[str, int] = {}
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                found.update({o["Key"]: int(o["Size"]) for o in page.get("Contents", ())})
            return found

        return await anyio.to_thread.run_sync(scan)

    async def buckets(self) -> list[str]:
        def names() -> list[str]:
            return sorted(b["Name"] for b in self._client.list_buckets()["Buckets"])

        return await anyio.to_thread.run_sync(names)

    def put(self, bucket: str, key: str, data: bytes) -> None:
        """A write by someone else: no aios3fm, no event."""
        self._client.put_object(Bucket=bucket, Key=key, Body=data)


# -- reads: (what aios3fm answers, what the oracle says), for one location --------------------


def _is_dir(keys: dict[str, int], prefix: str) -> bool:
    return any(k.startswith(prefix) for k in keys)


def _children(keys: dict[str, int], prefix: str) -> list[tuple[str, bool, int]]:
    files: dict[str, int] = {}
    dirs: set[str] = set()
    for key, size in keys.items():
        if not key.startswith(prefix) or key == prefix:
            continue
        rest = key[len(prefix) :]
        if "/" in rest:
            dirs.add(rest.split("/", 1)[0])
        else:
            files[rest] = size
    return sorted([(n, False, s) for n, s in files.items()] + [(d, True, 0) for d in dirs])


def truth_stat(keys: dict[str, int], key: str) -> Answer:
    if key in keys and not key.endswith("/"):
        return ("file", keys[key])
    if _is_dir(keys, key.rstrip("/") + "/"):
        return ("dir",)
    return ("missing",)


def truth_listdir(keys: dict[str, int], prefix: str) -> Answer:
    if not _is_dir(keys, prefix) and prefix:
        return ("missing",)
    return _children(keys, prefix)


def truth_walk(keys: dict[str, int], top: str) -> Answer:
    if not _is_dir(keys, top) and top:
        return []
    walked = []
    pending = [top]
    while pending:
        directory = pending.pop(0)
        children = _children(keys, directory)
        dirs = [n for n, is_dir, _ in children if is_dir]
        walked.append((directory, dirs, [n for n, is_dir, _ in children if not is_dir]))
        pending.extend(directory + d + "/" for d in dirs)
    return sorted(walked)


def truth_du(keys: dict[str, int], top: str) -> Answer:
    if not _is_dir(keys, top) and top:
        return ("missing",)
    sizes = [s for k, s in keys.items() if k.startswith(top) and not k.endswith("/")]
    return (sum(sizes), len(sizes))


def truth_glob(keys: dict[str, int], prefix: str, bucket: str) -> Answer:
    return sorted(
        f"s3://{bucket}/{prefix}{name}{'/' if is_dir else ''}"
        for name, is_dir, _ in _children(keys, prefix)
    )


async def fm_stat(fm: FileManager, location: str) -> Answer:
    try:
        info = await fm.stat(location)
    except NotFoundError:
        return ("missing",)
    return ("dir",) if info.is_dir else ("file", info.size)


async def fm_listdir(fm: FileManager, location: str) -> Answer:
    try:
        entries = await fm.listdir(location)
    except (NotFoundError, NotADirectoryS3Error):
        return ("missing",)
    return sorted((e.name, e.is_dir, e.size) for e in entries)


async def fm_walk(fm: FileManager, location: str, bucket: str) -> Answer:
    base = f"s3://{bucket}/"
    found = [(d.removeprefix(base), dirs, files) async for d, dirs, files in fm.walk(location)]
    return sorted(found)


async def fm_du(fm: FileManager, location: str) -> Answer:
    try:
        usage = await fm.du(location)
    except NotFoundError:
        return ("missing",)
    return (usage.bytes, usage.files)


async def fm_glob(fm: FileManager, pattern: str) -> Answer:
    return sorted([m async for m in fm.glob(pattern)])


Read = Callable[[FileManager], Awaitable[Answer]]
Oracle = Callable[["Truth"], Awaitable[Answer]]
