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

Modules: ``tools`` (one ``Tool`` per peer), ``run`` (contexts, measuring, rounds, pinning)
and ``report`` (medians, tables, goals, chart, README). ``python -m benchmarks.peers
--scale 0.05`` is a quick try.
"""

from __future__ import annotations

import sys
from typing import Any

import aios3fm
from aios3fm._server import server_process

from .report import summarize, write
from .run import pin, run_all, subprocess_version
from .tools import BIN, all_tools

__all__ = ["main", "pin"]


def main(runs: int = 3, micro: dict[str, Any] | None = None) -> dict[str, Any]:
    micro = micro or {}
    with server_process() as server:
        pinning = pin(server)
        print(f"peers benchmark: {pinning}", flush=True)
        tools, skipped = all_tools()
        aios3fm.run(run_all(server, tools, runs))
    rows = summarize(tools)
    versions = {
        "aws cli": subprocess_version([str(BIN / "aws"), "--version"]),
        "s5cmd": subprocess_version([str(BIN / "s5cmd"), "version"]),
        "python": sys.version.split()[0],
    }
    text = write(rows, tools, skipped, micro, pinning, runs, versions)
    print(text)
    return rows
