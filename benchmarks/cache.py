"""Cache micro-benchmarks: a stat served from a cached listing (against an uncached HEAD
measured in the same run) and invalidate_key cost as the store grows from 1e3 to 1e6."""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from typing import Any

from aios3fm import DirListing, EmbeddedS3, FileManager, ObjectInfo, Settings
from aios3fm._cache import CacheStore

from .results import save

SIZES = (1_000, 100_000, 1_000_000)


async def stat_costs(files: int = 1000, rounds: int = 20) -> dict[str, float]:
    s3 = EmbeddedS3()
    async with s3, FileManager(settings=Settings(endpoint_url=s3.endpoint_url)) as fm:
        await fm.make_bucket("bench")
        await asyncio.gather(*(fm.client.put("bench", f"d/{i}", b"x") for i in range(files)))
        await fm.listdir("s3://bench/d/")
        locations = [f"s3://bench/d/{i}" for i in range(files)]
        calls_before = fm.statistics().total_api_calls
        hit_samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            for location in locations:
                await fm.stat(location)
            hit_samples.append((time.perf_counter() - start) / files)
        assert fm.statistics().total_api_calls == calls_before  # every stat was a hit
        head_samples = []
        for i in range(200):
            start = time.perf_counter()
            await fm.client.head("bench", f"d/{i}")
            head_samples.append(time.perf_counter() - start)
    hit = statistics.median(hit_samples) * 1e6
    head = statistics.median(head_samples) * 1e6
    return {"stat_hit_us": hit, "head_us": head, "ratio": hit / head}


def filled_store(entries: int) -> CacheStore:
    store = CacheStore(max_entries=entries + 1000, ttl=3600)
    per_listing = 100
    for d in range(entries // per_listing):
        prefix = f"dir{d:07d}/"
        files = tuple(
            ObjectInfo("bench", f"{prefix}f{i}", 1, 0.0, "e", False) for i in range(per_listing)
        )
        store.put_listing("bench", DirListing("bench", prefix, files, ()), store.begin_fill())
    return store


def invalidate_cost(entries: int, repeats: int = 2000) -> float:
    store = filled_store(entries)
    prefix = "dir0000003/"
    value = store.get_listing("bench", prefix)
    assert isinstance(value, DirListing)
    samples = []
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            removed = store.invalidate_key("bench", prefix + "f7")
            samples.append(time.perf_counter() - start)
            assert removed == 100
            store.put_listing("bench", value, store.begin_fill())
    finally:
        gc.enable()
    return statistics.median(samples) * 1e6


async def single_flight(waiters: int = 200, rounds: int = 20) -> dict[str, float]:
    """``waiters`` concurrent stats of one cold key: requests sent, and the wall time
    against one lone stat of a cold key (the coalescing costs next to nothing)."""
    s3 = EmbeddedS3()
    async with s3, FileManager(settings=Settings(endpoint_url=s3.endpoint_url)) as fm:
        await fm.make_bucket("bench")
        crowd, lone, heads = [], [], []
        for r in range(rounds):
            await fm.client.put("bench", f"k{r}", b"x")
            await fm.client.put("bench", f"lone{r}", b"x")
            before = s3.requests.get("HeadObject", 0)
            start = time.perf_counter()
            await asyncio.gather(*(fm.stat(f"s3://bench/k{r}") for _ in range(waiters)))
            crowd.append(time.perf_counter() - start)
            heads.append(s3.requests.get("HeadObject", 0) - before)
            start = time.perf_counter()
            await fm.stat(f"s3://bench/lone{r}")
            lone.append(time.perf_counter() - start)
    return {
        "waiters": waiters,
        "head_requests": max(heads),
        "crowd_ms": statistics.median(crowd) * 1e3,
        "lone_ms": statistics.median(lone) * 1e3,
    }


def main() -> dict[str, Any]:
    stat = asyncio.run(stat_costs())
    flight = asyncio.run(single_flight())
    invalidate = {str(n): invalidate_cost(n) for n in SIZES}
    flatness = invalidate[str(SIZES[-1])] / invalidate[str(SIZES[0])]
    result = {
        "stat": stat,
        "invalidate_key_us": invalidate,
        "invalidate_1e6_over_1e3": flatness,
        "single_flight": flight,
    }
    lines = [
        "# Cache micro-benchmarks",
        "",
        "| measure | value |",
        "|---|---|",
        f"| stat served from a cached listing | {stat['stat_hit_us']:.1f} µs |",
        f"| uncached HeadObject on loopback (peer) | {stat['head_us']:.0f} µs |",
        f"| ratio hit / HEAD | {stat['ratio']:.4f} |",
        *(
            f"| invalidate_key, {int(n):,} entries (drops a 100-child listing) | {us:.1f} µs |"
            for n, us in invalidate.items()
        ),
        f"| invalidate_key cost 1e6 / 1e3 | {flatness:.2f} |",
        f"| {flight['waiters']} concurrent stats of one cold key: HeadObject sent |"
        f" {flight['head_requests']} |",
        f"| ... their wall time against one lone stat | {flight['crowd_ms']:.1f} ms /"
        f" {flight['lone_ms']:.1f} ms |",
    ]
    text = "\n".join(lines) + "\n"
    save("cache", text, result)
    print(text)
    return result


if __name__ == "__main__":
    main()
