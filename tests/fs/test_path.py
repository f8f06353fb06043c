"""S3Path: synchronous pure methods (no I/O), awaited I/O, async iterators; S3 and local."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from aios3fm import FileManager, S3Path


def test_pure_methods_on_s3(fm: FileManager) -> None:
    p = fm.path("s3://bkt/dir/sub/file.tar.gz")
    assert (p.name, p.stem, p.suffix, p.suffixes) == (
        "file.tar.gz",
        "file.tar",
        ".gz",
        [".tar", ".gz"],
    )
    assert (p.bucket, p.key, p.is_s3) == ("bkt", "dir/sub/file.tar.gz", True)
    assert p.parent == fm.path("s3://bkt/dir/sub")
    assert [str(q) for q in p.parents] == ["s3://bkt/dir/sub", "s3://bkt/dir", "s3://bkt/", "s3://"]
    assert fm.path("s3://bkt/dir") / "a" / "b.txt" == fm.path("s3://bkt/dir/a/b.txt")
    assert fm.path("s3://bkt/").joinpath("x", "y") == fm.path("s3://bkt/x/y")
    assert fm.path("s3://").joinpath("bkt", "k") == fm.path("s3://bkt/k")
    assert p.with_name("other.txt") == fm.path("s3://bkt/dir/sub/other.txt")
    assert p.with_suffix(".zip") == fm.path("s3://bkt/dir/sub/file.tar.zip")
    assert p.relative_to(fm.path("s3://bkt/dir")) == PurePosixPath("sub/file.tar.gz")
    assert p.relative_to("s3://bkt/") == PurePosixPath("dir/sub/file.tar.gz")
    assert p.as_uri() == "s3://bkt/dir/sub/file.tar.gz"
    assert fm.path("s3://bkt/dir/") == fm.path("s3://bkt/dir")  # no trailing slash, as pathlib
    assert len({fm.path("s3://bkt/a"), fm.path("s3://bkt/a/"), fm.path("s3://bkt/b")}) == 2
    assert repr(p) == "S3Path('s3://bkt/dir/sub/file.tar.gz')"
    assert fm.path("s3://").parent == fm.path("s3://")
    assert fm.path("s3://bkt/").name == "bkt"
    with pytest.raises(ValueError, match="not under"):
        p.relative_to("s3://other/")
    with pytest.raises(ValueError, match="suffix"):
        p.with_suffix("zip")
    with pytest.raises(ValueError, match="empty name"):
        fm.path("s3://bkt/").with_name("x")


def test_pure_methods_on_local_paths(fm: FileManager, tmp_path: Path) -> None:
    p = fm.path(tmp_path / "a" / "b.txt")
    assert (p.name, p.suffix, p.is_s3, p.bucket) == ("b.txt", ".txt", False, "")
    assert p.parent == fm.path(tmp_path / "a")
    assert p.relative_to(fm.path(tmp_path)) == PurePosixPath("a/b.txt")
    assert p.as_uri() == (tmp_path / "a" / "b.txt").as_uri()
    assert fm.path(tmp_path) / "a" / "b.txt" == p


@pytest.mark.parametrize("where", ["s3", "local"])
async def test_io_methods_mirror_the_file_manager(
    fm: FileManager, tmp_path: Path, where: str
) -> None:
    if where == "s3":
        await fm.make_bucket("path-bucket")
        root = fm.path("s3://path-bucket/root")
    else:
        root = fm.path(tmp_path / "root")
    await root.mkdir(parents=True)
    assert await root.is_dir()
    f = root / "notes.txt"
    await f.write_text("hello")
    assert (await f.read_text(), await f.read_bytes(start=1, end=3)) == ("hello", b"el")
    assert (await f.stat()).size == 5
    async with f.open() as reader:
        assert await reader.read() == b"hello"
    await (root / "sub").mkdir()
    await (root / "sub" / "x.txt").touch()
    assert sorted([str(p.relative_to(root)) async for p in root.iterdir()]) == ["notes.txt", "sub"]
    assert [str(p.relative_to(root)) async for p in root.glob("*.txt")] == ["notes.txt"]
    found = sorted([str(p.relative_to(root)) async for p in root.rglob("*.txt")])
    assert found == ["notes.txt", "sub/x.txt"]
    walked = [(str(d.relative_to(root)), dirs, files) async for d, dirs, files in root.walk()]
    assert walked == [(".", ["sub"], ["notes.txt"]), ("sub", [], ["x.txt"])]
    assert (await root.du()).files == 2
    moved = await f.rename(root / "renamed.txt")
    assert moved == root / "renamed.txt"
    assert not await f.exists()
    await moved.unlink()
    await (root / "sub" / "x.txt").unlink()
    await (root / "sub").rmdir()
    assert [p async for p in root.iterdir()] == []
    assert isinstance(root, S3Path)
