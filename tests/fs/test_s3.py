"""The file-system API on S3: markers, big renames and walks with exact call counts,
glob narrowed server-side, read-your-writes, and the errors the issue names."""

from __future__ import annotations

import hashlib

import pytest

from aios3fm import (
    BucketNotFoundError,
    DirectoryNotEmptyError,
    EmbeddedS3,
    FileManager,
    InvalidLocationError,
)

from ..conftest import BUCKET, assert_calls, make_settings, names, put_all, reset_counts, u


async def test_nested_directories_are_markers_never_their_own_children(
    fm: FileManager, bucket: str
) -> None:
    await fm.create_directory(u("m1/m2/m3"), parents=True)
    markers = [o.key async for page in fm.client.list_tree(BUCKET) for o in page]
    assert markers == ["m1/", "m1/m2/", "m1/m2/m3/"]
    assert await names(fm, u("m1")) == ["m2/"]
    assert await names(fm, u("m1/m2/m3/")) == []  # its marker is not its child
    await fm.rmdir(u("m1/m2/m3"))  # only its marker inside: empty
    assert await names(fm, u("m1/m2")) == []
    with pytest.raises(DirectoryNotEmptyError):
        await fm.rmdir(u("m1"))
    await fm.rmdir(u("m1/m2/"))
    await fm.rmdir(u("m1"))
    assert await names(fm, u("")) == []
    await fm.create_directory(u("new/"))  # mkdir('new/') works
    assert await fm.is_dir(u("new"))


async def test_rename_of_a_directory_holding_1500_objects(
    fm: FileManager, bucket: str, s3: EmbeddedS3
) -> None:
    objects = {
        f"src/tree/d{i % 15:02d}/obj-{i:04d}.bin": hashlib.sha256(str(i).encode()).digest()
        * (i % 7 + 1)
        for i in range(1500)
    }
    objects["src/tree/"] = b""  # its marker moves too
    await put_all(fm, objects)
    await put_all(fm, {"dst/other.txt": b"x", "src/keep.txt": b"k"})
    # warm the listings that the rename must leave fresh
    assert await names(fm, u("src/")) == ["keep.txt", "tree/"]
    assert await names(fm, u("dst/")) == ["other.txt"]
    reset_counts(fm.client, s3)

    assert await fm.rename(u("src/tree"), u("dst/moved")) == u("dst/moved/")

    calls = dict(fm.statistics().api_calls)
    assert calls["CopyObject"] == 1501
    assert calls["DeleteObjects"] == 2  # 1501 sources in batches of 1000
    assert "HeadObject" not in calls  # sizes came from the listing
    assert [o.key async for page in fm.client.list_tree(BUCKET, "src/") for o in page] == [
        "src/keep.txt"
    ]
    for key, data in objects.items():
        moved = "dst/moved/" + key.removeprefix("src/tree/")
        assert await fm.client.get_bytes(BUCKET, moved) == data
    assert await names(fm, u("src/")) == ["keep.txt"]  # the old parent is fresh
    assert await names(fm, u("dst/")) == ["moved/", "other.txt"]  # the new parent too
    assert not await fm.exists(u("src/tree/d00/obj-0000.bin"))


async def test_walk_of_3000_objects_in_200_directories(
    fm: FileManager, bucket: str, s3: EmbeddedS3
) -> None:
    objects = {f"w/g{i // 15 % 10}/d{i // 15:03d}/f{i:04d}": b"%d" % i for i in range(3000)}
    await put_all(fm, objects)
    directories = {k.rsplit("/", 1)[0] for k in objects} | {f"w/g{g}" for g in range(10)}
    assert len({k.rsplit("/", 1)[0] for k in objects}) == 200
    reset_counts(fm.client, s3)

    walked = [item async for item in fm.walk(u("w"))]
    assert_calls(fm, s3, {"ListObjectsV2": 3})  # ⌈3000/1000⌉

    assert len(walked) == 1 + len(directories)
    assert sum(len(files) for _, _, files in walked) == 3000
    for dirpath, dirnames, filenames in walked:
        entries = await fm.listdir(dirpath)
        assert [e.name for e in entries if e.is_dir] == dirnames
        assert [e.name for e in entries if not e.is_dir] == filenames
        for name in filenames:
            info = await fm.stat(dirpath + name)
            assert info.size == len(objects[info.key])
        for name in dirnames:
            assert await fm.is_dir(dirpath + name)
    assert_calls(fm, s3, {"ListObjectsV2": 3})  # every stat and listdir came from the walk


