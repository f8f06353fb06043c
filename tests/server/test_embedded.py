"""EmbeddedS3: lifecycle, counters, latency and faults, all seen by the client over HTTP."""

from __future__ import annotations

import pytest

from aios3fm import EmbeddedS3, FileManager, S3Client, TransientError

from ..conftest import make_settings, reset_counts


async def test_async_context_manager_serves_and_releases_its_port(s3: EmbeddedS3) -> None:
    async with EmbeddedS3() as own:
        port = own.port
        assert own.running
        assert own.port != s3.port
        assert own.endpoint_url == f"http://127.0.0.1:{port}"
        async with FileManager(endpoint_url=own.endpoint_url) as fm:
            await fm.make_bucket("own-server")
            assert [b.name for b in await fm.list_buckets()] == ["own-server"]
        # moto's state is process-wide: the session's server sees the same bucket,
        # while each server counts only its own requests.
        async with FileManager(endpoint_url=s3.endpoint_url) as fm:
            assert [b.name for b in await fm.list_buckets()] == ["own-server"]
        assert own.requests == {"CreateBucket": 1, "ListBuckets": 1}
        assert s3.requests == {"ListBuckets": 1}
    assert "stopped" in repr(own)
    assert not own.running


def test_start_stop_and_unused_errors() -> None:
    s3 = EmbeddedS3()
    with pytest.raises(RuntimeError, match="not been started"):
        _ = s3.endpoint_url
    s3.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            s3.start()
        assert s3.requests == {}
    finally:
        s3.stop()
    s3.stop()  # idempotent


@pytest.mark.parametrize("kind", ["500", "503", "drop"])
async def test_one_fault_is_retried_by_the_client(
    client: S3Client, s3: EmbeddedS3, bucket: str, kind: str
) -> None:
    s3.inject(kind, operation="PutObject")  # type: ignore[arg-type]
    await client.put(bucket, "k", b"payload")

    assert await client.get_bytes(bucket, "k") == b"payload"
    assert s3.faults_injected == {kind: 1}
    assert client.api_calls == {"PutObject": 1, "GetObject": 1}
    assert client.requests_sent == {"PutObject": 2, "GetObject": 1}
    assert s3.requests == {"PutObject": 2, "GetObject": 1}


async def test_fail_rate_is_settable_while_running(
    client: S3Client, s3: EmbeddedS3, bucket: str
) -> None:
    s3.fail_rate = 1.0
    s3.faults = ["503"]
    with pytest.raises(TransientError):
        await client.head(bucket, "k")
    attempts = client.settings.max_attempts
    assert s3.requests == {"HeadObject": attempts}
    assert s3.faults_injected == {"503": attempts}

    s3.fail_rate = 0.0
    reset_counts(client, s3)
    await client.put(bucket, "k", b"x")
    assert s3.requests == {"PutObject": 1}
    assert s3.faults_injected == {}


async def test_seeded_fail_rate_injects_a_share_of_faults(s3: EmbeddedS3) -> None:
    s3.fail_rate = 0.2
    async with FileManager(settings=make_settings(s3, max_attempts=8)) as fm:
        await fm.make_bucket("flaky")
        for i in range(30):
            await fm.client.put("flaky", f"k{i}", b"x")
        listed = [o.key async for page in fm.client.list_tree("flaky") for o in page]
        sent = sum(fm.client.requests_sent.values())
    assert len(listed) == 30
    injected = sum(s3.faults_injected.values())
    assert injected > 0
    assert sent == s3.total_requests  # every attempt, faulted or not, reached the server
    assert sent == fm.client.api_calls.total() + injected


async def test_latency_is_seen_by_the_client(s3: EmbeddedS3) -> None:
    # A read timeout while the answer is held back fails; once it flows, the call passes.
    settings = make_settings(s3, read_timeout=0.3, max_attempts=1)
    async with FileManager(settings=settings) as fm:
        await fm.make_bucket("slow")
        held = s3.hold("ListObjectsV2")  # answered only after the client gave up
        with pytest.raises(TransientError) as caught:
            await fm.client.list_dir("slow")
        held.release()
        await fm.client.list_dir("slow")
    assert caught.value.code == "ReadTimeoutError"


async def test_reset_forgets_buckets_counts_and_rules(client: S3Client, s3: EmbeddedS3) -> None:
    await client.make_bucket("to-forget")
    s3.inject("500", count=5)
    s3.deny()
    s3.latency = 0.01
    s3.reset()
    assert (s3.requests, s3.faults_injected, s3.latency) == ({}, {}, 0.0)
    assert await client.list_buckets() == []
    assert s3.requests == {"ListBuckets": 1}


def test_environ_points_other_tools_at_the_server(s3: EmbeddedS3) -> None:
    env = s3.environ()
    assert env["AWS_ENDPOINT_URL"] == s3.endpoint_url
    assert env["AWS_ACCESS_KEY_ID"] == s3.credentials.access_key_id
    assert "secret" not in repr(s3.credentials)


def test_bad_settings_are_refused(s3: EmbeddedS3) -> None:
    with pytest.raises(ValueError, match="fail_rate"):
        s3.fail_rate = 1.5
    with pytest.raises(ValueError, match="latency"):
        s3.latency = -1
    with pytest.raises(ValueError, match="faults"):
        s3.faults = ["teapot"]  # type: ignore[list-item]
    with pytest.raises(ValueError, match="count"):
        s3.inject("500", count=0)
