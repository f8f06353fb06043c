"""Cache truth under concurrency: a read that starts after an operation returned never
sees the state before it, whatever calls were in flight when it started.

The table: for every read (stat, exists, is_file, is_dir, listdir, walk, du, glob, the
bucket list) and every operation (write, create, mkdir, rmdir, remove, copy, move,
delete, rename, archive extract, make and remove bucket), a read R0 is started and its
answer held at the server (moto computes it on arrival: the state before the operation);
the operation runs and returns; a read R1 started then must equal what a plain boto3
client sees, while R0 is still held; then R0 is released, and a read R2 (which may come
from the cache R0 filled, if it was wrongly stored) must equal it too. When the
operation itself joins R0's call (it reads that entry before writing, legitimately), R0 is
released for it and only R2 is checked: the test waits for states, never for time.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from aios3fm import EmbeddedS3, FileManager, NotFoundError, ObjectInfo, OperationResult

from ..conftest import BUCKET, Clock, put_all, reset_counts, u, wait_until
from .conftest import LEDGER
from .truth import (
    Answer,
    Truth,
    fm_du,
    fm_glob,
    fm_listdir,
    fm_stat,
    fm_walk,
    truth_du,
    truth_glob,
    truth_listdir,
    truth_stat,
    truth_walk,
)


@dataclass(frozen=True)
class Scenario:
    objects: dict[str, bytes]
    operation: Callable[[FileManager, Path], Awaitable[object]]
    file: str
    """A key whose existence or size the operation changes."""
    directory: str
    """A directory (ending in /) that the operation makes appear or vanish."""
    parent: str
    """A directory whose listing the operation changes."""


def _tar(tmp_path: Path) -> Path:
    path = tmp_path / "in.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("d/f")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"tar"))
    return path


SRC = {"s/d/f": b"x", "s/keep": b"k", "p/keep": b"k"}
SCENARIOS: dict[str, Scenario] = {
    "write": Scenario(
        {"p/old": b"o"}, lambda fm, _: fm.write_bytes(u("p/d/new"), b"data"),
        "p/d/new", "p/d/", "p/"),
    "overwrite": Scenario(
        {"p/f": b"1"}, lambda fm, _: fm.write_bytes(u("p/f"), b"22"), "p/f", "p/", "p/"),
    "create": Scenario(
        {"p/old": b""}, lambda fm, _: fm.create_file(u("p/d/new")), "p/d/new", "p/d/", "p/"),
    "mkdir": Scenario(
        {"p/old": b""}, lambda fm, _: fm.create_directory(u("p/d/")), "p/d", "p/d/", "p/"),
    "rmdir": Scenario(
        {"p/d/": b"", "p/keep": b""}, lambda fm, _: fm.rmdir(u("p/d/")), "p/d", "p/d/", "p/"),
    "remove": Scenario(
        {"p/d/f": b"x", "p/keep": b""}, lambda fm, _: fm.remove(u("p/d/f")),
        "p/d/f", "p/d/", "p/"),
    "copy": Scenario(
        {"s/f": b"x", "p/keep": b""}, lambda fm, _: fm.copy([u("s/f")], u("p/d/")),
        "p/d/f", "p/d/", "p/"),
    "move (source)": Scenario(
        SRC, lambda fm, _: fm.move([u("s/d/")], u("p/")), "s/d/f", "s/d/", "s/"),
    "move (destination)": Scenario(
        SRC, lambda fm, _: fm.move([u("s/d/")], u("p/")), "p/d/f", "p/d/", "p/"),
    "delete": Scenario(SRC, lambda fm, _: fm.delete([u("s/d/")]), "s/d/f", "s/d/", "s/"),
    "rename (source)": Scenario(
        SRC, lambda fm, _: fm.rename(u("s/d"), u("s/e")), "s/d/f", "s/d/", "s/"),
    "rename (destination)": Scenario(
        SRC, lambda fm, _: fm.rename(u("s/d"), u("s/e")), "s/e/f", "s/e/", "s/"),
    "archive extract": Scenario(
        {"p/keep": b""}, lambda fm, tmp: fm.extract_archive(_tar(tmp), u("p/")),
        "p/d/f", "p/d/", "p/"),
}  # fmt: skip


@dataclass(frozen=True)
class Read:
    held: str
    """The S3 operation R0 sends first, whose answer is held."""
    ours: Callable[[FileManager, Scenario], Awaitable[Answer]]
    truth: Callable[[dict[str, int], Scenario], Answer]


def _exists(answer: Answer) -> bool:
    return bool(answer != ("missing",))


READS: dict[str, Read] = {
    "stat": Read("HeadObject", lambda fm, s: fm_stat(fm, u(s.file)),
                 lambda keys, s: truth_stat(keys, s.file)),
    "exists": Read("HeadObject", lambda fm, s: fm.exists(u(s.file)),
                   lambda keys, s: _exists(truth_stat(keys, s.file))),
    "is_file": Read("HeadObject", lambda fm, s: fm.is_file(u(s.file)),
                    lambda keys, s: truth_stat(keys, s.file)[0] == "file"),
    "is_dir": Read("ListObjectsV2", lambda fm, s: fm.is_dir(u(s.directory)),
                   lambda keys, s: truth_stat(keys, s.directory) == ("dir",)),
    "listdir": Read("ListObjectsV2", lambda fm, s: fm_listdir(fm, u(s.parent)),
                    lambda keys, s: truth_listdir(keys, s.parent)),
    "walk": Read("ListObjectsV2", lambda fm, s: fm_walk(fm, u(s.parent), BUCKET),
                 lambda keys, s: truth_walk(keys, s.parent)),
    "du": Read("ListObjectsV2", lambda fm, s: fm_du(fm, u(s.parent)),
               lambda keys, s: truth_du(keys, s.parent)),
    "glob": Read("ListObjectsV2", lambda fm, s: fm_glob(fm, u(s.parent) + "*"),
                 lambda keys, s: truth_glob(keys, s.parent, BUCKET)),
}  # fmt: skip


async def race(
    s3: EmbeddedS3,
    fm: FileManager,
    held: str,
    read: Callable[[], Awaitable[Answer]],
    operation: Callable[[], Awaitable[object]],
    truth: Callable[[], Awaitable[Answer]],
) -> None:
    """R0 held; the operation; R1 started while R0 is still held; R2 after all of it.

    R1 and the operation may join R0's call where the change does not touch R0's entry
    (an operation reads before it writes; ``exists`` asks for the file before the
    directory): then R0's answer is released to them. Whatever they were given, R1's
    answer must equal the state after the operation."""
    LEDGER["table cases"] += 1
    hold = s3.hold(held)

    async def until_done_or_joined(call: Callable[[], Awaitable[object]]) -> list[object]:
        done: list[object] = []

        async def run() -> None:
            done.append(await call())

        joins = fm.statistics().cache.coalesced
        tg.start_soon(run)
        await wait_until(lambda: bool(done) or fm.statistics().cache.coalesced > joins)
        if not done:  # joined R0's call: that is allowed only if the change left it alone
            hold.release()
            await wait_until(lambda: bool(done))
        return done

    async def first_read() -> None:
        await read()  # R0: its answer reflects the state before the operation

    async with anyio.create_task_group() as tg:
        tg.start_soon(first_read)
        await wait_until(lambda: hold.arrived == 1)
        await until_done_or_joined(operation)
        held_still = not hold.released
        (first,) = await until_done_or_joined(read)
        LEDGER["reads while an older call was held"] += held_still
        expected = await truth()
        LEDGER["contradictions"] += first != expected
        assert first == expected, "a read after the operation saw the state before it"
        hold.release()
    assert await read() == await truth(), "a stale answer was stored"


@pytest.mark.parametrize("read_name", sorted(READS))
@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_a_read_after_an_operation_sees_it(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path, name: str, read_name: str
) -> None:
    scenario, read = SCENARIOS[name], READS[read_name]
    await put_all(fm, scenario.objects)
    oracle = Truth(s3)

    async def truth() -> Answer:
        return read.truth(await oracle.objects(BUCKET), scenario)

    await race(
        s3, fm, read.held, lambda: read.ours(fm, scenario),
        lambda: scenario.operation(fm, tmp_path), truth,
    )  # fmt: skip


BUCKET_READS: dict[str, tuple[str, Callable[[FileManager, str], Awaitable[Answer]]]] = {
    "bucket list": ("ListBuckets", lambda fm, _: _bucket_names(fm)),
    "stat": ("HeadBucket", lambda fm, b: fm_stat(fm, f"s3://{b}/")),
    "exists": ("HeadBucket", lambda fm, b: fm.exists(f"s3://{b}/")),
    "listdir": ("ListObjectsV2", lambda fm, b: fm_listdir(fm, f"s3://{b}/")),
}


async def _bucket_names(fm: FileManager) -> list[str]:
    return sorted(e.name for e in await fm.listdir("s3://"))


@pytest.mark.parametrize("read_name", sorted(BUCKET_READS))
@pytest.mark.parametrize("operation", ["make_bucket", "remove_bucket"])
async def test_a_read_after_a_bucket_is_made_or_removed_sees_it(
    s3: EmbeddedS3, fm: FileManager, bucket: str, operation: str, read_name: str
) -> None:
    target = "other-bucket"
    oracle = Truth(s3)
    if operation == "remove_bucket":
        await fm.client.make_bucket(target)
    held, ours = BUCKET_READS[read_name]

    async def truth() -> Answer:
        names = await oracle.buckets()
        if read_name == "bucket list":
            return names
        if target not in names:
            return ("missing",) if read_name != "exists" else False
        return {"stat": ("dir",), "exists": True, "listdir": []}[read_name]

    run = fm.make_bucket if operation == "make_bucket" else fm.remove_bucket
    await race(s3, fm, held, lambda: ours(fm, target), lambda: run(target), truth)


# -- the classes the issue named, one test each -----------------------------------------------


async def test_create_file_after_a_write_never_replaces_it(
    s3: EmbeddedS3, fm: FileManager, bucket: str
) -> None:
    """The data loss: a HEAD for k is in flight (answering "not found"), write_bytes(k)
    returns, create_file(k, exist_ok=False) must raise and leave the bytes alone."""
    hold = s3.hold("HeadObject")
    async with anyio.create_task_group() as tg:
        tg.start_soon(fm.exists, u("k"))
        await wait_until(lambda: hold.arrived == 1)
        await fm.write_bytes(u("k"), b"important")
        with pytest.raises(FileExistsError):
            await fm.create_file(u("k"), exist_ok=False)
        await fm.create_file(u("k"), exist_ok=True)  # touch leaves it as it is
        hold.release()
    assert await fm.client.get_bytes(BUCKET, "k") == b"important"


async def test_create_file_never_replaces_what_another_writer_made(
    s3: EmbeddedS3, fm: FileManager, bucket: str
) -> None:
    """The same class with a writer aios3fm cannot see: the cache says "absent" (a
    listing of the parent), boto3 writes the key, create_file must not replace it."""
    assert await fm.listdir(u()) == []  # the bucket root is listed: k is known absent
    Truth(s3).put(BUCKET, "k", b"theirs")
    with pytest.raises(FileExistsError):
        await fm.create_file(u("k"))
    await fm.create_file(u("k"), exist_ok=True)
    assert await fm.client.get_bytes(BUCKET, "k") == b"theirs"
    Truth(s3).put(BUCKET, "d/", b"")
    with pytest.raises(FileExistsError):
        await fm.create_directory(u("d/"))  # a marker made meanwhile is not made again
    await fm.create_directory(u("d/"), exist_ok=True)


async def test_200_stats_across_a_write(s3: EmbeddedS3, fm: FileManager, bucket: str) -> None:
    """200 concurrent stats that all started before the write share one HEAD (held,
    answering "not found"); 200 concurrent stats started after it all see the object and
    share one new HEAD: they refuse to join the older call."""
    hold = s3.hold("HeadObject")
    before: list[object] = []
    after: list[ObjectInfo] = []

    async def stat_before() -> None:
        try:
            before.append(await fm.stat(u("hot")))
        except NotFoundError as exc:
            before.append(exc)

    async def stat_after() -> None:
        after.append(await fm.stat(u("hot")))

    async with anyio.create_task_group() as tg:
        for _ in range(200):
            tg.start_soon(stat_before)
        await wait_until(lambda: fm.statistics().cache.coalesced == 199)
        await fm.write_bytes(u("hot"), b"data")
        with anyio.fail_after(60):  # none of them may wait for the held, older answer
            async with anyio.create_task_group() as later:
                for _ in range(200):
                    later.start_soon(stat_after)
        hold.release()
    assert [info.size for info in after] == [4] * 200
    assert len(before) == 200  # these may say either: they began before the write
    assert s3.requests["HeadObject"] == 2
    stats = fm.statistics().cache
    assert (stats.joins_refused, stats.coalesced) == (1, 199 + 199)
    assert (await fm.stat(u("hot"))).size == 4  # the held "not found" was not stored
    assert s3.requests["HeadObject"] == 2


async def test_200_cold_stats_before_any_write_make_one_head(
    s3: EmbeddedS3, fm: FileManager, bucket: str
) -> None:
    await put_all(fm, {"cold": b"x"})
    reset_counts(fm.client, s3)
    hold = s3.hold("HeadObject")
    async with anyio.create_task_group() as tg:
        for _ in range(200):
            tg.start_soon(fm.stat, u("cold"))
        await wait_until(lambda: fm.statistics().cache.coalesced == 199)
        hold.release()
    assert s3.requests == {"HeadObject": 1}
    assert fm.statistics().cache.joins_refused == 0


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"cache_ttl": 0.5, "cache_negative_ttl": 0.5}


async def test_ttl_counts_from_when_the_request_was_sent(
    s3: EmbeddedS3, fm: FileManager, bucket: str, clock: Clock
) -> None:
    await put_all(fm, {"t/a": b"a"})
    hold = s3.hold("ListObjectsV2")
    async with anyio.create_task_group() as tg:
        tg.start_soon(fm.listdir, u("t/"))
        await wait_until(lambda: hold.arrived == 1)
        clock.now += 0.3  # the answer takes 0.3 s to arrive: fresh for 0.2 s more
        hold.release()
    await fm.listdir(u("t/"))
    assert s3.requests["ListObjectsV2"] == 1  # stored, and still fresh
    clock.now += 0.25  # 0.55 s after the request was sent, 0.25 s after it arrived
    await fm.listdir(u("t/"))
    assert s3.requests["ListObjectsV2"] == 2  # expired: the TTL counts from the send

    clock.now += 1.0  # that listing expires too
    hold = s3.hold("ListObjectsV2")
    async with anyio.create_task_group() as tg:
        tg.start_soon(fm.listdir, u("t/"))
        await wait_until(lambda: hold.arrived == 1)
        clock.now += 1.5  # slower than the TTL: returned to its caller, never stored
        hold.release()
    assert fm.statistics().cache.late_fills_dropped == 1
    await fm.listdir(u("t/"))
    assert s3.requests["ListObjectsV2"] == 4


async def test_a_held_bucket_list_is_not_stored_after_make_bucket(
    s3: EmbeddedS3, fm: FileManager, bucket: str
) -> None:
    hold = s3.hold("ListBuckets")
    async with anyio.create_task_group() as tg:
        tg.start_soon(fm.list_buckets)
        await wait_until(lambda: hold.arrived == 1)
        await fm.make_bucket("made-meanwhile")
        hold.release()
    await wait_until(lambda: s3.in_flight == 0)
    assert sorted(b.name for b in await fm.list_buckets()) == sorted([BUCKET, "made-meanwhile"])
    assert fm.statistics().cache.stale_fills_dropped == 1


async def test_a_caller_arriving_as_the_only_waiter_leaves_gets_an_answer(
    s3: EmbeddedS3, fm: FileManager, bucket: str
) -> None:
    """The only waiter of a call is cancelled and, in the same step, asks again: it starts
    a call of its own and gets the answer, never "the cache was closed during the call"."""
    await put_all(fm, {"k": b"value"})
    hold = s3.hold("HeadObject")
    scope = anyio.CancelScope()
    answers: list[ObjectInfo] = []

    async def leave_and_ask_again() -> None:
        with scope:
            await fm.stat(u("k"))
        answers.append(await fm.stat(u("k")))  # before the cancelled call is gone

    async with anyio.create_task_group() as tg:
        tg.start_soon(leave_and_ask_again)
        await wait_until(lambda: hold.arrived == 1)
        scope.cancel()
    hold.release()
    assert [a.size for a in answers] == [5]
    assert s3.requests["HeadObject"] == 2


@pytest.mark.parametrize("how", ["handle", "outer scope"])
@pytest.mark.parametrize("operation", ["copy", "move", "delete"])
async def test_a_cancelled_operation_still_invalidates_what_it_wrote(
    s3: EmbeddedS3, fm: FileManager, bucket: str, operation: str, how: str
) -> None:
    """The request is applied at the server (its answer held) when the operation is
    cancelled: the listings warmed before it must show the change afterwards."""
    await put_all(fm, {"s/f": b"x", "d/keep": b"k"})
    before = {"s": await fm_listdir(fm, u("s/")), "d": await fm_listdir(fm, u("d/"))}
    held = {"copy": "CopyObject", "move": "CopyObject", "delete": "DeleteObjects"}[operation]
    hold = s3.hold(held)
    calls: dict[str, Callable[[], Coroutine[Any, Any, OperationResult]]] = {
        "copy": lambda: fm.copy([u("s/f")], u("d/")),
        "move": lambda: fm.move([u("s/f")], u("d/")),
        "delete": lambda: fm.delete([u("s/f")]),
    }
    call = calls[operation]
    scope = anyio.CancelScope()
    async with anyio.create_task_group() as tg:
        if how == "handle":
            handle = fm.submit(call())
            await wait_until(lambda: hold.arrived == 1)
            handle.cancel()
            assert (await handle).cancelled
        else:

            async def run() -> None:
                with scope:
                    await call()

            tg.start_soon(run)
            await wait_until(lambda: hold.arrived == 1)
            scope.cancel()
    hold.release()
    oracle = Truth(s3)
    keys = await oracle.objects(BUCKET)
    after = {"s": await fm_listdir(fm, u("s/")), "d": await fm_listdir(fm, u("d/"))}
    assert after == {"s": truth_listdir(keys, "s/"), "d": truth_listdir(keys, "d/")}
    assert after != before  # the change did land on the server
