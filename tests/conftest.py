"""Fixtures shared by every test: one EmbeddedS3 for the session (moto over real HTTP),
reset before each test, a FileManager on it, a bucket, and the helpers tests assert with.

The user's AWS settings never leak in: every AWS_* variable is removed for the session
(moto's server reads the environment in-process too).

A module changes the settings of its ``fm`` by overriding ``settings_overrides``; ``fm``
reads time from ``clock``, which stands still unless a test moves it, so no entry ever
expires because the machine is slow.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

import anyio
import pytest

from aios3fm import EmbeddedS3, FileManager, S3Client, Settings

BUCKET = "test-bucket"


def u(key: str = "") -> str:
    """``s3://test-bucket/<key>``."""
    return f"s3://{BUCKET}/{key}"


class Clock:
    """A monotonic clock that moves only when a test says so (``clock.now += 61``)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session", autouse=True)
def isolate_aws_environment() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("AWS_", "AIOS3FM_")):
                mp.delenv(name)
        mp.setenv("AWS_CONFIG_FILE", os.devnull)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        yield


@pytest.fixture(scope="session")
def s3_server(isolate_aws_environment: None) -> Iterator[EmbeddedS3]:
    with EmbeddedS3() as server:
        yield server


@pytest.fixture
def s3(s3_server: EmbeddedS3) -> EmbeddedS3:
    """The session's server with no buckets, no counts, no faults and no holds."""
    s3_server.reset()
    return s3_server


def plain_boto3(s3: EmbeddedS3) -> Any:
    """A plain (synchronous) boto3 client on the server: the independent view tests
    compare against, and a client that adds nothing of aios3fm's own."""
    import boto3

    c = s3.credentials
    return boto3.client(
        "s3", endpoint_url=s3.endpoint_url, region_name=c.region,
        aws_access_key_id=c.access_key_id, aws_secret_access_key=c.secret_access_key,
    )  # fmt: skip


def make_settings(s3: EmbeddedS3, **overrides: object) -> Settings:
    """Settings for the server; 3 attempts keep retries of injected faults short."""
    return Settings(endpoint_url=s3.endpoint_url, max_attempts=3).replace(**overrides)


@pytest.fixture
def settings_overrides() -> Mapping[str, object]:
    """Fields of Settings that a test module changes for its ``fm`` (override it there)."""
    return {}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def fm(
    s3: EmbeddedS3, settings_overrides: Mapping[str, object], clock: Clock
) -> AsyncIterator[FileManager]:
    settings = make_settings(s3, **settings_overrides)
    async with FileManager(settings=settings, clock=clock) as manager:
        yield manager


@pytest.fixture
def client(fm: FileManager) -> S3Client:
    return fm.client


@pytest.fixture
async def bucket(fm: FileManager, s3: EmbeddedS3) -> str:
    """The empty bucket ``BUCKET``; client and server counters start at zero after it."""
    await fm.make_bucket(BUCKET)
    reset_counts(fm.client, s3)
    return BUCKET


def reset_counts(client: S3Client, s3: EmbeddedS3) -> None:
    client.api_calls.clear()
    client.requests_sent.clear()
    s3.reset_requests()


def assert_calls(fm: FileManager, s3: EmbeddedS3, expected: dict[str, int]) -> None:
    """The client made exactly these API calls and the server saw exactly these requests."""
    assert dict(fm.statistics().api_calls) == expected
    assert s3.requests == expected


async def put_all(fm: FileManager, objects: Mapping[str, bytes], bucket: str = BUCKET) -> None:
    """Write every object straight through the client (no cache, no events), 64 at once."""
    limit = anyio.Semaphore(64)

    async def put(key: str, data: bytes) -> None:
        async with limit:
            await fm.client.put(bucket, key, data)

    async with anyio.create_task_group() as tg:
        for key, data in objects.items():
            tg.start_soon(put, key, data)


async def keys(fm: FileManager, prefix: str = "", bucket: str = BUCKET) -> list[str]:
    """Every key under ``prefix``, straight from the server."""
    return [o.key async for page in fm.client.list_tree(bucket, prefix) for o in page]


async def names(fm: FileManager, location: str) -> list[str]:
    """The names ``listdir`` gives, directories with a trailing ``/``."""
    return [e.name + ("/" if e.is_dir else "") for e in await fm.listdir(location)]


async def wait_until(condition: Callable[[], bool], *, seconds: float = 120) -> None:
    """Wait until ``condition()`` holds. What it reads changes in the server's threads, so
    it is polled (an anyio.Event cannot be set from there). The bound only keeps a broken
    test from hanging: what a test asserts never depends on how long this takes."""
    with anyio.fail_after(seconds):
        while not condition():  # noqa: ASYNC110
            await anyio.sleep(0.005)


async def wait_for_request(s3: EmbeddedS3, operation: str, count: int = 1) -> None:
    """Wait until ``count`` requests of ``operation`` have reached the server."""
    await wait_until(lambda: s3.requests.get(operation, 0) >= count)