async def test_glob_lists_only_under_the_literal_prefix(
    fm: FileManager, bucket: str, s3: EmbeddedS3
) -> None:
    objects = {f"logs/2026-{m:02d}/app-{d}.gz": b"x" for m in range(1, 13) for d in range(3)}
    objects.update({f"other/{i:04d}": b"y" for i in range(1500)})
    await put_all(fm, objects)
    reset_counts(fm.client, s3)

    found = sorted([m async for m in fm.glob(u("logs/2026-1*/app-[01].gz"))])

    assert found == [u(f"logs/2026-{m}/app-{d}.gz") for m in (10, 11, 12) for d in (0, 1)]
    assert_calls(fm, s3, {"ListObjectsV2": 1})  # 9 keys under "logs/2026-1", not 1,536
    months = sorted([m async for m in fm.glob(u("logs/*/"))])
    assert months == [u(f"logs/2026-{m:02d}/") for m in range(1, 13)]


async def test_writes_are_read_back_at_once(fm: FileManager, bucket: str, s3: EmbeddedS3) -> None:
    await put_all(fm, {"ryw/a/old.txt": b"old"})
    assert await names(fm, u("")) == ["ryw/"]
    assert await names(fm, u("ryw/")) == ["a/"]
    assert not await fm.exists(u("ryw/b/c/new.txt"))  # "absent" is cached now

    await fm.write_bytes(u("ryw/b/c/new.txt"), b"new")
    assert await fm.read_bytes(u("ryw/b/c/new.txt")) == b"new"
    assert await fm.exists(u("ryw/b/c/new.txt"))
    assert await names(fm, u("ryw/")) == ["a/", "b/"]  # the ancestor gained a prefix
    assert await names(fm, u("ryw/b/c/")) == ["new.txt"]

    await fm.remove(u("ryw/a/old.txt"))
    assert await names(fm, u("ryw/")) == ["b/"]  # and lost one
    await fm.create_file(u("ryw/b/empty"))
    assert (await fm.stat(u("ryw/b/empty"))).size == 0
    assert await names(fm, u("ryw/b/")) == ["c/", "empty"]


async def test_large_write_goes_multipart_and_streams_back(s3: EmbeddedS3) -> None:
    from aios3fm import MiB

    settings = make_settings(s3, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    data = bytes(range(256)) * (45 * 1024)  # 11.25 MiB
    async with FileManager(settings=settings) as fm:
        await fm.make_bucket(BUCKET)
        await fm.write_bytes(u("big.bin"), data)
        assert fm.statistics().api_calls["UploadPart"] == 3
        async with fm.open(u("big.bin")) as f:
            chunks = [chunk async for chunk in f]
    assert b"".join(chunks) == data
    assert len(chunks) > 1


async def test_clear_errors(fm: FileManager, bucket: str) -> None:
    await put_all(fm, {"e/file.txt": b"x", "e/dir/inner": b"y"})
    with pytest.raises(BucketNotFoundError):
        await fm.write_bytes("s3://no-such-bucket/k", b"x")
    with pytest.raises(BucketNotFoundError):
        await fm.create_directory("s3://no-such-bucket/d")
    with pytest.raises(BucketNotFoundError):
        await fm.listdir("s3://no-such-bucket/")
    with pytest.raises(NotADirectoryError):
        await fm.listdir(u("e/file.txt"))
    with pytest.raises(IsADirectoryError):
        await fm.read_bytes(u("e/dir"))
    with pytest.raises(IsADirectoryError):
        await fm.write_bytes(u("e/dir"), b"x")
    with pytest.raises(OSError, match="not empty"):
        await fm.rmdir(u("e"))
    with pytest.raises(IsADirectoryError):
        await fm.rename(u("e/file.txt"), u("e/dir"))
    with pytest.raises(FileExistsError):
        await fm.rename(u("e/dir"), u("e"))
    with pytest.raises(InvalidLocationError):
        await fm.rename(u("e/dir"), u("e/dir/inside"))
    with pytest.raises(InvalidLocationError):
        await fm.rename(u("e/file.txt"), "/tmp/elsewhere")
    with pytest.raises(InvalidLocationError):
        await fm.rmdir(f"s3://{BUCKET}/")
    with pytest.raises(InvalidLocationError, match="not a valid S3 location"):
        await fm.stat("s3:/x")
    with pytest.raises(InvalidLocationError, match="bucket name"):
        await fm.stat("s3://Bad_Bucket/k")
