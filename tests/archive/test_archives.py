"""Archives: every format x source x destination round-trips byte-exact; crafted
malicious archives are refused before anything is written; listings stay fresh."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import zipfile
from pathlib import Path

import anyio
import pytest

from aios3fm import (
    CorruptArchiveError,
    EmbeddedS3,
    FileManager,
    MiB,
    OperationResult,
    PreconditionFailedError,
    UnsafeArchiveMember,
)

from ..cache.truth import Truth
from ..conftest import BUCKET, make_settings, put_all, reset_counts, u, wait_until

FORMATS = ["zip", "tar", "tar.gz", "tar.bz2", "tar.xz"]
TREE = {
    "a.txt": b"alpha",
    "empty.bin": b"",
    "sub/déjà vu/ü.txt": bytes(range(256)) * 20,
    "sub/deeper/z.dat": b"zed",
}
EMPTY_DIRS = ["empty dir", "sub/nothing"]


def names_in(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def make_local_tree(root: Path) -> None:
    for name, data in TREE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    for name in EMPTY_DIRS:
        (root / name).mkdir(parents=True, exist_ok=True)


async def read_tree(fm: FileManager, root: str) -> tuple[dict[str, bytes], set[str]]:
    """Files (relative name -> bytes) and empty directories under ``root``."""
    files: dict[str, bytes] = {}
    empty: set[str] = set()
    async for dirpath, dirnames, filenames in fm.walk(root):
        relative = dirpath[len(root) :].strip("/").replace(os.sep, "/")
        if not dirnames and not filenames:
            empty.add(relative)
        for name in filenames:
            key = f"{relative}/{name}" if relative else name
            files[key] = await fm.read_bytes(f"{dirpath.rstrip('/')}/{name}")
    return files, empty


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("source", ["local", "s3"])
@pytest.mark.parametrize("destination", ["local", "s3"])
async def test_round_trip(
    fm: FileManager, bucket: str, tmp_path: Path, fmt: str, source: str, destination: str
) -> None:
    make_local_tree(tmp_path / "tree")
    if source == "s3":
        await fm.copy(tmp_path / "tree", u("src/"))
        src = u("src/tree/")
    else:
        src = str(tmp_path / "tree")
    # the archive itself lives on the other side from its sources
    archive = str(tmp_path / f"out.{fmt}") if source == "s3" else u(f"archives/out.{fmt}")
    created = await fm.create_archive(src, archive)
    assert created.failed == ()
    dest = u(f"x/{fmt}/") if destination == "s3" else str(tmp_path / "x" / fmt)

    extracted = await fm.extract_archive(archive, dest)

    assert extracted.failed == ()
    root = dest if destination == "s3" else dest + os.sep
    files, empty = await read_tree(fm, root + ("tree/" if destination == "s3" else "tree"))
    assert files == TREE
    assert empty == set(EMPTY_DIRS)
    names = {m.name for m in await fm.list_archive(archive)}
    assert {f"tree/{n}" for n in TREE} <= names


def tar_bytes(build: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for info, data in build:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def tar_member(
    name: str, data: bytes = b"x", kind: bytes = tarfile.REGTYPE, link: str = ""
) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data if kind == tarfile.REGTYPE else None


def zip_bytes(entries: list[tuple[str, bytes, int]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            zf.writestr(info, data)
    return out.getvalue()


SAFE = tar_member("fine.txt", b"fine")
MALICIOUS = {
    "tar absolute": ("tar", tar_bytes([SAFE, tar_member("/etc/evil")])),
    "tar dotdot": ("tar", tar_bytes([SAFE, tar_member("a/../../evil")])),
    "tar symlink out": (
        "tar",
        tar_bytes([SAFE, tar_member("link", kind=tarfile.SYMTYPE, link="../../etc")]),
    ),
    "tar hardlink": (
        "tar",
        tar_bytes([SAFE, tar_member("hard", kind=tarfile.LNKTYPE, link="/etc/passwd")]),
    ),
    "tar device": ("tar", tar_bytes([SAFE, tar_member("dev", kind=tarfile.CHRTYPE)])),
    "tar fifo": ("tar", tar_bytes([SAFE, tar_member("fifo", kind=tarfile.FIFOTYPE)])),
    "zip absolute": (
        "zip",
        zip_bytes([("fine.txt", b"ok", 0o100644), ("/abs/evil", b"x", 0o100644)]),
    ),
    "zip dotdot": ("zip", zip_bytes([("fine.txt", b"ok", 0o100644), ("../evil", b"x", 0o100644)])),
    "zip backslash": (
        "zip",
        zip_bytes([("fine.txt", b"ok", 0o100644), ("..\\evil", b"x", 0o100644)]),
    ),
    "zip symlink": (
        "zip",
        zip_bytes([("fine.txt", b"ok", 0o100644), ("link", b"../../etc", 0o120777)]),
    ),
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
@pytest.mark.parametrize("destination", ["local", "s3"])
async def test_malicious_archives_are_refused_and_write_nothing(
    fm: FileManager, bucket: str, s3: EmbeddedS3, tmp_path: Path, case: str, destination: str
) -> None:
    fmt, data = MALICIOUS[case]
    archive = tmp_path / "in" / f"bad.{fmt}"
    archive.parent.mkdir()
    archive.write_bytes(data)
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    dest = u("out/") if destination == "s3" else str(sandbox / "dest")
    reset_counts(fm.client, s3)

    with pytest.raises(UnsafeArchiveMember, match="nothing extracted"):
        await fm.extract_archive(archive, dest)

    assert names_in(sandbox) == []  # nothing written, not even the destination
    assert names_in(tmp_path) == ["in", "sandbox"]
    assert "PutObject" not in s3.requests
    assert [o async for page in fm.client.list_tree(BUCKET) for o in page] == []


async def test_size_guard_and_corrupt_archives(
    fm: FileManager, bucket: str, tmp_path: Path
) -> None:
    big = tmp_path / "big.tar"
    big.write_bytes(tar_bytes([tar_member("a", b"x" * 1000), tar_member("b", b"y" * 1000)]))
    with pytest.raises(UnsafeArchiveMember, match=r"over max_total_size=1500"):
        await fm.extract_archive(big, tmp_path / "out", max_total_size=1500)
    assert not (tmp_path / "out").exists()
    result = await fm.extract_archive(big, tmp_path / "out", max_total_size=2000)
    assert result.objects == 2

    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(CorruptArchiveError, match=r"broken\.tar\.gz"):
        await fm.extract_archive(broken, tmp_path / "out2")
    with pytest.raises(CorruptArchiveError):
        await fm.list_archive(broken)
    with pytest.raises(ValueError, match="format"):
        await fm.create_archive(tmp_path, tmp_path / "archive.rar")


async def test_listings_are_fresh_after_create_and_extract(
    fm: FileManager, bucket: str, tmp_path: Path
) -> None:
    make_local_tree(tmp_path / "tree")
    await fm.copy(tmp_path / "tree", u("src/"))
    assert sorted(e.name for e in await fm.listdir(u())) == ["src"]  # warm
    assert not await fm.exists(u("out/a.tar.gz"))  # "absent" is cached now
    assert not await fm.is_dir(u("x/tree/sub/deeper"))

    await fm.create_archive(u("src/tree"), u("out/a.tar.gz"))
    assert [e.name for e in await fm.listdir(u("out/"))] == ["a.tar.gz"]
    assert sorted(e.name for e in await fm.listdir(u())) == ["out", "src"]

    await fm.extract_archive(u("out/a.tar.gz"), u("x/"))
    assert sorted(e.name for e in await fm.listdir(u())) == ["out", "src", "x"]
    assert await fm.is_dir(u("x/tree/sub/deeper"))
    assert [e.name for e in await fm.listdir(u("x/tree/sub/deeper"))] == ["z.dat"]
    assert [e.name for e in await fm.listdir(u("x/tree/empty dir/"))] == []


async def test_archive_to_s3_goes_up_in_parts(s3: EmbeddedS3) -> None:
    settings = make_settings(s3, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    data = os.urandom(6 * MiB)
    async with FileManager(settings=settings) as fm:
        await fm.make_bucket(BUCKET)
        await fm.client.put(BUCKET, "src/one.bin", data)
        await fm.client.put(BUCKET, "src/two.bin", data[::-1])
        reset_counts(fm.client, s3)
        result = await fm.create_archive(u("src/"), u("big.tar"))
        assert result.objects == 2
        assert s3.requests["UploadPart"] == 3  # 12 MiB of tar in 5 MiB parts
        assert await fm.client.list_multipart_uploads(BUCKET) == []
        extracted = await fm.extract_archive(u("big.tar"), u("back/"))
        assert extracted.objects == 2
        assert await fm.read_bytes(u("back/src/one.bin")) == data
        assert await fm.read_bytes(u("back/src/two.bin")) == data[::-1]


def mtime_of(path: Path) -> float:
    return path.stat().st_mtime


def spool_files() -> list[str]:
    return [n for n in os.listdir(tempfile.gettempdir()) if n.startswith(".aios3fm-archive-")]


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
async def test_local_extraction_keeps_mtimes(
    fm: FileManager, bucket: str, tmp_path: Path, fmt: str
) -> None:
    make_local_tree(tmp_path / "tree")
    os.utime(tmp_path / "tree" / "a.txt", (1_700_000_000, 1_700_000_000))
    await fm.create_archive(tmp_path / "tree", tmp_path / f"t.{fmt}")
    await fm.extract_archive(tmp_path / f"t.{fmt}", tmp_path / "out")
    # zip keeps local time in 2-second steps; tar keeps whole seconds
    assert abs(mtime_of(tmp_path / "out" / "tree" / "a.txt") - 1_700_000_000) <= 2


async def test_cancelled_archive_leaves_no_spool_and_no_upload(
    s3: EmbeddedS3, tmp_path: Path
) -> None:
    settings = make_settings(s3, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    async with FileManager(settings=settings) as fm:
        await fm.make_bucket(BUCKET)
        for i in range(4):
            await fm.client.put(BUCKET, f"src/{i}.bin", os.urandom(4 * MiB))
        before = spool_files()
        held = s3.hold("GetObject", count=4)  # members are read one at a time
        handle = fm.submit(fm.create_archive(u("src/"), u("cancelled.tar")))
        await wait_until(lambda: held.arrived == 1)
        handle.cancel()
        result = await handle
        held.release()
        assert result.cancelled
        assert spool_files() == before
        assert await fm.client.list_multipart_uploads(BUCKET) == []
        assert not await fm.exists(u("cancelled.tar"))


@pytest.mark.parametrize("fmt", ["tar", "zip"])
async def test_a_member_changed_after_the_listing_is_left_out_never_cut(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path, fmt: str
) -> None:
    """The listing sizes a member; if the object changes before it is read, the member
    is reported failed (its read is pinned to the listed ETag), never stored cut short or
    with bytes the header does not describe."""
    await put_all(fm, {"src/a": b"a" * 100, "src/b": b"b" * 100})
    hold = s3.hold("ListObjectsV2")
    archive = tmp_path / f"out.{fmt}"
    outcome: list[OperationResult] = []

    async def create() -> None:
        outcome.append(await fm.create_archive(u("src/"), archive))

    async with anyio.create_task_group() as tg:
        tg.start_soon(create)
        await wait_until(lambda: hold.arrived == 1)
        await anyio.to_thread.run_sync(Truth(s3).put, BUCKET, "src/b", b"B" * 250)
        hold.release()
    (result,) = outcome
    assert [i.source for i in result.failed] == [u("src/b")]
    assert isinstance(result.failed[0].error, PreconditionFailedError)
    members = {m.name: m.size for m in await fm.list_archive(archive) if not m.is_dir}
    assert members == {"src/a": 100}
    await fm.extract_archive(archive, tmp_path / "x")
    assert (tmp_path / "x" / "src" / "a").read_bytes() == b"a" * 100
