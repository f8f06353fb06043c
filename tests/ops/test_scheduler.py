"""Bulk operations over EmbeddedS3: exact server-side counts, fresh listings after every
operation kind, every source/destination pair, conflicts, dry runs, faults, cancellation."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from aios3fm import (
    EmbeddedS3,
    FileManager,
    ItemResult,
    MiB,
    OperationError,
    OperationResult,
    Progress,
)

from ..conftest import BUCKET, keys, make_settings, put_all, reset_counts, u, wait_until


def body(i: int) -> bytes:
    return hashlib.sha256(b"%d" % i).digest() * (1 + i % 3)


def temporary_files(root: Path) -> list[Path]:
    """Temporary download files left anywhere under ``root`` (there must be none)."""
    return list(root.rglob("*.aios3fm"))


def count_entries(directory: Path) -> int:
    return len(list(directory.iterdir()))


async def assert_fresh(fm: FileManager, *directories: str) -> None:
    """The cached listing of each directory matches what the server says right now."""
    for directory in directories:
        truth = await fm.client.list_dir(BUCKET, directory)
        expected = sorted(
            [f.name for f in truth.files] + [d.rstrip("/").rsplit("/", 1)[-1] for d in truth.dirs]
        )
        if not truth.exists:
            with pytest.raises(FileNotFoundError):
                await fm.listdir(u(directory))
            continue
        assert [e.name for e in await fm.listdir(u(directory))] == expected, directory


async def test_upload_of_300_small_files_is_300_puts(
    fm: FileManager, bucket: str, s3: EmbeddedS3, tmp_path: Path
) -> None:
    for i in range(300):
        (tmp_path / "up" / f"d{i % 4}").mkdir(parents=True, exist_ok=True)
        (tmp_path / "up" / f"d{i % 4}" / f"f{i:03d}").write_bytes(body(i))
    reset_counts(fm.client, s3)
    result = await fm.copy(tmp_path / "up", u("dst/"))
    assert (result.objects, result.failed) == (300, ())
    assert s3.requests == {"PutObject": 300}
    for i in range(300):
        assert await fm.client.get_bytes(BUCKET, f"dst/up/d{i % 4}/f{i:03d}") == body(i)


async def test_s3_copy_of_1500_objects_and_batched_invalidation(
    fm: FileManager, bucket: str, s3: EmbeddedS3
) -> None:
    objects = {f"src/d{i % 10}/o{i:04d}": body(i) for i in range(1500)}
    await put_all(fm, objects)
    await assert_fresh(fm, "", "dst/")  # warm
    reset_counts(fm.client, s3)
    events_before = fm.statistics().invalidator

    result = await fm.copy(u("src"), u("dst/"))

    assert (result.objects, result.failed) == (1500, ())
    assert s3.requests == {"ListObjectsV2": 2, "CopyObject": 1500}
    stats = fm.statistics().invalidator
    events = stats.events - events_before.events
    batches = stats.batches - events_before.batches
    assert events == 1500
    # far fewer batches than events: at least 5 events a batch on average (the count
    # depends on timing: what arrives within one 100 ms window makes one batch)
    assert batches * 5 <= events
    await assert_fresh(fm, "", "dst/", "dst/src/", "dst/src/d3/")
    assert await fm.client.get_bytes(BUCKET, "dst/src/d7/o0007") == body(7)


async def test_delete_of_2500_objects_is_3_lists_and_3_batches(
    fm: FileManager, bucket: str, s3: EmbeddedS3
) -> None:
    await put_all(fm, {f"del/x/{i:04d}": b"x" for i in range(2500)} | {"keep": b"k"})
    await assert_fresh(fm, "", "del/", "del/x/")
    reset_counts(fm.client, s3)
    result = await fm.delete(u("del/"))
    assert (result.objects, result.failed) == (2500, ())
    assert s3.requests == {"ListObjectsV2": 3, "DeleteObjects": 3}
    assert await keys(fm) == ["keep"]
    await assert_fresh(fm, "", "del/", "del/x/")  # the grandparent lost its prefix


async def test_every_operation_leaves_warm_listings_fresh(fm: FileManager, bucket: str) -> None:
    await put_all(fm, {"a/b/one": b"1", "a/b/two": b"2", "c/keep": b"k"})
    dirs = ["", "a/", "a/b/", "c/", "n/", "n/a/", "m/", "m/b/"]
    await assert_fresh(fm, *dirs)
    await fm.copy(u("a/b"), u("n/a/"))
    await assert_fresh(fm, *dirs, "n/a/b/")
    await fm.move(u("a/b/"), u("m/"))
    await assert_fresh(fm, *dirs)  # a/ and a/b/ vanished, m/ and m/b/ appeared
    await fm.create_file(u("z/new"))
    await fm.create_directory(u("y/"))
    await assert_fresh(fm, *dirs, "z/", "y/")
    await fm.delete([u("m/"), u("n/")])
    await assert_fresh(fm, *dirs)
    assert sorted(await keys(fm)) == ["c/keep", "y/", "z/new"]


async def test_every_pair_round_trips_byte_exact(
    fm: FileManager, bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "empty").mkdir()
    (src / "a.bin").write_bytes(os.urandom(3000))
    (src / "sub" / "b.txt").write_bytes(b"bee")
    files = {"a.bin": (src / "a.bin").read_bytes(), "sub/b.txt": b"bee"}

    up = await fm.copy(src, u("pairs/"))  # local -> S3
    s3s3 = await fm.copy(u("pairs/tree/"), u("pairs2/"))  # S3 -> S3
    down = await fm.copy(u("pairs2/tree"), tmp_path / "down")  # S3 -> local
    local = await fm.copy(tmp_path / "down" / "tree", tmp_path / "again")  # local -> local
    for result in (up, s3s3, down, local):
        assert (result.objects, result.failed) == (3, ())
    for name, data in files.items():
        assert await fm.read_bytes(u(f"pairs2/tree/{name}")) == data
        assert (tmp_path / "down" / "tree" / name).read_bytes() == data
        assert (tmp_path / "again" / "tree" / name).read_bytes() == data
    assert (tmp_path / "again" / "tree" / "empty").is_dir()
    assert await fm.is_dir(u("pairs2/tree/empty"))
    assert temporary_files(tmp_path) == []


async def test_local_move_removes_sources(fm: FileManager, bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "mv"
    (src / "s").mkdir(parents=True)
    (src / "s" / "f").write_bytes(b"data")
    result = await fm.move(src, u("moved/"))
    assert (result.objects, result.failed) == (1, ())
    assert not src.exists()
    assert await fm.read_bytes(u("moved/mv/s/f")) == b"data"


async def test_conflict_policies_and_dry_run(fm: FileManager, bucket: str, s3: EmbeddedS3) -> None:
    await put_all(fm, {"src/a": b"new-a", "src/b": b"new-b", "dst/src/a": b"old-a"})
    reset_counts(fm.client, s3)
    planned = await fm.copy(u("src/"), u("dst/"), dry_run=True)
    assert [p.destination for p in planned.planned] == [u("dst/src/a"), u("dst/src/b")]
    assert s3.requests == {"ListObjectsV2": 1}  # nothing written

    skipped = await fm.copy(u("src/"), u("dst/"), conflict="skip")
    assert [s.destination for s in skipped.skipped] == [u("dst/src/a")]
    assert await fm.read_bytes(u("dst/src/a")) == b"old-a"
    assert "HeadObject" not in s3.requests  # existence came from one listing of dst/

    errored = await fm.copy(u("src/"), u("dst/"), conflict="error")
    # after the skip run both destinations exist
    assert [type(f.error).__name__ for f in errored.failed] == ["AlreadyExistsError"] * 2
    assert isinstance(errored.failed[0].error, FileExistsError)
    with pytest.raises(OperationError) as raised:
        errored.raise_for_errors()
    assert raised.value.result is errored

    overwritten = await fm.copy(u("src/"), u("dst/"))
    assert overwritten.objects == 2
    assert await fm.read_bytes(u("dst/src/a")) == b"new-a"
    with pytest.raises(ValueError, match="conflict"):
        await fm.copy(u("src/"), u("dst/"), conflict="merge")  # type: ignore[arg-type]


async def test_missing_sources_and_globs(fm: FileManager, bucket: str) -> None:
    await put_all(fm, {f"logs/2026-0{m}/app.gz": b"g" for m in range(1, 4)} | {"logs/x.txt": b"t"})
    result = await fm.copy([u("logs/2026-0[12]"), u("nope/")], u("picked/"))
    assert sorted(r.destination or "" for r in result.succeeded) == [
        u("picked/2026-01/app.gz"),
        u("picked/2026-02/app.gz"),
    ]
    assert [(f.source, type(f.error)) for f in result.failed] == [(u("nope/"), FileNotFoundError)]


async def test_move_of_500_objects_under_faults_loses_nothing(s3: EmbeddedS3) -> None:
    objects = {f"mv/{i % 5}/o{i:03d}": body(i) for i in range(500)}
    async with FileManager(settings=make_settings(s3, max_attempts=4, retry_base_delay=0.01)) as fm:
        await fm.make_bucket(BUCKET)
        await put_all(fm, objects)
        s3.fail_rate = 0.2
        result = await fm.move(u("mv/"), u("there/"))
        s3.fail_rate = 0.0
        remaining = set(await keys(fm, "mv/"))
        moved = {k.removeprefix("there/mv/"): k for k in await keys(fm, "there/")}
        for key, data in objects.items():
            relative = key.removeprefix("mv/")
            if key in remaining:  # its copy failed: the source is intact
                assert await fm.client.get_bytes(BUCKET, key) == data
            else:  # moved: present and byte-exact at the destination
                assert await fm.client.get_bytes(BUCKET, moved[relative]) == data
    assert sum(s3.faults_injected.values()) > 50
    failed_sources = {f.source.removeprefix(u()) for f in result.failed}
    assert failed_sources == remaining  # failures are exactly the sources still in place
    assert len(remaining) + result.objects == 500


async def test_cancelling_a_multipart_upload_leaves_nothing(s3: EmbeddedS3, tmp_path: Path) -> None:
    settings = make_settings(s3, multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(26 * MiB))
    async with FileManager(settings=settings) as fm:
        await fm.make_bucket(BUCKET)
        held = s3.hold("UploadPart", count=6)
        handle = fm.submit(fm.copy(big, u("up/")))
        await wait_until(lambda: held.arrived >= 1)
        handle.cancel()
        result = await handle
        held.release()
        assert isinstance(result, OperationResult)
        assert result.cancelled
        assert result.objects == 0
        assert await fm.client.list_multipart_uploads(BUCKET) == []
        assert await keys(fm) == []
        assert s3.requests["AbortMultipartUpload"] == 1


async def test_cancelled_download_leaves_no_temporary_file(
    fm: FileManager, bucket: str, s3: EmbeddedS3, tmp_path: Path
) -> None:
    await put_all(fm, {f"dl/{i}": os.urandom(1000) for i in range(40)})
    s3.freeze(after=5, operation="GetObject")  # 5 downloads are answered, the rest wait
    handle = fm.submit(fm.copy(u("dl/"), tmp_path / "out"))
    await wait_until(lambda: s3.frozen_requests > 0)
    handle.cancel()
    result = await handle
    s3.thaw()
    assert result.cancelled
    assert temporary_files(tmp_path) == []
    assert count_entries(tmp_path / "out" / "dl") == result.objects < 40


async def test_progress_is_reported_and_throttled(fm: FileManager, bucket: str) -> None:
    await put_all(fm, {f"p/{i:03d}": b"x" * 10 for i in range(200)})
    seen: list[Progress] = []
    result = await fm.copy(u("p/"), u("q/"), progress=seen.append)
    assert result.objects == 200
    assert seen[-1] == Progress(200, 2000, 200, 2000, 0)
    assert len(seen) < 200 / 2  # throttled, not one call per item
    handle = fm.submit(fm.delete(u("q/")))
    await handle
    assert handle.progress.objects_done == 200


async def test_cache_manager_follows_changes_made_elsewhere(fm: FileManager, bucket: str) -> None:
    await put_all(fm, {"cm/src/a": b"a", "cm/dst/old": b"o"})
    await assert_fresh(fm, "", "cm/", "cm/src/", "cm/dst/")
    cm = fm.cache_manager
    # someone else copies cm/src/a into cm/dst/: the cache does not know until told
    await fm.client.copy(BUCKET, "cm/src/a", BUCKET, "cm/dst/src/a", size=1)
    await cm.invalidate_cache_for_copy_operation([u("cm/src")], u("cm/dst/"))
    await assert_fresh(fm, "cm/dst/", "cm/dst/src/")
    await fm.client.delete(BUCKET, "cm/src/a")
    await cm.invalidate_cache_for_move_operation([u("cm/src/a")], u("cm/dst/"))
    await assert_fresh(fm, "cm/", "cm/src/")
    await fm.client.delete(BUCKET, "cm/dst/old")
    await cm.invalidate_cache_for_delete_operation([u("cm/dst/old")])
    await assert_fresh(fm, "cm/dst/")
    await fm.client.put(BUCKET, "cm/arch.tar", b"t")
    await cm.invalidate_cache_for_archive_operation(u("cm/arch.tar"))
    await fm.client.put(BUCKET, "cm/new/", b"")
    await cm.invalidate_cache_for_create_operation(u("cm/new/"))
    await assert_fresh(fm, "", "cm/")
    await fm.client.put(BUCKET, "cm/dst/src/x/y", b"y")
    await cm.invalidate_cache_for_directory(u("cm/dst/src"))
    await assert_fresh(fm, "cm/dst/src/", "cm/dst/src/x/")
    await cm.invalidate_cache_for_create_operation("/tmp/local/paths/are/ignored")


async def test_items_stream_to_on_item_and_keep_items_false_keeps_only_counts(
    fm: FileManager, bucket: str
) -> None:
    objects = {f"st/src/o{i:02d}": b"x" * i for i in range(30)}
    await put_all(fm, objects | {"st/dst/src/o00": b"old", "st/dst/src/o01": b"old"})
    sources = [u("st/src/"), u("st/nope/")]

    def key(item: ItemResult) -> tuple[str, str | None, str, int, str, str]:
        return (item.source, item.destination, item.status, item.size, item.reason,
                type(item.error).__name__)  # fmt: skip

    kept_stream: list[ItemResult] = []
    kept = await fm.copy(sources, u("st/dst/"), conflict="skip", on_item=kept_stream.append)
    every = kept.succeeded + kept.skipped + kept.failed
    assert sorted(map(key, kept_stream)) == sorted(map(key, every))  # the same items, once
    assert dict(kept.counts) == {"done": 28, "skipped": 2, "failed": 1, "planned": 0}

    streamed: list[ItemResult] = []
    lean = await fm.copy(
        sources, u("st/again/"), conflict="skip", on_item=streamed.append, keep_items=False
    )
    assert (lean.succeeded, lean.skipped, lean.failed, lean.planned) == ((), (), (), ())
    assert dict(lean.counts) == {"done": 30, "skipped": 0, "failed": 1, "planned": 0}
    assert (lean.objects, lean.bytes, lean.ok) == (30, sum(range(30)), False)
    assert sorted(i.destination or "" for i in streamed if i.status == "done") == [
        u(f"st/again/src/o{i:02d}") for i in range(30)
    ]
    assert [(i.source, type(i.error)) for i in streamed if i.status == "failed"] == [
        (u("st/nope/"), FileNotFoundError)
    ]
    with pytest.raises(OperationError, match=r"copy: 1 item\(s\) failed"):
        lean.raise_for_errors()
    for i in range(30):
        assert await fm.read_bytes(u(f"st/again/src/o{i:02d}")) == b"x" * i


async def test_a_callback_that_raises_neither_fails_items_nor_stops_the_operation(
    fm: FileManager, bucket: str, s3: EmbeddedS3
) -> None:
    await put_all(fm, {f"cb/src/o{i}": b"%d" % i for i in range(6)})
    seen: list[str] = []

    def on_item(item: ItemResult) -> None:
        seen.append(item.status)
        if len(seen) == 3:
            raise BrokenPipeError("stdout went away")

    reset_counts(fm.client, s3)
    with pytest.raises(BrokenPipeError, match="stdout went away"):
        await fm.move(u("cb/src/"), u("cb/dst/"), on_item=on_item, keep_items=False)
    assert seen == ["done"] * 3  # not called again, and no item recorded twice
    assert s3.requests == {"ListObjectsV2": 1, "CopyObject": 6, "DeleteObjects": 1}
    assert sorted(await keys(fm, "cb/")) == [f"cb/dst/src/o{i}" for i in range(6)]
    assert [e.name for e in await fm.listdir(u("cb/"))] == ["dst"]  # invalidated all the same
