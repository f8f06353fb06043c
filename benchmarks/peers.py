"""aios3fm against the tools people use, side by side on one server, in one run.

Tools: aios3fm (library, and its CLI), the aws cli, s5cmd, rclone (when on PATH), s3fs, a
sequential boto3 loop, and aioboto3 with ``asyncio.gather`` under a semaphore of 64.
Workloads: 1000 x 1 KiB and 200 x 1 MiB. Steps: upload (local dir -> S3), list
(recursive), list + stat of every object, copy (S3 -> S3), move, delete; then copy and
delete again with 20 ms of latency added by the server.

The server (``python -m aios3fm server``) runs in its own process pinned to core 0 and
every client to core 1 (``os.sched_setaffinity``; subprocesses inherit it). Each tool
gets its own bucket per round; rounds interleave the tools, and the order flips every
round. For each tool and step: median wall seconds, requests by S3 operation (the
server's counter), client CPU seconds (this process, or the child for CLIs), and the
ratio of aios3fm to the best peer. CLIs include their start-up, as a user sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

import aios3fm
from aios3fm import FileManager, Settings
from aios3fm._server_process import ServerProcess, server_process

RESULTS = Path(__file__).parent / "results"
KiB, MiB = 1024, 1024 * 1024
WORKLOADS = {"1000 x 1 KiB": (1000, KiB), "200 x 1 MiB": (200, MiB)}
"""The workloads of a full run; ``--scale`` shrinks the counts for a quick try."""
STEPS = ("upload", "list", "list+stat", "copy", "move", "delete")
LATENCY = 0.020
LATENCY_STEPS = ("copy @20ms", "delete @20ms")
PEER_CONCURRENCY = 64
BIN = Path(sys.executable).parent


@dataclass
class Context:
    """What one tool works on in one round: its bucket, the local files, the server."""

    server: ServerProcess
    bucket: str
    local: Path
    scratch: Path
    count: int

    @property
    def endpoint(self) -> str:
        return self.server.endpoint_url

    @property
    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.scratch),
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            **self.server.environ,
        }

    def s3(self, prefix: str) -> str:
        return f"s3://{self.bucket}/{prefix}"


@dataclass
class Sample:
    wall: float
    cpu: float
    requests: dict[str, int]
    server_cpu: float = 0.0


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


Step = Callable[[Context], Awaitable[None]]


@dataclass
class Tool:
    name: str
    steps: dict[str, Step]
    note: str = ""
    subprocess_cpu: bool = False
    samples: dict[str, list[Sample]] = field(default_factory=dict)


# -- helpers ------------------------------------------------------------------------------


async def command(ctx: Context, *argv: str) -> None:
    """Run a CLI to completion; its CPU is read from RUSAGE_CHILDREN by the caller."""
    done = await anyio.run_process(list(argv), env=ctx.env, check=False, cwd=ctx.scratch)
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({done.returncode}): {done.stderr.decode()[-400:]}")


def settings(ctx: Context, **overrides: Any) -> Settings:
    env = ctx.server.environ
    return Settings(
        endpoint_url=ctx.endpoint,
        access_key_id=env["AWS_ACCESS_KEY_ID"],
        secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region="us-east-1",
    ).replace(**overrides)


def local_files(ctx: Context) -> list[Path]:
    return sorted(p for p in ctx.local.rglob("*") if p.is_file())


# -- aios3fm ------------------------------------------------------------------------------


def aios3fm_library() -> Tool:
    async def fresh(ctx: Context, work: Callable[[FileManager], Awaitable[Any]]) -> None:
        async with FileManager(settings=settings(ctx)) as fm:  # a cold cache every step
            result = await work(fm)
            if getattr(result, "failed", ()):
                raise RuntimeError(f"aios3fm: {len(result.failed)} failed")

    async def list_stat(fm: FileManager, ctx: Context) -> None:
        async for directory, _, files in fm.walk(ctx.s3("src/")):
            for name in files:
                await fm.stat(f"{directory.rstrip('/')}/{name}")  # from the walk's listings

    async def listing(fm: FileManager, ctx: Context) -> None:
        async for _ in fm.walk(ctx.s3("src/")):
            pass

    return Tool(
        "aios3fm",
        {
            "upload": lambda c: fresh(c, lambda fm: fm.copy(str(c.local) + "/", c.s3("src/"))),
            "list": lambda c: fresh(c, lambda fm: listing(fm, c)),
            "list+stat": lambda c: fresh(c, lambda fm: list_stat(fm, c)),
            "copy": lambda c: fresh(c, lambda fm: fm.copy(c.s3("src/"), c.s3("dst/"))),
            "move": lambda c: fresh(c, lambda fm: fm.move(c.s3("dst/"), c.s3("mv/"))),
            "delete": lambda c: fresh(c, lambda fm: fm.delete(c.s3("src/"))),
            "copy @20ms": lambda c: fresh(c, lambda fm: fm.copy(c.s3("src/"), c.s3("lat/"))),
            "delete @20ms": lambda c: fresh(c, lambda fm: fm.delete(c.s3("lat/"))),
        },
    )


def aios3fm_cli() -> Tool:
    def cli(*args: str) -> Step:
        def step(ctx: Context) -> Awaitable[None]:
            argv = [a.format(b=ctx.bucket, local=ctx.local) for a in args]
            return command(ctx, sys.executable, "-m", "aios3fm", "--quiet", *argv)

        return step

    return Tool(
        "aios3fm CLI",
        {
            "upload": cli("cp", "-r", "{local}/", "s3://{b}/src/"),
            "list": cli("ls", "-R", "s3://{b}/src/"),
            "list+stat": cli("ls", "-l", "-R", "s3://{b}/src/"),
            "copy": cli("cp", "-r", "s3://{b}/src/", "s3://{b}/dst/"),
            "move": cli("mv", "-r", "s3://{b}/dst/", "s3://{b}/mv/"),
            "delete": cli("rm", "-r", "s3://{b}/src/"),
            "copy @20ms": cli("cp", "-r", "s3://{b}/src/", "s3://{b}/lat/"),
            "delete @20ms": cli("rm", "-r", "s3://{b}/lat/"),
        },
        subprocess_cpu=True,
    )


# -- CLI peers ----------------------------------------------------------------------------


def aws_cli() -> Tool | None:
    aws = shutil.which("aws", path=str(BIN)) or shutil.which("aws")
    if aws is None:
        return None

    def cli(*args: str) -> Step:
        def step(ctx: Context) -> Awaitable[None]:
            argv = [a.format(b=ctx.bucket, local=ctx.local) for a in args]
            return command(ctx, aws, "--endpoint-url", ctx.endpoint, *argv)

        return step

    return Tool(
        "aws cli",
        {
            "upload": cli("s3", "cp", "--recursive", "{local}", "s3://{b}/src/"),
            "list": cli("s3", "ls", "--recursive", "s3://{b}/src/"),
            "list+stat": cli("s3", "ls", "--recursive", "s3://{b}/src/"),  # sizes included
            "copy": cli("s3", "cp", "--recursive", "s3://{b}/src/", "s3://{b}/dst/"),
            "move": cli("s3", "mv", "--recursive", "s3://{b}/dst/", "s3://{b}/mv/"),
            "delete": cli("s3", "rm", "--recursive", "s3://{b}/src/"),
            "copy @20ms": cli("s3", "cp", "--recursive", "s3://{b}/src/", "s3://{b}/lat/"),
            "delete @20ms": cli("s3", "rm", "--recursive", "s3://{b}/lat/"),
        },
        note="default settings (10 concurrent requests)",
        subprocess_cpu=True,
    )


def s5cmd() -> Tool | None:
    binary = shutil.which("s5cmd", path=str(BIN)) or shutil.which("s5cmd")
    if binary is None:
        return None

    def cli(*args: str) -> Step:
        def step(ctx: Context) -> Awaitable[None]:
            argv = [a.format(b=ctx.bucket, local=ctx.local) for a in args]
            return command(ctx, binary, "--endpoint-url", ctx.endpoint, *argv)

        return step

    return Tool(
        "s5cmd",
        {
            "upload": cli("cp", "{local}/*", "s3://{b}/src/"),
            "list": cli("ls", "s3://{b}/src/*"),
            "list+stat": cli("ls", "s3://{b}/src/*"),  # sizes included
            "copy": cli("cp", "s3://{b}/src/*", "s3://{b}/dst/"),
            "move": cli("mv", "s3://{b}/dst/*", "s3://{b}/mv/"),
            "delete": cli("rm", "s3://{b}/src/*"),
            "copy @20ms": cli("cp", "s3://{b}/src/*", "s3://{b}/lat/"),
            "delete @20ms": cli("rm", "s3://{b}/lat/*"),
        },
        note="default settings (256 workers)",
        subprocess_cpu=True,
    )


def rclone() -> Tool | None:
    binary = shutil.which("rclone")
    if binary is None:
        return None

    def cli(*args: str) -> Step:
        def step(ctx: Context) -> Awaitable[None]:
            env = ctx.server.environ
            remote = (
                f":s3,provider=Other,endpoint='{ctx.endpoint}',"
                f"access_key_id={env['AWS_ACCESS_KEY_ID']},"
                f"secret_access_key={env['AWS_SECRET_ACCESS_KEY']}:"
            )
            argv = [a.format(b=ctx.bucket, local=ctx.local, r=remote) for a in args]
            return command(ctx, binary, "--transfers", "64", "--checkers", "64", *argv)

        return step

    return Tool(
        "rclone",
        {
            "upload": cli("copy", "{local}", "{r}{b}/src"),
            "list": cli("lsf", "-R", "{r}{b}/src"),
            "list+stat": cli("lsl", "{r}{b}/src"),
            "copy": cli("copy", "{r}{b}/src", "{r}{b}/dst"),
            "move": cli("move", "{r}{b}/dst", "{r}{b}/mv"),
            "delete": cli("delete", "{r}{b}/src"),
            "copy @20ms": cli("copy", "{r}{b}/src", "{r}{b}/lat"),
            "delete @20ms": cli("delete", "{r}{b}/lat"),
        },
        note="--transfers 64 --checkers 64",
        subprocess_cpu=True,
    )


# -- library peers ------------------------------------------------------------------------


def s3fs_tool() -> Tool | None:
    try:
        import s3fs
    except ImportError:
        return None

    def fs_for(ctx: Context) -> Any:
        env = ctx.server.environ
        return s3fs.S3FileSystem(
            key=env["AWS_ACCESS_KEY_ID"],
            secret=env["AWS_SECRET_ACCESS_KEY"],
            endpoint_url=ctx.endpoint,
            skip_instance_cache=True,  # a cold cache every step, as for aios3fm
            client_kwargs={"region_name": "us-east-1"},
        )

    def sync(work: Callable[[Any, Context], Any]) -> Step:
        async def step(ctx: Context) -> None:
            await anyio.to_thread.run_sync(lambda: work(fs_for(ctx), ctx))

        return step

    def list_stat(fs: Any, ctx: Context) -> None:
        for path in fs.find(f"{ctx.bucket}/src/"):
            fs.info(path)

    def move(fs: Any, ctx: Context) -> None:
        fs.copy(f"{ctx.bucket}/dst/", f"{ctx.bucket}/mv/", recursive=True)
        fs.rm(f"{ctx.bucket}/dst/", recursive=True)

    return Tool(
        "s3fs",
        {
            "upload": sync(lambda fs, c: fs.put(str(c.local) + "/", f"{c.bucket}/src/", True)),
            "list": sync(lambda fs, c: fs.find(f"{c.bucket}/src/")),
            "list+stat": sync(list_stat),
            "copy": sync(lambda fs, c: fs.copy(f"{c.bucket}/src/", f"{c.bucket}/dst/", True)),
            "move": sync(move),
            "delete": sync(lambda fs, c: fs.rm(f"{c.bucket}/src/", recursive=True)),
            "copy @20ms": sync(lambda fs, c: fs.copy(f"{c.bucket}/src/", f"{c.bucket}/lat/", True)),
            "delete @20ms": sync(lambda fs, c: fs.rm(f"{c.bucket}/lat/", recursive=True)),
        },
        note="move = copy + rm: s3fs's own mv of a directory fails on this server",
    )


def boto3_loop() -> Tool:
    import boto3

    def client_for(ctx: Context) -> Any:
        env = ctx.server.environ
        return boto3.client(
            "s3",
            endpoint_url=ctx.endpoint,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        )

    def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for page in pages for o in page.get("Contents", ())]

    def upload(s3: Any, ctx: Context) -> None:
        for path in local_files(ctx):
            key = "src/" + path.relative_to(ctx.local).as_posix()
            s3.put_object(Bucket=ctx.bucket, Key=key, Body=path.read_bytes())

    def list_stat(s3: Any, ctx: Context) -> None:
        for key in keys(s3, ctx.bucket, "src/"):
            s3.head_object(Bucket=ctx.bucket, Key=key)

    def copy(s3: Any, ctx: Context, source: str, target: str) -> list[str]:
        done = []
        for key in keys(s3, ctx.bucket, source):
            new = target + key.removeprefix(source)
            s3.copy_object(
                Bucket=ctx.bucket, Key=new, CopySource={"Bucket": ctx.bucket, "Key": key}
            )
            done.append(key)
        return done

    def move(s3: Any, ctx: Context) -> None:
        for key in copy(s3, ctx, "dst/", "mv/"):
            s3.delete_object(Bucket=ctx.bucket, Key=key)

    def delete(s3: Any, ctx: Context, prefix: str) -> None:
        found = keys(s3, ctx.bucket, prefix)
        for start in range(0, len(found), 1000):
            batch = [{"Key": k} for k in found[start : start + 1000]]
            s3.delete_objects(Bucket=ctx.bucket, Delete={"Objects": batch, "Quiet": True})

    def sync(work: Callable[[Any, Context], Any]) -> Step:
        async def step(ctx: Context) -> None:
            await anyio.to_thread.run_sync(lambda: work(client_for(ctx), ctx))

        return step

    return Tool(
        "boto3 loop",
        {
            "upload": sync(upload),
            "list": sync(lambda s3, c: keys(s3, c.bucket, "src/")),
            "list+stat": sync(list_stat),
            "copy": sync(lambda s3, c: copy(s3, c, "src/", "dst/")),
            "move": sync(move),
            "delete": sync(lambda s3, c: delete(s3, c, "src/")),
            "copy @20ms": sync(lambda s3, c: copy(s3, c, "src/", "lat/")),
            "delete @20ms": sync(lambda s3, c: delete(s3, c, "lat/")),
        },
        note="sequential, DeleteObjects in batches of 1000",
    )


def aioboto3_gather() -> Tool:
    import aioboto3
    from botocore.config import Config

    def session_client(ctx: Context) -> Any:
        env = ctx.server.environ
        return aioboto3.Session(
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
            region_name="us-east-1",
        ).client(
            "s3",
            endpoint_url=ctx.endpoint,
            config=Config(max_pool_connections=PEER_CONCURRENCY),
        )

    async def gather(calls: list[Awaitable[Any]]) -> None:
        limit = asyncio.Semaphore(PEER_CONCURRENCY)

        async def bounded(call: Awaitable[Any]) -> None:
            async with limit:
                await call

        await asyncio.gather(*(bounded(c) for c in calls))

    async def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
        found: list[str] = []
        async for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix
        ):
            found.extend(o["Key"] for o in page.get("Contents", ()))
        return found

    def with_client(work: Callable[[Any, Context], Awaitable[None]]) -> Step:
        async def step(ctx: Context) -> None:
            async with session_client(ctx) as s3:
                await work(s3, ctx)

        return step

    async def upload(s3: Any, ctx: Context) -> None:
        files = local_files(ctx)
        bodies = [await anyio.Path(p).read_bytes() for p in files]
        await gather([
            s3.put_object(Bucket=ctx.bucket, Key="src/" + p.relative_to(ctx.local).as_posix(),
                          Body=body)
            for p, body in zip(files, bodies, strict=True)
        ])  # fmt: skip

    async def list_only(s3: Any, ctx: Context) -> None:
        await keys(s3, ctx.bucket, "src/")

    async def list_stat(s3: Any, ctx: Context) -> None:
        found = await keys(s3, ctx.bucket, "src/")
        await gather([s3.head_object(Bucket=ctx.bucket, Key=k) for k in found])

    async def copy(s3: Any, ctx: Context, source: str, target: str) -> list[str]:
        found = await keys(s3, ctx.bucket, source)
        await gather([
            s3.copy_object(Bucket=ctx.bucket, Key=target + k.removeprefix(source),
                           CopySource={"Bucket": ctx.bucket, "Key": k})
            for k in found
        ])  # fmt: skip
        return found

    async def move(s3: Any, ctx: Context) -> None:
        moved = await copy(s3, ctx, "dst/", "mv/")
        await gather([s3.delete_object(Bucket=ctx.bucket, Key=k) for k in moved])

    async def delete(s3: Any, ctx: Context, prefix: str) -> None:
        found = await keys(s3, ctx.bucket, prefix)
        await gather([
            s3.delete_objects(Bucket=ctx.bucket, Delete={
                "Objects": [{"Key": k} for k in found[i : i + 1000]], "Quiet": True})
            for i in range(0, len(found), 1000)
        ])  # fmt: skip

    async def copy_step(s3: Any, ctx: Context, target: str) -> None:
        await copy(s3, ctx, "src/", target)

    return Tool(
        "aioboto3+gather",
        {
            "upload": with_client(upload),
            "list": with_client(list_only),
            "list+stat": with_client(list_stat),
            "copy": with_client(lambda s3, c: copy_step(s3, c, "dst/")),
            "move": with_client(move),
            "delete": with_client(lambda s3, c: delete(s3, c, "src/")),
            "copy @20ms": with_client(lambda s3, c: copy_step(s3, c, "lat/")),
            "delete @20ms": with_client(lambda s3, c: delete(s3, c, "lat/")),
        },
        note="semaphore of 64",
    )


def all_tools() -> tuple[list[Tool], list[str]]:
    """The tools found on this machine, and a note for each one skipped."""
    tools: list[Tool] = [aios3fm_library(), aios3fm_cli()]
    skipped: list[str] = []
    for name, factory in (("aws cli", aws_cli), ("s5cmd", s5cmd), ("rclone", rclone),
                          ("s3fs", s3fs_tool)):  # fmt: skip
        tool = factory()
        if tool is None:
            skipped.append(f"{name}: not installed, skipped")
        else:
            tools.append(tool)
    tools += [boto3_loop(), aioboto3_gather()]
    return tools, skipped


# -- running ------------------------------------------------------------------------------


def make_files(root: Path, count: int, size: int) -> None:
    for i in range(count):
        path = root / f"d{i % 10}" / f"f{i:05d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))


async def measure(tool: Tool, step: str, ctx: Context) -> Sample:
    ctx.server.reset_requests()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = process_cpu(ctx.server.process.pid)
    wall, cpu = time.perf_counter(), time.process_time()
    await tool.steps[step](ctx)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server_cpu = process_cpu(ctx.server.process.pid) - server_cpu
    if tool.subprocess_cpu:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    return Sample(wall, cpu, ctx.server.requests(), server_cpu)


async def clean(ctx: Context) -> None:
    """Remove the round's bucket (not timed)."""
    async with FileManager(settings=settings(ctx)) as fm:
        await fm.delete(ctx.s3(""))
        await fm.remove_bucket(ctx.s3(""))


