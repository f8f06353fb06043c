"""Running the peers benchmark: what a tool works on in a round, measuring one step,
the interleaved rounds, pinning the server and the clients to cores, and the whole run."""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from aios3fm import FileManager, Settings
from aios3fm._server import ServerProcess

KiB, MiB = 1024, 1024 * 1024
WORKLOADS = {"1000 x 1 KiB": (1000, KiB), "200 x 1 MiB": (200, MiB)}
"""The workloads of a full run; ``--scale`` shrinks the counts for a quick try."""
STEPS = ("upload", "list", "list+stat", "copy", "move", "delete")
LATENCY = 0.020
LATENCY_STEPS = ("copy @20ms", "delete @20ms")


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
    self_timed: Callable[[], tuple[float, float]] | None = None
    """For a tool that times its steps in its own process: called after each step, the
    (wall, cpu) seconds that step took there, used instead of this process's clocks."""


# -- helpers for the tools' steps ---------------------------------------------------------


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
    if tool.self_timed is not None:
        wall, cpu = tool.self_timed()
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


async def run_all(server: ServerProcess, tools: list[Tool], runs: int) -> None:
    """Every workload, ``runs`` rounds each; the samples land in each tool's ``samples``."""
    with tempfile.TemporaryDirectory(prefix="aios3fm-bench-") as tmp:
        for workload, (count, size) in WORKLOADS.items():
            local = Path(tmp) / workload.replace(" ", "")
            make_files(local, count, size)
            for round_number in range(runs):
                await one_round(server, tools, workload, local, count, round_number, Path(tmp))
                print(f"  {workload}: round {round_number + 1}/{runs} done", flush=True)


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
