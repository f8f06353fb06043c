"""Client request path: aios3fm's S3Client against aioboto3 + asyncio.gather (semaphore 64).

The server runs in its own process (``python -m aios3fm server``) so that the client CPU
measured here is the client's alone. Each step runs interleaved over ``--runs`` rounds;
the table gives medians and the ratio aios3fm / peer (below 1.0 means aios3fm is faster).

aioboto3 pins an aiobotocore that aios3fm cannot share a virtualenv with: it runs from
``.venv-aioboto3`` (``scripts/install_peer_venv.sh``) as one long-lived process for the
whole run (``benchmarks/aioboto3_peer.py``), one job per step, its client made once before
the rounds as before; it times each step itself, so its figures count neither the pipe nor
its interpreter. Without that virtualenv aios3fm is reported alone, with a note.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import aios3fm
from aios3fm import FileManager, Settings
from aios3fm._server import server_process

from . import aioboto3_peer
from .aioboto3_peer import PeerProcess
from .results import save

SIZE = 1024
BODY = os.urandom(SIZE)
PEER = "aioboto3+gather"
STEPS = ("put 1 KiB", "head")
Step = Callable[[int], Awaitable[None]]
Timed = Callable[[int], Awaitable[tuple[float, float]]]
"""A step that returns its wall and CPU seconds."""


def settings_for(endpoint: str, env: dict[str, str]) -> Settings:
    return Settings(
        endpoint_url=endpoint,
        access_key_id=env["AWS_ACCESS_KEY_ID"],
        secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region="us-east-1",
    )


async def aios3fm_steps(
    stack: AsyncExitStack, endpoint: str, env: dict[str, str]
) -> dict[str, Step]:
    fm = await stack.enter_async_context(FileManager(settings=settings_for(endpoint, env)))
    client = fm.client

    async def put(n: int) -> None:
        await asyncio.gather(*(client.put("bench", f"a/{i}", BODY) for i in range(n)))

    async def head(n: int) -> None:
        await asyncio.gather(*(client.head("bench", f"a/{i}") for i in range(n)))

    return {"put 1 KiB": put, "head": head}


def skipped_note() -> str:
    """Why the peer's columns are empty, when its virtualenv is missing."""
    return (
        f"{PEER}: not installed ({aioboto3_peer.VENV.name} missing:"
        " ./scripts/install_peer_venv.sh), skipped; aios3fm alone"
    )


async def aioboto3_steps(
    stack: AsyncExitStack, endpoint: str, env: dict[str, str]
) -> dict[str, Timed]:
    """The peer's steps, each one job for the peer process; the timings are the peer's own.

    The process is started here (from the thread pinned to the clients' core) and makes its
    client before the rounds (``open``), as the in-process peer did.
    """
    peer = stack.enter_context(
        PeerProcess(
            {**os.environ, "AWS_CONFIG_FILE": os.devnull,
             "AWS_SHARED_CREDENTIALS_FILE": os.devnull, **env}
        )
    )  # fmt: skip
    server = {
        "endpoint": endpoint,
        "access_key_id": env["AWS_ACCESS_KEY_ID"],
        "secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
        "bucket": "bench",
        "client": "shared",
        "prefix": "b/",
    }
    # waits for its start-up and its client: nothing runs meanwhile
    await asyncio.to_thread(peer.ask, {**server, "step": "open"})

    async def put(n: int) -> tuple[float, float]:
        return await asyncio.to_thread(peer.timed, {**server, "step": "put", "n": n, "size": SIZE})

    async def head(n: int) -> tuple[float, float]:
        return await asyncio.to_thread(peer.timed, {**server, "step": "head", "n": n})

    return {"put 1 KiB": put, "head": head}


def timed(step: Step) -> Timed:
    """An in-process step, timed in this process."""

    async def measure(n: int) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        await step(n)
        return time.perf_counter() - wall, time.process_time() - cpu

    return measure


async def run(endpoint: str, env: dict[str, str], n: int, runs: int) -> dict[str, Any]:
    """Every step, ``runs`` interleaved rounds; the medians by step and tool."""
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {}
    async with AsyncExitStack() as stack:
        fm = await stack.enter_async_context(FileManager(settings=settings_for(endpoint, env)))
        await fm.make_bucket("bench")
        ours = await aios3fm_steps(stack, endpoint, env)
        tools = {"aios3fm": {name: timed(step) for name, step in ours.items()}}
        if aioboto3_peer.available():
            tools[PEER] = await aioboto3_steps(stack, endpoint, env)
        for round_number in range(runs):
            # interleaved, and the order flips every round so neither tool always goes first
            order = list(tools.items())[:: 1 if round_number % 2 == 0 else -1]
            for step_name in STEPS:
                for tool, steps in order:
                    wall, cpu = await steps[step_name](n)
                    samples.setdefault(step_name, {}).setdefault(tool, []).append((wall, cpu))
    table: dict[str, Any] = {}
    for step_name, by_tool in samples.items():
        row: dict[str, Any] = {}
        for tool, values in by_tool.items():
            row[tool] = {
                "wall_s": statistics.median(v[0] for v in values),
                "cpu_ms_per_request": statistics.median(v[1] for v in values) * 1000 / n,
            }
        if PEER in row:
            row["ratio_wall"] = row["aios3fm"]["wall_s"] / row[PEER]["wall_s"]
        table[step_name] = row
    return table


def write(table: dict[str, Any], n: int, runs: int) -> str:
    """Write client.md and client.json; return the markdown."""
    lines = [
        f"# Client benchmark: {n} requests per step, median of {runs} interleaved runs",
        "",
        "| step | aios3fm wall s | aioboto3+gather wall s | ratio | aios3fm CPU ms/req |"
        " aioboto3 CPU ms/req |",
        "|---|---|---|---|---|---|",
    ]
    for step, row in table.items():
        a, b = row["aios3fm"], row.get(PEER)
        wall, ratio, cpu = (
            (f"{b['wall_s']:.3f}", f"{row['ratio_wall']:.2f}", f"{b['cpu_ms_per_request']:.2f}")
            if b
            else ("-", "-", "-")
        )
        lines.append(
            f"| {step} | {a['wall_s']:.3f} | {wall} | {ratio} |"
            f" {a['cpu_ms_per_request']:.2f} | {cpu} |"
        )
    if any(PEER not in row for row in table.values()):
        lines += ["", f"- {skipped_note()}"]
    text = "\n".join(lines) + "\n"
    save("client", text, table)
    return text


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the client benchmark, write its results, and return the table by step."""
    from .peers import pin

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with server_process() as server:
        print(f"client benchmark: {pin(server)}", flush=True)
        if not aioboto3_peer.available():
            print(f"client benchmark: {skipped_note()}", flush=True)
        table = aios3fm.run(run(server.endpoint_url, server.environ, args.requests, args.runs))
    print(write(table, args.requests, args.runs))
    return table


if __name__ == "__main__":
    main()