async def one_round(
    server: ServerProcess, tools: list[Tool], workload: str, local: Path, count: int,
    round_number: int, scratch: Path,
) -> None:  # fmt: skip
    order = tools if round_number % 2 == 0 else list(reversed(tools))
    contexts = {}
    for index, tool in enumerate(tools):
        bucket = f"bench-{round_number}-{index}-{count}"
        contexts[tool.name] = Context(server, bucket, local, scratch, count)
        async with FileManager(settings=settings(contexts[tool.name])) as fm:
            await fm.make_bucket(bucket)
    # the latency steps copy src/ too, so they run before src/ is deleted
    for step in (*STEPS[:-1], *LATENCY_STEPS, STEPS[-1]):
        server.set_latency(LATENCY if step in LATENCY_STEPS else 0.0)
        for tool in order:
            sample = await measure(tool, step, contexts[tool.name])
            tool.samples.setdefault(f"{workload} | {step}", []).append(sample)
    server.set_latency(0.0)
    for tool in tools:
        await clean(contexts[tool.name])


def scaled(scale: float) -> None:
    """Shrink every workload's object count (``--scale 0.05`` for a smoke run)."""
    if scale == 1:
        return
    shrunk = {}
    for (count, size), unit in zip(WORKLOADS.values(), ("KiB", "MiB"), strict=True):
        count = max(10, int(count * scale))
        shrunk[f"{count} x 1 {unit}"] = (count, size)
    WORKLOADS.clear()
    WORKLOADS.update(shrunk)


