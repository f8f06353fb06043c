"""CLI start-up: whole commands as a user runs them, aios3fm beside the aws cli and s5cmd.

Commands: ``aios3fm --help``, ``aios3fm --version`` and ``aios3fm ls s3://BUCKET/``, and in
the same run ``aws --version``, ``aws s3 ls``, ``s5cmd version`` and ``s5cmd ls`` (a peer
that is not installed is skipped with a note). Each run of a command is a new process (a
fresh interpreter for the Python CLIs) started from the venv's bin directory with the
server's credentials in its environment; its wall time is from spawn to exit. The ``ls``
commands list a bucket of a few objects on ``python -m aios3fm server`` (one
ListObjectsV2, counted by the server). Server pinned to core 0, commands to core 1, as in
the peers benchmark. Rounds interleave the commands and the order flips every round; two
warm-up rounds (bytecode caches, page cache) are not counted. Per command: median, min and
max wall seconds of ``--runs`` rounds, the median client CPU, and the goals of the issue:
``aios3fm --help`` and ``--version`` <= 0.15 s, a one-request ``ls`` <= 0.35 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aios3fm
from aios3fm import FileManager
from aios3fm._server import ServerProcess, server_process

from .client import settings_for
from .results import save

BIN = Path(sys.executable).parent
BUCKET = "startup"
OBJECTS = 5
WARMUP = 2
GOALS = {"aios3fm --help": 0.15, "aios3fm --version": 0.15, "aios3fm ls": 0.35}
"""Seconds, median wall time: the figures the start-up issue asks for."""


@dataclass
class Command:
    name: str
    """Its short name: the key of ``GOALS`` and of the rows."""
    argv: list[str]
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    requests: list[dict[str, int]] = field(default_factory=list)


def executable(name: str) -> str | None:
    """The venv's own copy first (the extras install them there), then PATH."""
    return shutil.which(name, path=str(BIN)) or shutil.which(name)


def commands(endpoint: str) -> tuple[list[Command], list[str]]:
    """The commands found on this machine, and a note for each peer skipped."""
    found: list[Command] = []
    skipped: list[str] = []
    target = f"s3://{BUCKET}/"
    ours = executable("aios3fm")
    if ours is None:
        raise RuntimeError("no aios3fm executable: install the package (make install)")
    found += [
        Command("aios3fm --help", [ours, "--help"]),
        Command("aios3fm --version", [ours, "--version"]),
        Command("aios3fm ls", [ours, "ls", target]),  # the endpoint from AWS_ENDPOINT_URL
    ]
    aws = executable("aws")
    if aws is None:
        skipped.append("aws cli: not installed, skipped")
    else:
        found += [
            Command("aws --version", [aws, "--version"]),
            Command("aws s3 ls", [aws, "s3", "ls", target, "--endpoint-url", endpoint]),
        ]
    s5cmd = executable("s5cmd")
    if s5cmd is None:
        skipped.append("s5cmd: not installed, skipped")
    else:
        found += [
            Command("s5cmd version", [s5cmd, "version"]),
            Command("s5cmd ls", [s5cmd, "--endpoint-url", endpoint, "ls", target]),
        ]
    return found, skipped


