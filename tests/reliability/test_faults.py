"""The fault matrix: six operations on 500 objects while the server answers 10 % or 30 %
of requests with a 500, a 503 SlowDown, a dropped connection or a latency spike.

Each operation must complete, or report exactly the items that failed; afterwards every
object is read back from the server and compared byte for byte, and no source of a move
may be lost. Three attempts per request (short backoff) leave a few items failing at
30 %, so the reporting of failures is exercised, not only the retries.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from aios3fm import EmbeddedS3, FileManager, OperationResult, TransientError

from ..conftest import put_all, u
from .conftest import LEDGER, body, stored

N = 500
RATES = [pytest.param(0.1, id="10pct"), pytest.param(0.3, id="30pct")]


@contextlib.contextmanager
def faults(s3: EmbeddedS3, rate: float) -> Iterator[None]:
    s3.seed_faults(9)
    s3.faults = ("500", "503", "drop", "spike")
    s3.spike_seconds = 0.1
    before = sum(s3.faults_injected.values())
    requests_before = s3.total_requests
    s3.fail_rate = rate
    try:
        yield
    finally:
        s3.fail_rate = 0.0
        injected = sum(s3.faults_injected.values()) - before
        requests = s3.total_requests - requests_before
        LEDGER.faults_injected += injected
        LEDGER.operations_run += 1
    if requests >= 100:  # the share injected is the share asked for (with a wide margin)
        assert injected >= rate * requests * 0.6, (injected, requests)


def objects(prefix: str) -> dict[str, bytes]:
    return {f"{prefix}d{i % 10}/f{i:04d}": body(i) for i in range(N)}


def failed_sources(result: OperationResult, prefix: str) -> set[str]:
    LEDGER.items_reported_failed += len(result.failed)
    return {r.source.removeprefix(prefix) for r in result.failed}


def verified(count: int) -> None:
    LEDGER.objects_verified += count


def assert_accounted(failed: set[str], there: dict[str, bytes], wanted: dict[str, bytes]) -> None:
    """Each wanted object arrived byte-exact, or was reported failed: never both, never
    neither."""
    assert failed.isdisjoint(there)
    assert failed | set(there) == set(wanted)
    assert all(there[name] == wanted[name] for name in there)
    verified(len(there))


@pytest.mark.parametrize("rate", RATES)
async def test_upload(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path, rate: float
) -> None:
    local = tmp_path / "src"
    wanted = {}
    for i in range(N):
        path = local / f"d{i % 10}" / f"f{i:04d}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body(i))
        wanted[path.relative_to(local).as_posix()] = body(i)
    with faults(s3, rate):
        result = await fm.copy(str(local), u("up/"))
    there = {k.removeprefix("up/src/"): v for k, v in (await stored(fm, "up/")).items()}
    assert_accounted(failed_sources(result, str(local) + "/"), there, wanted)
    assert len(result.succeeded) == len(there)


@pytest.mark.parametrize("rate", RATES)
async def test_copy(s3: EmbeddedS3, fm: FileManager, bucket: str, rate: float) -> None:
    wanted = objects("src/")
    await put_all(fm, wanted)
    with faults(s3, rate):
        result = await fm.copy(u("src/"), u("dst/"))
    there = {"src/" + k.removeprefix("dst/src/"): v for k, v in (await stored(fm, "dst/")).items()}
    assert_accounted(failed_sources(result, u()), there, wanted)
    assert await stored(fm, "src/") == wanted  # the sources are untouched
    verified(N)


@pytest.mark.parametrize("rate", RATES)
async def test_move(s3: EmbeddedS3, fm: FileManager, bucket: str, rate: float) -> None:
    wanted = objects("src/")
    await put_all(fm, wanted)
    with faults(s3, rate):
        result = await fm.move(u("src/"), u("dst/"))
    left = await stored(fm, "src/")
    there = {"src/" + k.removeprefix("dst/src/"): v for k, v in (await stored(fm, "dst/")).items()}
    failed = failed_sources(result, u())
    assert set(left) == failed  # a source is still there exactly when its item failed
    assert {r.source.removeprefix(u()) for r in result.succeeded} == set(wanted) - failed
    for key, data in wanted.items():  # nothing lost: each object is byte-exact somewhere
        assert left.get(key, there.get(key)) == data
        if key not in failed:
            assert there[key] == data
    verified(N)


@pytest.mark.parametrize("rate", RATES)
async def test_delete(s3: EmbeddedS3, fm: FileManager, bucket: str, rate: float) -> None:
    wanted = objects("src/")
    await put_all(fm, wanted)
    with faults(s3, rate):
        # a delete of 500 is two requests: make sure both meet a fault
        s3.inject("drop", operation="ListObjectsV2")
        s3.inject("503", operation="DeleteObjects")
        result = await fm.delete(u("src/"))
    left = await stored(fm, "src/")
    assert set(left) == failed_sources(result, u())
    assert all(left[key] == wanted[key] for key in left)
    assert len(result.succeeded) + len(left) == N
    assert s3.requests["DeleteObjects"] >= 2
    verified(len(left))


async def archive_members(fm: FileManager, archive: str, tmp_path: Path) -> dict[str, bytes]:
    out = tmp_path / "check"
    result = await fm.extract_archive(archive, str(out))
    assert not result.failed
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


@pytest.mark.parametrize("rate", RATES)
async def test_archive_create(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path, rate: float
) -> None:
    wanted = objects("src/")
    await put_all(fm, wanted)
    archive = u("arch/all.tar.gz")
    with faults(s3, rate):
        try:
            result = await fm.create_archive(u("src/"), archive)
        except TransientError:  # the archive's own upload failed: nothing is there
            assert await stored(fm, "arch/") == {}
            return
    members = await archive_members(fm, archive, tmp_path)
    assert_accounted(failed_sources(result, u()), members, wanted)  # left out when reported


@pytest.mark.parametrize("rate", RATES)
async def test_archive_extract(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path, rate: float
) -> None:
    wanted = objects("src/")
    await put_all(fm, wanted)
    archive = u("arch/all.tar.gz")
    assert not (await fm.create_archive(u("src/"), archive)).failed
    with faults(s3, rate):
        try:
            result = await fm.extract_archive(archive, u("out/"))
        except TransientError:  # the archive could not be downloaded: nothing written
            assert await stored(fm, "out/") == {}
            return
    there = {k.removeprefix("out/"): v for k, v in (await stored(fm, "out/")).items()}
    assert_accounted(failed_sources(result, f"{archive}:"), there, wanted)
