"""Transport: the only code that sends requests through aiobotocore.

One long-lived aiobotocore client (one connection pool sized to ``concurrency``), one
semaphore that every request passes through (multipart parts included, so limits never
multiply), counters of API calls and of HTTP requests sent, the one retry loop, the
single place where botocore and aiohttp errors become aios3fm exceptions, and a circuit
breaker: once every request sent over a whole ``retry_deadline`` has failed, requests fail
at once (``EndpointUnreachable``) instead of each waiting out its own timeouts and
retries, so a bulk job against a dead or frozen endpoint ends in about one deadline
whatever its size. One request a ``retry_max_delay`` goes through as a probe; any answer
closes the breaker again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp
import anyio
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
)
from botocore.exceptions import (
    ConnectionError as BotocoreConnectionError,
)

from .._config import Settings
from .._exceptions import (
    AccessDeniedError,
    InvalidLocationError,
    S3Error,
    TransientError,
    error_class_for,
    redact,
)
from ._session import open_botocore_client

__all__ = ["Breaker", "Transport"]

_TRANSIENT = (HTTPClientError, BotocoreConnectionError, aiohttp.ClientError, OSError,
              asyncio.TimeoutError)  # fmt: skip


class Breaker:
    """Whether the endpoint is worth a request. Failing: since the send time of the first
    request that failed without any answer since; open once that is ``deadline`` ago."""

    def __init__(self, deadline: float, probe_every: float) -> None:
        self._deadline = deadline
        self._probe_every = probe_every
        self._failing_since: float | None = None
        self._last_error: BaseException | None = None
        self._next_probe = 0.0

    @property
    def is_open(self) -> bool:
        since = self._failing_since
        return since is not None and time.monotonic() - since >= self._deadline

    def admit(self, operation: str, location: str) -> None:
        """Raise the breaker's error, unless the breaker is closed or this is a probe."""
        if not self.is_open:
            return
        now = time.monotonic()
        if now >= self._next_probe:
            self._next_probe = now + self._probe_every
            return
        assert self._failing_since is not None
        raise TransientError(
            f"{location}: not sent: the endpoint has failed every request for "
            f"{now - self._failing_since:.0f} s ({operation}); last: {self._last_error}",
            code="EndpointUnreachable", operation=operation, location=location,
        )  # fmt: skip

    def answered(self) -> None:
        self._failing_since = None

    def failed(self, sent: float, error: BaseException) -> None:
        if self._failing_since is None or sent < self._failing_since:
            self._failing_since = sent
        self._last_error = error


