"""Cached reads of FileManager over EmbeddedS3: exact API-call counts on both sides."""

from __future__ import annotations

from collections.abc import AsyncIterator

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

from .conftest import make_settings, reset_counts, wait_for_request
from .test_cache_store import Clock

BKT = "cache-bucket"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def cfm(s3: EmbeddedS3, clock: Clock) -> AsyncIterator[FileManager]:
    async with FileManager(settings=make_settings(s3), clock=clock) as fm:
        await fm.make_bucket(BKT)
        yield fm


def assert_calls(fm: FileManager, s3: EmbeddedS3, expected: dict[str, int]) -> None:
    assert dict(fm.statistics().api_calls) == expected
    assert s3.requests == expected


async def put_all(fm: FileManager, keys: list[str]) -> None:
    async with anyio.create_task_group() as tg:
        for key in keys:
            tg.start_soon(fm.client.put, BKT, key, key.encode())


async def test_listing_of_2500_files_and_30_dirs_answers_everything_below_it(
    cfm: FileManager, s3: EmbeddedS3
) -> None:
    files = [f"big/file-{i:04d}.txt" for i in range(2500)]
    subdirs = [f"big/sub-{i:02d}/" for i in range(30)]
    await put_all(cfm, files + [d + "inner.txt" for d in subdirs])
    reset_counts(cfm.client, s3)

    entries = await cfm.listdir(f"s3://{BKT}/big/")
    assert_calls(cfm, s3, {"ListObjectsV2": 3})  # 2,530 children, 1000 a page
    assert [e.name for e in entries if not e.is_dir] == [f.removeprefix("big/") for f in files]
    assert [e.location for e in entries if e.is_dir] == [f"s3://{BKT}/{d}" for d in subdirs]

    for key in files:
        location = f"s3://{BKT}/{key}"
        info = await cfm.stat(location)
        assert (info.key, info.size, info.is_dir) == (key, len(key), False)
        assert await cfm.exists(location)
        assert await cfm.is_file(location)
        assert not await cfm.is_dir(location)
    for prefix in subdirs:
        assert await cfm.is_dir(f"s3://{BKT}/{prefix}")
        assert await cfm.is_dir(f"s3://{BKT}/{prefix.rstrip('/')}")  # dir and dir/ alike
        assert (await cfm.stat(f"s3://{BKT}/{prefix.rstrip('/')}")).is_dir
        assert not await cfm.is_file(f"s3://{BKT}/{prefix.rstrip('/')}")
    assert not await cfm.exists(f"s3://{BKT}/big/absent.txt")
    assert not await cfm.is_dir(f"s3://{BKT}/big/absent/")
    with pytest.raises(NotFoundError):
        await cfm.stat(f"s3://{BKT}/big/absent.txt")
    assert await cfm.listdir(f"s3://{BKT}/big") == entries

    assert_calls(cfm, s3, {"ListObjectsV2": 3})  # still exactly the first three
    stats = cfm.statistics().cache
    assert stats.entries == 2530
    assert stats.misses == 1


async def test_200_concurrent_stats_of_a_cold_key_make_one_head(
    cfm: FileManager, s3: EmbeddedS3
) -> None:
    await cfm.client.put(BKT, "hot/key", b"x")
    reset_counts(cfm.client, s3)
    results: list[ObjectInfo] = []

    async def stat() -> None:
        results.append(await cfm.stat(f"s3://{BKT}/hot/key"))

    async with anyio.create_task_group() as tg:
        for _ in range(200):
            tg.start_soon(stat)
    assert len(results) == 200
    assert {r.key for r in results} == {"hot/key"}
    assert_calls(cfm, s3, {"HeadObject": 1})
    assert cfm.statistics().cache.coalesced == 199


async def test_50_concurrent_listdirs_of_a_cold_directory_make_one_list(
    cfm: FileManager, s3: EmbeddedS3
) -> None:
    await put_all(cfm, [f"cold/{i}" for i in range(20)])
    reset_counts(cfm.client, s3)
    counts: list[int] = []

    async def listdir() -> None:
        counts.append(len(await cfm.listdir(f"s3://{BKT}/cold/")))

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(listdir)
    assert counts == [20] * 50
    assert_calls(cfm, s3, {"ListObjectsV2": 1})


async def test_uncovered_paths_cost_a_head_then_a_one_key_list(
    cfm: FileManager, s3: EmbeddedS3, clock: Clock
) -> None:
    await put_all(cfm, ["p/file", "p/dir/inner"])
    reset_counts(cfm.client, s3)

    assert (await cfm.stat(f"s3://{BKT}/p/file")).size == len("p/file")
    assert_calls(cfm, s3, {"HeadObject": 1})
    assert (await cfm.stat(f"s3://{BKT}/p/dir")).is_dir  # HEAD 404, then LIST MaxKeys=1
    assert_calls(cfm, s3, {"HeadObject": 2, "ListObjectsV2": 1})
    assert not await cfm.exists(f"s3://{BKT}/p/none")
    assert_calls(cfm, s3, {"HeadObject": 3, "ListObjectsV2": 2})
    # all three answers are cached, the absent one too
    await cfm.stat(f"s3://{BKT}/p/file")
    await cfm.stat(f"s3://{BKT}/p/dir")
    assert not await cfm.exists(f"s3://{BKT}/p/none")
    assert_calls(cfm, s3, {"HeadObject": 3, "ListObjectsV2": 2})
    # "absent" lives 5 s, the rest 60 s
    clock.now += 5
    assert not await cfm.exists(f"s3://{BKT}/p/none")
    await cfm.stat(f"s3://{BKT}/p/file")
    assert_calls(cfm, s3, {"HeadObject": 4, "ListObjectsV2": 3})
    clock.now += 55
    await cfm.stat(f"s3://{BKT}/p/file")
    assert_calls(cfm, s3, {"HeadObject": 5, "ListObjectsV2": 3})