async def run_all(server: ServerProcess, runs: int) -> tuple[list[Tool], list[str]]:
    tools, skipped = all_tools()
    with tempfile.TemporaryDirectory(prefix="aios3fm-bench-") as tmp:
        for workload, (count, size) in WORKLOADS.items():
            local = Path(tmp) / workload.replace(" ", "")
            make_files(local, count, size)
            for round_number in range(runs):
                await one_round(server, tools, workload, local, count, round_number, Path(tmp))
                print(f"  {workload}: round {round_number + 1}/{runs} done", flush=True)
    return tools, skipped


def pin(server: ServerProcess) -> str:
    """Server on core 0, this process (and so every client it starts) on core 1."""
    cores = sorted(range(os.cpu_count() or 1))  # not this process's set: it may be pinned
    if not hasattr(os, "sched_setaffinity") or len(cores) < 2:
        return "not pinned (fewer than 2 cores)"
    pin_process(server.process.pid, cores[0])
    pin_process(os.getpid(), cores[1])
    return f"server pinned to core {cores[0]}, clients to core {cores[1]}"


def pin_process(pid: int, core: int) -> None:
    """Every thread of ``pid`` on ``core`` (threads started later inherit it): affinity is
    per thread, and the server answers from threads started before it was pinned."""
    try:
        threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        threads = [pid]
    for tid in threads:
        with contextlib.suppress(OSError):  # a thread that ended meanwhile
            os.sched_setaffinity(tid, {core})


