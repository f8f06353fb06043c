"""The aioboto3 peer of the benchmarks (aioboto3 + ``asyncio.gather`` under a semaphore of 64),
run from its own virtualenv.

aioboto3 pins aiobotocore exactly, to a release that aios3fm's own aiobotocore range
excludes, so the two cannot share a virtualenv: the peer lives in ``.venv-aioboto3``
(``scripts/install_peer_venv.sh``) and this file is its script there. The peer side imports
only the standard library, aioboto3 and botocore (and uvloop when installed: the benchmarks
run every client on uvloop when it is, this one as well); it imports neither aios3fm nor
``benchmarks``. The parent side (``PeerProcess``, ``available``, ``version``) is standard
library only, for ``benchmarks.client`` and ``benchmarks.peers.tools`` in the main venv.

Invocation: ``.venv-aioboto3/bin/python benchmarks/aioboto3_peer.py`` answers one JSON job
per line of stdin with one JSON line, until stdin closes; with a job as its argument it
answers that one and exits; ``--version`` prints the versions of aioboto3 and aiobotocore.
A job names its ``step``, the server (``endpoint``, ``access_key_id``,
``secret_access_key``), the ``bucket`` and the step's arguments: ``put``/``head``: ``n``,
``prefix`` (and ``size`` for put); ``upload``: ``local``, ``prefix``; ``list``,
``list+stat``, ``delete``: ``prefix``; ``copy``, ``move``: ``source``, ``target``; ``open``
makes the shared client and times nothing. The answer is ``{"wall_s", "cpu_s"}`` or
``{"error"}``.

Fairness. Each job is timed in this process around the step alone, with the same clocks as
the in-process code it replaces (``time.perf_counter``, ``time.process_time``: every thread
of the process), so neither the interpreter's start-up, nor the import of aioboto3, nor the
round trip of the job through the pipe is counted. The process is long-lived, one per
benchmark run, like the in-process peer was: process-wide warm-up (lazy imports, the first
client's set-up) falls on the first step only, as it did. ``client: "fresh"`` (the peers
benchmark) makes a new session and client inside the timed region and closes it there, as
the in-process tool did every step; ``client: "shared"`` (the client benchmark) makes one
client per process on the first job, outside the timed region, as the in-process benchmark
made it before its rounds. The event loop keeps running between jobs (stdin is read on a
thread of its own), as the in-process loop did between the peer's steps. Same API calls,
the same semaphore of 64 and connection pool of 64 as before. Between jobs the process
waits on its pipe and takes no CPU from the tool being measured on the same core.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

PEER_CONCURRENCY = 64
REGION = "us-east-1"
SCRIPT = Path(__file__).resolve()
VENV = SCRIPT.parent.parent / ".venv-aioboto3"
# the venv's own python, not the interpreter its symlink points to
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")

Job = dict[str, Any]
Work = Callable[[Any, Job], Awaitable[None]]


# -- the parent's side (main venv, standard library only) ---------------------------------


def available() -> bool:
    """Whether the peer's virtualenv is there (``scripts/install_peer_venv.sh``)."""
    return PYTHON.is_file() and os.access(PYTHON, os.X_OK)


