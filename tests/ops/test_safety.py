"""Data safety as classes: each test is a table (or a property) over the variants of one
class of loss, against the embedded server over HTTP.

- an item whose source and destination are one object is refused (every spelling);
- a source whose destination lies inside it is refused (it would copy its own copies);
- a location that exists as typed means itself, even holding ``*``, ``?`` or ``[``;
- a key ending in ``/`` that holds bytes is never turned into a directory or lost;
- a move deletes only the version it copied; ``delete(if_unchanged=True)`` only the
  version it listed (S3: a conditional delete; local: size, mtime and inode);
- a listing that fails part-way loses no result of what was done.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios3fm import EmbeddedS3, FileManager, InvalidLocationError, MiB, S3Error
from aios3fm._ops._transfer import etag_matches

from ..cache.truth import Truth
from ..conftest import BUCKET, keys, put_all, u, wait_until


def tree(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


# -- the same object on both sides --------------------------------------------------------------

LOCAL_SAME = {
    "file into its own directory": ("d/f", "d"),
    "with a trailing slash": ("d/f", "d/"),
    "through '.'": ("d/f", "d/./"),
    "through '..'": ("d/f", "d/sub/.."),
    "through a symlinked directory": ("d/f", "alias"),
    "a relative source": ("./d/f", "d"),
}


@pytest.mark.parametrize("operation", ["copy", "move"])
@pytest.mark.parametrize("spelling", sorted(LOCAL_SAME))
async def test_a_local_file_onto_itself_is_refused(
    fm: FileManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operation: str, spelling: str
) -> None:
    tree(tmp_path, {"d/f": b"precious"})
    (tmp_path / "d" / "sub").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "d")
    monkeypatch.chdir(tmp_path)
    source, destination = LOCAL_SAME[spelling]
    run = fm.move if operation == "move" else fm.copy
    result = await run([source], destination)
    assert [type(i.error) for i in result.failed] == [InvalidLocationError]
    assert "same object" in str(result.failed[0].error)
    assert (tmp_path / "d" / "f").read_bytes() == b"precious"


@pytest.mark.parametrize("operation", ["copy", "move", "copy_file", "move_file", "rename"])
async def test_an_s3_object_onto_itself_is_refused(
    fm: FileManager, bucket: str, operation: str
) -> None:
    await put_all(fm, {"d/f": b"precious"})
    if operation == "rename":
        with pytest.raises(InvalidLocationError, match="same object"):
            await fm.rename(u("d/f"), u("d/f"))
    else:
        calls: dict[str, Callable[[], Awaitable[object]]] = {
            "copy": lambda: fm.copy([u("d/f")], u("d/")),
            "move": lambda: fm.move([u("d/f")], u("d/")),
            "copy_file": lambda: fm.copy_file(u("d/f"), u("d/f")),
            "move_file": lambda: fm.move_file(u("d/f"), u("d/f")),
        }
        result = await calls[operation]()
        assert "same object" in str(result.failed[0].error)  # type: ignore[attr-defined]
    assert await fm.client.get_bytes(BUCKET, "d/f") == b"precious"


# -- a destination inside its source ------------------------------------------------------------

INSIDE, SAME = "inside the source", "same object"
S3_INSIDE = {
    "a directory into its subdirectory": ("a/", "a/sub/", INSIDE),
    "a directory named without /": ("a", "a/sub/", INSIDE),
    "a directory onto itself": ("a/", "", SAME),
    "a pattern into what it lists": ("a/*", "a/x/", INSIDE),
    "** into what it lists": ("a/**", "a/out/", INSIDE),
}


@pytest.mark.parametrize("operation", ["copy", "move"])
@pytest.mark.parametrize("case", sorted(S3_INSIDE))
async def test_a_destination_inside_its_s3_source_is_refused(
    fm: FileManager, bucket: str, operation: str, case: str
) -> None:
    objects = {f"a/{i:04d}": b"%d" % i for i in range(1500)} | {"a/x/y": b"y"}
    await put_all(fm, objects)
    source, destination, why = S3_INSIDE[case]
    run = fm.move if operation == "move" else fm.copy
    result = await run([u(source)], u(destination))
    assert [type(i.error) for i in result.failed] == [InvalidLocationError]
    assert why in str(result.failed[0].error)
    assert sorted(await keys(fm)) == sorted(objects)  # nothing written, nothing deleted


async def test_a_pattern_that_cannot_match_its_own_copies_is_allowed(
    fm: FileManager, bucket: str
) -> None:
    await put_all(fm, {"a/1.txt": b"1", "a/2.csv": b"2"})
    result = await fm.copy(["s3://test-bucket/a/*.txt"], u("a/out/"))
    assert not result.failed
    assert sorted(await keys(fm)) == ["a/1.txt", "a/2.csv", "a/out/1.txt"]


@pytest.mark.parametrize("operation", ["copy", "move"])
@pytest.mark.parametrize("destination", ["d/sub", "d", "d/./sub/..", "alias/deeper"])
async def test_a_destination_inside_its_local_source_is_refused(
    fm: FileManager, tmp_path: Path, operation: str, destination: str
) -> None:
    files = {"d/a": b"a", "d/sub/b": b"b"}
    tree(tmp_path, files)
    (tmp_path / "alias").symlink_to(tmp_path / "d")
    run = fm.move if operation == "move" else fm.copy
    result = await run([tmp_path / "d"], tmp_path / destination)
    assert "inside the source" in str(result.failed[0].error)
    assert snapshot(tmp_path / "d") == {"a": b"a", "sub/b": b"b"}


# -- a location that exists as typed means itself -----------------------------------------------

WILD = {"g/a[1]": b"literal", "g/a1": b"match", "g/a*b": b"star", "g/axb": b"x", "g/q?": b"q"}


@pytest.mark.parametrize(
    ("typed", "deleted"),
    [
        ("g/a[1]", ["g/a[1]"]),  # exists as typed: itself, not the pattern matching a1
        ("g/a*b", ["g/a*b"]),
        ("g/q?", ["g/q?"]),
        ("g/a[[]1]", ["g/a[1]"]),  # the escape for a name holding [
        ("g/a[*]b", ["g/a*b"]),
        ("g/a?", ["g/a1"]),  # no such key as typed: a pattern
    ],
)
async def test_a_location_that_exists_as_typed_means_itself(
    fm: FileManager, bucket: str, typed: str, deleted: list[str]
) -> None:
    await put_all(fm, WILD)
    result = await fm.delete([u(typed)])
    assert sorted(r.source for r in result.succeeded) == [u(k) for k in deleted]
    assert sorted(await keys(fm)) == sorted(set(WILD) - set(deleted))


async def test_a_local_path_that_exists_as_typed_means_itself(
    fm: FileManager, tmp_path: Path
) -> None:
    tree(tmp_path, {"a[1]": b"literal", "a1": b"match"})
    result = await fm.delete([str(tmp_path / "a[1]")])
    assert [r.source for r in result.succeeded] == [str(tmp_path / "a[1]")]
    assert snapshot(tmp_path) == {"a1": b"match"}


# -- keys ending in / that hold bytes -----------------------------------------------------------


async def test_a_marker_holding_bytes_moves_as_data_on_s3(fm: FileManager, bucket: str) -> None:
    await put_all(fm, {"s/d/": b"bytes in a marker", "s/d/f": b"f"})
    result = await fm.move([u("s/")], u("t/"))
    assert not result.failed
    assert await fm.client.get_bytes(BUCKET, "t/s/d/") == b"bytes in a marker"
    assert sorted(await keys(fm)) == ["t/s/d/", "t/s/d/f"]


@pytest.mark.parametrize("operation", ["copy", "move"])
async def test_a_marker_holding_bytes_is_refused_for_a_local_destination(
    fm: FileManager, bucket: str, tmp_path: Path, operation: str
) -> None:
    await put_all(fm, {"s/d/": b"bytes in a marker", "s/d/f": b"f"})
    run = fm.move if operation == "move" else fm.copy
    result = await run([u("s/")], tmp_path)
    assert [i.source for i in result.failed] == [u("s/d/")]
    assert "holds 17 bytes" in str(result.failed[0].error)
    assert await fm.client.get_bytes(BUCKET, "s/d/") == b"bytes in a marker"  # kept
    assert snapshot(tmp_path) == {"s/d/f": b"f"}


# -- a move deletes only the version it copied ---------------------------------------------------


async def _race(
    s3: EmbeddedS3, held: str, operation: Awaitable[object], meanwhile: Callable[[], None]
) -> object:
    """Run ``operation``; once its ``held`` request is answered (but held back), run the
    second writer's ``meanwhile``; then let the answer go."""
    hold = s3.hold(held)
    outcome: list[object] = []

    async def run() -> None:
        outcome.append(await operation)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await wait_until(lambda: hold.arrived == 1)
        await anyio.to_thread.run_sync(meanwhile)
        hold.release()
    return outcome[0]


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Low thresholds, so that 'multipart' objects are 6 MiB."""
    return {"multipart_threshold": 5 * MiB, "multipart_chunksize": 5 * MiB,
            "copy_threshold": 5 * MiB, "copy_chunksize": 5 * MiB}  # fmt: skip


@pytest.mark.parametrize("size", [1, 6 * MiB], ids=["single", "multipart"])
async def test_an_s3_move_keeps_a_version_written_after_its_copy(
    s3: EmbeddedS3, fm: FileManager, bucket: str, size: int
) -> None:
    v1, v2 = b"1" * size, b"2" * size
    await put_all(fm, {"s/f": v1})
    oracle = Truth(s3)
    held = "CopyObject" if size == 1 else "CompleteMultipartUpload"
    result = await _race(
        s3, held, fm.move([u("s/")], u("d/")), lambda: oracle.put(BUCKET, "s/f", v2)
    )
    assert not result.succeeded  # type: ignore[attr-defined]
    (failed,) = result.failed  # type: ignore[attr-defined]
    assert isinstance(failed.error, S3Error)
    assert failed.error.code == "SourceChanged"
    assert await fm.client.get_bytes(BUCKET, "s/f") == v2  # the new version survives
    assert await fm.client.get_bytes(BUCKET, "d/s/f") == v1


async def test_an_s3_to_local_move_keeps_a_version_written_after_its_download(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path
) -> None:
    await put_all(fm, {"s/f": b"v1"})
    oracle = Truth(s3)
    result = await _race(
        s3, "GetObject", fm.move([u("s/")], tmp_path), lambda: oracle.put(BUCKET, "s/f", b"v2")
    )
    assert [i.error.code for i in result.failed] == ["SourceChanged"]  # type: ignore[attr-defined]
    assert await fm.client.get_bytes(BUCKET, "s/f") == b"v2"
    assert (tmp_path / "s" / "f").read_bytes() == b"v1"


@pytest.mark.parametrize("size", [100, 6 * MiB], ids=["single", "multipart"])
async def test_a_local_to_s3_move_keeps_a_file_changed_after_it_was_read(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path, size: int
) -> None:
    up = tmp_path / "up"
    tree(up, {"log": b"1" * size})

    def append() -> None:
        with (up / "log").open("ab") as f:
            f.write(b"line 2")

    held = "PutObject" if size == 100 else "CompleteMultipartUpload"
    result = await _race(s3, held, fm.move([up], u("u/")), append)
    assert [i.error.code for i in result.failed] == ["SourceChanged"]  # type: ignore[attr-defined]
    assert (up / "log").read_bytes() == b"1" * size + b"line 2"  # kept, with its new line
    assert await fm.client.get_bytes(BUCKET, "u/up/log") == b"1" * size


async def test_delete_if_unchanged_keeps_what_changed_after_the_listing(
    s3: EmbeddedS3, fm: FileManager, bucket: str
) -> None:
    await put_all(fm, {"r/a": b"a1", "r/b": b"b1"})
    oracle = Truth(s3)
    result = await _race(
        s3, "ListObjectsV2", fm.delete([u("r/")], if_unchanged=True),
        lambda: oracle.put(BUCKET, "r/a", b"a2"),
    )  # fmt: skip
    assert [i.source for i in result.succeeded] == [u("r/b")]  # type: ignore[attr-defined]
    assert [i.error.code for i in result.failed] == ["SourceChanged"]  # type: ignore[attr-defined]
    assert await keys(fm) == ["r/a"]
    assert await fm.client.get_bytes(BUCKET, "r/a") == b"a2"


async def test_a_move_of_1000_objects_sends_the_same_requests_as_before(
    s3: EmbeddedS3, fm: FileManager, bucket: str
) -> None:
    """The ETags ride on the DeleteObjects batch: 1 listing, 1000 copies, 1 batch."""
    await put_all(fm, {f"m/{i:04d}": b"x" for i in range(1000)})
    s3.reset_requests()
    result = await fm.move([u("m/")], u("n/"))
    assert result.objects == 1000
    assert s3.requests == {"ListObjectsV2": 1, "CopyObject": 1000, "DeleteObjects": 1}


# -- a listing that fails part-way ---------------------------------------------------------------


async def test_a_listing_that_fails_after_its_first_page_keeps_every_result(
    s3: EmbeddedS3, fm: FileManager, bucket: str
) -> None:
    await put_all(fm, {f"big/{i:04d}": b"x" for i in range(1500)})
    hold = s3.hold("ListObjectsV2")  # the first page, held until the faults are in place
    outcome: list[object] = []

    async def copy() -> None:
        outcome.append(await fm.copy([u("big/")], u("copy/")))

    async with anyio.create_task_group() as tg:
        tg.start_soon(copy)
        await wait_until(lambda: hold.arrived == 1)
        s3.inject("500", count=fm.settings.max_attempts, operation="ListObjectsV2")
        hold.release()
    (result,) = outcome
    assert result.objects == 1000  # type: ignore[attr-defined]
    (failed,) = result.failed  # type: ignore[attr-defined]
    assert failed.source == u("big/")
    assert "InternalError" in str(failed.error)
    assert len(await keys(fm, "copy/")) == 1000


def test_the_tests_share_the_bucket() -> None:
    assert u() == f"s3://{BUCKET}/"
    assert os.sep == "/"


# -- re-running a cut-off move with skip completes it, multipart objects too ---------------------


@pytest.mark.parametrize("direction", ["upload", "download"])
async def test_rerunning_a_move_with_skip_finishes_multipart_objects(
    s3: EmbeddedS3, fm: FileManager, bucket: str, tmp_path: Path, direction: str
) -> None:
    """A move cut off after its copies: the destinations hold identical multipart copies.
    The re-run recognises them (the multipart ETag recomputed from the local file, for
    the part size its part count implies) and only deletes the sources; a same-sized file
    with other bytes is not taken for a copy: it is skipped and its source kept."""
    same, other = os.urandom(11 * MiB), os.urandom(11 * MiB)
    local = tmp_path / "data"
    tree(local, {"same": same, "changed": other})
    await fm.copy([local], u("in/"))  # the copies a cut-off move made
    if direction == "upload":
        (local / "changed").write_bytes(os.urandom(11 * MiB))  # same size, other bytes
        s3.reset_requests()
        result = await fm.move([local], u("in/"), conflict="skip")
        assert "PutObject" not in s3.requests
        assert "UploadPart" not in s3.requests
        assert [i.source for i in result.succeeded] == [str(local / "same")]
        assert result.succeeded[0].reason == "destination already held an identical copy"
        assert [i.source for i in result.skipped] == [str(local / "changed")]
        assert not (local / "same").exists()
        assert (local / "changed").exists()
        return
    back = tmp_path / "back"
    await fm.copy([u("in/data/")], back)
    (back / "data" / "changed").write_bytes(os.urandom(11 * MiB))
    s3.reset_requests()
    result = await fm.move([u("in/data/")], back, conflict="skip")
    assert "GetObject" not in s3.requests
    assert [i.source for i in result.succeeded] == [u("in/data/same")]
    assert [i.source for i in result.skipped] == [u("in/data/changed")]
    assert await keys(fm, "in/") == ["in/data/changed"]
    assert (back / "data" / "same").read_bytes() == same


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=3 * MiB + 17),
    part=st.integers(min_value=MiB // 8, max_value=2 * MiB + 3),
    flip=st.booleans(),
)
def test_the_multipart_etag_is_recomputed_for_any_part_size(
    tmp_path_factory: pytest.TempPathFactory, size: int, part: int, flip: bool
) -> None:
    """The recomputed ETag equals S3's (MD5 of the part MD5s, ``-N``) for any size and
    part size, read in 1 MiB chunks that need not line up with parts; one changed byte
    breaks it."""
    data = bytearray(os.urandom(size))
    path = tmp_path_factory.mktemp("etag") / "f"
    path.write_bytes(bytes(data))
    parts = [bytes(data[i : i + part]) for i in range(0, size, part)]
    outer = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    etag = f"{outer}-{len(parts)}"
    if flip:
        data[size // 2] ^= 1
        path.write_bytes(bytes(data))
    assert etag_matches(path, etag, size, part) is (not flip)