async def test_a_directory_is_never_headed(cfm: FileManager, s3: EmbeddedS3) -> None:
    await put_all(cfm, ["q/sub/x", "q/marker/"])
    reset_counts(cfm.client, s3)
    assert await cfm.is_dir(f"s3://{BKT}/q/sub")
    assert await cfm.is_dir(f"s3://{BKT}/q/marker/")
    assert not await cfm.is_dir(f"s3://{BKT}/q/none/")
    assert_calls(cfm, s3, {"ListObjectsV2": 3})
    await cfm.listdir(f"s3://{BKT}/q/")
    assert (await cfm.stat(f"s3://{BKT}/q/sub")).is_dir  # known from the listing
    assert (await cfm.stat(f"s3://{BKT}/q/marker/")).is_dir
    assert_calls(cfm, s3, {"ListObjectsV2": 4})


async def test_ttl_expiry_through_the_injected_clock(
    cfm: FileManager, s3: EmbeddedS3, clock: Clock
) -> None:
    await put_all(cfm, ["t/a"])
    reset_counts(cfm.client, s3)
    await cfm.listdir(f"s3://{BKT}/t/")
    clock.now += 59.9
    await cfm.listdir(f"s3://{BKT}/t/")
    assert await cfm.exists(f"s3://{BKT}/t/a")
    assert_calls(cfm, s3, {"ListObjectsV2": 1})
    clock.now += 0.1
    assert await cfm.exists(f"s3://{BKT}/t/a")  # the listing expired: a HEAD now
    await cfm.listdir(f"s3://{BKT}/t/")
    assert_calls(cfm, s3, {"ListObjectsV2": 2, "HeadObject": 1})


async def test_buckets_listing_is_cached_and_refreshed_by_make_bucket(
    cfm: FileManager, s3: EmbeddedS3
) -> None:
    reset_counts(cfm.client, s3)
    assert [e.name for e in await cfm.listdir("s3://")] == [BKT]
    assert [e.name for e in await cfm.listdir("s3://")] == [BKT]
    await cfm.make_bucket("second-bucket")
    assert [e.name for e in await cfm.listdir("s3://")] == [BKT, "second-bucket"]
    assert_calls(cfm, s3, {"ListBuckets": 2, "CreateBucket": 1})


async def test_errors(cfm: FileManager, s3: EmbeddedS3) -> None:
    await put_all(cfm, ["e/file"])
    with pytest.raises(NotADirectoryError) as not_dir:
        await cfm.listdir(f"s3://{BKT}/e/file")
    assert type(not_dir.value) is NotADirectoryS3Error
    with pytest.raises(FileNotFoundError):
        await cfm.listdir(f"s3://{BKT}/e/none/")
    with pytest.raises(BucketNotFoundError):
        await cfm.listdir("s3://no-such-bucket/x/")
    with pytest.raises(BucketNotFoundError):
        await cfm.stat("s3://no-such-bucket/")
    assert not await cfm.exists("s3://no-such-bucket/k")
    assert (await cfm.stat(f"s3://{BKT}/")).is_dir


async def test_stale_listing_fill_is_dropped(cfm: FileManager, s3: EmbeddedS3) -> None:
    """The race: a listing computed before a write arrives after the write's invalidation."""
    await put_all(cfm, ["race/old"])
    reset_counts(cfm.client, s3)
    s3.hold("ListObjectsV2", 0.5)  # the server answers with [old], half a second late
    seen: list[list[str]] = []

    async def list_race() -> None:
        seen.append([e.name for e in await cfm.listdir(f"s3://{BKT}/race/")])

    async with anyio.create_task_group() as tg:
        tg.start_soon(list_race)
        await wait_for_request(s3, "ListObjectsV2")  # the listing has reached the server
        await cfm.client.put(BKT, "race/new", b"n")
        cfm.cache.invalidate_key(BKT, "race/new")  # what every write path does
    assert seen == [["old"]]  # what S3 said at the time
    assert cfm.statistics().cache.stale_fills_dropped == 1
    assert [e.name for e in await cfm.listdir(f"s3://{BKT}/race/")] == ["new", "old"]
    assert await cfm.exists(f"s3://{BKT}/race/new")
    assert_calls(cfm, s3, {"ListObjectsV2": 2, "PutObject": 1})


async def test_stale_not_found_fill_is_dropped(cfm: FileManager, s3: EmbeddedS3) -> None:
    s3.hold("HeadObject", 0.5)  # the 404 for "late" is held back

    async def stat_race() -> None:
        assert not await cfm.is_file(f"s3://{BKT}/late")

    async with anyio.create_task_group() as tg:
        tg.start_soon(stat_race)
        await wait_for_request(s3, "HeadObject")
        await cfm.client.put(BKT, "late", b"here now")
        cfm.cache.invalidate_key(BKT, "late")
    assert await cfm.is_file(f"s3://{BKT}/late")
    assert cfm.statistics().cache.stale_fills_dropped == 1