def version() -> str:
    """The peer's versions, e.g. ``aioboto3 15.5.0, aiobotocore 2.25.1``; ``?`` if it fails."""
    try:
        done = subprocess.run(
            [str(PYTHON), str(SCRIPT), "--version"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return done.stdout.strip() if done.returncode == 0 else "?"


class PeerProcess:
    """One long-lived peer process: ``ask`` sends it a job and returns its answer.

    Start it from the thread pinned to the clients' core: the process inherits that
    thread's affinity. ``close`` (or leaving the ``with`` block) ends it by closing stdin.
    """

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [str(PYTHON), str(SCRIPT)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip

    def ask(self, job: Job) -> dict[str, Any]:
        """Send one job and wait for its answer (blocking: call it on a worker thread)."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"aioboto3 peer exited ({self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"aioboto3 peer, step {job['step']}: {answer['error'][-800:]}")
        return answer

    def timed(self, job: Job) -> tuple[float, float]:
        """``ask``, returning the wall and CPU seconds the peer measured for the step."""
        answer = self.ask(job)
        return float(answer["wall_s"]), float(answer["cpu_s"])

    def close(self) -> None:
        """End the process: it closes its clients and exits when stdin closes."""
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> PeerProcess:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()


# -- the peer's side (.venv-aioboto3) -----------------------------------------------------


async def gather(calls: list[Awaitable[Any]]) -> None:
    """Await every call, at most 64 at a time."""
    limit = asyncio.Semaphore(PEER_CONCURRENCY)

    async def bounded(call: Awaitable[Any]) -> None:
        async with limit:
            await call

    await asyncio.gather(*(bounded(c) for c in calls))


async def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix``, by ListObjectsV2 pages."""
    found: list[str] = []
    async for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        found.extend(o["Key"] for o in page.get("Contents", ()))
    return found


# the client benchmark: n PutObject of one body, n HeadObject of the keys put


async def put(s3: Any, job: Job) -> None:
    body = BODIES[job["size"]]
    await gather([
        s3.put_object(Bucket=job["bucket"], Key=f"{job['prefix']}{i}", Body=body)
        for i in range(job["n"])
    ])  # fmt: skip


async def head(s3: Any, job: Job) -> None:
    await gather([
        s3.head_object(Bucket=job["bucket"], Key=f"{job['prefix']}{i}") for i in range(job["n"])
    ])  # fmt: skip


# the peers benchmark: the steps of benchmarks.peers.run.STEPS


def local_files(root: Path) -> list[Path]:
    """The files under ``root``, sorted (``benchmarks.peers.run.local_files``)."""
    return sorted(p for p in root.rglob("*") if p.is_file())


async def upload(s3: Any, job: Job) -> None:
    local = Path(job["local"])
    files = local_files(local)
    bodies = [await asyncio.to_thread(p.read_bytes) for p in files]  # one thread hop each
    await gather([
        s3.put_object(Bucket=job["bucket"], Key=job["prefix"] + p.relative_to(local).as_posix(),
                      Body=body)
        for p, body in zip(files, bodies, strict=True)
    ])  # fmt: skip


async def list_only(s3: Any, job: Job) -> None:
    await keys(s3, job["bucket"], job["prefix"])


async def list_stat(s3: Any, job: Job) -> None:
    found = await keys(s3, job["bucket"], job["prefix"])
    await gather([s3.head_object(Bucket=job["bucket"], Key=k) for k in found])


async def copy_keys(s3: Any, bucket: str, source: str, target: str) -> list[str]:
    found = await keys(s3, bucket, source)
    await gather([
        s3.copy_object(Bucket=bucket, Key=target + k.removeprefix(source),
                       CopySource={"Bucket": bucket, "Key": k})
        for k in found
    ])  # fmt: skip
    return found


async def copy(s3: Any, job: Job) -> None:
    await copy_keys(s3, job["bucket"], job["source"], job["target"])


async def move(s3: Any, job: Job) -> None:
    moved = await copy_keys(s3, job["bucket"], job["source"], job["target"])
    await gather([s3.delete_object(Bucket=job["bucket"], Key=k) for k in moved])


async def delete(s3: Any, job: Job) -> None:
    bucket = job["bucket"]
    found = await keys(s3, bucket, job["prefix"])
    await gather([
        s3.delete_objects(Bucket=bucket, Delete={
            "Objects": [{"Key": k} for k in found[i : i + 1000]], "Quiet": True})
        for i in range(0, len(found), 1000)
    ])  # fmt: skip


STEPS: dict[str, Work] = {
    "put": put,
    "head": head,
    "upload": upload,
    "list": list_only,
    "list+stat": list_stat,
    "copy": copy,
    "move": move,
    "delete": delete,
}
BODIES: dict[int, bytes] = {}
"""The bodies of ``put`` by size, made once per process (outside the timed region)."""


class Peer:
    """The peer's state over its jobs: aioboto3, imported once, and the shared clients (open
    until ``aclose``)."""

    def __init__(self) -> None:
        import aioboto3  # here, at start-up, as the in-process peer imported it before timing
        from botocore.config import Config

        self.session_type: Any = aioboto3.Session
        self.config_type: Any = Config
        self.stack = AsyncExitStack()
        self.shared: dict[tuple[str, str], Any] = {}

    def client(self, job: Job) -> Any:
        """A new aioboto3 session's S3 client (an async context manager), pool of 64."""
        return self.session_type(
            aws_access_key_id=job["access_key_id"],
            aws_secret_access_key=job["secret_access_key"],
            region_name=REGION,
        ).client(
            "s3",
            endpoint_url=job["endpoint"],
            config=self.config_type(max_pool_connections=PEER_CONCURRENCY),
        )

    async def shared_client(self, job: Job) -> Any:
        """The process's one client for this server, made on first use."""
        key = (job["endpoint"], job["access_key_id"])
        if key not in self.shared:
            self.shared[key] = await self.stack.enter_async_context(self.client(job))
        return self.shared[key]

    async def run(self, job: Job) -> dict[str, Any]:
        """Do one job; the wall and CPU seconds of its step alone."""
        if "size" in job and job["size"] not in BODIES:
            BODIES[job["size"]] = os.urandom(job["size"])
        if job["step"] == "open":
            await self.shared_client(job)
            return {"wall_s": 0.0, "cpu_s": 0.0}
        work = STEPS[job["step"]]
        if job.get("client", "fresh") == "shared":
            s3 = await self.shared_client(job)
            wall, cpu = time.perf_counter(), time.process_time()
            await work(s3, job)
        else:  # a new session and client every step, made and closed inside the timing
            wall, cpu = time.perf_counter(), time.process_time()
            async with self.client(job) as s3:
                await work(s3, job)
        return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}

    async def answer(self, job: Job) -> dict[str, Any]:
        """``run``, with any failure as ``{"error": traceback}``."""
        try:
            return await self.run(job)
        except Exception:
            return {"error": traceback.format_exc()}

    async def aclose(self) -> None:
        """Close the shared clients."""
        await self.stack.aclose()


async def serve() -> None:
    """Answer one JSON job per line of stdin with one JSON line, until stdin closes."""
    loop = asyncio.get_running_loop()
    peer = Peer()
    with ThreadPoolExecutor(1, thread_name_prefix="stdin") as reader:
        try:
            while line := await loop.run_in_executor(reader, sys.stdin.readline):
                if line.strip():
                    answer = await peer.answer(json.loads(line))
                    sys.stdout.write(json.dumps(answer) + "\n")
                    sys.stdout.flush()
        finally:
            await peer.aclose()


async def one(job: Job) -> None:
    """Answer the one job given as the argument."""
    peer = Peer()
    try:
        print(json.dumps(await peer.answer(job)), flush=True)
    finally:
        await peer.aclose()


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop when it is installed, as ``aios3fm.run`` runs the benchmarks."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    if sys.version_info < (3, 11):  # asyncio.Runner came with 3.11
        uvloop.install()
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def main(argv: list[str]) -> None:
    """The peer's entry point: ``--version``, one job as the argument, or jobs on stdin."""
    if argv == ["--version"]:
        from importlib.metadata import version as installed

        print(f"aioboto3 {installed('aioboto3')}, aiobotocore {installed('aiobotocore')}")
    elif argv:
        run_loop(one(json.loads(argv[0])))
    else:
        run_loop(serve())


if __name__ == "__main__":
    main(sys.argv[1:])
