"""EmbeddedS3: moto's S3 on 127.0.0.1, a free port, in a thread, behind the fault middleware.

moto is imported only when a server starts, so the library runs without the ``server``
extra. moto's state is process-wide: two EmbeddedS3 in one process serve the same
buckets, and :meth:`EmbeddedS3.reset` clears them for both. A running server registers
its endpoint with the S3 layer as local, so clients of this process get its dummy
credentials without reading the user's AWS configuration.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import anyio.to_thread

from .._exceptions import MissingDependencyError
from .._s3 import LocalEndpoint, forget_local_endpoint, register_local_endpoint
from ._middleware import DEFAULT_FAULTS, FaultKind, Hold, S3Middleware

__all__ = ["EmbeddedCredentials", "EmbeddedS3"]


@dataclass(frozen=True)
class EmbeddedCredentials:
    """The dummy credentials an EmbeddedS3 hands its clients (moto accepts any)."""

    access_key_id: str = "aios3fm-embedded-access-key"
    secret_access_key: str = field(default="aios3fm-embedded-secret-key", repr=False)
    region: str = "us-east-1"


def _import_moto() -> tuple[Any, Any, Any, Callable[[str, str], str | None]]:
    try:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from moto.s3.models import s3_backends
        from werkzeug.serving import make_server
    except ImportError as exc:
        raise MissingDependencyError(
            "EmbeddedS3 needs moto's server: pip install 'aios3fm[server]'"
        ) from exc

    class QuietHandler(MotoRequestHandler):
        """moto's handler without a log line per request, with keep-alive connections,
        and which ends the connection when a request is dropped.

        werkzeug answers ``Connection: close`` to every request, since http.server cannot
        skip an unread request body; that costs a TCP connection and a thread per request
        and caps the server at a few hundred requests a second. The middleware reads
        every body to its end, so the header is left out and connections are reused
        (a client asking for ``Connection: close`` still gets it).
        """

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            self._reader = _KeepAliveReader(self.rfile)
            self.rfile = self._reader  # type: ignore[assignment]
            # an answer's headers and body are separate writes: without this, a kept-alive
            # connection waits on the client's delayed ACK (40 ms) between them
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            _open_connections(self.server).add(self.connection)

        def finish(self) -> None:
            _open_connections(self.server).discard(self.connection)
            super().finish()

        def make_environ(self) -> dict[str, Any]:
            environ: dict[str, Any] = super().make_environ()
            environ["aios3fm.request_done"] = self._reader.finish
            return environ

        def send_header(self, keyword: str, value: str) -> None:
            closing = keyword.lower() == "connection" and value.lower() == "close"
            if closing and not self.close_connection:  # the client did not ask to close
                return
            super().send_header(keyword, value)

        def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
            self.close_connection = True

    class S3Dispatcher(DomainDispatcherApplication):
        """moto's dispatcher for S3 alone. moto finds each request's service by listing
        its package directory and trying hundreds of URL patterns, under one lock; this
        server only speaks S3, so that work is skipped (its API paths still go to moto)."""

        def get_application(self, environ: dict[str, Any]) -> Any:
            if environ.get("PATH_INFO", "").startswith("/moto-api"):
                return super().get_application(environ)
            app = self.app_instances.get("s3")
            if app is None:
                with self.lock:
                    app = self.app_instances.get("s3") or self.create_app("s3")
                    self.app_instances["s3"] = app
            return app

    def current_etag(bucket: str, key: str) -> str | None:
        """The ETag an object has in moto right now, or None when there is none."""
        try:
            found = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].get_object(bucket, key)
        except Exception:  # no such bucket
            return None
        return None if found is None else str(found.etag)

    app = S3Dispatcher(create_backend_app)
    return app, QuietHandler, make_server, current_etag


def _open_connections(server: Any) -> set[socket.socket]:
    """The kept-alive connections a server holds, so that stopping it cuts them too (set
    up by ``EmbeddedS3.start``; a set's add and discard are atomic)."""
    connections: set[socket.socket] = server.aios3fm_connections
    return connections


class _KeepAliveReader:
    """The connection's read side. Once the middleware has read a request's body to its
    end (``finish``), reads give nothing until the next request line: werkzeug, after
    each answer, reads whatever is waiting on the socket to throw it away, which on a
    kept-alive connection would be the next request."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._finished = False

    def finish(self) -> None:
        self._finished = True

    def readline(self, *args: Any) -> bytes:
        self._finished = False  # http.server reading the next request line
        return bytes(self._raw.readline(*args))

    def read(self, *args: Any) -> bytes:
        return b"" if self._finished else bytes(self._raw.read(*args))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


class EmbeddedS3:
    """A throwaway S3 server for tests, demos and benchmarks.

    Use it as ``async with EmbeddedS3() as s3:`` (or ``with``, or ``start()``/``stop()``)
    and point a client at ``s3.endpoint_url``. ``latency`` adds seconds to every request;
    ``fail_rate`` answers that share of requests with one of ``faults`` (``"500"``,
    ``"503"`` SlowDown, ``"drop"`` for a reset connection, ``"spike"`` for an answer
    ``spike_seconds`` late), picked by a ``seed``-able random generator; all can be changed
    while the server runs. A server stopped and started again serves the same port.
    :meth:`inject` scripts exact faults, :meth:`deny` answers AccessDenied, and
    :attr:`requests` counts what reached the server by S3 operation name.

    By default it answers as AWS S3 does, conditional writes included (where moto does
    not, the middleware does). Switches, all off by default, make it play an
    S3-compatible endpoint instead: :attr:`ignore_conditional_headers`,
    :attr:`reject_checksum_trailers`, :attr:`unordered_listings` and
    :attr:`require_content_md5`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        fail_rate: float = 0.0,
        faults: Iterable[FaultKind] = DEFAULT_FAULTS,
        seed: int | None = None,
        credentials: EmbeddedCredentials | None = None,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._initial = (latency, fail_rate, tuple(faults))
        self._seed = seed
        self.credentials = credentials or EmbeddedCredentials()
        self._middleware: S3Middleware | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None

    def __repr__(self) -> str:
        state = f"serving {self.endpoint_url}" if self.running else "stopped"
        return f"<EmbeddedS3 {state} latency={self._initial[0]} fail_rate={self._initial[1]}>"

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> EmbeddedS3:
        """Start serving in a daemon thread; returns once the port is bound."""
        if self.running:
            raise RuntimeError("EmbeddedS3 is already running")
        app, handler, make_server, current_etag = _import_moto()
        latency, fail_rate, faults = self._initial
        self._middleware = S3Middleware(
            app, latency=latency, fail_rate=fail_rate, faults=faults, seed=self._seed,
            current_etag=current_etag,
        )  # fmt: skip
        port = self._port if self._port is not None else self._requested_port
        server = make_server(
            self._host, port, self._middleware, threaded=True,
            request_handler=handler,
        )  # fmt: skip
        server.aios3fm_connections = set()
        self._server = server
        self._port = int(server.server_port)
        self._thread = threading.Thread(
            target=server.serve_forever, name=f"EmbeddedS3:{self._port}", daemon=True
        )
        self._thread.start()
        c = self.credentials
        register_local_endpoint(
            self.endpoint_url, LocalEndpoint(c.access_key_id, c.secret_access_key, c.region)
        )
        return self

    def stop(self) -> None:
        """Stop serving and release the port. Open connections are cut; requests already
        inside finish before this returns, so nothing changes on a stopped server."""
        if self._server is None:
            return
        forget_local_endpoint(self.endpoint_url)
        self._server.shutdown()
        self._server.server_close()
        for connection in list(_open_connections(self._server)):  # kept-alive ones too
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._mw.thaw(drop=True)  # a frozen server dies without answering
        # requests already inside may still finish (as on a real server), but before stop
        # returns: nothing changes on a stopped server
        deadline = time.monotonic() + 10
        while self._mw.in_flight() and time.monotonic() < deadline:
            time.sleep(0.005)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> EmbeddedS3:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.stop()

    async def __aenter__(self) -> EmbeddedS3:
        return await anyio.to_thread.run_sync(self.start)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        await anyio.to_thread.run_sync(self.stop)

    # -- where and how to reach it ------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("EmbeddedS3 has not been started")
        return self._port

    @property
    def host(self) -> str:
        return self._host

    @property
    def endpoint_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def environ(self) -> dict[str, str]:
        """Environment variables that point the aws cli, boto3 or aios3fm at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
            "AWS_DEFAULT_REGION": self.credentials.region,
        }

    # -- state, counters and faults -----------------------------------------------------

    @property
    def _mw(self) -> S3Middleware:
        if self._middleware is None:
            raise RuntimeError("EmbeddedS3 has not been started")
        return self._middleware

    def reset(self) -> None:
        """Forget every bucket and object, the request counts, scripted faults, holds,
        deny rules and freezes; latency and fail_rate go back to the constructor's, and
        every switch (``ignore_conditional_headers``, ...) is off again."""
        connection = http.client.HTTPConnection(self._host, self.port, timeout=30)
        try:
            connection.request("POST", "/moto-api/reset")
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"moto reset failed with HTTP {response.status}")
        finally:
            connection.close()
        mw = self._mw
        mw.reset_counts()
        mw.clear_rules()
        mw.latency, mw.fail_rate, mw.faults = self._initial
        mw.reset_quirks()

    @property
    def requests(self) -> dict[str, int]:
        """Requests that reached the server, by S3 operation name (faulted ones included)."""
        return self._mw.requests()

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def require_content_md5(self) -> bool:
        """Play a server from before S3's flexible checksums: a DeleteObjects without a
        Content-MD5 header is refused (400 MissingContentMD5), a wrong one is BadDigest."""
        return self._mw.require_content_md5

    @require_content_md5.setter
    def require_content_md5(self, required: bool) -> None:
        self._mw.require_content_md5 = bool(required)

    @property
    def ignore_conditional_headers(self) -> bool:
        """Play a server without conditional requests: ``If-Match`` and ``If-None-Match``
        on PutObject, CopyObject, CompleteMultipartUpload and DeleteObject are dropped
        before the write, and DeleteObjects' per-key ``<ETag>`` is not read, so every write
        and delete happens. Conditional reads (GetObject, HeadObject) and the
        ``x-amz-copy-source-if-*`` headers of copies are still honoured. Default False:
        conditional writes are honoured as AWS S3 honours them."""
        return self._mw.ignore_conditional_headers

    @ignore_conditional_headers.setter
    def ignore_conditional_headers(self, ignored: bool) -> None:
        self._mw.ignore_conditional_headers = bool(ignored)

    @property
    def reject_checksum_trailers(self) -> bool:
        """Play a server from before S3's flexible-checksum defaults of 2025 (botocore
        1.36): a request carrying a flexible checksum (``x-amz-sdk-checksum-algorithm``,
        any ``x-amz-checksum-*``, ``x-amz-trailer``, ``Content-Encoding: aws-chunked``
        without SigV4's signed chunks, or a ``STREAMING-...-TRAILER`` payload) is answered
        400 InvalidArgument "Unsupported header '...' received for this API call.", as
        Backblaze B2 answers it. Default False."""
        return self._mw.reject_checksum_trailers

    @reject_checksum_trailers.setter
    def reject_checksum_trailers(self, rejected: bool) -> None:
        self._mw.reject_checksum_trailers = bool(rejected)

    @property
    def unordered_listings(self) -> bool:
        """Play an S3 Express directory bucket, which lists keys in no particular order:
        each ListObjectsV2 page keeps its keys, its size and its continuation token, but
        lists its ``Contents`` and its ``CommonPrefixes`` shuffled (by the generator
        :meth:`seed_faults` seeds). Default False: lexicographic order, as S3 lists."""
        return self._mw.unordered_listings

    @unordered_listings.setter
    def unordered_listings(self, unordered: bool) -> None:
        self._mw.unordered_listings = bool(unordered)

    def last_headers(self, operation: str) -> dict[str, str]:
        """The headers of the last ``operation`` request that reached the server (names in
        lower case), e.g. to see which checksum a client sent."""
        return self._mw.last_headers(operation)

    @property
    def faults_injected(self) -> dict[str, int]:
        """Faults injected so far, by kind (``"500"``, ``"503"``, ``"drop"``)."""
        return self._mw.faults_injected()

    @property
    def peak_in_flight(self) -> int:
        """The most requests the server was handling at once since the last count reset."""
        return self._mw.peak_in_flight()

    def reset_requests(self) -> None:
        """Zero :attr:`requests`, :attr:`faults_injected` and :attr:`peak_in_flight`."""
        self._mw.reset_counts()

    @property
    def latency(self) -> float:
        return self._mw.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._mw.latency = seconds

    @property
    def fail_rate(self) -> float:
        return self._mw.fail_rate

    @fail_rate.setter
    def fail_rate(self, rate: float) -> None:
        self._mw.fail_rate = rate

    def seed_faults(self, seed: int) -> None:
        """Restart the random choice of faults, and the shuffle of
        :attr:`unordered_listings`, from ``seed`` (reproducible runs)."""
        self._mw.seed(seed)

    @property
    def spike_seconds(self) -> float:
        """How late a ``"spike"`` fault answers."""
        return self._mw.spike_seconds

    @spike_seconds.setter
    def spike_seconds(self, seconds: float) -> None:
        self._mw.spike_seconds = float(seconds)

    @property
    def faults(self) -> tuple[FaultKind, ...]:
        return self._mw.faults

    @faults.setter
    def faults(self, kinds: Iterable[FaultKind]) -> None:
        self._mw.faults = tuple(kinds)

    def inject(self, kind: FaultKind, *, count: int = 1, operation: str | None = None) -> None:
        """Answer the next ``count`` requests (of ``operation``, if given) with ``kind``."""
        if count < 1:
            raise ValueError("count must be at least 1")
        self._mw.inject(kind, count, operation)

    def hold(self, operation: str, seconds: float | None = None, *, count: int = 1) -> Hold:
        """Hold back the answers to the next ``count`` requests of ``operation``: moto
        computes each on arrival (it reflects the state then) and it is sent ``seconds``
        later, or, with ``seconds=None``, when the returned Hold is released
        (``hold.release()``; ``hold.arrived`` counts the requests caught). ``latency``
        instead delays a request before moto sees it."""
        if count < 1 or (seconds is not None and seconds < 0):
            raise ValueError("count must be at least 1 and seconds not negative")
        return self._mw.hold(operation, seconds, count)

    def freeze(self, *, after: int = 0, operation: str | None = None) -> None:
        """Stop answering, as a frozen server does (it accepts connections and never
        answers): once ``after`` more requests of ``operation`` (of any operation, if
        None) have been let through, every request is held unanswered until
        :meth:`thaw` (answered then) or :meth:`stop` (connections dropped). Tests that
        kill the server at a given point use it so that the point does not depend on
        how fast the machine is."""
        if after < 0:
            raise ValueError("after must not be negative")
        self._mw.freeze(after, operation)

    @property
    def frozen_requests(self) -> int:
        """Requests held by :meth:`freeze` right now (0 until it engages)."""
        return self._mw.frozen()[1]

    @property
    def in_flight(self) -> int:
        """Requests inside the server right now, held ones included."""
        return self._mw.in_flight()

    def thaw(self) -> None:
        """Answer the requests :meth:`freeze` holds, and serve normally again."""
        self._mw.thaw()

    def deny(self, *operations: str, bucket: str | None = None, prefix: str = "") -> None:
        """Answer AccessDenied to ``operations`` (all, if none named) on keys under
        ``bucket``/``prefix``, as a bucket policy would. DeleteObjects reports each
        covered key as a per-key AccessDenied error and deletes the others."""
        self._mw.deny(operations, bucket, prefix)
