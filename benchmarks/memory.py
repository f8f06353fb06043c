"""Peak client memory of an S3->S3 copy of N objects (server in its own process).

Run as ``python -m benchmarks.memory``: each size runs in a fresh process, whose peak
RSS growth across the copy alone is reported (Linux: VmHWM reset through clear_refs).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

from aios3fm import FileManager
from aios3fm._server import server_process

from .client import settings_for
from .results import save

SIZES = (2_000, 20_000)


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to the current RSS


async def measure(endpoint: str, env: dict[str, str], n: int) -> dict[str, float]:
    async with FileManager(settings=settings_for(endpoint, env)) as fm:
        await fm.make_bucket("mem")
        sem = asyncio.Semaphore(64)

        async def put(i: int) -> None:
            async with sem:
                await fm.client.put("mem", f"src/d{i % 100}/o{i:06d}", b"x" * 100)

        await asyncio.gather(*(put(i) for i in range(n)))
        fm.cache.clear()
        _reset_peak()
        before = _status("VmRSS")
        tracemalloc.start()
        result = await fm.copy("s3://mem/src/", "s3://mem/dst/")
        traced_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        peak = _status("VmHWM")
        assert result.objects == n, result.failed[:3]
    return {
        "objects": n,
        "rss_before_mib": before / 2**20,
        "peak_growth_mib": (peak - before) / 2**20,
        "traced_peak_mib": traced_peak / 2**20,
    }


async def measure_archive(endpoint: str, env: dict[str, str], mib: int) -> dict[str, float]:
    """A tar.gz of ``mib`` MiB of S3 objects (10 MiB each, random), written to S3."""
    async with FileManager(settings=settings_for(endpoint, env)) as fm:
        await fm.make_bucket("arch")
        for i in range(mib // 10):
            await fm.client.put("arch", f"src/part-{i:03d}.bin", os.urandom(10 * 2**20))
        _reset_peak()
        before = _status("VmRSS")
        calls = dict(fm.client.api_calls)
        result = await fm.create_archive("s3://arch/src/", "s3://arch/out.tar.gz")
        peak = _status("VmHWM")
        parts = fm.client.api_calls["UploadPart"] - calls.get("UploadPart", 0)
        assert result.objects == mib // 10, result.failed[:3]
    return {"archive_mib": mib, "peak_growth_mib": (peak - before) / 2**20, "upload_parts": parts}


def child(n: int) -> None:
    env = json.loads(sys.argv[3])
    if n < 0:  # an archive of -n MiB
        print(json.dumps(asyncio.run(measure_archive(sys.argv[2], env, -n))))
        return
    print(json.dumps(asyncio.run(measure(sys.argv[2], env, n))))


def main() -> None:
    rows = []
    with server_process() as server:
        for n in (*SIZES, -300):
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.memory", str(n), server.endpoint_url,
                 json.dumps(server.environ)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    lines = [
        "# Peak client memory of an S3->S3 copy",
        "",
        "| objects | peak RSS growth MiB | peak Python allocations during the copy MiB |",
        "|---|---|---|",
    ]
    lines += [
        f"| {r['objects']:,} | {r['peak_growth_mib']:.1f} | {r['traced_peak_mib']:.1f} |"
        for r in rows
        if "objects" in r
    ]
    for r in rows:
        if "archive_mib" in r:
            lines += [
                "",
                f"A {r['archive_mib']} MiB tar.gz of S3 objects written to S3: peak RSS growth "
                f"{r['peak_growth_mib']:.1f} MiB, {r['upload_parts']} UploadPart calls.",
            ]
    text = "\n".join(lines) + "\n"
    save("memory", text, rows)
    print(text)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        child(int(sys.argv[1]))
    else:
        main()