def environment(server: ServerProcess, home: Path) -> dict[str, str]:
    """The server's credentials, and no configuration from this machine's home."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        **server.environ,
    }


def measure(command: Command, server: ServerProcess, env: dict[str, str], cwd: Path) -> None:
    """One run of ``command``: wall seconds, its CPU seconds, the requests it sent."""
    server.reset_requests()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command.argv, env=env, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(
            f"{command.name} failed ({done.returncode}): {done.stderr.decode()[-400:]}"
        )
    command.walls.append(wall)
    command.cpus.append((after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime))
    command.requests.append(server.requests())


async def seed(server: ServerProcess) -> None:
    """The bucket the ``ls`` commands list: a few small objects, no prefixes."""
    async with FileManager(settings=settings_for(server.endpoint_url, server.environ)) as fm:
        await fm.make_bucket(BUCKET)
        for i in range(OBJECTS):
            await fm.write_bytes(f"s3://{BUCKET}/object-{i}.txt", b"x" * 100)


def run(server: ServerProcess, found: list[Command], runs: int, warmup: int) -> None:
    with tempfile.TemporaryDirectory(prefix="aios3fm-startup-") as tmp:
        env = environment(server, Path(tmp))
        for round_number in range(warmup + runs):
            order = found if round_number % 2 == 0 else list(reversed(found))
            for command in order:
                measure(command, server, env, Path(tmp))
        for command in found:  # the warm-up rounds are not counted
            del command.walls[:warmup], command.cpus[:warmup], command.requests[:warmup]


def summarize(found: list[Command], endpoint: str) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for command in found:
        shown = [Path(command.argv[0]).name, *command.argv[1:]]
        median = statistics.median(command.walls)
        goal = GOALS.get(command.name)
        requests = command.requests[0]
        rows[command.name] = {
            "argv": ["ENDPOINT" if a == endpoint else a for a in shown],
            "median_s": median,
            "min_s": min(command.walls),
            "max_s": max(command.walls),
            "cpu_s": statistics.median(command.cpus),
            "requests": dict(sorted(requests.items())),
            "same_requests_every_run": all(r == requests for r in command.requests),
            "runs": len(command.walls),
            "goal_s": goal,
            "met": None if goal is None else median <= goal,
        }
    return rows


def version(argv: list[str]) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if done.returncode == 0 and text else "?"


def write(rows: dict[str, Any], header: dict[str, Any]) -> str:
    lines = [
        "# CLI start-up: whole commands, fresh process each run",
        "",
        f"Median of {header['runs']} interleaved runs after {header['warmup']} warm-up"
        f" runs; {header['pinning']}. Wall seconds from spawn to exit, as a user runs the"
        f" command; `ls` lists a bucket of {OBJECTS} objects on `python -m aios3fm server`"
        " (moto) on 127.0.0.1 (ENDPOINT); requests are counted by the server. Load average"
        f" before the run: {header['load_before']:.2f}.",
        "",
        *(f"- {note}" for note in header["skipped"]),
        f"- versions: {', '.join(f'{k} {v}' for k, v in header['versions'].items())}",
        "",
        "| command | median s | min s | max s | client CPU s | requests | goal | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows.values():
        requests = ", ".join(f"{op} {n}" for op, n in row["requests"].items()) or "0"
        if not row["same_requests_every_run"]:
            requests += " (varied)"
        goal = "-" if row["goal_s"] is None else f"<= {row['goal_s']:.2f} s"
        met = "-" if row["met"] is None else ("yes" if row["met"] else "no")
        lines.append(
            f"| `{' '.join(row['argv'])}` | {row['median_s']:.3f} | {row['min_s']:.3f} |"
            f" {row['max_s']:.3f} | {row['cpu_s']:.3f} | {requests} | {goal} | {met} |"
        )
    text = "\n".join(lines) + "\n"
    save("startup", text, {**header, "rows": rows})
    return text


def main(argv: list[str] | None = None) -> dict[str, Any]:
    from .peers import pin

    parser = argparse.ArgumentParser(description="CLI start-up against aws cli and s5cmd")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]  # other work on the machine skews start-up times most
    with server_process() as server:
        pinning = pin(server)
        print(f"startup benchmark: {pinning}", flush=True)
        aios3fm.run(seed(server))
        found, skipped = commands(server.endpoint_url)
        run(server, found, args.runs, args.warmup)
    rows = summarize(found, server.endpoint_url)
    versions = {}
    for command in found:
        if "version" in command.name:
            tool = command.name.split()[0]
            versions[tool] = version(command.argv).removeprefix(f"{tool} ")
    versions["python"] = sys.version.split()[0]
    header = {
        "runs": args.runs,
        "warmup": args.warmup,
        "pinning": pinning,
        "load_before": load,
        "skipped": skipped,
        "versions": versions,
    }
    print(write(rows, header))
    return rows


if __name__ == "__main__":
    main()
