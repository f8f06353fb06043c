"""One table, two file systems: every FileManager method runs on a local tree and on the
same tree in S3, in the same order, and the results and exception kinds must agree."""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from aios3fm import DiskUsage, Entry, FileManager, ObjectInfo

TREE = {
    "a.txt": b"alpha",
    "dir/b.txt": b"bravo",
    "dir/c.bin": bytes(range(256)),
    "dir/sub/d.txt": b"delta",
}
EMPTY_DIRS = ["empty"]


@dataclass
class Side:
    fm: FileManager
    root: str  # ends with "/"

    def p(self, relative: str = "") -> str:
        return self.root + relative

    def rel(self, location: str) -> str:
        assert location.startswith(self.root.rstrip("/")), location
        return location[len(self.root.rstrip("/")) :].strip("/")


def kind(exc: BaseException) -> tuple[str, int | None]:
    """What the two sides must agree on: the builtin class, and errno for a plain OSError."""
    for builtin in (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
                    PermissionError):  # fmt: skip
        if isinstance(exc, builtin):
            return builtin.__name__, None
    if isinstance(exc, OSError):
        return "OSError", exc.errno
    return type(exc).__name__, None


def normal(side: Side, value: Any) -> Any:
    if isinstance(value, list):
        return [normal(side, v) for v in value]
    if isinstance(value, tuple):
        return tuple(normal(side, v) for v in value)
    if isinstance(value, Entry):
        return (value.name, value.is_dir, None if value.is_dir else value.size,
                side.rel(value.location))  # fmt: skip
    if isinstance(value, ObjectInfo):
        return (value.is_dir, None if value.is_dir else value.size, value.name)
    if isinstance(value, str) and value.startswith(side.root.rstrip("/")):
        return side.rel(value)
    return value


