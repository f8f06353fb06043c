"""Where an entry lands: its destination location from the destination directory, the
name it takes there and the rest of its path below that name.

An S3 key bound for a local directory must stay inside it under its own name: a key with
a ``..``, ``.`` or empty segment (or a backslash form), or one that would reach the
destination through a symlink leading out of it, is refused (UnsafeKeyError) and nothing
is written for it. Archive extraction applies the same rule.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._exceptions import InvalidLocationError, UnsafeKeyError
from .._location import S3Location
from ._items import Location

__all__ = ["escapes", "inside", "inside_refusal", "local_target", "same_refusal", "target"]


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


def inside(root: Path, path: Path) -> bool:
    """Whether ``path`` is ``root`` or below it once symlinks already on disk are followed
    (blocking: call it in a worker thread)."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def escapes(root: Path, path: Path) -> UnsafeKeyError | None:
    """The refusal for a download that a symlink in the destination would lead out of
    ``root`` (blocking: call it in a worker thread)."""
    if inside(root, path):
        return None
    return UnsafeKeyError(
        f"{path} is reached through a symlink to {os.path.realpath(path)}, outside {root}; "
        "refused, nothing written"
    )


def target(destination: Location | None, name: str, rest: str) -> Location | None:
    """Where ``name`` (and ``rest`` below it) lands inside ``destination``."""
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


def inside_refusal(source: object, destination: object) -> InvalidLocationError:
    return InvalidLocationError(
        f"{source} -> {destination}: the destination is inside the source (it would copy "
        "its own copies); refused, nothing written"
    )


def same_refusal(source: object, destination: object) -> InvalidLocationError:
    return InvalidLocationError(
        f"{source} -> {destination}: the source and the destination are the same object; "
        "refused, nothing changed"
    )