class Transport:
    """Requests of one S3Client: ``await call(...)`` or ``async with stream(...)``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.api_calls: Counter[str] = Counter()
        self.requests_sent: Counter[str] = Counter()
        self._slots = anyio.Semaphore(settings.concurrency)
        self.breaker = Breaker(settings.retry_deadline, settings.retry_max_delay)
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._secrets: tuple[str | None, ...] = ()

    @property
    def is_open(self) -> bool:
        return self._client is not None

    @property
    def region(self) -> str | None:
        return None if self._client is None else str(self._client.meta.region_name)

    async def open(self) -> None:
        if self._client is not None:
            return
        stack = AsyncExitStack()
        try:
            self._client, self._secrets = await open_botocore_client(self.settings, stack)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        self._client.meta.events.register("before-send.s3", self._count_request)

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    def _count_request(self, event_name: str, **kwargs: Any) -> None:
        self.requests_sent[event_name.rsplit(".", 1)[-1]] += 1

    # -- errors ---------------------------------------------------------------------------

    def translate(self, exc: BaseException, operation: str, location: str) -> S3Error:
        """The aios3fm exception for a botocore/aiohttp error (the caller raises it ``from``)."""
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code") or "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            text = error.get("Message") or ""
            cls = error_class_for(code or None, status)
            message = f"{location}: {code or status}{': ' + text if text else ''} ({operation})"
            return cls(
                redact(message, self._secrets),
                code=code or None, operation=operation, location=location, status=status,
            )  # fmt: skip
        if isinstance(exc, NoCredentialsError):
            return AccessDeniedError(
                f"{location}: no AWS credentials found ({operation})",
                code="NoCredentials", operation=operation, location=location,
            )  # fmt: skip
        name = type(exc).__name__
        detail = redact(str(exc), self._secrets)
        if isinstance(exc, _TRANSIENT):
            return TransientError(
                f"{location}: {name}: {detail} ({operation})",
                code=name, operation=operation, location=location,
            )  # fmt: skip
        return S3Error(f"{location}: {name}: {detail} ({operation})", operation=operation,
                       location=location)  # fmt: skip

    # -- requests -------------------------------------------------------------------------

    async def call(self, operation: str, location: str, **params: Any) -> Any:
        """One API call under the concurrency limit: counted once, translated, retried."""
        return await self._send(operation, location, params, keep_slot=False)

    async def call_retried(self, operation: str, location: str, **params: Any) -> tuple[Any, bool]:
        """As :meth:`call`, and whether it took more than one attempt: an earlier attempt
        may have been applied with its answer lost (what an orphan sweep needs to know)."""
        attempts: list[int] = []
        response = await self._send(operation, location, params, keep_slot=False, tries=attempts)
        return response, len(attempts) > 1

    @asynccontextmanager
    async def stream(self, operation: str, location: str, **params: Any) -> AsyncIterator[Any]:
        """An API call whose answer has a body to stream: it keeps its slot (and its
        connection) until the block exits, and the body is closed then."""
        response = await self._send(operation, location, params, keep_slot=True)
        try:
            yield response
        finally:
            response["Body"].close()
            self._slots.release()

    async def _send(
        self, operation: str, location: str, params: Mapping[str, Any], *, keep_slot: bool,
        tries: list[int] | None = None,
    ) -> Any:  # fmt: skip
        """The one retry loop: transient errors (5xx, SlowDown, throttling, dropped
        connections, timeouts) are tried again with full-jitter exponential backoff,
        ``max_attempts`` tries within ``retry_deadline`` seconds, waiting outside the slot
        so that a waiting retry holds no request. botocore itself makes one attempt."""
        if self._client is None:
            raise RuntimeError("S3Client is not open; use 'async with S3Client(...)'")
        self.api_calls[operation] += 1
        s = self.settings
        deadline = time.monotonic() + s.retry_deadline
        attempt = 0
        while True:
            await self._slots.acquire()
            sent = time.monotonic()
            if tries is not None:
                tries.append(attempt)
            try:
                self.breaker.admit(operation, location)
                response = await self._invoke(operation, location, params)
            except TransientError as error:
                self._slots.release()
                if error.code == "EndpointUnreachable":
                    raise
                self.breaker.failed(sent, error)
                attempt += 1
                delay = random.uniform(0, min(s.retry_max_delay, s.retry_base_delay * 2**attempt))
                if attempt >= s.max_attempts or time.monotonic() + delay > deadline:
                    raise
            except S3Error:  # the endpoint answered, if only with an error
                self._slots.release()
                self.breaker.answered()
                raise
            except BaseException:
                self._slots.release()
                raise
            else:
                self.breaker.answered()
                if not keep_slot:
                    self._slots.release()
                return response
            await anyio.sleep(delay)

    async def _invoke(self, operation: str, location: str, params: Mapping[str, Any]) -> Any:
        method = getattr(self._client, _snake(operation))
        try:
            return await method(**params)
        except ParamValidationError as exc:
            raise InvalidLocationError(f"{location}: {exc}") from exc
        except (BotoCoreError, ClientError, aiohttp.ClientError, OSError) as exc:
            raise self.translate(exc, operation, location) from exc


_SNAKE_CACHE: dict[str, str] = {}


def _snake(operation: str) -> str:
    name = _SNAKE_CACHE.get(operation)
    if name is None:
        from botocore import xform_name

        name = _SNAKE_CACHE[operation] = xform_name(operation)
    return name
