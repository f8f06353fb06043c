"""Locations: ``s3://bucket/key`` strings parsed once, at the edge, with clear errors.

Keys keep the bytes the user gave them (spaces, unicode, a trailing ``/``). Refused here,
before any request is made: what S3 itself would refuse (bad bucket names, keys over 1024
bytes), and in a typed key ``.``, ``..`` or empty segments (``a/../b``, ``a//b``, ``/a``)
and control characters. Those are legal S3 keys but almost always a typo, and they have
no faithful local name; objects that already carry such keys are still reached through a
listing of a parent prefix (``rm -r``, ``cp -r``), which never re-parses keys.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ._exceptions import InvalidLocationError

__all__ = ["MAX_KEY_BYTES", "S3Location", "parse_location", "parse_s3"]

MAX_KEY_BYTES = 1024
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class S3Location:
    """``bucket`` is ``""`` for ``s3://`` (the list of buckets); ``key`` is ``""`` for a
    bucket's root. A key ending in ``/`` names a directory."""

    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.bucket else "s3://"


def _check_bucket(bucket: str, text: str) -> None:
    if not _BUCKET.match(bucket) or ".." in bucket or _IPV4.match(bucket):
        raise InvalidLocationError(
            f"{text!r}: {bucket!r} is not a valid bucket name (3-63 characters: lowercase "
            "letters, digits, '.' and '-', starting and ending with a letter or digit)"
        )


def parse_s3(text: str) -> S3Location:
    """Parse an ``s3://`` location; InvalidLocationError for anything S3 would refuse."""
    if not text.startswith("s3://"):
        raise InvalidLocationError(f"{text!r} is not an S3 location (s3://bucket/key)")
    rest = text[len("s3://") :]
    if not rest:
        return S3Location("", "")
    bucket, _, key = rest.partition("/")
    _check_bucket(bucket, text)
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidLocationError(f"{text[:80]!r}...: keys are limited to {MAX_KEY_BYTES} bytes")
    _check_key(key, text)
    return S3Location(bucket, key)


def _check_key(key: str, text: str) -> None:
    if not key:
        return
    if _CONTROL.search(key):
        raise InvalidLocationError(f"{text!r}: control characters are not allowed in a key")
    segments = key.split("/")
    if key.endswith("/"):  # a directory: its trailing "/" is not an empty segment
        segments.pop()
    for segment in segments:
        if segment in ("", ".", ".."):
            what = f"a {segment!r} segment" if segment else "an empty segment ('//', leading '/')"
            raise InvalidLocationError(
                f"{text!r}: the key has {what}; list a parent prefix to reach such keys"
            )


def parse_location(location: str | os.PathLike[str]) -> S3Location | Path:
    """An S3Location for ``s3://...``, a Path for anything else; ``s3:/x`` and the like
    (an S3 location typed wrong) are refused rather than taken for local paths."""
    if isinstance(location, os.PathLike):
        return Path(location)
    if location.startswith("s3://"):
        return parse_s3(location)
    if location.lower().startswith("s3:"):
        raise InvalidLocationError(f"{location!r} is not a valid S3 location (s3://bucket/key)")
    if not location:
        raise InvalidLocationError("an empty string is not a location")
    return Path(location)
