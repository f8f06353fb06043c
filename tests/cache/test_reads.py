"""Cached reads of FileManager over EmbeddedS3: exact API-call counts on both sides."""

from __future__ import annotations

import anyio
import pytest

from aios3fm import (
    BucketNotFoundError,
    EmbeddedS3,
    FileManager,
    NotADirectoryS3Error,
    NotFoundError,
    ObjectInfo,
)

from ..conftest import BUCKET, Clock, assert_calls, put_all, reset_counts, wait_for_request


async def put_keys(fm: FileManager, names: list[str]) -> None:
    """Each key written with its own name as its bytes."""
    await put_all(fm, {name: name.encode() for name in names})


async def test_listing_of_2500_files_and_30_dirs_answers_everything_below_it(
    fm: FileManager, bucket: str, s3: EmbeddedS3
) -> None:
    files = [f"big/file-{i:04d}.txt" for i in range(2500)]
    subdirs = [f"big/sub-{i:02d}/" for i in range(30)]
    await put_keys(fm, files + [d + "inner.txt" for d in subdirs])
    reset_counts(fm.client, s3)

    entries = await fm.listdir(f"s3://{BUCKET}/big/")
    assert_calls(fm, s3, {"ListObjectsV2": 3})  # 2,530 children, 1000 a page
    assert [e.name for e in entries if not e.is_dir] == [f.removeprefix("big/") for f in files]
    assert [e.location for e in entries if e.is_dir] == [f"s3://{BUCKET}/{d}" for d in subdirs]

    for key in files:
        location = f"s3://{BUCKET}/{key}"
        info = await fm.stat(location)
        assert (info.key, info.size, info.is_dir) == (key, len(key), False)
        assert await fm.exists(location)
        assert await fm.is_file(location)
        assert not await fm.is_dir(location)
    for prefix in subdirs:
        assert await fm.is_dir(f"s3://{BUCKET}/{prefix}")
        assert await fm.is_dir(f"s3://{BUCKET}/{prefix.rstrip('/')}")  # dir and dir/ alike
        assert (await fm.stat(f"s3://{BUCKET}/{prefix.rstrip('/')}")).is_dir
        assert not await fm.is_file(f"s3://{BUCKET}/{prefix.rstrip('/')}")
    assert not await fm.exists(f"s3://{BUCKET}/big/absent.txt")
    assert not await fm.is_dir(f"s3://{BUCKET}/big/absent/")
    with pytest.raises(NotFoundError):
        await fm.stat(f"s3://{BUCKET}/big/absent.txt")
    assert await fm.listdir(f"s3://{BUCKET}/big") == entries

    assert_calls(fm, s3, {"ListObjectsV2": 3})  # still exactly the first three
    stats = fm.statistics().cache
    assert stats.entries == 2530
    assert stats.misses == 1


async def test_200_concurrent_stats_of_a_cold_key_make_one_head(
    fm: FileManager, bucket: str, s3: EmbeddedS3
) -> None:
    await fm.client.put(BUCKET, "hot/key", b"x")
    reset_counts(fm.client, s3)
    results: list[ObjectInfo] = []

    async def stat() -> None:
        results.append(await fm.stat(f"s3://{BUCKET}/hot/key"))

    async with anyio.create_task_group() as tg:
        for _ in range(200):
            tg.start_soon(stat)
    assert len(results) == 200
    assert {r.key for r in results} == {"hot/key"}
    assert_calls(fm, s3, {"HeadObject": 1})
    assert fm.statistics().cache.coalesced == 199


async def test_50_concurrent_listdirs_of_a_cold_directory_make_one_list(
    fm: FileManager, bucket: str, s3: EmbeddedS3
) -> None:
    await put_keys(fm, [f"cold/{i}" for i in range(20)])
    reset_counts(fm.client, s3)
    counts: list[int] = []

    async def listdir() -> None:
        counts.append(len(await fm.listdir(f"s3://{BUCKET}/cold/")))

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(listdir)
    assert counts == [20] * 50
    assert_calls(fm, s3, {"ListObjectsV2": 1})


async def test_uncovered_paths_cost_a_head_then_a_one_key_list(
    fm: FileManager, bucket: str, s3: EmbeddedS3, clock: Clock
) -> None:
    await put_keys(fm, ["p/file", "p/dir/inner"])
    reset_counts(fm.client, s3)

    assert (await fm.stat(f"s3://{BUCKET}/p/file")).size == len("p/file")
    assert_calls(fm, s3, {"HeadObject": 1})
    assert (await fm.stat(f"s3://{BUCKET}/p/dir")).is_dir  # HEAD 404, then LIST MaxKeys=1
    assert_calls(fm, s3, {"HeadObject": 2, "ListObjectsV2": 1})
    assert not await fm.exists(f"s3://{BUCKET}/p/none")
    assert_calls(fm, s3, {"HeadObject": 3, "ListObjectsV2": 2})
    # all three answers are cached, the absent one too
    await fm.stat(f"s3://{BUCKET}/p/file")
    await fm.stat(f"s3://{BUCKET}/p/dir")
    assert not await fm.exists(f"s3://{BUCKET}/p/none")
    assert_calls(fm, s3, {"HeadObject": 3, "ListObjectsV2": 2})
    # "absent" lives 5 s, the rest 60 s
    clock.now += 5
    assert not await fm.exists(f"s3://{BUCKET}/p/none")
    await fm.stat(f"s3://{BUCKET}/p/file")
    assert_calls(fm, s3, {"HeadObject": 4, "ListObjectsV2": 3})
    clock.now += 55
    await fm.stat(f"s3://{BUCKET}/p/file")
    assert_calls(fm, s3, {"HeadObject": 5, "ListObjectsV2": 3})


