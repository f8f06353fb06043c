"""Change events: what an operation changed in S3, for the BatchedInvalidator to apply."""

from __future__ import annotations

from dataclasses import dataclass

from ._models import ObjectInfo

__all__ = ["ChangeEvent"]


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One completed change in ``bucket``.

    ``written``/``deleted`` are keys (a key ending in ``/`` is a directory marker);
    ``prefixes`` are directory prefixes whose whole subtree changed (a directory copied,
    moved or deleted at once); ``infos`` carry the new ObjectInfo when the writer knew it.
    """

    bucket: str
    written: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    infos: tuple[ObjectInfo, ...] = ()
