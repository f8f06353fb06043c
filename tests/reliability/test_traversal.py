"""Keys and archive members that try to leave a local destination: refused with a clear
error, and nothing is written outside the destination (or beside it under a changed
name). Every file under the test's temporary directory is accounted for afterwards."""

from __future__ import annotations

import io
import json
import os
import sys
import tarfile
import zipfile
from pathlib import Path

import anyio
import pytest

from aios3fm import EmbeddedS3, FileManager, UnsafeArchiveMember, UnsafeKeyError

from ..conftest import BUCKET, u
from .conftest import LEDGER

HOSTILE = [
    "t/a/../../x",
    "t/../z",
    "t/..",
    "t/sub/..",
    "t/./y",
    "t//abs",
    "t/..\\x",
    "t/a\\..\\..\\w",
    "t/\\rooted",
]
SAFE = {"t/ok": b"ok", "t/sub/deep.txt": b"deep", "t/back\\slash": b"kept as a name"}


def files_under(root: Path) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): p.stat().st_size
        for p in root.rglob("*")
        if p.is_file() or p.is_symlink()
    }


async def seed(fm: FileManager) -> None:
    for key in HOSTILE:
        await fm.client.put(BUCKET, key, b"escaped")  # raw keys: the client does not parse
    await fm.client.put(BUCKET, "/abs", b"escaped")
    for key, data in SAFE.items():
        await fm.client.put(BUCKET, key, data)


@pytest.mark.parametrize("kind", ["copy", "move"])
async def test_hostile_keys_never_leave_the_destination(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path, kind: str
) -> None:
    await seed(fm)
    destination = tmp_path / "sandbox" / "dest"
    destination.mkdir(parents=True)
    run = fm.copy if kind == "copy" else fm.move
    by_prefix = await run(u("t/"), str(destination))
    whole_bucket = await run(u(), str(destination / "all"))
    glob = await run(u("t/*"), str(destination / "glob"))

    refused = {r.source for r in (*by_prefix.failed, *whole_bucket.failed, *glob.failed)}
    for result in (by_prefix, whole_bucket, glob):
        for item in result.failed:
            assert isinstance(item.error, UnsafeKeyError)
            assert "refused" in str(item.error)
            assert item.destination is None
    assert {u(k) for k in HOSTILE} <= refused
    assert u("/abs") in refused  # s3://reliability//abs, via the whole-bucket copy
    assert {r.source for r in by_prefix.succeeded} == {u(k) for k in SAFE}

    found = files_under(tmp_path)
    expected = {f"sandbox/dest/{k}" for k in SAFE}
    if kind == "copy":  # a move took the safe keys away with its first run
        expected |= {f"sandbox/dest/all/{BUCKET}/{k}" for k in SAFE}
        expected |= {f"sandbox/dest/glob/{k.removeprefix('t/')}" for k in SAFE}
    assert set(found) == expected
    outside = sum(size for name, size in found.items() if not name.startswith("sandbox/dest/"))
    LEDGER.bytes_written_outside += outside
    assert outside == 0
    if kind == "move":  # refused sources stay where they were
        keys = {o.key async for page in fm.client.list_tree(BUCKET, "") for o in page}
        assert keys == {*HOSTILE, "/abs"}
    LEDGER.bad_inputs_tried += len(HOSTILE) + 1
    LEDGER.operations_run += 3


async def test_cli_download_of_hostile_keys_fails_those_items(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path
) -> None:
    await seed(fm)
    destination = tmp_path / "dest"
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **s3.environ()}
    done = await anyio.run_process(
        [sys.executable, "-m", "aios3fm", "--json", "cp", "-r", u("t/"), str(destination)],
        env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    failed = {r["source"] for r in records if r.get("status") == "failed"}
    assert failed == {u(k) for k in HOSTILE}
    assert all("refused" in r["error"] for r in records if r.get("status") == "failed")
    assert set(files_under(tmp_path)) == {f"dest/t/{k.removeprefix('t/')}" for k in SAFE}


def tar_with(name: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member, data in ((name, b"escaped"), ("fine.txt", b"fine")):
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def zip_with(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fine.txt", b"fine")
        archive.writestr(zipfile.ZipInfo(name), b"escaped")
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["a/../../x", "/abs", "..\\x", "a/..\\..\\x", "../x"])
@pytest.mark.parametrize("fmt", ["tar.gz", "zip"])
async def test_hostile_archive_members_are_refused(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path, name: str, fmt: str
) -> None:
    data = tar_with(name) if fmt == "tar.gz" else zip_with(name)
    await fm.client.put(BUCKET, f"a.{fmt}", data)
    local = tmp_path / "sandbox" / "out"
    for archive, destination in ((u(f"a.{fmt}"), str(local)), (u(f"a.{fmt}"), u("out/"))):
        with pytest.raises(UnsafeArchiveMember, match="nothing extracted"):
            await fm.extract_archive(archive, destination)
    assert files_under(tmp_path) == {}
    assert [o.key async for page in fm.client.list_tree(BUCKET, "") for o in page] == [f"a.{fmt}"]
    LEDGER.bad_inputs_tried += 2
