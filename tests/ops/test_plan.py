"""Globs: one matcher for source expansion and fm.glob. A pattern matches names inside a
directory, never the directory's own marker; a trailing ``/`` matches directories only;
``**`` spans directories. On S3 and on a local disk alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from aios3fm import FileManager
from aios3fm._ops import Glob

from ..conftest import BUCKET, keys, put_all, u


@pytest.mark.parametrize(
    ("pattern", "key", "expected"),
    [
        ("d/*", "d/", []),  # the directory's own marker is not inside it
        ("d/**/*", "d/", []),
        ("d/*", "d/f", [("d/f", False)]),
        ("d/*", "d/sub/", [("d/sub/", True)]),
        ("d/*", "d/sub/x", [("d/sub/", True)]),
        ("d/*/", "d/f", []),  # directories only
        ("d/*/", "d/sub/x", [("d/sub/", True)]),
        ("d/**/*", "d/a/b/c", [("d/a/", True), ("d/a/b/", True), ("d/a/b/c", False)]),
        ("d/**", "d/a/b", [("d/a/", True), ("d/a/b", False)]),
        ("d/*.log", "d/x.log", [("d/x.log", False)]),
        ("d/*.log", "d/x.log/", [("d/x.log/", True)]),
        ("d/*", "d//x", []),  # an empty name is never a match
        ("d/a[12]", "d/a1", [("d/a1", False)]),
        ("d/a?", "d/a/", []),
        ("*", "top", [("top", False)]),
        ("d/*", "dx/f", []),
    ],
)
def test_glob_matches(pattern: str, key: str, expected: list[tuple[str, bool]]) -> None:
    assert list(Glob(pattern).matches(key)) == expected


def test_literal_prefix_narrows_the_listing() -> None:
    glob = Glob("logs/2026-1*/app-[01].gz")
    assert (glob.literal, glob.base, glob.is_pattern) == ("logs/2026-1", "logs/", True)
    assert not Glob("plain/key").is_pattern


TREE = {"a/b/c/": b"", "a/b/c/f10": b"f", "a/b/c/sub/x": b"x", "a/b/c/sub2/": b""}


async def test_s3_glob_never_yields_a_directory_as_its_own_child(
    fm: FileManager, bucket: str
) -> None:
    await put_all(fm, TREE)
    found = sorted([m async for m in fm.glob(u("a/b/c/**/*"))])
    assert found == [u("a/b/c/f10"), u("a/b/c/sub/"), u("a/b/c/sub/x"), u("a/b/c/sub2/")]
    assert sorted([m async for m in fm.glob(u("a/b/c/*/"))]) == [u("a/b/c/sub/"), u("a/b/c/sub2/")]


async def test_s3_trailing_slash_moves_the_subdirectories_only(
    fm: FileManager, bucket: str
) -> None:
    await put_all(fm, TREE)
    result = await fm.move([u("a/b/c/*/")], u("d/"))
    assert not result.failed
    assert await keys(fm) == ["a/b/c/", "a/b/c/f10", "d/sub/x", "d/sub2/"]


async def test_s3_delete_of_a_glob_keeps_the_directory_itself(fm: FileManager, bucket: str) -> None:
    await put_all(fm, {"m/": b"", "m/x": b"x", "m/sub/y": b"y"})
    result = await fm.delete([u("m/*")])
    assert sorted(r.source for r in result.succeeded) == [u("m/sub/y"), u("m/x")]
    assert await keys(fm) == ["m/"]
    assert await fm.is_dir(u("m/"))


async def test_s3_copy_of_a_glob_writes_no_marker_for_the_directory_itself(
    fm: FileManager, bucket: str
) -> None:
    await put_all(fm, {"p/": b"", "p/x": b"x", "p/sub/": b""})
    result = await fm.copy([u("p/*")], u("cp/"))
    assert not result.failed
    assert await keys(fm, "cp/") == ["cp/sub/", "cp/x"]


async def test_local_globs_agree(fm: FileManager, tmp_path: Path) -> None:
    root = tmp_path / "a"
    (root / "sub").mkdir(parents=True)
    (root / "sub2").mkdir()
    (root / "f10").write_bytes(b"f")
    (root / "sub" / "x").write_bytes(b"x")
    assert sorted([m async for m in fm.glob(f"{root}/*/")]) == [f"{root}/sub/", f"{root}/sub2/"]
    moved = await fm.move([f"{root}/*/"], tmp_path / "d")
    assert not moved.failed
    assert sorted(p.name for p in root.iterdir()) == ["f10"]
    assert (tmp_path / "d" / "sub" / "x").read_bytes() == b"x"
    assert (tmp_path / "d" / "sub2").is_dir()
    deleted = await fm.delete([f"{root}/*"])
    assert not deleted.failed
    assert root.is_dir()
    assert list(root.iterdir()) == []


def test_the_bucket_of_the_helpers() -> None:
    assert u("x") == f"s3://{BUCKET}/x"