async def collect(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


async def read_in_steps(fm: FileManager, location: str) -> list[bytes]:
    async with fm.open(location) as f:
        return [await f.read(7), await f.read(), await f.read()]


async def sorted_glob(iterator: Any) -> list[str]:
    return sorted([item.rstrip("/") async for item in iterator])


Call = Callable[[Side], Awaitable[Any]]
ROWS: list[tuple[str, Call]] = [
    ("read_bytes", lambda s: s.fm.read_bytes(s.p("a.txt"))),
    ("read_bytes range", lambda s: s.fm.read_bytes(s.p("dir/c.bin"), start=10, end=20)),
    ("read_bytes suffix", lambda s: s.fm.read_bytes(s.p("dir/c.bin"), start=-5)),
    ("read_bytes past the end", lambda s: s.fm.read_bytes(s.p("a.txt"), start=100)),
    ("read_bytes missing", lambda s: s.fm.read_bytes(s.p("missing"))),
    ("read_bytes directory", lambda s: s.fm.read_bytes(s.p("dir"))),
    ("read_text", lambda s: s.fm.read_text(s.p("dir/b.txt"))),
    ("open and read in steps", lambda s: read_in_steps(s.fm, s.p("dir/c.bin"))),
    ("stat file", lambda s: s.fm.stat(s.p("a.txt"))),
    ("stat dir", lambda s: s.fm.stat(s.p("dir"))),
    ("stat empty dir", lambda s: s.fm.stat(s.p("empty"))),
    ("stat missing", lambda s: s.fm.stat(s.p("missing"))),
    *[
        (f"{method} {path}", (lambda m, p: lambda s: getattr(s.fm, m)(s.p(p)))(method, path))
        for method in ("exists", "is_dir", "is_file")
        for path in ("a.txt", "dir", "dir/sub", "empty", "missing", "dir/missing")
    ],
    ("listdir root", lambda s: s.fm.listdir(s.p())),
    ("listdir dir", lambda s: s.fm.listdir(s.p("dir"))),
    ("listdir empty", lambda s: s.fm.listdir(s.p("empty"))),
    ("listdir a file", lambda s: s.fm.listdir(s.p("a.txt"))),
    ("listdir missing", lambda s: s.fm.listdir(s.p("missing"))),
    ("iterdir dir", lambda s: collect(s.fm.iterdir(s.p("dir")))),
    ("walk", lambda s: collect(s.fm.walk(s.p()))),
    ("walk missing", lambda s: collect(s.fm.walk(s.p("missing")))),
    ("glob dir/*.txt", lambda s: sorted_glob(s.fm.glob(s.p("dir/*.txt")))),
    ("glob *", lambda s: sorted_glob(s.fm.glob(s.p("*")))),
    ("glob **/*.txt", lambda s: sorted_glob(s.fm.glob(s.p("**/*.txt")))),
    ("glob d?r/s*", lambda s: sorted_glob(s.fm.glob(s.p("d?r/s*")))),
    ("glob no wildcard", lambda s: sorted_glob(s.fm.glob(s.p("dir/b.txt")))),
    ("rglob", lambda s: sorted_glob(s.fm.rglob(s.p("dir"), "*.txt"))),
    ("du root", lambda s: s.fm.du(s.p())),
    ("du dir", lambda s: s.fm.du(s.p("dir"))),
    ("du file", lambda s: s.fm.du(s.p("a.txt"))),
    ("du missing", lambda s: s.fm.du(s.p("missing"))),
    ("write_bytes new deep file", lambda s: s.fm.write_bytes(s.p("new/deep/e.txt"), b"echo")),
    ("read it back", lambda s: s.fm.read_bytes(s.p("new/deep/e.txt"))),
    ("listdir its parent", lambda s: s.fm.listdir(s.p("new/deep"))),
    ("write_text over a file", lambda s: s.fm.write_text(s.p("a.txt"), "ALPHA")),
    ("read_text after", lambda s: s.fm.read_text(s.p("a.txt"))),
    ("write_bytes onto a dir", lambda s: s.fm.write_bytes(s.p("dir"), b"x")),
    ("create_file existing", lambda s: s.fm.create_file(s.p("a.txt"))),
    ("create_file existing ok", lambda s: s.fm.create_file(s.p("a.txt"), exist_ok=True)),
    ("content kept", lambda s: s.fm.read_bytes(s.p("a.txt"))),
    ("create_file on a dir", lambda s: s.fm.create_file(s.p("dir"), exist_ok=True)),
    ("create_file new", lambda s: s.fm.create_file(s.p("dir/f.txt"))),
    ("stat new file", lambda s: s.fm.stat(s.p("dir/f.txt"))),
    ("create_directory existing", lambda s: s.fm.create_directory(s.p("dir"))),
    ("create_directory ok", lambda s: s.fm.create_directory(s.p("dir"), exist_ok=True)),
    ("create_directory on a file", lambda s: s.fm.create_directory(s.p("a.txt"), exist_ok=True)),
    ("create_directory no parent", lambda s: s.fm.create_directory(s.p("n2/x"))),
    ("create_directory under a file", lambda s: s.fm.create_directory(s.p("a.txt/x"))),
    (
        "create_directory under a file, parents",
        lambda s: s.fm.create_directory(s.p("a.txt/x/y"), parents=True),
    ),
    ("create_directory parents", lambda s: s.fm.create_directory(s.p("n2/x/"), parents=True)),
    ("is_dir n2", lambda s: s.fm.is_dir(s.p("n2"))),
    ("listdir n2", lambda s: s.fm.listdir(s.p("n2"))),
    ("remove a dir", lambda s: s.fm.remove(s.p("dir"))),
    ("remove missing", lambda s: s.fm.remove(s.p("missing"))),
    ("remove file", lambda s: s.fm.remove(s.p("dir/f.txt"))),
    ("exists after remove", lambda s: s.fm.exists(s.p("dir/f.txt"))),
    ("rmdir non-empty", lambda s: s.fm.rmdir(s.p("dir"))),
    ("rmdir a file", lambda s: s.fm.rmdir(s.p("a.txt"))),
    ("rmdir missing", lambda s: s.fm.rmdir(s.p("missing"))),
    ("rmdir empty", lambda s: s.fm.rmdir(s.p("empty"))),
    ("exists after rmdir", lambda s: s.fm.exists(s.p("empty"))),
    ("rmdir nested empty", lambda s: s.fm.rmdir(s.p("n2/x"))),
    ("n2 still there", lambda s: s.fm.listdir(s.p("n2"))),
    ("rename file", lambda s: s.fm.rename(s.p("a.txt"), s.p("renamed.txt"))),
    ("old name gone", lambda s: s.fm.exists(s.p("a.txt"))),
    ("rename onto a dir", lambda s: s.fm.rename(s.p("renamed.txt"), s.p("dir"))),
    ("rename dir onto a dir", lambda s: s.fm.rename(s.p("dir"), s.p("n2"))),
    ("rename dir onto a file", lambda s: s.fm.rename(s.p("dir"), s.p("renamed.txt"))),
    ("rename missing", lambda s: s.fm.rename(s.p("missing"), s.p("x"))),
    ("rename dir", lambda s: s.fm.rename(s.p("dir"), s.p("moved"))),
    ("walk at the end", lambda s: collect(s.fm.walk(s.p()))),
    ("du at the end", lambda s: s.fm.du(s.p())),
]


async def run(side: Side, call: Call) -> Any:
    try:
        return ("ok", normal(side, await call(side)))
    except Exception as exc:
        return ("error", kind(exc))


@pytest.fixture
async def sides(fm: FileManager, tmp_path: Path) -> tuple[Side, Side]:
    await fm.make_bucket("parity")
    local, s3 = Side(fm, str(tmp_path) + "/"), Side(fm, "s3://parity/")
    for side in (local, s3):
        for relative, data in TREE.items():
            await fm.write_bytes(side.p(relative), data)
        for relative in EMPTY_DIRS:
            await fm.create_directory(side.p(relative))
    return local, s3


async def test_local_and_s3_agree_on_every_method(sides: tuple[Side, Side]) -> None:
    local, s3 = sides
    disagreements = []
    outcomes = []
    for name, call in ROWS:
        expected, got = await run(local, call), await run(s3, call)
        outcomes.append(expected[0])
        if expected != got:
            disagreements.append((name, expected, got))
    assert disagreements == []
    # the table exercises both successes and failures, and the final tree is what it should be
    assert outcomes.count("error") >= 20
    assert outcomes.count("ok") >= 50
    assert await run(s3, ROWS[-1][1]) == ("ok", DiskUsage(5 + 5 + 256 + 5 + 4, 5))


def test_kind_tells_oserrors_apart() -> None:
    assert kind(OSError(errno.ENOTEMPTY, "x")) == ("OSError", errno.ENOTEMPTY)
    assert kind(FileNotFoundError()) == ("FileNotFoundError", None)
