"""Client request path: aios3fm's S3Client against aioboto3 + asyncio.gather (semaphore 64).

The server runs in its own process (``python -m aios3fm server``) so that the client CPU
measured here is the client's alone. Each step runs interleaved over ``--runs`` rounds;
the table gives medians and the ratio aios3fm / peer (below 1.0 means aios3fm is faster).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aioboto3
from botocore.config import Config

import aios3fm
from aios3fm import FileManager, Settings
from aios3fm._server import server_process

RESULTS = Path(__file__).parent / "results"
BODY = os.urandom(1024)
Step = Callable[[int], Awaitable[None]]


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


async def aioboto3_steps(
    stack: AsyncExitStack, endpoint: str, env: dict[str, str]
) -> dict[str, Step]:
    session = aioboto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    client = await stack.enter_async_context(
        session.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=64))
    )
    limit = asyncio.Semaphore(64)

    async def bounded(coro: Awaitable[Any]) -> None:
        async with limit:
            await coro

    async def put(n: int) -> None:
        await asyncio.gather(
            *(bounded(client.put_object(Bucket="bench", Key=f"b/{i}", Body=BODY)) for i in range(n))
        )

    async def head(n: int) -> None:
        await asyncio.gather(
            *(bounded(client.head_object(Bucket="bench", Key=f"b/{i}")) for i in range(n))
        )

    return {"put 1 KiB": put, "head": head}


async def measure(step: Step, n: int) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    await step(n)
    return time.perf_counter() - wall, time.process_time() - cpu


async def run(endpoint: str, env: dict[str, str], n: int, runs: int) -> dict[str, Any]:
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {}
    async with AsyncExitStack() as stack:
        fm = await stack.enter_async_context(FileManager(settings=settings_for(endpoint, env)))
        await fm.make_bucket("bench")
        tools = {
            "aios3fm": await aios3fm_steps(stack, endpoint, env),
            "aioboto3+gather": await aioboto3_steps(stack, endpoint, env),
        }
        for round_number in range(runs):
            # interleaved, and the order flips every round so neither tool always goes first
            order = list(tools.items())[:: 1 if round_number % 2 == 0 else -1]
            for step_name in ("put 1 KiB", "head"):
                for tool, steps in order:
                    wall, cpu = await measure(steps[step_name], n)
                    samples.setdefault(step_name, {}).setdefault(tool, []).append((wall, cpu))
    table: dict[str, Any] = {}
    for step_name, by_tool in samples.items():
        row: dict[str, Any] = {}
        for tool, values in by_tool.items():
            row[tool] = {
                "wall_s": statistics.median(v[0] for v in values),
                "cpu_ms_per_request": statistics.median(v[1] for v in values) * 1000 / n,
            }
        row["ratio_wall"] = row["aios3fm"]["wall_s"] / row["aioboto3+gather"]["wall_s"]
        table[step_name] = row
    return table


def write(table: dict[str, Any], n: int, runs: int) -> str:
    lines = [
        f"# Client benchmark: {n} requests per step, median of {runs} interleaved runs",
        "",
        "| step | aios3fm wall s | aioboto3+gather wall s | ratio | aios3fm CPU ms/req |"
        " aioboto3 CPU ms/req |",
        "|---|---|---|---|---|---|",
    ]
    for step, row in table.items():
        a, b = row["aios3fm"], row["aioboto3+gather"]
        lines.append(
            f"| {step} | {a['wall_s']:.3f} | {b['wall_s']:.3f} | {row['ratio_wall']:.2f} |"
            f" {a['cpu_ms_per_request']:.2f} | {b['cpu_ms_per_request']:.2f} |"
        )
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "client.md").write_text(text)
    (RESULTS / "client.json").write_text(json.dumps(table, indent=2) + "\n")
    return text


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from .peers import pin

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with server_process() as server:
        print(f"client benchmark: {pin(server)}", flush=True)
        table = aios3fm.run(run(server.endpoint_url, server.environ, args.requests, args.runs))
    print(write(table, args.requests, args.runs))
    return table


if __name__ == "__main__":
    main()
