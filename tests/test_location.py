"""Location parsing: what becomes an S3Location, what a local Path, and what is refused
before any request, each with its reason in the message."""

from __future__ import annotations

from pathlib import Path

import pytest

from aios3fm import InvalidLocationError
from aios3fm._location import MAX_KEY_BYTES, S3Location, parse_location, parse_s3


@pytest.mark.parametrize(
    ("text", "bucket", "key"),
    [
        ("s3://", "", ""),
        ("s3://bkt", "bkt", ""),
        ("s3://bkt/", "bkt", ""),
        ("s3://bkt/a", "bkt", "a"),
        ("s3://bkt/dir/", "bkt", "dir/"),
        ("s3://b.k-t/a b/ü é/😀.txt", "b.k-t", "a b/ü é/😀.txt"),
        ("s3://bkt/a[1]/*?.log", "bkt", "a[1]/*?.log"),
        ("s3://123/x", "123", "x"),
        ("s3://bkt/" + "k" * MAX_KEY_BYTES, "bkt", "k" * MAX_KEY_BYTES),
    ],
)
def test_keys_keep_every_byte_given(text: str, bucket: str, key: str) -> None:
    assert parse_s3(text) == S3Location(bucket, key)
    assert parse_location(text) == S3Location(bucket, key)
    assert str(parse_s3(text)) == (f"s3://{bucket}/{key}" if bucket else "s3://")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("s3://Bad_Bucket/k", "not a valid bucket name"),
        ("s3://ab/k", "not a valid bucket name"),
        ("s3://" + "a" * 64 + "/k", "not a valid bucket name"),
        ("s3://-bkt/k", "not a valid bucket name"),
        ("s3://bkt-/k", "not a valid bucket name"),
        ("s3://b..kt/k", "not a valid bucket name"),
        ("s3://192.168.0.1/k", "not a valid bucket name"),
        ("s3://bkt/a//b", "empty segment"),
        ("s3://bkt//lead", "empty segment"),
        ("s3://bkt/a/../b", "'..' segment"),
        ("s3://bkt/./a", "'.' segment"),
        ("s3://bkt/a/..", "'..' segment"),
        ("s3://bkt/tab\there", "control characters"),
        ("s3://bkt/nul\x00", "control characters"),
        ("s3://bkt/del\x7f", "control characters"),
        ("s3://bkt/" + "é" * 513, f"limited to {MAX_KEY_BYTES} bytes"),
    ],
)
def test_what_s3_or_common_sense_refuses_is_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidLocationError, match=reason):
        parse_s3(text)
    with pytest.raises(InvalidLocationError, match=reason):
        parse_location(text)


@pytest.mark.parametrize("text", ["s3:/bkt/k", "s3:bkt/k", "S3://bkt/k", "s3:"])
def test_an_s3_location_typed_wrong_is_not_taken_for_a_local_path(text: str) -> None:
    with pytest.raises(InvalidLocationError, match="not a valid S3 location"):
        parse_location(text)


def test_local_paths() -> None:
    assert parse_location("relative/file.txt") == Path("relative/file.txt")
    assert parse_location("/abs/dir/") == Path("/abs/dir")
    assert parse_location(Path("s3:/odd")) == Path("s3:/odd")  # a PathLike is always local
    with pytest.raises(InvalidLocationError, match="empty string"):
        parse_location("")
    with pytest.raises(InvalidLocationError, match="is not an S3 location"):
        parse_s3("/local/path")
