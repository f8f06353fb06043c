"""Cancellation and failure in single-flight: a waiter or the leader going away never
cancels the call for the others, nobody hangs, and a failure reaches every waiter."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from aios3fm import EmbeddedS3, FileManager, ObjectInfo, TransientError

from ..conftest import BUCKET, make_settings, reset_counts, u, wait_until


@pytest.fixture
async def key(fm: FileManager, bucket: str, s3: EmbeddedS3) -> str:
    """``s3://test-bucket/k`` holding ``b"value"``; the counters start after it."""
    await fm.client.put(bucket, "k", b"value")
    reset_counts(fm.client, s3)
    return u("k")


async def test_cancelled_waiter_leaves_the_call_to_the_others(
    fm: FileManager, key: str, s3: EmbeddedS3
) -> None:
    held = s3.hold("HeadObject")
    results: dict[int, ObjectInfo] = {}
    scopes = [anyio.CancelScope() for _ in range(3)]

    async def stat(n: int) -> None:
        with scopes[n]:
            results[n] = await fm.stat(key)

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(stat, n)
        await wait_until(lambda: held.arrived == 1 and fm.statistics().cache.coalesced == 2)
        scopes[1].cancel()  # a waiter that is not the leader
        await anyio.lowlevel.checkpoint()
        held.release()
    assert sorted(results) == [0, 2]
    assert s3.requests == {"HeadObject": 1}
    assert fm.statistics().cache.coalesced == 2


async def test_cancelled_leader_hands_the_call_on(
    fm: FileManager, key: str, s3: EmbeddedS3
) -> None:
    held = s3.hold("HeadObject")
    results: dict[int, ObjectInfo] = {}
    leader = anyio.CancelScope()

    async def stat(n: int, scope: anyio.CancelScope | None) -> None:
        if scope is None:
            results[n] = await fm.stat(key)
            return
        with scope:
            results[n] = await fm.stat(key)

    async with anyio.create_task_group() as tg:
        tg.start_soon(stat, 0, leader)  # starts the call
        await wait_until(lambda: held.arrived == 1)
        for n in range(1, 4):
            tg.start_soon(stat, n, None)
        await wait_until(lambda: fm.statistics().cache.coalesced == 3)
        leader.cancel()
        await anyio.lowlevel.checkpoint()
        held.release()
    assert sorted(results) == [1, 2, 3]
    assert s3.requests == {"HeadObject": 1}
    await fm.stat(key)  # and the answer was cached for later callers
    assert s3.requests == {"HeadObject": 1}


async def test_when_every_caller_leaves_the_call_is_dropped(
    fm: FileManager, key: str, s3: EmbeddedS3
) -> None:
    held = s3.hold("HeadObject")
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(fm.stat, key)
            await wait_until(lambda: held.arrived == 1 and fm.statistics().cache.coalesced == 2)
            scope.cancel()
    assert scope.cancelled_caught
    held.release()  # the held answer is sent; nobody stores it
    await wait_until(lambda: s3.in_flight == 0)
    assert fm.statistics().cache.entries == 0
    info = await fm.stat(key)  # a fresh call, which does not hang
    assert info.size == 5
    assert s3.requests == {"HeadObject": 2}


async def test_a_failure_reaches_every_waiter_and_caches_nothing(
    fm: FileManager, key: str, s3: EmbeddedS3
) -> None:
    attempts = fm.settings.max_attempts
    s3.inject("500", count=attempts, operation="HeadObject")
    errors: list[BaseException] = []

    async def stat() -> None:
        try:
            await fm.stat(key)
        except TransientError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(stat)
    assert len(errors) == 5
    assert len({id(e) for e in errors}) == 1  # the very same error, from the one call
    assert s3.requests == {"HeadObject": attempts}
    assert fm.statistics().cache.entries == 0
    assert (await fm.stat(key)).size == 5  # nothing cached: the next call goes out
    assert s3.requests == {"HeadObject": attempts + 1}


async def test_closing_the_manager_fails_waiters_cleanly(s3: EmbeddedS3) -> None:
    errors: list[BaseException] = []
    async with FileManager(settings=make_settings(s3)) as fm:
        await fm.make_bucket(BUCKET)
        held = s3.hold("HeadObject")

        async def stat() -> None:
            try:
                await fm.stat(u("k"))
            except RuntimeError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(stat)
            await wait_until(lambda: held.arrived == 1)
            await fm.cache.aclose()
        held.release()
    assert [str(e) for e in errors] == ["the cache was closed during the call"]
