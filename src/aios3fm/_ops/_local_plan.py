"""Local sources expanded into items: files, and directories walked one at a time in a
worker thread, with a symlink policy under which no entry vanishes without a word.

- A delete never follows a symlink: the link itself is the item (unlinked), whatever it
  points to, and a tree is deleted entry by entry, links and special files included.
- A copy follows symlinks (as ``aws s3 cp`` does; ``follow_symlinks=False`` skips them):
  to files, and to directories inside the source tree. A link back to a directory it is
  already inside is a loop, and a link to a directory outside the tree is not followed.
- A move follows symlinks to files (the link is removed once its content is copied) but
  never into a directory, whose files it would then delete through the link.
- Skipped, each with its reason: links not followed, loops, links leaving the tree,
  dangling links, and special files (fifos, sockets, devices) of a copy or move.
"""

from __future__ import annotations

import os
import stat
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import anyio.to_thread

from .._exceptions import UnsafeKeyError
from .._location import S3Location
from ._glob import split_pattern
from ._items import Item, Location, Refused, Skipped, Stamp
from ._names import inside, inside_refusal, target

__all__ = ["Policy", "expand_local"]

Mode = Literal["copy", "move", "delete"]


@dataclass(frozen=True)
class Policy:
    """How a local tree is read: for which operation, and whether symlinks are followed
    (copies only: moves follow links to files only, deletes never follow)."""

    mode: Mode
    follow_symlinks: bool = True


@dataclass
class _Walk:
    root: Path
    real_root: str
    policy: Policy
    items: list[Item | Skipped] = field(default_factory=list)


def _dir_id(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _inside(real_root: str, real: str) -> bool:
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


_File = tuple[Path, os.stat_result]


def _stamp(st: os.stat_result) -> Stamp:
    return st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev


def _entries(
    walk: _Walk, directory: Path, ancestors: frozenset[tuple[int, int]]
) -> tuple[list[_File], list[tuple[Path, frozenset[tuple[int, int]]]]]:
    """One directory: its files (path, stat) and the directories to walk next; what is
    left alone goes to ``walk.items`` as Skipped. Blocking: a worker thread."""
    files: list[_File] = []
    dirs: list[tuple[Path, frozenset[tuple[int, int]]]] = []
    mode = walk.policy.mode
    with os.scandir(directory) as it:
        for entry in sorted(it, key=lambda e: e.name):
            path = Path(entry.path)
            if entry.is_symlink() and mode != "delete":
                _link(walk, path, ancestors, files, dirs)
            elif entry.is_dir(follow_symlinks=False):
                dirs.append((path, ancestors | {_dir_id(entry.path)}))
            elif mode == "delete" or entry.is_file(follow_symlinks=False):
                files.append((path, entry.stat(follow_symlinks=False)))
            else:
                walk.items.append(Skipped(str(path), "not a regular file: left alone"))
    return files, dirs


def _link(
    walk: _Walk,
    path: Path,
    ancestors: frozenset[tuple[int, int]],
    files: list[_File],
    dirs: list[tuple[Path, frozenset[tuple[int, int]]]],
) -> None:
    policy = walk.policy
    if not policy.follow_symlinks:
        walk.items.append(Skipped(str(path), "symlink: not followed (follow_symlinks=False)"))
        return
    try:
        st = path.stat()
    except OSError:
        walk.items.append(Skipped(str(path), "dangling symlink: left alone"))
        return
    if stat.S_ISREG(st.st_mode):
        files.append((path, st))
    elif not stat.S_ISDIR(st.st_mode):
        walk.items.append(Skipped(str(path), "symlink to a special file: left alone"))
    elif policy.mode == "move":
        walk.items.append(Skipped(str(path), "symlink to a directory: a move does not follow it"))
    elif (st.st_dev, st.st_ino) in ancestors:
        walk.items.append(Skipped(str(path), "symlink loop: not followed"))
    elif not _inside(walk.real_root, os.path.realpath(path)):
        walk.items.append(Skipped(str(path), "symlink to a directory outside the tree"))
    else:
        dirs.append((path, ancestors | {(st.st_dev, st.st_ino)}))


def _matches(base: Path, pattern: str, dirs_only: bool) -> list[Path]:
    return sorted(p for p in base.glob(pattern) if not dirs_only or p.is_dir())


async def expand_local(
    source: Path,
    destination: Location | None,
    name: str | None,
    dirs_only: bool,
    policy: Policy,
    local_tree: Callable[[Path], None] | None,
) -> AsyncIterator[Item | Refused | Skipped]:
    text = str(source)
    literal, base = split_pattern(text)
    if literal != text and not await anyio.Path(source).exists():  # as typed, if it exists
        if name is not None:
            raise ValueError(f"{text}: a pattern cannot be placed under one name")
        pattern = text[len(base) :]
        matches = await anyio.to_thread.run_sync(_matches, Path(base or "."), pattern, dirs_only)
        for match in matches:
            async for item in expand_local(match, destination, None, False, policy, local_tree):
                yield item
        return
    own = name or source.name
    path = anyio.Path(source)
    if await path.is_symlink() and policy.mode == "delete":
        st = await path.lstat()  # the link itself, never what it points to
        yield Item(source=source, destination=None, stamp=_stamp(st))
        return
    if await path.is_file():
        yield _item(source, destination, own, "", await anyio.to_thread.run_sync(os.stat, source))
        return
    if not await path.is_dir():
        return
    if await path.is_symlink() and policy.mode == "move":
        yield Skipped(text, "symlink to a directory: a move does not follow it")
        return
    if isinstance(destination, Path):
        landing = destination / own
        if await anyio.to_thread.run_sync(inside, source, landing):
            yield Refused(text, inside_refusal(source, destination))
            return
    if local_tree is not None:
        local_tree(source)
    walk = _Walk(source, await anyio.to_thread.run_sync(os.path.realpath, source), policy)
    pending = [(source, frozenset({await anyio.to_thread.run_sync(_dir_id, text)}))]
    while pending:  # one directory at a time, each scanned in a worker thread
        directory, ancestors = pending.pop()
        files, dirs = await anyio.to_thread.run_sync(_entries, walk, directory, ancestors)
        for skipped in walk.items:
            yield skipped
        walk.items.clear()
        rest = directory.relative_to(source).as_posix()
        rest = "" if rest == "." else rest
        if not files and not dirs:  # an empty directory is recreated (or removed) too
            yield _item(directory, destination, own, rest + "/" if rest else "", None)
        for file, st in files:
            yield _item(file, destination, own, file.relative_to(source).as_posix(), st)
        pending.extend(reversed(dirs))


def _item(
    source: Path, destination: Location | None, name: str, rest: str, st: os.stat_result | None
) -> Item | Refused:
    """A file (``st`` its stat), or an empty directory (``st`` None)."""
    try:
        where = target(destination, name, rest)
    except UnsafeKeyError as refusal:
        return Refused(str(source), refusal)
    if st is None:
        if isinstance(where, S3Location) and not where.key.endswith("/"):
            where = S3Location(where.bucket, where.key + "/")
        return Item(source=source, destination=where, is_dir=True)
    return Item(
        source=source, destination=where, size=st.st_size, mtime=st.st_mtime, stamp=_stamp(st)
    )
