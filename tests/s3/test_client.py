"""S3Client against EmbeddedS3 over HTTP: listings, keys, ranges, deletes, exact call counts."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from aios3fm import EmbeddedS3, FileManager, S3Client

from ..conftest import reset_counts, wait_until

ODD_KEYS = [
    "with space.txt",
    "ünïcødé/ファイル.txt",
    "plus+sign",
    "percent%20encoded",
    "hash#tag",
    "question?mark=1&x",
    "double//slash",
    "dir-marker/",
    "/leading-slash",
    "tab\tand control \x01",  # moto cannot route a key holding "\n"; S3 can
    "emoji 🚀",
    "k" * 1024,
    "é" * 512,  # 1024 bytes in UTF-8
]


async def put_many(client: S3Client, bucket: str, keys: list[str]) -> None:
    async with anyio.create_task_group() as tg:
        for key in keys:
            tg.start_soon(client.put, bucket, key, key.encode())


async def test_list_tree_pages_past_1000_keys(
    client: S3Client, s3: EmbeddedS3, bucket: str
) -> None:
    keys = sorted(f"many/{i:05d}" for i in range(2345))
    await put_many(client, bucket, keys)
    reset_counts(client, s3)

    pages = [page async for page in client.list_tree(bucket, "many/")]

    assert [len(p) for p in pages] == [1000, 1000, 345]
    assert [o.key for p in pages for o in p] == keys
    assert client.api_calls == {"ListObjectsV2": 3}
    assert s3.requests == {"ListObjectsV2": 3}


async def test_list_dir_separates_files_dirs_and_own_marker(
    client: S3Client, s3: EmbeddedS3, bucket: str
) -> None:
    files = [f"d/f{i:04d}" for i in range(1005)]
    subdirs = [f"d/sub{i}/x" for i in range(3)]
    await put_many(client, bucket, [*files, *subdirs, "d/", "d/sub1/"])
    reset_counts(client, s3)

    listing = await client.list_dir(bucket, "d")  # "d" and "d/" are the same directory

    assert listing.prefix == "d/"
    assert [f.key for f in listing.files] == files
    assert listing.dirs == ("d/sub0/", "d/sub1/", "d/sub2/")
    assert listing.marker is not None
    assert listing.marker.key == "d/"
    assert listing.marker.is_dir
    assert all(f.size == len(f.key) and f.etag and f.mtime for f in listing.files)
    assert client.api_calls == {"ListObjectsV2": 2}
    assert s3.requests == {"ListObjectsV2": 2}


async def test_list_dir_of_missing_prefix_is_empty(client: S3Client, bucket: str) -> None:
    listing = await client.list_dir(bucket, "nothing/here/")
    assert (listing.files, listing.dirs, listing.marker, listing.exists) == ((), (), None, False)


@pytest.mark.parametrize("key", ODD_KEYS, ids=lambda k: repr(k[:20]))
async def test_odd_keys_round_trip_exactly(
    client: S3Client, s3: EmbeddedS3, bucket: str, key: str
) -> None:
    body = b"\x00\xff" + key.encode()
    put = await client.put(bucket, key, body)
    info = await client.head(bucket, key)
    data = await client.get_bytes(bucket, key)
    listed = [o async for page in client.list_tree(bucket) for o in page]

    assert data == body
    assert (info.key, info.size, info.etag) == (key, len(body), put.etag)
    assert [o.key for o in listed] == [key]
    assert info.is_dir is key.endswith("/")
    calls = {"PutObject": 1, "HeadObject": 1, "GetObject": 1, "ListObjectsV2": 1}
    assert client.api_calls == calls
    assert s3.requests == calls


async def test_key_over_1024_bytes_is_refused_by_no_one_here(client: S3Client, bucket: str) -> None:
    # moto accepts 1025-byte keys where S3 answers KeyTooLongError; the client does not
    # pretend to know better than the server it talks to. Documented, not enforced here.
    await client.put(bucket, "k" * 1025, b"x")
    assert await client.get_bytes(bucket, "k" * 1025) == b"x"


async def test_byte_ranges(client: S3Client, s3: EmbeddedS3, bucket: str) -> None:
    body = bytes(range(256)) * 4
    await client.put(bucket, "r", body)
    reset_counts(client, s3)

    assert await client.get_bytes(bucket, "r", start=0, end=5) == body[0:5]
    assert await client.get_bytes(bucket, "r", start=1000) == body[1000:]
    assert await client.get_bytes(bucket, "r", start=-3) == body[-3:]
    assert await client.get_bytes(bucket, "r", end=7) == body[:7]
    assert await client.get_bytes(bucket, "r", start=10, end=2000) == body[10:2000]
    assert await client.get_bytes(bucket, "r", start=9, end=9) == b""  # no request at all
    async with client.get(bucket, "r", start=100, end=300) as reader:
        assert reader.info.size == len(body)  # the object's size, not the slice's
        chunks = [chunk async for chunk in reader]
    assert b"".join(chunks) == body[100:300]
    assert client.api_calls == {"GetObject": 6}
    assert s3.requests == {"GetObject": 6}


async def test_delete_many_batches_of_1000_with_per_key_errors(
    client: S3Client, s3: EmbeddedS3, bucket: str
) -> None:
    keys = [f"del/{i:04d}" for i in range(2400)]
    protected = [f"keep/{i}" for i in range(5)]
    await put_many(client, bucket, keys + protected)
    s3.deny("DeleteObject", bucket=bucket, prefix="keep/")
    reset_counts(client, s3)

    result = await client.delete_many(bucket, [*keys[:1500], *protected, *keys[1500:]])

    assert client.api_calls == {"DeleteObjects": 3}
    assert s3.requests == {"DeleteObjects": 3}
    assert sorted(result.deleted) == keys
    assert [(e.key, e.code) for e in result.errors] == [(k, "AccessDenied") for k in protected]
    assert not result.ok
    remaining = [o.key async for page in client.list_tree(bucket) for o in page]
    assert remaining == protected


async def test_delete_many_of_nothing_makes_no_call(client: S3Client, bucket: str) -> None:
    result = await client.delete_many(bucket, [])
    assert (result.deleted, result.errors, client.api_calls) == ((), (), {})


async def test_buckets(client: S3Client, s3: EmbeddedS3) -> None:
    await client.make_bucket("bucket-one")
    await client.make_bucket("bucket-two")
    await client.head_bucket("bucket-one")
    names = [b.name for b in await client.list_buckets()]
    await client.remove_bucket("bucket-two")
    after = [b.name for b in await client.list_buckets()]

    assert names == ["bucket-one", "bucket-two"]
    assert after == ["bucket-one"]
    expected = {"CreateBucket": 2, "HeadBucket": 1, "ListBuckets": 2, "DeleteBucket": 1}
    assert client.api_calls == expected
    assert s3.requests == expected


async def test_client_and_server_counts_agree_for_a_mixed_sequence(
    client: S3Client, s3: EmbeddedS3, bucket: str
) -> None:
    await client.put(bucket, "a/one", b"1")
    await client.put(bucket, "a/two", b"22")
    await client.copy(bucket, "a/one", bucket, "b/one", size=1)
    await client.copy(bucket, "a/two", bucket, "b/two")  # no size given: one HEAD first
    await client.list_dir(bucket, "a/")
    await client.head(bucket, "b/two")
    assert await client.get_bytes(bucket, "b/two") == b"22"
    await client.delete(bucket, "a/one")
    await client.delete_many(bucket, ["a/two", "b/one"])
    await client.list_buckets()

    expected = {
        "PutObject": 2, "CopyObject": 2, "HeadObject": 2, "ListObjectsV2": 1,
        "GetObject": 1, "DeleteObject": 1, "DeleteObjects": 1, "ListBuckets": 1,
    }  # fmt: skip
    assert client.api_calls == expected
    assert client.requests_sent == expected
    assert s3.requests == expected
    assert [o.key async for page in client.list_tree(bucket) for o in page] == ["b/two"]


@pytest.mark.parametrize("concurrency", [4, 20])
async def test_requests_in_flight_reach_but_never_pass_concurrency(
    s3: EmbeddedS3, concurrency: int
) -> None:
    # 20 shows the pool is sized to the setting: aiobotocore's default pool of 10 would cap it.
    async with FileManager(endpoint_url=s3.endpoint_url, concurrency=concurrency) as fm:
        await fm.make_bucket("pool")
        await fm.client.put("pool", "k", b"x")
        reset_counts(fm.client, s3)
        held = s3.hold("HeadObject", count=3 * concurrency)
        async with anyio.create_task_group() as tg:
            for _ in range(3 * concurrency):
                tg.start_soon(fm.client.head, "pool", "k")
            await wait_until(lambda: held.arrived == concurrency)  # the pool is full ...
            await anyio.sleep(0.05)  # ... and stays so: nothing more is sent meanwhile
            assert held.arrived == concurrency
            held.release()
        assert s3.peak_in_flight == concurrency
        assert s3.requests == {"HeadObject": 3 * concurrency}
        assert f"concurrency={concurrency}" in repr(fm)


def test_endpoint_parameters_dropped_for_caching_are_read_by_no_rule() -> None:
    """aios3fm drops Key, Prefix and CopySource before botocore resolves an endpoint (so
    its cache hits once per bucket); that is only sound while no rule reads them."""
    import gzip
    import json

    import botocore

    from aios3fm._s3._session import UNUSED_ENDPOINT_PARAMETERS

    data = Path(botocore.__file__).parent / "data" / "s3"
    rulesets = list(data.glob("*/endpoint-rule-set-1.json*"))
    assert rulesets
    for path in rulesets:
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.suffix == ".gz" else raw).decode()
        declared = json.loads(text)["parameters"]
        for name in UNUSED_ENDPOINT_PARAMETERS:
            assert name in declared  # still a parameter botocore passes ...
            assert f'"ref": "{name}"' not in text  # ... that no rule reads
            assert f'"ref":"{name}"' not in text


async def test_endpoint_resolution_hits_its_cache_once_per_bucket(
    client: S3Client, bucket: str
) -> None:
    provider = client._transport._client._ruleset_resolver._provider
    for i in range(20):
        await client.put(bucket, f"distinct/{i}", b"x")
    resolve = provider.ruleset.evaluate
    calls = 0

    def counting(params: dict[str, object]) -> object:
        nonlocal calls
        calls += 1
        return resolve(params)

    provider.ruleset.evaluate = counting
    for i in range(20, 40):
        await client.put(bucket, f"distinct/{i}", b"x")
        await client.head(bucket, f"distinct/{i}")
    assert calls == 0  # every one of the 40 requests was answered from the cache


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-21T10:00:00.000Z",
        "2026-11-21T10:00:00Z",
        "2026-11-21T10:00:00.123456+00:00",
        "Sat, 21 Nov 2026 10:00:00 GMT",
        "Mon, 02 Jan 2006 15:04:05 GMT",
        "1700000000",
        "1700000000.5",
    ],
)
def test_fast_timestamp_parser_agrees_with_botocore(text: str) -> None:
    from botocore.utils import parse_timestamp

    from aios3fm._s3._session import parse_timestamp as fast

    assert fast(text) == parse_timestamp(text)
    assert fast(text).utcoffset() is not None
