"""The file-system API on S3: markers, big renames and walks with exact call counts,
glob narrowed server-side, read-your-writes, and the errors the issue names."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import anyio
import pytest

from aios3fm import (
    BucketNotFoundError,
    DirectoryNotEmptyError,
    EmbeddedS3,
    FileManager,
    InvalidLocationError,
)

from .conftest import make_settings, reset_counts

BKT = "fs-bucket"


@pytest.fixture
async def sfm(s3: EmbeddedS3) -> AsyncIterator[FileManager]:
    async with FileManager(settings=make_settings(s3)) as fm:
        await fm.make_bucket(BKT)
        yield fm


def u(key: str) -> str:
    return f"s3://{BKT}/{key}"


def assert_calls(fm: FileManager, s3: EmbeddedS3, expected: dict[str, int]) -> None:
    assert dict(fm.statistics().api_calls) == expected
    assert s3.requests == expected


async def names(fm: FileManager, location: str) -> list[str]:
    return [e.name + ("/" if e.is_dir else "") for e in await fm.listdir(location)]


async def put_all(fm: FileManager, objects: dict[str, bytes]) -> None:
    async with anyio.create_task_group() as tg:
        for key, data in objects.items():
            tg.start_soon(fm.client.put, BKT, key, data)


async def test_nested_directories_are_markers_never_their_own_children(sfm: FileManager) -> None:
    await sfm.create_directory(u("m1/m2/m3"), parents=True)
    markers = [o.key async for page in sfm.client.list_tree(BKT) for o in page]
    assert markers == ["m1/", "m1/m2/", "m1/m2/m3/"]
    assert await names(sfm, u("m1")) == ["m2/"]
    assert await names(sfm, u("m1/m2/m3/")) == []  # its marker is not its child
    await sfm.rmdir(u("m1/m2/m3"))  # only its marker inside: empty
    assert await names(sfm, u("m1/m2")) == []
    with pytest.raises(DirectoryNotEmptyError):
        await sfm.rmdir(u("m1"))
    await sfm.rmdir(u("m1/m2/"))
    await sfm.rmdir(u("m1"))
    assert await names(sfm, u("")) == []
    await sfm.create_directory(u("new/"))  # mkdir('new/') works
    assert await sfm.is_dir(u("new"))


async def test_rename_of_a_directory_holding_1500_objects(sfm: FileManager, s3: EmbeddedS3) -> None:
    objects = {
        f"src/tree/d{i % 15:02d}/obj-{i:04d}.bin": hashlib.sha256(str(i).encode()).digest()
        * (i % 7 + 1)
        for i in range(1500)
    }
    objects["src/tree/"] = b""  # its marker moves too
    await put_all(sfm, objects)
    await put_all(sfm, {"dst/other.txt": b"x", "src/keep.txt": b"k"})
    # warm the listings that the rename must leave fresh
    assert await names(sfm, u("src/")) == ["keep.txt", "tree/"]
    assert await names(sfm, u("dst/")) == ["other.txt"]
    reset_counts(sfm.client, s3)

    assert await sfm.rename(u("src/tree"), u("dst/moved")) == u("dst/moved/")

    calls = dict(sfm.statistics().api_calls)
    assert calls["CopyObject"] == 1501
    assert calls["DeleteObjects"] == 2  # 1501 sources in batches of 1000
    assert "HeadObject" not in calls  # sizes came from the listing
    assert [o.key async for page in sfm.client.list_tree(BKT, "src/") for o in page] == [
        "src/keep.txt"
    ]
    for key, data in objects.items():
        moved = "dst/moved/" + key.removeprefix("src/tree/")
        assert await sfm.client.get_bytes(BKT, moved) == data
    assert await names(sfm, u("src/")) == ["keep.txt"]  # the old parent is fresh
    assert await names(sfm, u("dst/")) == ["moved/", "other.txt"]  # the new parent too
    assert not await sfm.exists(u("src/tree/d00/obj-0000.bin"))


async def test_walk_of_3000_objects_in_200_directories(sfm: FileManager, s3: EmbeddedS3) -> None:
    objects = {f"w/g{i // 15 % 10}/d{i // 15:03d}/f{i:04d}": b"%d" % i for i in range(3000)}
    await put_all(sfm, objects)
    directories = {k.rsplit("/", 1)[0] for k in objects} | {f"w/g{g}" for g in range(10)}
    assert len({k.rsplit("/", 1)[0] for k in objects}) == 200
    reset_counts(sfm.client, s3)

    walked = [item async for item in sfm.walk(u("w"))]
    assert_calls(sfm, s3, {"ListObjectsV2": 3})  # ⌈3000/1000⌉

    assert len(walked) == 1 + len(directories)
    assert sum(len(files) for _, _, files in walked) == 3000
    for dirpath, dirnames, filenames in walked:
        entries = await sfm.listdir(dirpath)
        assert [e.name for e in entries if e.is_dir] == dirnames
        assert [e.name for e in entries if not e.is_dir] == filenames
        for name in filenames:
            info = await sfm.stat(dirpath + name)
            assert info.size == len(objects[info.key])
        for name in dirnames:
            assert await sfm.is_dir(dirpath + name)
    assert_calls(sfm, s3, {"ListObjectsV2": 3})  # every stat and listdir came from the walk


async def test_glob_lists_only_under_the_literal_prefix(sfm: FileManager, s3: EmbeddedS3) -> None:
    objects = {f"logs/2026-{m:02d}/app-{d}.gz": b"x" for m in range(1, 13) for d in range(3)}
    objects.update({f"other/{i:04d}": b"y" for i in range(1500)})
    await put_all(sfm, objects)
    reset_counts(sfm.client, s3)

    found = sorted([m async for m in sfm.glob(u("logs/2026-1*/app-[01].gz"))])

    assert found == [u(f"logs/2026-{m}/app-{d}.gz") for m in (10, 11, 12) for d in (0, 1)]
    assert_calls(sfm, s3, {"ListObjectsV2": 1})  # 9 keys under "logs/2026-1", not 1,536
    months = sorted([m async for m in sfm.glob(u("logs/*/"))])
    assert months == [u(f"logs/2026-{m:02d}/") for m in range(1, 13)]


async def test_writes_are_read_back_at_once(sfm: FileManager, s3: EmbeddedS3) -> None:
    await put_all(sfm, {"ryw/a/old.txt": b"old"})
    assert await names(sfm, u("")) == ["ryw/"]
    assert await names(sfm, u("ryw/")) == ["a/"]
    assert not await sfm.exists(u("ryw/b/c/new.txt"))  # "absent" is cached now

    await sfm.write_bytes(u("ryw/b/c/new.txt"), b"new")
    assert await sfm.read_bytes(u("ryw/b/c/new.txt")) == b"new"
    assert await sfm.exists(u("ryw/b/c/new.txt"))
    assert await names(sfm, u("ryw/")) == ["a/", "b/"]  # the ancestor gained a prefix
    assert await names(sfm, u("ryw/b/c/")) == ["new.txt"]

    await sfm.remove(u("ryw/a/old.txt"))
    assert await names(sfm, u("ryw/")) == ["b/"]  # and lost one
    await sfm.create_file(u("ryw/b/empty"))
    assert (await sfm.stat(u("ryw/b/empty"))).size == 0
    assert await names(sfm, u("ryw/b/")) == ["c/", "empty"]


async def test_large_write_goes_multipart_and_streams_back(s3: EmbeddedS3) -> None:
    from aios3fm import MiB

    settings = make_settings(s3, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    data = bytes(range(256)) * (45 * 1024)  # 11.25 MiB
    async with FileManager(settings=settings) as fm:
        await fm.make_bucket(BKT)
        await fm.write_bytes(u("big.bin"), data)
        assert fm.statistics().api_calls["UploadPart"] == 3
        async with fm.open(u("big.bin")) as f:
            chunks = [chunk async for chunk in f]
    assert b"".join(chunks) == data
    assert len(chunks) > 1


async def test_clear_errors(sfm: FileManager) -> None:
    await put_all(sfm, {"e/file.txt": b"x", "e/dir/inner": b"y"})
    with pytest.raises(BucketNotFoundError):
        await sfm.write_bytes("s3://no-such-bucket/k", b"x")
    with pytest.raises(BucketNotFoundError):
        await sfm.create_directory("s3://no-such-bucket/d")
    with pytest.raises(BucketNotFoundError):
        await sfm.listdir("s3://no-such-bucket/")
    with pytest.raises(NotADirectoryError):
        await sfm.listdir(u("e/file.txt"))
    with pytest.raises(IsADirectoryError):
        await sfm.read_bytes(u("e/dir"))
    with pytest.raises(IsADirectoryError):
        await sfm.write_bytes(u("e/dir"), b"x")
    with pytest.raises(OSError, match="not empty"):
        await sfm.rmdir(u("e"))
    with pytest.raises(IsADirectoryError):
        await sfm.rename(u("e/file.txt"), u("e/dir"))
    with pytest.raises(FileExistsError):
        await sfm.rename(u("e/dir"), u("e"))
    with pytest.raises(InvalidLocationError):
        await sfm.rename(u("e/dir"), u("e/dir/inside"))
    with pytest.raises(InvalidLocationError):
        await sfm.rename(u("e/file.txt"), "/tmp/elsewhere")
    with pytest.raises(InvalidLocationError):
        await sfm.rmdir(f"s3://{BKT}/")
    with pytest.raises(InvalidLocationError, match="not a valid S3 location"):
        await sfm.stat("s3:/x")
    with pytest.raises(InvalidLocationError, match="bucket name"):
        await sfm.stat("s3://Bad_Bucket/k")
