"""The reliability suite's shared pieces: settings that retry fast, seeded objects, and a
ledger of what the suite did, printed at the end of the run (the figures of issue 9)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, fields

import anyio
import pytest

from aios3fm import EmbeddedS3, FileManager, Settings

from ..conftest import BUCKET, make_settings

FAST_RETRIES: Mapping[str, object] = {
    "max_attempts": 3, "retry_base_delay": 0.01, "retry_max_delay": 0.2,
}  # fmt: skip


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


@pytest.fixture
def settings_overrides() -> Mapping[str, object]:
    """3 attempts with short backoff: faults at 30 % leave a few items failed, which is
    what the suite wants to see reported exactly."""
    return FAST_RETRIES


def fast_retries(s3: EmbeddedS3, **overrides: object) -> Settings:
    """The same settings, for a test that opens a FileManager of its own."""
    return make_settings(s3, **FAST_RETRIES).replace(**overrides)


def body(i: int) -> bytes:
    """Distinct, checkable contents of 32 B to 1.6 KiB."""
    return hashlib.sha256(b"%d" % i).digest() * (1 + i % 50)


async def stored(fm: FileManager, prefix: str) -> dict[str, bytes]:
    """Every object under ``prefix`` with its bytes, read from the server."""
    keys = [o.key async for page in fm.client.list_tree(BUCKET, prefix) for o in page]
    contents: dict[str, bytes] = {}
    limit = anyio.Semaphore(64)

    async def get(key: str) -> None:
        async with limit:
            contents[key] = await fm.client.get_bytes(BUCKET, key)

    async with anyio.create_task_group() as tg:
        for key in keys:
            tg.start_soon(get, key)
    return contents
