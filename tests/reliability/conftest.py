"""The reliability suite's shared pieces: settings that retry fast, seeded objects, and a
ledger of what the suite did, printed at the end of the run (the figures of issue 9)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, fields

import anyio
import pytest

from aios3fm import EmbeddedS3, FileManager, Settings

from ..conftest import make_settings

BKT = "reliability"


@dataclass
class Ledger:
    faults_injected: int = 0
    operations_run: int = 0
    objects_verified: int = 0
    items_reported_failed: int = 0
    bad_inputs_tried: int = 0
    bytes_written_outside: int = 0


LEDGER = Ledger()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if LEDGER.operations_run or LEDGER.bad_inputs_tried:
        figures = ", ".join(f"{f.name.replace('_', ' ')} {getattr(LEDGER, f.name)}"
                            for f in fields(LEDGER))  # fmt: skip
        terminalreporter.write_line(f"reliability: {figures}")


def fast_retries(s3: EmbeddedS3, **overrides: object) -> Settings:
    """3 attempts with short backoff: faults at 30 % leave a few items failed, which is
    what the suite wants to see reported exactly."""
    return make_settings(s3, max_attempts=3, retry_base_delay=0.01, retry_max_delay=0.2).replace(
        **overrides
    )


def body(i: int) -> bytes:
    """Distinct, checkable contents of 32 B to 1.6 KiB."""
    return hashlib.sha256(b"%d" % i).digest() * (1 + i % 50)


def u(key: str = "") -> str:
    return f"s3://{BKT}/{key}"


@pytest.fixture
async def rfm(s3: EmbeddedS3) -> AsyncIterator[FileManager]:
    async with FileManager(settings=fast_retries(s3)) as fm:
        await fm.make_bucket(BKT)
        yield fm


async def put_objects(fm: FileManager, objects: dict[str, bytes]) -> None:
    limit = anyio.Semaphore(64)

    async def put(key: str, data: bytes) -> None:
        async with limit:
            await fm.client.put(BKT, key, data)

    async with anyio.create_task_group() as tg:
        for key, data in objects.items():
            tg.start_soon(put, key, data)


async def stored(fm: FileManager, prefix: str) -> dict[str, bytes]:
    """Every object under ``prefix`` with its bytes, read from the server."""
    keys = [o.key async for page in fm.client.list_tree(BKT, prefix) for o in page]
    contents: dict[str, bytes] = {}
    limit = anyio.Semaphore(64)

    async def get(key: str) -> None:
        async with limit:
            contents[key] = await fm.client.get_bytes(BKT, key)

    async with anyio.create_task_group() as tg:
        for key in keys:
            tg.start_soon(get, key)
    return contents
