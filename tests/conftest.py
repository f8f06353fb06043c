"""Fixtures: one EmbeddedS3 for the session (moto over real HTTP), reset before each test.

The user's AWS settings never leak in: every AWS_* variable is removed for the session
(moto's server reads the environment in-process too).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator

import anyio
import pytest

from aios3fm import EmbeddedS3, FileManager, S3Client, Settings

BUCKET = "test-bucket"


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
    """The session's server with no buckets, no counts and no faults."""
    s3_server.reset()
    return s3_server


def make_settings(s3: EmbeddedS3, **overrides: object) -> Settings:
    """Settings for the server; 3 attempts keep botocore's retry backoff short in tests."""
    return Settings(endpoint_url=s3.endpoint_url, max_attempts=3).replace(**overrides)


@pytest.fixture
async def fm(s3: EmbeddedS3) -> AsyncIterator[FileManager]:
    async with FileManager(settings=make_settings(s3)) as manager:
        yield manager


@pytest.fixture
def client(fm: FileManager) -> S3Client:
    return fm.client


@pytest.fixture
async def bucket(client: S3Client, s3: EmbeddedS3) -> str:
    """An empty bucket; client and server counters start at zero after its creation."""
    await client.make_bucket(BUCKET)
    reset_counts(client, s3)
    return BUCKET


def reset_counts(client: S3Client, s3: EmbeddedS3) -> None:
    client.api_calls.clear()
    client.requests_sent.clear()
    s3.reset_requests()


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
