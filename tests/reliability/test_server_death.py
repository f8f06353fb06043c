"""The server dies in the middle of a move and of an upload.

Expected: a clear error on each item that did not finish, a result listing what did, no
source deleted without a verified copy, no temporary file left; after the server comes
back (on the same port, with the same data), re-running with ``conflict="skip"``
completes the job. The server here is its own EmbeddedS3, so stopping it leaves the
session's server alone (moto's data is process-wide and survives the restart).

Where it dies does not depend on the machine's speed: the server answers exactly
``after`` requests of the operation, then holds every request unanswered (``freeze``),
and is stopped once nothing else is inside it, so the held requests die unanswered.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from aios3fm import EmbeddedS3, FileManager, OperationResult, S3Error, TransientError

from ..conftest import BUCKET, make_settings, put_all, u, wait_until
from .conftest import LEDGER, body, stored

N = 300


@pytest.fixture
def dying(isolate_aws_environment: None) -> Iterator[EmbeddedS3]:
    server = EmbeddedS3().start()
    try:
        server.reset()
        yield server
    finally:
        if not server.running:
            server.start()
        server.reset()
        server.stop()


async def run_until_killed(
    server: EmbeddedS3, operation: str, after: int, job: object
) -> OperationResult:
    """Run ``job`` on a server that dies after answering ``after`` requests of
    ``operation``: it holds every later request, and is stopped once every request still
    inside it is a held one."""
    outcome: list[OperationResult] = []

    async def work() -> None:
        outcome.append(await job)  # type: ignore[misc]

    server.freeze(after=after, operation=operation)
    async with anyio.create_task_group() as tg:
        tg.start_soon(work)
        await wait_until(lambda: 0 < server.frozen_requests == server.in_flight)
        await anyio.to_thread.run_sync(server.stop)
    return outcome[0]


def assert_clear(result: OperationResult) -> None:
    """Every failure names its item and says the endpoint could not be reached."""
    assert result.failed
    for item in result.failed:
        assert isinstance(item.error, S3Error)
        assert item.error.location is not None
        text = str(item.error)
        assert "Could not connect" in text or "Connection" in text, text
        if not isinstance(item.error, TransientError):  # a move's copy done, delete not
            assert "copied and verified" in text


async def test_move_to_local_survives_the_server_dying(dying: EmbeddedS3, tmp_path: Path) -> None:
    wanted = {f"src/d{i % 5}/f{i:04d}": body(i) for i in range(N)}
    destination = tmp_path / "dest"
    settings = make_settings(dying, max_attempts=2, retry_base_delay=0.01, concurrency=16)
    async with FileManager(settings=settings) as fm:
        await fm.make_bucket(BUCKET)
        await put_all(fm, wanted)
        dying.reset_requests()
        result = await run_until_killed(
            dying, "GetObject", 120, fm.move(u("src/"), str(destination))
        )
        assert_clear(result)
        assert len(result.succeeded) + len(result.failed) == N  # every item accounted for
        copied = [i for i in result.failed if "copied and verified" in str(i.error)]
        assert len(copied) == 120  # exactly the downloads the server answered
        assert list(destination.rglob("*.aios3fm")) == []  # no temporary download left

        dying.start()  # same port, same data
        left = await stored(fm, "src/")
        for key, data in wanted.items():
            local = destination / key  # src/d0/f0000 lands in dest/src/d0/f0000
            if key not in left:  # a source is gone only with its verified copy in place
                assert local.read_bytes() == data
        for item in result.succeeded:
            assert item.source.removeprefix(u()) not in left

        again = await fm.move(u("src/"), str(destination), conflict="skip")
        assert not again.failed
        assert await stored(fm, "src/") == {}
        for key, data in wanted.items():
            assert (destination / key).read_bytes() == data
        assert list(destination.rglob("*.aios3fm")) == []
    LEDGER.operations_run += 2
    LEDGER.objects_verified += 2 * N


async def test_upload_survives_the_server_dying(dying: EmbeddedS3, tmp_path: Path) -> None:
    local = tmp_path / "up"
    for i in range(N):
        path = local / f"d{i % 5}" / f"f{i:04d}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body(i))
    settings = make_settings(dying, max_attempts=2, retry_base_delay=0.01, concurrency=16)
    async with FileManager(settings=settings) as fm:
        await fm.make_bucket(BUCKET)
        result = await run_until_killed(dying, "PutObject", 120, fm.copy(str(local), u("in/")))
        assert_clear(result)
        assert len(result.succeeded) + len(result.failed) == N
        assert len(result.succeeded) == 120  # exactly what the server answered

        dying.start()
        there = await stored(fm, "in/")
        assert {u(k) for k in there} >= {r.destination for r in result.succeeded}
        for key, data in there.items():  # whatever arrived arrived whole
            assert data == (local / key.removeprefix("in/up/")).read_bytes()
        assert await fm.client.list_multipart_uploads(BUCKET) == []

        again = await fm.copy(str(local), u("in/"), conflict="skip")
        assert not again.failed
        assert len(again.skipped) == len(there)
        assert len(again.succeeded) == N - len(there)
        done = await stored(fm, "in/")
        assert len(done) == N
        for key, data in done.items():
            assert data == (local / key.removeprefix("in/up/")).read_bytes()
    LEDGER.operations_run += 2
    LEDGER.objects_verified += N + len(there)


def test_cli_against_a_dead_server_says_so_in_one_line(dying: EmbeddedS3) -> None:
    endpoint = dying.endpoint_url
    dying.stop()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y",
           "AIOS3FM_MAX_ATTEMPTS": "2"}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "aios3fm", "--endpoint-url", endpoint, "ls", u()],
        capture_output=True, text=True, timeout=60, check=False, env=env,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert "Could not connect to the endpoint URL" in done.stderr
    assert "Traceback" not in done.stderr