async def test_a_directory_is_never_headed(fm: FileManager, bucket: str, s3: EmbeddedS3) -> None:
    await put_keys(fm, ["q/sub/x", "q/marker/"])
    reset_counts(fm.client, s3)
    assert await fm.is_dir(f"s3://{BUCKET}/q/sub")
    assert await fm.is_dir(f"s3://{BUCKET}/q/marker/")
    assert not await fm.is_dir(f"s3://{BUCKET}/q/none/")
    assert_calls(fm, s3, {"ListObjectsV2": 3})
    await fm.listdir(f"s3://{BUCKET}/q/")
    assert (await fm.stat(f"s3://{BUCKET}/q/sub")).is_dir  # known from the listing
    assert (await fm.stat(f"s3://{BUCKET}/q/marker/")).is_dir
    assert_calls(fm, s3, {"ListObjectsV2": 4})


async def test_ttl_expiry_through_the_injected_clock(
    fm: FileManager, bucket: str, s3: EmbeddedS3, clock: Clock
) -> None:
    await put_keys(fm, ["t/a"])
    reset_counts(fm.client, s3)
    await fm.listdir(f"s3://{BUCKET}/t/")
    clock.now += 59.9
    await fm.listdir(f"s3://{BUCKET}/t/")
    assert await fm.exists(f"s3://{BUCKET}/t/a")
    assert_calls(fm, s3, {"ListObjectsV2": 1})
    clock.now += 0.1
    assert await fm.exists(f"s3://{BUCKET}/t/a")  # the listing expired: a HEAD now
    await fm.listdir(f"s3://{BUCKET}/t/")
    assert_calls(fm, s3, {"ListObjectsV2": 2, "HeadObject": 1})


async def test_buckets_listing_is_cached_and_refreshed_by_make_bucket(
    fm: FileManager, bucket: str, s3: EmbeddedS3
) -> None:
    reset_counts(fm.client, s3)
    assert [e.name for e in await fm.listdir("s3://")] == [BUCKET]
    assert [e.name for e in await fm.listdir("s3://")] == [BUCKET]
    await fm.make_bucket("second-bucket")
    assert [e.name for e in await fm.listdir("s3://")] == [BUCKET, "second-bucket"]
    assert_calls(fm, s3, {"ListBuckets": 2, "CreateBucket": 1})


async def test_errors(fm: FileManager, bucket: str, s3: EmbeddedS3) -> None:
    await put_keys(fm, ["e/file"])
    with pytest.raises(NotADirectoryError) as not_dir:
        await fm.listdir(f"s3://{BUCKET}/e/file")
    assert type(not_dir.value) is NotADirectoryS3Error
    with pytest.raises(FileNotFoundError):
        await fm.listdir(f"s3://{BUCKET}/e/none/")
    with pytest.raises(BucketNotFoundError):
        await fm.listdir("s3://no-such-bucket/x/")
    with pytest.raises(BucketNotFoundError):
        await fm.stat("s3://no-such-bucket/")
    assert not await fm.exists("s3://no-such-bucket/k")
    assert (await fm.stat(f"s3://{BUCKET}/")).is_dir


async def test_stale_listing_fill_is_dropped(fm: FileManager, bucket: str, s3: EmbeddedS3) -> None:
    """The race: a listing computed before a write arrives after the write's invalidation."""
    await put_keys(fm, ["race/old"])
    reset_counts(fm.client, s3)
    s3.hold("ListObjectsV2", 0.5)  # the server answers with [old], half a second late
    seen: list[list[str]] = []

    async def list_race() -> None:
        seen.append([e.name for e in await fm.listdir(f"s3://{BUCKET}/race/")])

    async with anyio.create_task_group() as tg:
        tg.start_soon(list_race)
        await wait_for_request(s3, "ListObjectsV2")  # the listing has reached the server
        await fm.client.put(BUCKET, "race/new", b"n")
        fm.cache.invalidate_key(BUCKET, "race/new")  # what every write path does
    assert seen == [["old"]]  # what S3 said at the time
    assert fm.statistics().cache.stale_fills_dropped == 1
    assert [e.name for e in await fm.listdir(f"s3://{BUCKET}/race/")] == ["new", "old"]
    assert await fm.exists(f"s3://{BUCKET}/race/new")
    assert_calls(fm, s3, {"ListObjectsV2": 2, "PutObject": 1})


async def test_stale_not_found_fill_is_dropped(
    fm: FileManager, bucket: str, s3: EmbeddedS3
) -> None:
    s3.hold("HeadObject", 0.5)  # the 404 for "late" is held back

    async def stat_race() -> None:
        assert not await fm.is_file(f"s3://{BUCKET}/late")

    async with anyio.create_task_group() as tg:
        tg.start_soon(stat_race)
        await wait_for_request(s3, "HeadObject")
        await fm.client.put(BUCKET, "late", b"here now")
        fm.cache.invalidate_key(BUCKET, "late")
    assert await fm.is_file(f"s3://{BUCKET}/late")
    assert fm.statistics().cache.stale_fills_dropped == 1
