"""Randomized: operations one after another, readers all around them, answers held back
at random so that calls span operations. Every read must equal what S3 held at some
moment between the read's start and its end: it may see an operation still in progress,
never the state before one that returned before it started.

Operations change one key each (write, overwrite, remove, create, mkdir, rmdir, delete,
copy), so the states S0, S1, ... between them are exact; S_i is read with boto3 after
operation i returns. A read that started when k operations had returned and ended when m
had begun may equal S_k ... S_m and nothing else. Seeded, so a failure replays.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
import anyio.lowlevel
import pytest

from aios3fm import EmbeddedS3, FileManager

from ..conftest import BUCKET, u
from .conftest import LEDGER
from .truth import (
    Answer,
    Truth,
    fm_listdir,
    fm_stat,
    truth_listdir,
    truth_stat,
)

DIRS = ["", "a/", "a/b/", "c/"]
FILES = [*(d + n for d in DIRS for n in ("x", "y")), "a/b", "c"]
PATHS = [*FILES, "a", "a/b", "c", "none", "a/none"]
STEPS = 120


@dataclass
class Observed:
    kind: str
    path: str
    started_after: int
    """Operations that had returned when the read started."""
    answer: Answer = None
    ended_before: int = -1
    """Operations that had begun when the read ended."""


def _reads(fm: FileManager) -> dict[str, Callable[[str], Awaitable[Answer]]]:
    return {
        "stat": lambda p: fm_stat(fm, u(p)),
        "exists": lambda p: fm.exists(u(p)),
        "is_file": lambda p: fm.is_file(u(p)),
        "is_dir": lambda p: fm.is_dir(u(p)),
        "listdir": lambda p: fm_listdir(fm, u(p)),
    }


def _expected(kind: str, path: str, keys: dict[str, int]) -> Answer:
    if kind == "listdir":
        return truth_listdir(keys, path)
    found = truth_stat(keys, path)
    if kind == "stat":
        return found
    if kind == "exists":
        return found != ("missing",)
    if kind == "is_file":
        return found[0] == "file"
    return truth_stat(keys, path.rstrip("/") + "/") == ("dir",)


@dataclass(frozen=True)
class Operation:
    choice: int
    key: str
    directory: str

    @property
    def touched(self) -> list[tuple[str, str]]:
        """The reads whose answer this operation can change."""
        parent = self.key.rpartition("/")[0] + "/" if "/" in self.key else ""
        return [
            ("stat", self.key), ("exists", self.key), ("is_file", self.key),
            ("listdir", parent), ("is_dir", self.directory), ("listdir", self.directory),
            ("exists", self.directory.rstrip("/")),
        ]  # fmt: skip

    async def run(self, fm: FileManager, rng: random.Random) -> None:
        """Changes at most one key; one the state does not allow changes nothing."""
        key, directory = self.key, self.directory
        try:
            if self.choice <= 1:
                await fm.write_bytes(u(key), key.encode() * rng.randint(0, 3))
            elif self.choice == 2:
                await fm.remove(u(key))
            elif self.choice == 3:
                await fm.create_file(u(key), exist_ok=True)
            elif self.choice == 4:
                await fm.create_directory(u(directory), exist_ok=True)
            elif self.choice == 5:
                await fm.rmdir(u(directory))
            elif self.choice == 6:
                await fm.delete([u(key)])
            else:
                await fm.copy([u(key)], u(directory))
        except OSError:  # FileNotFound, FileExists, IsADirectory, NotADirectory, NotEmpty
            pass


HELD_BY = {"stat": "HeadObject", "exists": "HeadObject", "is_file": "HeadObject",
           "is_dir": "ListObjectsV2", "listdir": "ListObjectsV2"}  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_no_read_contradicts_the_operations_before_it(
    s3: EmbeddedS3, fm: FileManager, bucket: str, seed: int
) -> None:
    rng = random.Random(seed)
    oracle = Truth(s3)
    reads = _reads(fm)
    states = [await oracle.objects(BUCKET)]
    returned = began = 0
    observed: list[Observed] = []

    async def reader(kind: str, path: str) -> None:
        seen = Observed(kind, path, returned)
        observed.append(seen)
        seen.answer = await reads[kind](path)
        seen.ended_before = began

    async def spawn(tg: anyio.abc.TaskGroup, count: int, near: Operation) -> None:
        """Readers, mostly of what ``near`` touches; some answered late, so that their
        call is still in flight when the operation returns."""
        for _ in range(count):
            if rng.random() < 0.8:
                kind, path = rng.choice(near.touched)
            else:
                kind = rng.choice(list(reads))
                path = rng.choice(DIRS if kind == "listdir" else PATHS)
            if rng.random() < 0.5:
                s3.hold(HELD_BY[kind], rng.uniform(0.02, 0.15))
            tg.start_soon(reader, kind, path)
            for _ in range(5):  # let it send its request before anything else does
                await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        for _ in range(STEPS):
            operation = Operation(rng.randrange(8), rng.choice(FILES), rng.choice(DIRS[1:]))
            await spawn(tg, rng.randrange(1, 4), operation)
            began += 1
            await operation.run(fm, rng)
            returned += 1
            states.append(await oracle.objects(BUCKET))
            await spawn(tg, rng.randrange(1, 4), operation)
            LEDGER["random steps"] += 1

    contradictions = []
    for seen in observed:
        window = range(seen.started_after, seen.ended_before + 1)
        allowed = [_expected(seen.kind, seen.path, states[i]) for i in window]
        if seen.answer not in allowed:
            contradictions.append((seen, allowed))
    LEDGER["reads checked"] += len(observed)
    LEDGER["contradictions"] += len(contradictions)
    assert not contradictions, contradictions[:3]
    assert len(observed) > STEPS