def subprocess_version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "?"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "?"


# -- reporting ----------------------------------------------------------------------------

OURS = ("aios3fm", "aios3fm CLI")


def summarize(tools: list[Tool]) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for tool in tools:
        for key, samples in tool.samples.items():
            ordered = sorted(samples, key=lambda s: s.wall)
            middle = ordered[len(ordered) // 2]
            rows.setdefault(key, {})[tool.name] = {
                "wall_s": middle.wall,
                "cpu_s": sorted(s.cpu for s in samples)[len(samples) // 2],
                # the share of the step the server's core was busy: near 1.0, the server
                # (not the tool) set the pace
                "server_busy": middle.server_cpu / middle.wall if middle.wall else 0.0,
                "requests": dict(sorted(middle.requests.items())),
                "total_requests": sum(middle.requests.values()),
                "runs": len(samples),
            }
    for row in rows.values():
        peers = {name: r for name, r in row.items() if name not in OURS}
        best = min(peers, key=lambda name: peers[name]["wall_s"])
        fewest = min(r["total_requests"] for r in peers.values())
        row["_best_peer"] = best
        row["_fewest_peer_requests"] = fewest
        for ours in OURS:
            if ours in row:
                row[ours]["ratio_to_best_peer"] = row[ours]["wall_s"] / peers[best]["wall_s"]
    return rows


def markdown(rows: dict[str, Any], tools: list[Tool], header: list[str]) -> str:
    names = [t.name for t in tools]
    lines = [*header, ""]
    for workload in WORKLOADS:
        lines += [
            f"### {workload}: median wall seconds (requests)",
            "",
            "| step | " + " | ".join(names) + " | best peer | aios3fm / best | CLI / best |",
            "|---" * (len(names) + 4) + "|",
        ]
        for step in (*STEPS, *LATENCY_STEPS):
            row = rows.get(f"{workload} | {step}")
            if row is None:
                continue
            cells = [
                f"{row[n]['wall_s']:.2f} ({row[n]['total_requests']})" if n in row else "-"
                for n in names
            ]
            ours, cli = row.get("aios3fm", {}), row.get("aios3fm CLI", {})
            lines.append(
                f"| {step} | " + " | ".join(cells) + f" | {row['_best_peer']} |"
                f" **{ours.get('ratio_to_best_peer', float('nan')):.2f}** |"
                f" {cli.get('ratio_to_best_peer', float('nan')):.2f} |"
            )
        lines.append("")
    lines += ["### Client CPU seconds (median) and requests by operation", ""]
    lines += [
        "| workload / step | tool | wall s | client CPU s | server busy | requests |",
        "|---|---|---|---|---|---|",
    ]
    for key, row in rows.items():
        for name in names:
            if name in row:
                r = row[name]
                ops = ", ".join(f"{op} {n}" for op, n in r["requests"].items())
                lines.append(
                    f"| {key} | {name} | {r['wall_s']:.2f} | {r['cpu_s']:.2f} |"
                    f" {r['server_busy']:.0%} | {ops} |"
                )
    return "\n".join(lines) + "\n"


def goals(rows: dict[str, Any], micro: dict[str, Any]) -> list[str]:
    """The goals of the benchmark issue, each with its measured figure and a verdict."""
    out = ["### Goals", "", "| goal | measured | met |", "|---|---|---|"]
    for key, row in rows.items():
        if "aios3fm" not in row:
            continue
        ours = row["aios3fm"]
        fewest = row["_fewest_peer_requests"]
        out.append(
            f"| fewest requests: {key} | aios3fm {ours['total_requests']}, fewest peer {fewest}"
            f" | {'yes' if ours['total_requests'] <= fewest else 'no'} |"
        )
    for key, row in rows.items():
        if "aios3fm" in row:
            ratio = row["aios3fm"]["ratio_to_best_peer"]
            out.append(
                f"| wall <= 0.9 x best peer: {key} | {ratio:.2f} ({row['_best_peer']}) |"
                f" {'yes' if ratio <= 0.9 else 'no'} |"
            )
    for name, value in micro.get("cpu_ms_per_request", {}).items():
        out.append(f"| client CPU <= 1.0 ms per request: {name} | {value:.2f} ms |"
                   f" {'yes' if value <= 1.0 else 'no'} |")  # fmt: skip
    for workload, (count, _) in WORKLOADS.items():
        row = rows.get(f"{workload} | copy @20ms", {})
        if "aios3fm" in row:
            bound = 1.3 * count * LATENCY / 64
            wall = row["aios3fm"]["wall_s"]
            out.append(
                f"| copy @20ms within 1.3 x N x latency / 64 = {bound:.2f} s: {workload} |"
                f" {wall:.2f} s | {'yes' if wall <= bound else 'no'} |"
            )
    return out


def chart(rows: dict[str, Any], tools: list[Tool], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [t.name for t in tools]
    steps = [*STEPS, *LATENCY_STEPS]
    figure, axes = plt.subplots(len(WORKLOADS), 1, figsize=(13, 4.2 * len(WORKLOADS)))
    width = 0.8 / len(names)
    for axis, workload in zip(axes, WORKLOADS, strict=True):
        for index, name in enumerate(names):
            values = [rows.get(f"{workload} | {s}", {}).get(name, {}).get("wall_s", 0)
                      for s in steps]  # fmt: skip
            positions = [i + (index - len(names) / 2 + 0.5) * width for i in range(len(steps))]
            axis.bar(positions, values, width, label=name,
                     edgecolor="black" if name == "aios3fm" else None)  # fmt: skip
        axis.set_yscale("log")
        axis.set_xticks(range(len(steps)), steps)
        axis.set_ylabel("wall seconds (log, lower is better)")
        axis.set_title(f"{workload}: median of interleaved runs, one server core")
        axis.grid(axis="y", alpha=0.3)
    axes[0].legend(ncol=4, fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(runs: int = 3, micro: dict[str, Any] | None = None) -> dict[str, Any]:
    micro = micro or {}
    with server_process() as server:
        pinning = pin(server)
        print(f"peers benchmark: {pinning}", flush=True)
        tools, skipped = aios3fm.run(run_all(server, runs))
    rows = summarize(tools)
    versions = {
        "aws cli": subprocess_version([str(BIN / "aws"), "--version"]),
        "s5cmd": subprocess_version([str(BIN / "s5cmd"), "version"]),
        "python": sys.version.split()[0],
    }
    header = [
        "# aios3fm against its peers on one server",
        "",
        f"Median of {runs} interleaved runs; {pinning}. Server: `python -m aios3fm server`"
        " (moto) on 127.0.0.1. Requests are counted by the server. A ratio below 1.0 means"
        " aios3fm is faster than the fastest peer on that step.",
        "",
        *(f"- {t.name}: {t.note}" for t in tools if t.note),
        *(f"- {note}" for note in skipped),
        f"- versions: {', '.join(f'{k} {v}' for k, v in versions.items())}",
    ]
    text = markdown(rows, tools, header) + "\n" + "\n".join(goals(rows, micro)) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "peers.md").write_text(text)
    (RESULTS / "peers.json").write_text(
        json.dumps(
            {"rows": rows, "micro": micro, "skipped": skipped, "pinning": pinning, "runs": runs},
            indent=2,
        )
        + "\n"
    )
    chart(rows, tools, RESULTS / "peers.png")
    update_readme(markdown(rows, tools, []).split("### Client CPU")[0].strip(), pinning, runs)
    print(text)
    return rows


def update_readme(tables: str, pinning: str, runs: int) -> None:
    """Put the latest tables between the README's bench markers."""
    readme = Path(__file__).parent.parent / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in text or end not in text:
        return
    block = (
        f"{start}\n_Latest `make bench`: median of {runs} interleaved runs, {pinning}; "
        "wall seconds (requests counted by the server). Details, client CPU and server "
        "load in `benchmarks/results/peers.md`; chart in `benchmarks/results/peers.png`._"
        f"\n\n{tables}\n{end}"
    )
    head, rest = text.split(start, 1)
    readme.write_text(head + block + rest.split(end, 1)[1])


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="aios3fm against its peers")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scale", type=float, default=1.0)
    options = parser.parse_args()
    scaled(options.scale)
    client = RESULTS / "client.json"  # the CPU goal is judged by the client benchmark
    table = json.loads(client.read_text()) if client.exists() else {}
    cpu = {step: row["aios3fm"]["cpu_ms_per_request"] for step, row in table.items()}
    main(options.runs, micro={"cpu_ms_per_request": cpu})
