"""What ``make demo`` shows: the product end to end on an embedded S3 server."""

from __future__ import annotations

import time
from collections.abc import Mapping

import anyio

from ._embedded import EmbeddedS3
from ._manager import FileManager


def _table(title: str, counts: Mapping[str, int]) -> str:
    rows = [f"  {name:<24}{count:>8}" for name, count in sorted(counts.items())]
    total = f"  {'total':<24}{sum(counts.values()):>8}"
    return "\n".join([title, *rows, total])


def _sample_keys(files: int) -> list[str]:
    """A nested tree: docs/, logs/<year>/<month>/, images/ ..."""
    keys = []
    for i in range(files):
        match i % 3:
            case 0:
                keys.append(f"demo/docs/report-{i:04d}.txt")
            case 1:
                keys.append(f"demo/logs/2026/{i % 12 + 1:02d}/app-{i:04d}.log")
            case _:
                keys.append(f"demo/images/café ünïcode/img {i:04d}.raw")
    return keys


async def demo(*, files: int = 60) -> int:
    started = time.perf_counter()
    async with EmbeddedS3() as s3, FileManager(endpoint_url=s3.endpoint_url) as fm:
        print(f"EmbeddedS3 serving on {s3.endpoint_url}")
        client = fm.client
        await fm.make_bucket("demo-bucket")
        keys = _sample_keys(files)
        async with anyio.create_task_group() as tg:
            for n, key in enumerate(keys):
                tg.start_soon(client.put, "demo-bucket", key, f"object {n}\n".encode() * (n + 1))
        print(f"uploaded {len(keys)} objects concurrently (concurrency {fm.settings.concurrency})")

        root = await client.list_dir("demo-bucket", "demo/")
        print("\ns3://demo-bucket/demo/")
        for prefix in root.dirs:
            print(f"  {prefix.removeprefix('demo/'):<30} DIR")
        total_bytes = 0
        total_objects = 0
        async for page in client.list_tree("demo-bucket", "demo/"):
            total_objects += len(page)
            total_bytes += sum(o.size for o in page)
        print(f"recursive listing: {total_objects} objects, {total_bytes} bytes")

        stats = fm.statistics()
        print()
        print(_table("API calls made by the client:", stats.api_calls))
        print(_table("requests counted by the server:", s3.requests))
        agree = "agree" if dict(stats.requests_sent) == s3.requests else "DIFFER"
        print(f"client and server counts {agree}; took {time.perf_counter() - started:.2f} s")
        return 0 if agree == "agree" else 1
