"""Extraction that keeps nothing broken and refuses what cannot be extracted whole:
damaged members fail alone and leave no file, names that are both a file and a directory
and bombs are refused before anything is written, a failing large member to S3 is one
failed item among the others, and zips written by Python's own zipfile are accepted."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from aios3fm import (
    CorruptArchiveError,
    EmbeddedS3,
    FileManager,
    MiB,
    S3Error,
    UnsafeArchiveMember,
)

from ..conftest import BUCKET, keys, u


def zip_of(entries: dict[str, bytes], *, stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)  # mode bits without a file type, as Python writes
    return buffer.getvalue()


def everything(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


async def test_zips_written_by_pythons_writestr_extract(fm: FileManager, tmp_path: Path) -> None:
    (tmp_path / "py.zip").write_bytes(zip_of({"a.txt": b"a", "d/b.txt": b"b"}))
    result = await fm.extract_archive(tmp_path / "py.zip", tmp_path / "out")
    assert not result.failed
    assert (tmp_path / "out" / "d" / "b.txt").read_bytes() == b"b"


async def test_a_member_with_a_bad_crc_fails_alone_and_leaves_nothing(
    fm: FileManager, tmp_path: Path
) -> None:
    data = bytearray(zip_of({"good": b"g" * 100, "bad": b"x" * 100, "later": b"l"}, stored=True))
    first = data.index(b"x" * 100)
    data[first + 50] ^= 0xFF  # one byte of 'bad' flipped: its CRC no longer holds
    (tmp_path / "crc.zip").write_bytes(bytes(data))
    result = await fm.extract_archive(tmp_path / "crc.zip", tmp_path / "out")
    assert [i.source.rsplit(":", 1)[1] for i in result.failed] == ["bad"]
    assert isinstance(result.failed[0].error, CorruptArchiveError)
    assert everything(tmp_path / "out") == ["good", "later"]  # no empty file, no temporary


async def test_a_name_that_is_both_file_and_directory_refuses_the_archive(
    fm: FileManager, tmp_path: Path
) -> None:
    (tmp_path / "both.zip").write_bytes(zip_of({"first": b"1", "a": b"file", "a/b": b"below"}))
    with pytest.raises(CorruptArchiveError, match="is a file and also the directory of"):
        await fm.extract_archive(tmp_path / "both.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists() or everything(tmp_path / "out") == []


async def test_a_bomb_is_refused_by_its_ratio_and_the_bound_can_be_lifted(
    fm: FileManager, tmp_path: Path
) -> None:
    (tmp_path / "bomb.zip").write_bytes(zip_of({"zeros": bytes(20 * MiB)}))
    assert (tmp_path / "bomb.zip").stat().st_size < 40_000  # over 500 times smaller
    with pytest.raises(UnsafeArchiveMember, match="over max_ratio=200"):
        await fm.extract_archive(tmp_path / "bomb.zip", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    with pytest.raises(UnsafeArchiveMember, match="over max_total_size"):
        await fm.extract_archive(tmp_path / "bomb.zip", tmp_path / "out", max_total_size=MiB)
    result = await fm.extract_archive(tmp_path / "bomb.zip", tmp_path / "out", max_ratio=None)
    assert not result.failed
    assert (tmp_path / "out" / "zeros").stat().st_size == 20 * MiB


def test_the_cli_refuses_a_bomb_unless_told_otherwise(s3: EmbeddedS3, tmp_path: Path) -> None:
    (tmp_path / "bomb.zip").write_bytes(zip_of({"zeros": bytes(20 * MiB)}))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **s3.environ()}

    def extract(*options: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "aios3fm", "archive", "extract", str(tmp_path / "bomb.zip"),
             str(tmp_path / "out"), *options],
            capture_output=True, text=True, env=env, check=False, timeout=120,
        )  # fmt: skip

    refused = extract()
    assert refused.returncode == 1
    assert "over max_ratio=200" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "out").exists()
    assert extract("--max-size", "10MiB", "--max-ratio", "0").returncode == 1
    assert extract("--max-ratio", "0").returncode == 0
    assert extract("--max-size", "lots").returncode == 2


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"multipart_threshold": 5 * MiB, "multipart_chunksize": 5 * MiB, "max_attempts": 1}


async def test_a_large_member_that_fails_to_upload_is_one_failed_item(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path
) -> None:
    members = {"small-1": b"1", "large": os.urandom(7 * MiB), "small-2": b"2"}
    (tmp_path / "in.zip").write_bytes(zip_of(members))
    s3.inject("500", count=2, operation="UploadPart")  # both parts of 'large', no retries
    result = await fm.extract_archive(tmp_path / "in.zip", u("out/"))
    assert [i.source.rsplit(":", 1)[1] for i in result.failed] == ["large"]
    assert isinstance(result.failed[0].error, S3Error)
    assert sorted(i.source.rsplit(":", 1)[1] for i in result.succeeded) == ["small-1", "small-2"]
    assert sorted(await keys(fm, "out/")) == ["out/small-1", "out/small-2"]
    assert await fm.client.list_multipart_uploads(BUCKET) == []  # the upload was aborted
