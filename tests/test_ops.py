"""Bulk operations over EmbeddedS3: exact server-side counts, fresh listings after every
operation kind, every source/destination pair, conflicts, dry runs, faults, cancellation."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from aios3fm import (
    EmbeddedS3,
    FileManager,
    MiB,
    OperationError,
    OperationResult,
    Progress,
)

from .conftest import make_settings, reset_counts, wait_until

BKT = "ops-bucket"


@pytest.fixture
async def ofm(s3: EmbeddedS3) -> AsyncIterator[FileManager]:
    async with FileManager(settings=make_settings(s3)) as fm:
        await fm.make_bucket(BKT)
        yield fm


def u(key: str = "") -> str:
    return f"s3://{BKT}/{key}"


def body(i: int) -> bytes:
    return hashlib.sha256(b"%d" % i).digest() * (1 + i % 3)


def temporary_files(root: Path) -> list[Path]:
    """Temporary download files left anywhere under ``root`` (there must be none)."""
    return list(root.rglob("*.aios3fm"))


def count_entries(directory: Path) -> int:
    return len(list(directory.iterdir()))


async def put_all(fm: FileManager, objects: dict[str, bytes]) -> None:
    async with anyio.create_task_group() as tg:
        for key, data in objects.items():
            tg.start_soon(fm.client.put, BKT, key, data)


async def keys(fm: FileManager, prefix: str = "") -> list[str]:
    return [o.key async for page in fm.client.list_tree(BKT, prefix) for o in page]


async def assert_fresh(fm: FileManager, *directories: str) -> None:
    """The cached listing of each directory matches what the server says right now."""
    for directory in directories:
        truth = await fm.client.list_dir(BKT, directory)
        expected = sorted(
            [f.name for f in truth.files] + [d.rstrip("/").rsplit("/", 1)[-1] for d in truth.dirs]
        )
        if not truth.exists:
            with pytest.raises(FileNotFoundError):
                await fm.listdir(u(directory))
            continue
        assert [e.name for e in await fm.listdir(u(directory))] == expected, directory


async def test_upload_of_300_small_files_is_300_puts(
    ofm: FileManager, s3: EmbeddedS3, tmp_path: Path
) -> None:
    for i in range(300):
        (tmp_path / "up" / f"d{i % 4}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "up" / f"d{i % 4}" / f"f{i:03d}").write_bytes(body(i))
    reset_counts(ofm.client, s3)
    result = await ofm.copy(tmp_path / "up", u("dst/"))
    assert (result.objects, result.failed) == (300, ())
    assert s3.requests == {"PutObject": 300}
    for i in range(300):
        assert await ofm.client.get_bytes(BKT, f"dst/up/d{i % 4}/f{i:03d}") == body(i)


async def test_s3_copy_of_1500_objects_and_batched_invalidation(
    ofm: FileManager, s3: EmbeddedS3
) -> None:
    objects = {f"src/d{i % 10}/o{i:04d}": body(i) for i in range(1500)}
    await put_all(ofm, objects)
    await assert_fresh(ofm, "", "dst/")  # warm
    reset_counts(ofm.client, s3)
    events_before = ofm.statistics().invalidator

    result = await ofm.copy(u("src"), u("dst/"))

    assert (result.objects, result.failed) == (1500, ())
    assert s3.requests == {"ListObjectsV2": 2, "CopyObject": 1500}
    stats = ofm.statistics().invalidator
    events = stats.events - events_before.events
    batches = stats.batches - events_before.batches
    assert events == 1500
    # far fewer batches than events: at least 5 events a batch on average (the count
    # depends on timing: what arrives within one 100 ms window makes one batch)
    assert batches * 5 <= events
    await assert_fresh(ofm, "", "dst/", "dst/src/", "dst/src/d3/")
    assert await ofm.client.get_bytes(BKT, "dst/src/d7/o0007") == body(7)


async def test_delete_of_2500_objects_is_3_lists_and_3_batches(
    ofm: FileManager, s3: EmbeddedS3
) -> None:
    await put_all(ofm, {f"del/x/{i:04d}": b"x" for i in range(2500)} | {"keep": b"k"})
    await assert_fresh(ofm, "", "del/", "del/x/")
    reset_counts(ofm.client, s3)
    result = await ofm.delete(u("del/"))
    assert (result.objects, result.failed) == (2500, ())
    assert s3.requests == {"ListObjectsV2": 3, "DeleteObjects": 3}
    assert await keys(ofm) == ["keep"]
    await assert_fresh(ofm, "", "del/", "del/x/")  # the grandparent lost its prefix


async def test_every_operation_leaves_warm_listings_fresh(ofm: FileManager) -> None:
    await put_all(ofm, {"a/b/one": b"1", "a/b/two": b"2", "c/keep": b"k"})
    dirs = ["", "a/", "a/b/", "c/", "n/", "n/a/", "m/", "m/b/"]
    await assert_fresh(ofm, *dirs)
    await ofm.copy(u("a/b"), u("n/a/"))
    await assert_fresh(ofm, *dirs, "n/a/b/")
    await ofm.move(u("a/b/"), u("m/"))
    await assert_fresh(ofm, *dirs)  # a/ and a/b/ vanished, m/ and m/b/ appeared
    await ofm.create_file(u("z/new"))
    await ofm.create_directory(u("y/"))
    await assert_fresh(ofm, *dirs, "z/", "y/")
    await ofm.delete([u("m/"), u("n/")])
    await assert_fresh(ofm, *dirs)
    assert sorted(await keys(ofm)) == ["c/keep", "y/", "z/new"]


async def test_every_pair_round_trips_byte_exact(ofm: FileManager, tmp_path: Path) -> None:
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "a.bin").write_bytes(os.urandom(3000))
    (src / "sub" / "b.txt").write_bytes(b"bee")
    files = {"a.bin": (src / "a.bin").read_bytes(), "sub/b.txt": b"bee"}

    up = await ofm.copy(src, u("pairs/"))  # local -> S3
    s3s3 = await ofm.copy(u("pairs/tree/"), u("pairs2/"))  # S3 -> S3
    down = await ofm.copy(u("pairs2/tree"), tmp_path / "down")  # S3 -> local
    local = await ofm.copy(tmp_path / "down" / "tree", tmp_path / "again")  # local -> local
    for result in (up, s3s3, down, local):
        assert (result.objects, result.failed) == (3, ())
    for name, data in files.items():
        assert await ofm.read_bytes(u(f"pairs2/tree/{name}")) == data
        assert (tmp_path / "down" / "tree" / name).read_bytes() == data
        assert (tmp_path / "again" / "tree" / name).read_bytes() == data
    assert (tmp_path / "again" / "tree" / "empty").is_dir()
    assert await ofm.is_dir(u("pairs2/tree/empty"))
    assert temporary_files(tmp_path) == []


async def test_local_move_removes_sources(ofm: FileManager, tmp_path: Path) -> None:
    src = tmp_path / "mv"
    (src / "s").mkdir(parents=True)
    (src / "s" / "f").write_bytes(b"data")
    result = await ofm.move(src, u("moved/"))
    assert (result.objects, result.failed) == (1, ())
    assert not src.exists()
    assert await ofm.read_bytes(u("moved/mv/s/f")) == b"data"


async def test_conflict_policies_and_dry_run(ofm: FileManager, s3: EmbeddedS3) -> None:
    await put_all(ofm, {"src/a": b"new-a", "src/b": b"new-b", "dst/src/a": b"old-a"})
    reset_counts(ofm.client, s3)
    planned = await ofm.copy(u("src/"), u("dst/"), dry_run=True)
    assert [p.destination for p in planned.planned] == [u("dst/src/a"), u("dst/src/b")]
    assert s3.requests == {"ListObjectsV2": 1}  # nothing written

    skipped = await ofm.copy(u("src/"), u("dst/"), conflict="skip")
    assert [s.destination for s in skipped.skipped] == [u("dst/src/a")]
    assert await ofm.read_bytes(u("dst/src/a")) == b"old-a"
    assert "HeadObject" not in s3.requests  # existence came from one listing of dst/

    errored = await ofm.copy(u("src/"), u("dst/"), conflict="error")
    # after the skip run both destinations exist
    assert [type(f.error).__name__ for f in errored.failed] == ["AlreadyExistsError"] * 2
    assert isinstance(errored.failed[0].error, FileExistsError)
    with pytest.raises(OperationError) as raised:
        errored.raise_for_errors()
    assert raised.value.result is errored

    overwritten = await ofm.copy(u("src/"), u("dst/"))
    assert overwritten.objects == 2
    assert await ofm.read_bytes(u("dst/src/a")) == b"new-a"
    with pytest.raises(ValueError, match="conflict"):
        await ofm.copy(u("src/"), u("dst/"), conflict="merge")  # type: ignore[arg-type]


async def test_missing_sources_and_globs(ofm: FileManager) -> None:
    await put_all(ofm, {f"logs/2026-0{m}/app.gz": b"g" for m in range(1, 4)} | {"logs/x.txt": b"t"})
    result = await ofm.copy([u("logs/2026-0[12]"), u("nope/")], u("picked/"))
    assert sorted(r.destination or "" for r in result.succeeded) == [
        u("picked/2026-01/app.gz"),
        u("picked/2026-02/app.gz"),
    ]
    assert [(f.source, type(f.error)) for f in result.failed] == [(u("nope/"), FileNotFoundError)]


async def test_move_of_500_objects_under_faults_loses_nothing(s3: EmbeddedS3) -> None:
    objects = {f"mv/{i % 5}/o{i:03d}": body(i) for i in range(500)}
    async with FileManager(settings=make_settings(s3, max_attempts=4, retry_base_delay=0.01)) as fm:
        await fm.make_bucket(BKT)
        await put_all(fm, objects)
        s3.fail_rate = 0.2
        result = await fm.move(u("mv/"), u("there/"))
        s3.fail_rate = 0.0
        remaining = set(await keys(fm, "mv/"))
        moved = {k.removeprefix("there/mv/"): k for k in await keys(fm, "there/")}
        for key, data in objects.items():
            relative = key.removeprefix("mv/")
            if key in remaining:  # its copy failed: the source is intact
                assert await fm.client.get_bytes(BKT, key) == data
            else:  # moved: present and byte-exact at the destination
                assert await fm.client.get_bytes(BKT, moved[relative]) == data
    assert sum(s3.faults_injected.values()) > 50
    failed_sources = {f.source.removeprefix(u()) for f in result.failed}
    assert failed_sources == remaining  # failures are exactly the sources still in place
    assert len(remaining) + result.objects == 500


async def test_cancelling_a_multipart_upload_leaves_nothing(s3: EmbeddedS3, tmp_path: Path) -> None:
    settings = make_settings(s3, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(26 * MiB))
    async with FileManager(settings=settings) as fm:
        await fm.make_bucket(BKT)
        held = s3.hold("UploadPart", count=6)
        handle = fm.submit(fm.copy(big, u("up/")))
        await wait_until(lambda: held.arrived >= 1)
        handle.cancel()
        result = await handle
        held.release()
        assert isinstance(result, OperationResult)
        assert result.cancelled
        assert result.objects == 0
        assert await fm.client.list_multipart_uploads(BKT) == []
        assert await keys(fm) == []
        assert s3.requests["AbortMultipartUpload"] == 1


async def test_cancelled_download_leaves_no_temporary_file(
    ofm: FileManager, s3: EmbeddedS3, tmp_path: Path
) -> None:
    await put_all(ofm, {f"dl/{i}": os.urandom(1000) for i in range(40)})
    s3.freeze(after=5, operation="GetObject")  # 5 downloads are answered, the rest wait
    handle = ofm.submit(ofm.copy(u("dl/"), tmp_path / "out"))
    await wait_until(lambda: s3.frozen_requests > 0)
    handle.cancel()
    result = await handle
    s3.thaw()
    assert result.cancelled
    assert temporary_files(tmp_path) == []
    assert count_entries(tmp_path / "out" / "dl") == result.objects < 40


async def test_progress_is_reported_and_throttled(ofm: FileManager) -> None:
    await put_all(ofm, {f"p/{i:03d}": b"x" * 10 for i in range(200)})
    seen: list[Progress] = []
    result = await ofm.copy(u("p/"), u("q/"), progress=seen.append)
    assert result.objects == 200
    assert seen[-1] == Progress(200, 2000, 200, 2000, 0)
    assert len(seen) < 200 / 2  # throttled, not one call per item
    handle = ofm.submit(ofm.delete(u("q/")))
    await handle
    assert handle.progress.objects_done == 200


async def test_cache_manager_follows_changes_made_elsewhere(ofm: FileManager) -> None:
    await put_all(ofm, {"cm/src/a": b"a", "cm/dst/old": b"o"})
    await assert_fresh(ofm, "", "cm/", "cm/src/", "cm/dst/")
    cm = ofm.cache_manager
    # someone else copies cm/src/a into cm/dst/: the cache does not know until told
    await ofm.client.copy(BKT, "cm/src/a", BKT, "cm/dst/src/a", size=1)
    await cm.invalidate_cache_for_copy_operation([u("cm/src")], u("cm/dst/"))
    await assert_fresh(ofm, "cm/dst/", "cm/dst/src/")
    await ofm.client.delete(BKT, "cm/src/a")
    await cm.invalidate_cache_for_move_operation([u("cm/src/a")], u("cm/dst/"))
    await assert_fresh(ofm, "cm/", "cm/src/")
    await ofm.client.delete(BKT, "cm/dst/old")
    await cm.invalidate_cache_for_delete_operation([u("cm/dst/old")])
    await assert_fresh(ofm, "cm/dst/")
    await ofm.client.put(BKT, "cm/arch.tar", b"t")
    await cm.invalidate_cache_for_archive_operation(u("cm/arch.tar"))
    await ofm.client.put(BKT, "cm/new/", b"")
    await cm.invalidate_cache_for_create_operation(u("cm/new/"))
    await assert_fresh(ofm, "", "cm/")
    await ofm.client.put(BKT, "cm/dst/src/x/y", b"y")
    await cm.invalidate_cache_for_directory(u("cm/dst/src"))
    await assert_fresh(ofm, "cm/dst/src/", "cm/dst/src/x/")
    await cm.invalidate_cache_for_create_operation("/tmp/local/paths/are/ignored")
