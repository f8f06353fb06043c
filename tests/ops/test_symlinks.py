"""Symlinks in local trees: no entry vanishes from a result, a delete never follows a link,
and downloads never write through one that leads out of the destination.

The property: for random trees holding files, directories and symlinks (to files, to
directories inside the tree, to the tree's own ancestors, outside it, and dangling), every
entry of the tree is accounted for by an upload's result: a file is done, a link is done
(its content uploaded under the link's name) or skipped with its reason, a followed link
to a directory shows up through the entries below it, and every upload holds exactly the
bytes of what it points to.
"""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aios3fm import EmbeddedS3, FileManager, OperationResult

from ..conftest import BUCKET, make_settings, put_all, u

NAMES = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def trees(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    """Entries ``(kind, path, target)``: ``file`` (target is its content), ``dir``, and
    ``link`` (target: ``file:<path>``, ``dir:<path>``, ``up``, ``outside-file``,
    ``outside-dir`` or ``dangling``)."""
    entries: list[tuple[str, str, str]] = []
    dirs = [""]
    for _ in range(draw(st.integers(2, 9))):
        parent = draw(st.sampled_from(dirs))
        path = parent + draw(NAMES) + str(len(entries))
        kind = draw(st.sampled_from(["file", "file", "dir", "link"]))
        if kind == "dir":
            dirs.append(path + "/")
            entries.append(("dir", path, ""))
        elif kind == "file":
            entries.append(("file", path, draw(st.binary(min_size=0, max_size=8)).hex()))
        else:
            files = [p for k, p, _ in entries if k == "file"]
            choices = ["up", "outside-file", "outside-dir", "dangling"]
            choices += [f"file:{p}" for p in files] + [f"dir:{d[:-1]}" for d in dirs[1:]]
            entries.append(("link", path, draw(st.sampled_from(choices))))
    return entries


def build(root: Path, outside: Path, entries: list[tuple[str, str, str]]) -> None:
    (outside / "dir").mkdir(parents=True, exist_ok=True)
    (outside / "dir" / "secret").write_bytes(b"outside")
    (outside / "file").write_bytes(b"outside file")
    root.mkdir(parents=True)
    for kind, path, target in entries:
        where = root / path
        where.parent.mkdir(parents=True, exist_ok=True)
        if kind == "dir":
            where.mkdir(exist_ok=True)
        elif kind == "file":
            where.write_bytes(bytes.fromhex(target))
        else:
            points = {
                "up": root, "outside-file": outside / "file", "outside-dir": outside / "dir",
                "dangling": root / "nothing-here",
            }.get(target) or root / target.split(":", 1)[1]  # fmt: skip
            where.symlink_to(points)


def accounted(root: Path, result: OperationResult) -> list[str]:
    """The tree's entries (links not followed) that the result says nothing about."""
    sources = {r.source for r in (*result.succeeded, *result.skipped, *result.failed)}
    missing = []
    for directory, dirnames, filenames in os.walk(root):
        for name in [*filenames, *(d for d in dirnames if os.path.islink(Path(directory, d)))]:
            entry = str(Path(directory, name))
            below = any(s.startswith(entry + os.sep) for s in sources)
            if entry not in sources and not below:
                missing.append(entry)
        for name in dirnames:
            folder = Path(directory, name)
            if not folder.is_symlink() and not os.listdir(folder) and str(folder) not in sources:
                missing.append(str(folder))
    return missing


@settings(
    max_examples=40, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(entries=trees(), follow=st.booleans())
def test_no_entry_of_a_tree_with_symlinks_vanishes(
    s3_server: EmbeddedS3, tmp_path_factory: pytest.TempPathFactory,
    entries: list[tuple[str, str, str]], follow: bool,
) -> None:  # fmt: skip
    base = tmp_path_factory.mktemp("tree")
    root = base / "t"
    build(root, base / "outside", entries)

    async def upload() -> tuple[OperationResult, dict[str, bytes]]:
        s3_server.reset()
        async with FileManager(settings=make_settings(s3_server)) as fm:
            await fm.make_bucket(BUCKET)
            result = await fm.copy([root], u("up/"), follow_symlinks=follow)
            stored = {
                o.key: await fm.client.get_bytes(BUCKET, o.key)
                async for page in fm.client.list_tree(BUCKET, "up/")
                for o in page
            }
        return result, stored

    result, stored = anyio.run(upload)
    assert not result.failed, result.failed
    assert accounted(root, result) == []
    for item in result.succeeded:
        path = Path(item.source)
        if path.is_file():
            key = item.destination.removeprefix(u())  # type: ignore[union-attr]
            assert stored[key] == path.read_bytes(), item
    for item in result.skipped:
        assert Path(item.source).is_symlink() or not Path(item.source).is_file(), item
        assert item.reason
    if not follow:
        links = [p for k, p, _ in entries if k == "link"]
        assert all(not Path(s.source).is_symlink() for s in result.succeeded) or not links
    assert not any(b"outside" in data for data in stored.values() if data != b"outside file")


# -- deletes never follow a symlink; downloads never write through one -------------------------


async def test_rm_of_a_link_removes_the_link_not_what_it_points_to(
    fm: FileManager, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "f").write_bytes(b"keep me")
    (tmp_path / "link").symlink_to(tmp_path / "data")
    (tmp_path / "tree" / "inner").mkdir(parents=True)
    (tmp_path / "tree" / "inner" / "to-data").symlink_to(tmp_path / "data")
    (tmp_path / "tree" / "x").write_bytes(b"x")
    result = await fm.delete([tmp_path / "link", tmp_path / "tree"])
    assert not result.failed
    assert not (tmp_path / "link").is_symlink()
    assert not (tmp_path / "tree").exists()
    assert (tmp_path / "data" / "f").read_bytes() == b"keep me"


async def test_a_download_never_writes_through_a_symlink_out_of_the_destination(
    fm: FileManager, bucket: str, tmp_path: Path
) -> None:
    await put_all(fm, {"t/sub/x": b"x", "t/y": b"y"})
    destination, elsewhere = tmp_path / "dest", tmp_path / "elsewhere"
    destination.mkdir()
    elsewhere.mkdir()
    (destination / "t").symlink_to(elsewhere)  # planted before the download
    result = await fm.copy([u("t/")], destination)
    assert sorted(i.source for i in result.failed) == [u("t/sub/x"), u("t/y")]
    assert all("symlink" in str(i.error) for i in result.failed)
    assert list(elsewhere.iterdir()) == []


async def test_a_255_byte_name_downloads(fm: FileManager, bucket: str, tmp_path: Path) -> None:
    name = "é" * 127 + "x"  # 255 bytes in UTF-8, the most a file name may hold
    assert len(name.encode()) == 255
    await put_all(fm, {f"long/{name}": b"long"})
    result = await fm.move([u("long/")], tmp_path)
    assert not result.failed
    assert (tmp_path / "long" / name).read_bytes() == b"long"
