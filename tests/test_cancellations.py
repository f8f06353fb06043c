"""Cancellation and failure in single-flight: a waiter or the leader going away never
cancels the call for the others, nobody hangs, and a failure reaches every waiter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import pytest

from aios3fm import EmbeddedS3, FileManager, ObjectInfo, TransientError

from .conftest import make_settings, reset_counts, wait_until

BKT = "cancel-bucket"
KEY = f"s3://{BKT}/k"


@pytest.fixture
async def cfm(s3: EmbeddedS3) -> AsyncIterator[FileManager]:
    async with FileManager(settings=make_settings(s3)) as fm:
        await fm.make_bucket(BKT)
        await fm.client.put(BKT, "k", b"value")
        reset_counts(fm.client, s3)
        yield fm


async def test_cancelled_waiter_leaves_the_call_to_the_others(
    cfm: FileManager, s3: EmbeddedS3
) -> None:
    held = s3.hold("HeadObject")
    results: dict[int, ObjectInfo] = {}
    scopes = [anyio.CancelScope() for _ in range(3)]

    async def stat(n: int) -> None:
        with scopes[n]:
            results[n] = await cfm.stat(KEY)

    async with anyio.create_task_group() as tg:
        for n in range(3):
            tg.start_soon(stat, n)
        await wait_until(lambda: held.arrived == 1 and cfm.statistics().cache.coalesced == 2)
        scopes[1].cancel()  # a waiter that is not the leader
        await anyio.lowlevel.checkpoint()
        held.release()
    assert sorted(results) == [0, 2]
    assert s3.requests == {"HeadObject": 1}
    assert cfm.statistics().cache.coalesced == 2


async def test_cancelled_leader_hands_the_call_on(cfm: FileManager, s3: EmbeddedS3) -> None:
    held = s3.hold("HeadObject")
    results: dict[int, ObjectInfo] = {}
    leader = anyio.CancelScope()

    async def stat(n: int, scope: anyio.CancelScope | None) -> None:
        if scope is None:
            results[n] = await cfm.stat(KEY)
            return
        with scope:
            results[n] = await cfm.stat(KEY)

    async with anyio.create_task_group() as tg:
        tg.start_soon(stat, 0, leader)  # starts the call
        await wait_until(lambda: held.arrived == 1)
        for n in range(1, 4):
            tg.start_soon(stat, n, None)
        await wait_until(lambda: cfm.statistics().cache.coalesced == 3)
        leader.cancel()
        await anyio.lowlevel.checkpoint()
        held.release()
    assert sorted(results) == [1, 2, 3]
    assert s3.requests == {"HeadObject": 1}
    await cfm.stat(KEY)  # and the answer was cached for later callers
    assert s3.requests == {"HeadObject": 1}


async def test_when_every_caller_leaves_the_call_is_dropped(
    cfm: FileManager, s3: EmbeddedS3
) -> None:
    held = s3.hold("HeadObject")
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(cfm.stat, KEY)
            await wait_until(lambda: held.arrived == 1 and cfm.statistics().cache.coalesced == 2)
            scope.cancel()
    assert scope.cancelled_caught
    held.release()  # the held answer is sent; nobody stores it
    await wait_until(lambda: s3.in_flight == 0)
    assert cfm.statistics().cache.entries == 0
    info = await cfm.stat(KEY)  # a fresh call, which does not hang
    assert info.size == 5
    assert s3.requests == {"HeadObject": 2}


async def test_a_failure_reaches_every_waiter_and_caches_nothing(
    cfm: FileManager, s3: EmbeddedS3
) -> None:
    attempts = cfm.settings.max_attempts
    s3.inject("500", count=attempts, operation="HeadObject")
    errors: list[BaseException] = []

    async def stat() -> None:
        try:
            await cfm.stat(KEY)
        except TransientError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            tg.start_soon(stat)
    assert len(errors) == 5
    assert len({id(e) for e in errors}) == 1  # the very same error, from the one call
    assert s3.requests == {"HeadObject": attempts}
    assert cfm.statistics().cache.entries == 0
    assert (await cfm.stat(KEY)).size == 5  # nothing cached: the next call goes out
    assert s3.requests == {"HeadObject": attempts + 1}


async def test_closing_the_manager_fails_waiters_cleanly(s3: EmbeddedS3) -> None:
    errors: list[BaseException] = []
    async with FileManager(settings=make_settings(s3)) as fm:
        await fm.make_bucket(BKT)
        held = s3.hold("HeadObject")

        async def stat() -> None:
            try:
                await fm.stat(KEY)
            except RuntimeError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(stat)
            await wait_until(lambda: held.arrived == 1)
            await fm.cache.aclose()
        held.release()
    assert [str(e) for e in errors] == ["the cache was closed during the call"]
