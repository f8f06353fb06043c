"""Fault soak: 5,000 objects (multipart members among them) through upload, S3->S3 move and
download while the server fails half of all requests, every fault kind mixed in.

Run as ``python -m benchmarks.faults`` (part of ``make bench``). Each step runs once at
50 % faults and is then re-run with ``conflict="skip"`` (still at 50 %) until no item
fails, as a user re-runs a job; then, faults off, every object is read back and compared
byte for byte, every source of a move must be gone, and no multipart upload may be left
open. The figures (items failed on the first pass, passes needed, requests, faults,
objects lost, uploads orphaned) go to ``benchmarks/results/faults.md``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

import anyio

from aios3fm import EmbeddedS3, FileManager, MiB, OperationResult, Settings, TransientError

from .results import save

SMALL = 4_980
LARGE = 20  # 12 MiB each: three parts of 5 MiB
RATE = 0.5
MAX_PASSES = 30
BUCKET = "soak"
Conflict = Literal["overwrite", "skip"]


def files(root: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under ``root``."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def make_tree(root: Path) -> None:
    for i in range(SMALL):
        directory = root / f"d{i % 50:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"f{i:05d}.bin").write_bytes(os.urandom(64 + i % 512))
    (root / "large").mkdir()
    for i in range(LARGE):
        (root / "large" / f"L{i:02d}.bin").write_bytes(os.urandom(12 * MiB))


async def until_done(
    s3: EmbeddedS3, step: Callable[[Conflict], Awaitable[OperationResult]]
) -> dict[str, Any]:
    """Run ``step`` at RATE faults, then again with skip until nothing fails."""
    first: OperationResult | None = None
    requests = faults = raised = 0
    started = time.monotonic()
    passes = 0
    result: OperationResult | None = None
    while passes < MAX_PASSES:
        passes += 1
        before_requests, before_faults = s3.total_requests, sum(s3.faults_injected.values())
        try:
            result = await step("overwrite" if first is None else "skip")
        except TransientError:  # a listing failed for good before any item began
            result = None
            raised += 1
        requests += s3.total_requests - before_requests
        faults += sum(s3.faults_injected.values()) - before_faults
        first = first or result
        if result is not None and not result.counts["failed"]:
            break
    assert first is not None
    return {
        "first_pass_done": first.counts["done"],
        "first_pass_failed": first.counts["failed"],
        "passes": passes,
        "passes_that_raised": raised,
        "finished": result is not None and not result.counts["failed"],
        "requests": requests,
        "faults": faults,
        "seconds": round(time.monotonic() - started, 1),
    }


async def soak() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="aios3fm-soak-") as tmp, EmbeddedS3() as s3:
        root = Path(tmp)
        await anyio.to_thread.run_sync(make_tree, root / "src")
        truth = await anyio.to_thread.run_sync(files, root / "src")
        settings = Settings(
            endpoint_url=s3.endpoint_url,
            access_key_id=s3.credentials.access_key_id,
            secret_access_key=s3.credentials.secret_access_key,
            region="us-east-1",
            multipart_threshold=8 * MiB,
            multipart_chunksize=5 * MiB,
            max_attempts=4,
            retry_base_delay=0.01,
            retry_max_delay=0.2,
            read_timeout=5.0,
        )
        steps: dict[str, dict[str, Any]] = {}
        async with FileManager(settings=settings) as fm:
            await fm.make_bucket(BUCKET)
            s3.seed_faults(19)
            s3.faults = ("500", "503", "drop", "spike", "lost", "cut")
            s3.spike_seconds = 0.05
            s3.fail_rate = RATE
            try:
                steps["upload (local -> S3)"] = await until_done(
                    s3, lambda c: fm.copy(root / "src", f"s3://{BUCKET}/up/", conflict=c)
                )
                steps["move (S3 -> S3)"] = await until_done(
                    s3,
                    lambda c: fm.move(f"s3://{BUCKET}/up/src", f"s3://{BUCKET}/moved/", conflict=c),
                )
                steps["move (S3 -> local)"] = await until_done(
                    s3, lambda c: fm.move(f"s3://{BUCKET}/moved/src", root / "back", conflict=c)
                )
            finally:
                s3.fail_rate = 0.0
            back = await anyio.to_thread.run_sync(files, root / "back" / "src")
            left = [o.key async for page in fm.client.list_tree(BUCKET, "") for o in page]
            orphans = await fm.client.list_multipart_uploads(BUCKET)
        lost = sorted(set(truth) - set(back))
        corrupt = sorted(k for k in truth.keys() & back.keys() if truth[k] != back[k])
        return {
            "objects": SMALL + LARGE,
            "multipart_members": LARGE,
            "fault_rate": RATE,
            "steps": steps,
            "objects_lost": len(lost),
            "objects_corrupt": len(corrupt),
            "extra_files": len(set(back) - set(truth)),
            "s3_objects_left": len(left),
            "orphaned_uploads": len(orphans),
        }


def main() -> dict[str, Any]:
    row = anyio.run(soak)
    lines = [
        f"# Fault soak: {row['objects']:,} objects ({row['multipart_members']} multipart) at "
        f"{row['fault_rate']:.0%} faults (500, 503, drop, spike, lost answer, cut body)",
        "",
        "| step | done on the first pass | failed on the first pass | passes to finish "
        "(of which raised) | requests | faults injected | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in row["steps"].items():
        passes = s["passes"] if s["finished"] else f"not after {s['passes']}"
        passes = f"{passes} ({s['passes_that_raised']})"
        lines.append(
            f"| {name} | {s['first_pass_done']:,} | {s['first_pass_failed']:,} | {passes} | "
            f"{s['requests']:,} | {s['faults']:,} | {s['seconds']} |"
        )
    lines += [
        "",
        f"Afterwards, faults off: {row['objects_lost']} objects lost, {row['objects_corrupt']} "
        f"differing from the original, {row['extra_files']} extra files, "
        f"{row['s3_objects_left']} sources left on S3 after the moves, "
        f"{row['orphaned_uploads']} multipart uploads left open.",
    ]
    text = "\n".join(lines) + "\n"
    save("faults", text, row)
    print(text)
    return row


if __name__ == "__main__":
    main()
