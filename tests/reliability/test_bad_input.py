"""Bad input through the library and the command line: a typed exception, or one line on
stderr with the documented exit code; never a traceback, and never a partial write.

The same bucket holds ``file.txt`` and ``dir/inside`` for both tables; afterwards the
bucket must hold exactly those two objects and nothing may have been written locally.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest

from aios3fm import (
    BucketNotFoundError,
    EmbeddedS3,
    FileManager,
    InvalidLocationError,
    IsADirectoryS3Error,
    NotADirectoryS3Error,
    NotFoundError,
)

from ..conftest import BUCKET, u
from .conftest import LEDGER

LONG_KEY = "k" * 1024  # the longest key S3 takes
TOO_LONG = "k" * 1025

# (call, location, expected exception) for the library
LIBRARY: list[tuple[str, str, type[BaseException]]] = [
    ("stat", "s3:/x", InvalidLocationError),
    ("stat", "s3:x", InvalidLocationError),
    ("write_bytes", "s3://", InvalidLocationError),
    ("read_bytes", "s3://", IsADirectoryError),
    ("stat", "s3://Bad_Bucket/x", InvalidLocationError),
    ("stat", "s3://ab/x", InvalidLocationError),
    ("stat", "s3://192.168.1.1/x", InvalidLocationError),
    ("stat", "s3://-bucket/x", InvalidLocationError),
    ("stat", "s3://a..b/x", InvalidLocationError),
    ("stat", "s3://" + "b" * 64 + "/x", InvalidLocationError),
    ("read_bytes", "s3://no-such-bucket-x/k", BucketNotFoundError),
    ("write_bytes", "s3://no-such-bucket-x/k", BucketNotFoundError),
    ("listdir", "s3://no-such-bucket-x/", BucketNotFoundError),
    ("read_bytes", u("missing"), NotFoundError),
    ("stat", u("missing"), NotFoundError),
    ("remove", u("missing"), NotFoundError),
    ("listdir", u("file.txt"), NotADirectoryS3Error),
    ("write_bytes", u("file.txt/child"), NotADirectoryS3Error),
    ("read_bytes", u("dir"), IsADirectoryS3Error),
    ("read_bytes", u("dir/"), IsADirectoryS3Error),
    ("write_bytes", u("dir"), IsADirectoryS3Error),
    ("remove", u("dir"), IsADirectoryS3Error),
    ("write_bytes", u(""), InvalidLocationError),
    ("write_bytes", "", InvalidLocationError),
    ("stat", "", InvalidLocationError),
    ("write_bytes", u("a/../b"), InvalidLocationError),
    ("write_bytes", u("a/./b"), InvalidLocationError),
    ("write_bytes", u("a//b"), InvalidLocationError),
    ("write_bytes", f"s3://{BUCKET}//lead", InvalidLocationError),
    ("write_bytes", u("tab\there"), InvalidLocationError),
    ("write_bytes", u("new\nline"), InvalidLocationError),
    ("write_bytes", u("nul\x00byte"), InvalidLocationError),
    ("write_bytes", u("del\x7f"), InvalidLocationError),
    ("write_bytes", u(TOO_LONG), InvalidLocationError),
    ("write_bytes", u("é" * 513), InvalidLocationError),  # 1026 bytes in UTF-8
]


def everything_under(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


async def seed(fm: FileManager) -> None:
    await fm.write_bytes(u("file.txt"), b"file")
    await fm.write_bytes(u("dir/inside"), b"inside")


async def objects(fm: FileManager) -> dict[str, bytes]:
    keys = [o.key async for page in fm.client.list_tree(BUCKET, "") for o in page]
    return {key: await fm.client.get_bytes(BUCKET, key) for key in keys}


async def test_library_raises_typed_errors_and_writes_nothing(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path
) -> None:
    await seed(fm)
    before = await objects(fm)
    puts_before = s3.requests.get("PutObject", 0)
    calls: dict[str, Callable[[str], Awaitable[object]]] = {
        "stat": fm.stat,
        "read_bytes": fm.read_bytes,
        "listdir": fm.listdir,
        "remove": fm.remove,
        "write_bytes": lambda location: fm.write_bytes(location, b"partial?"),
    }
    for name, location, expected in LIBRARY:
        with pytest.raises(expected) as caught:
            await calls[name](location)
        assert caught.type is expected or issubclass(caught.type, expected)
        assert str(caught.value)  # a message, not an empty error
    LEDGER.bad_inputs_tried += len(LIBRARY)
    # the longest legal key still works: the limit is not off by one
    await fm.write_bytes(u(LONG_KEY), b"long")
    assert await fm.read_bytes(u(LONG_KEY)) == b"long"
    await fm.remove(u(LONG_KEY))

    assert s3.requests.get("PutObject", 0) == puts_before + 1  # only the long-key write
    assert await objects(fm) == before
    # bad sources and destinations of bulk operations: refused before any transfer
    for sources, destination in [
        ([""], u("x/")),
        (["s3:/x"], u("x/")),
        ([u("a/../b")], u("x/")),
        ([u("file.txt")], "s3://Bad_Bucket/x/"),
        ([u("file.txt")], u("x//y/")),
    ]:
        with pytest.raises(InvalidLocationError):
            await fm.copy(sources, destination)
        LEDGER.bad_inputs_tried += 1
    assert await objects(fm) == before


# (arguments, exit code, words the one stderr line must hold)
CLI: list[tuple[list[str], int, str]] = [
    (["ls", "s3:/x"], 2, "not a valid S3 location"),
    (["cat", "s3://"], 1, "is a directory"),
    (["ls", "s3://Bad_Bucket/"], 2, "not a valid bucket name"),
    (["ls", "s3://ab/"], 2, "not a valid bucket name"),
    (["cp", "-r", u("dir/"), "s3://192.168.1.1/x/"], 2, "not a valid bucket name"),
    (["ls", "s3://no-such-bucket-x/"], 3, "NoSuchBucket"),
    (["cp", "{local}/in.txt", "s3://no-such-bucket-x/k"], 3, "NoSuchBucket"),
    (["cat", u("missing")], 3, "missing"),
    (["stat", u("missing")], 3, "no such file"),
    (["rm", u("missing")], 3, "missing"),
    (["ls", u("file.txt/")], 1, "not a directory"),
    (["cat", u("dir")], 1, "is a directory"),
    (["rm", u("dir")], 1, "is a directory (use -r)"),
    (["cp", u("dir"), u("other/")], 1, "is a directory (use -r)"),
    (["touch", u("")], 2, "needs a key"),
    (["cat", ""], 2, "empty"),
    (["touch", u("a/../b")], 2, "'..' segment"),
    (["touch", u("a//b")], 2, "empty segment"),
    (["touch", f"s3://{BUCKET}//lead"], 2, "empty segment"),
    (["touch", u("new\nline")], 2, "control characters"),
    (["touch", u("tab\there")], 2, "control characters"),
    (["touch", u(TOO_LONG)], 2, "limited to 1024 bytes"),
    (["cp", u("file.txt"), "{local}/out/../../escape"], 0, ""),  # a local path the user chose
    (["ls", "--bogus"], 2, "unrecognized arguments"),
    (["frobnicate"], 2, "invalid choice"),
    (["cp", u("file.txt")], 2, "required"),
    (["--concurrency", "0", "ls", u()], 2, "concurrency"),
    (["--cache-ttl", "-5", "ls", u()], 2, "cache"),
]


async def test_cli_answers_one_line_and_the_documented_code(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path
) -> None:
    await seed(fm)
    before = await objects(fm)
    local = tmp_path / "work"
    local.mkdir()
    (local / "in.txt").write_bytes(b"in")
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **s3.environ()}
    outcomes: dict[int, tuple[int, str, str]] = {}
    limit = anyio.Semaphore(4)

    async def run(index: int, args: list[str]) -> None:
        argv = [a.replace("{local}", str(local)) for a in args]
        async with limit:
            done = await anyio.run_process(
                [sys.executable, "-m", "aios3fm", *argv], env=env, check=False, cwd=local
            )
        outcomes[index] = (done.returncode, done.stdout.decode(), done.stderr.decode())

    async with anyio.create_task_group() as tg:
        for index, (args, _, _) in enumerate(CLI):
            tg.start_soon(run, index, args)

    for index, (args, code, words) in enumerate(CLI):
        returncode, _, stderr = outcomes[index]
        assert returncode == code, (args, stderr)
        assert "Traceback" not in stderr
        if code:
            lines = stderr.splitlines()
            assert len(lines) == 1, (args, stderr)
            assert lines[0].startswith("aios3fm: error: ")
            assert words in lines[0], (args, lines[0])
    LEDGER.bad_inputs_tried += len(CLI)
    assert await objects(fm) == before  # no partial write on S3
    escaped = tmp_path / "escape"  # the one write asked for, exactly where it was asked
    assert escaped.read_bytes() == b"file"
    written = everything_under(tmp_path)
    assert written == ["escape", "work", "work/in.txt", "work/out"]
