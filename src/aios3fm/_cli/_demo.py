"""What ``make demo`` shows: the product end to end on an embedded S3 server."""

from __future__ import annotations

import time
from collections.abc import Mapping

import anyio

from .._fs import FileManager
from .._models import OperationResult
from .._server import EmbeddedS3
from ._output import Output


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
                body = f"object {n}\n".encode() * (n % 40 + 1)
                tg.start_soon(client.put, "demo-bucket", key, body)
        print(f"uploaded {len(keys)} objects concurrently (concurrency {fm.settings.concurrency})")

        def calls() -> int:
            return fm.statistics().total_api_calls

        before = calls()
        root = await fm.listdir("s3://demo-bucket/demo/")
        print(f"\ncold listing of s3://demo-bucket/demo/: {calls() - before} API call(s)")
        for entry in root:
            name, size = (entry.name + "/", "DIR") if entry.is_dir else (entry.name, entry.size)
            print(f"  {name:<30} {size}")
        before = calls()
        await fm.listdir("s3://demo-bucket/demo/")
        print(f"warm listing: {calls() - before} API calls (served from the cache)")

        docs = await fm.listdir("s3://demo-bucket/demo/docs/")
        before = calls()
        for entry in docs:
            await fm.stat(entry.location)
        print(
            f"stat of all {len(docs)} files in docs/ after listing it: {calls() - before} API calls"
        )

        await client.put("demo-bucket", "demo/hot.txt", b"hot")
        fm.cache.invalidate_key("demo-bucket", "demo/hot.txt")
        before = calls()
        async with anyio.create_task_group() as tg:
            for _ in range(200):
                tg.start_soon(fm.stat, "s3://demo-bucket/demo/hot.txt")
        print(f"200 concurrent stats of a new key: {calls() - before} API call (single-flight)")
        names = [e.name for e in await fm.listdir("s3://demo-bucket/demo/")]
        print(f"listing right after that write shows it: {'hot.txt' in names}")

        def report(title: str, result: OperationResult) -> None:
            cost = ", ".join(f"{n} {op}" for op, n in result.api_calls.items())
            print(f"{title}: {result.objects} objects, {len(result.failed)} failed; {cost}")

        bucket = "s3://demo-bucket/"
        bars = Output(as_json=False, quiet=False, progress=True)  # drawn on a terminal only
        with bars.bar("copy") as progress:
            copied = await fm.copy(bucket + "demo/", bucket + "backup/", progress=progress)
        report("copy demo/ -> backup/ (server-side)", copied)
        with bars.bar("move") as progress:
            moved = await fm.move(
                bucket + "backup/demo/docs", bucket + "archive/", progress=progress
            )
        report("move backup/demo/docs -> archive/", moved)
        with bars.bar("delete") as progress:
            deleted = await fm.delete(bucket + "backup/", progress=progress)
        report("delete backup/", deleted)
        report(
            "archive demo/logs -> logs.tar.gz",
            await fm.create_archive(bucket + "demo/logs", bucket + "archive/logs.tar.gz"),
        )
        report(
            "extract logs.tar.gz -> restored/",
            await fm.extract_archive(bucket + "archive/logs.tar.gz", bucket + "restored/"),
        )
        top = [e.name for e in await fm.listdir("s3://demo-bucket/")]
        fresh = top == ["archive", "demo", "restored"]
        print(f"listing of the bucket right after: {top} (fresh: {fresh})")

        total_objects = 0
        total_bytes = 0
        async for page in client.list_tree("demo-bucket", "demo/"):
            total_objects += len(page)
            total_bytes += sum(o.size for o in page)
        print(f"recursive listing: {total_objects} objects, {total_bytes} bytes")

        stats = fm.statistics()
        print()
        print(_table("API calls made by the client:", stats.api_calls))
        print(_table("requests counted by the server:", s3.requests))
        cache = stats.cache
        print(
            f"cache: {cache.entries} entries, {cache.hits} hits, {cache.misses} misses, "
            f"{cache.coalesced} coalesced waits, {cache.invalidations} invalidations"
        )
        inv = stats.invalidator
        print(f"invalidator: {inv.events} change events applied in {inv.batches} batches")
        agree = "agree" if dict(stats.requests_sent) == s3.requests else "DIFFER"
        print(f"client and server counts {agree}; took {time.perf_counter() - started:.2f} s")
        return 0 if agree == "agree" else 1
