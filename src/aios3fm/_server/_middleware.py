"""A WSGI middleware for moto's S3: counts requests by S3 operation, adds latency, injects
faults, and plays the endpoints the switches of ``_quirks`` describe.

It sits between werkzeug's HTTP server and moto, so everything it does is seen by the
client as real HTTP: a 503 SlowDown with its XML body, a connection reset mid-request,
a per-key error inside a DeleteObjects response, a 412 for a conditional copy. Nothing
here imports moto.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import random
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, unquote
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from ._classify import classify
from ._quirks import (
    QUIRKS,
    EtagOf,
    checksum_header,
    drop_conditions,
    etag_matches,
    forget_judged,
    is_conditional,
    shuffled_listing,
    unmet_precondition,
)

__all__ = ["CONTROL_PATH", "DEFAULT_FAULTS", "FAULT_KINDS", "FaultKind", "Hold", "S3Middleware"]

CONTROL_PATH = "/aios3fm-api/"

FaultKind = Literal["500", "503", "drop", "spike", "lost", "cut"]
FAULT_KINDS: tuple[FaultKind, ...] = ("500", "503", "drop", "spike", "lost", "cut")
"""500 InternalError, 503 SlowDown, a dropped connection (the request is not applied), a
latency spike (answered normally after ``spike_seconds``), a lost answer (the request IS
applied, then the connection drops before the answer: what a failing proxy does), and a
cut answer (applied, then the body stops half way and the connection drops)."""
DEFAULT_FAULTS: tuple[FaultKind, ...] = ("500", "503", "drop")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]

_S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


@dataclass(frozen=True)
class _Denial:
    operations: frozenset[str]
    bucket: str | None
    prefix: str

    def covers(self, operation: str, bucket: str, key: str) -> bool:
        if self.operations and operation not in self.operations:
            return False
        if self.bucket is not None and bucket != self.bucket:
            return False
        return key.startswith(self.prefix)


@dataclass
class _Script:
    kind: FaultKind
    remaining: int
    operation: str | None


class Hold:
    """Answers of the next ``count`` requests of ``operation``, held back: moto computes
    each on arrival (so it reflects the state then) and it is sent once released, after
    ``seconds`` or at :meth:`release`. ``arrived`` counts the requests caught so far."""

    def __init__(self, operation: str, seconds: float | None, count: int) -> None:
        self.operation = operation
        self.seconds = seconds
        self.remaining = count
        self._arrived = 0
        self._lock = threading.Lock()
        self._released = threading.Event()

    def __repr__(self) -> str:
        state = "released" if self._released.is_set() else "holding"
        return f"<Hold {self.operation} {state} arrived={self.arrived}>"

    @property
    def arrived(self) -> int:
        with self._lock:
            return self._arrived

    @property
    def released(self) -> bool:
        return self._released.is_set()

    def release(self) -> None:
        """Send every answer held now, and hold no more."""
        self._released.set()

    def _catch(self) -> None:
        with self._lock:
            self._arrived += 1

    def _wait(self) -> None:
        self._released.wait(self.seconds)


class _Freeze:
    """A server that stops answering: ``after`` more requests of ``operation`` (any, if
    None) are served, then every request is held unanswered until released."""

    def __init__(self, after: int, operation: str | None) -> None:
        self.after = after
        self.operation = operation
        self.served = 0
        self.held = 0
        self.engaged = False
        self.released = threading.Event()
        self.drop = True

    def admit(self, operation: str) -> bool:
        """Whether this request is served (called under the middleware's lock)."""
        if not self.engaged and self.operation in (None, operation):
            self.served += 1
            self.engaged = self.served > self.after
        if self.engaged:
            self.held += 1
        return not self.engaged


_CONTENT = ("CONTENT_TYPE", "CONTENT_LENGTH")


class S3Middleware:
    """Counts, delays and breaks requests before they reach moto; thread-safe."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        latency: float = 0.0,
        fail_rate: float = 0.0,
        faults: Iterable[FaultKind] = DEFAULT_FAULTS,
        spike_seconds: float = 0.25,
        seed: int | None = None,
        current_etag: EtagOf | None = None,
    ) -> None:
        self._app = app
        self._current_etag = current_etag
        self._lock = threading.Lock()
        # held by a conditional write from its check to moto's answer, so that two of them
        # on one key cannot both pass (S3 lets the first one to finish win)
        self._write_lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._headers: dict[str, dict[str, str]] = {}
        self._faults_injected: Counter[str] = Counter()
        self._scripts: deque[_Script] = deque()
        self._denials: list[_Denial] = []
        self._holds: list[Hold] = []
        self._freeze: _Freeze | None = None
        self._in_flight = 0
        self._peak_in_flight = 0
        self._random = random.Random(seed)
        self.latency = latency
        self.fail_rate = fail_rate
        self.faults = tuple(faults)
        self.spike_seconds = spike_seconds
        # the switches named in QUIRKS, each off by default (AWS S3's behaviour); plain
        # attributes, each read once per request
        self.require_content_md5 = False
        self.ignore_conditional_headers = False
        self.reject_checksum_trailers = False
        self.unordered_listings = False

    # -- settings, readable and writable while the server runs ---------------------------

    @property
    def latency(self) -> float:
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must not be negative")
        self._latency = float(seconds)

    @property
    def fail_rate(self) -> float:
        return self._fail_rate

    @fail_rate.setter
    def fail_rate(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("fail_rate must be between 0 and 1")
        self._fail_rate = float(rate)

    @property
    def faults(self) -> tuple[FaultKind, ...]:
        return self._faults

    @faults.setter
    def faults(self, kinds: Iterable[FaultKind]) -> None:
        chosen = tuple(kinds)
        unknown = set(chosen) - set(FAULT_KINDS)
        if unknown or not chosen:
            raise ValueError(f"faults must be a non-empty subset of {FAULT_KINDS}")
        self._faults = chosen

    def quirks(self) -> dict[str, bool]:
        return {name: bool(getattr(self, name)) for name in QUIRKS}

    def set_quirks(self, switches: Mapping[str, bool]) -> None:
        unknown = set(switches) - set(QUIRKS)
        if unknown:
            raise ValueError(f"unknown switches {sorted(unknown)}; known: {QUIRKS}")
        for name, on in switches.items():
            setattr(self, name, bool(on))

    def reset_quirks(self) -> None:
        self.set_quirks(dict.fromkeys(QUIRKS, False))

    def seed(self, seed: int) -> None:
        with self._lock:
            self._random.seed(seed)

    def requests(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def last_headers(self, operation: str) -> dict[str, str]:
        with self._lock:
            return dict(self._headers.get(operation, {}))

    def faults_injected(self) -> dict[str, int]:
        with self._lock:
            return dict(self._faults_injected)

    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def peak_in_flight(self) -> int:
        with self._lock:
            return self._peak_in_flight

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()
            self._headers.clear()
            self._faults_injected.clear()
            self._peak_in_flight = self._in_flight

    def clear_rules(self) -> None:
        with self._lock:
            holds, self._holds = self._holds, []
            self._scripts.clear()
            self._denials.clear()
        for hold in holds:
            hold.release()
        self.thaw()

    def freeze(self, after: int, operation: str | None) -> None:
        with self._lock:
            if self._freeze is not None:
                raise RuntimeError("the server is frozen already; thaw() it first")
            self._freeze = _Freeze(after, operation)

    def frozen(self) -> tuple[bool, int]:
        """Whether the freeze has engaged, and how many requests it holds."""
        with self._lock:
            freeze = self._freeze
            return (freeze.engaged, freeze.held) if freeze is not None else (False, 0)

    def thaw(self, *, drop: bool = False) -> None:
        """Release the held requests: answered normally, or with their connection dropped
        (as a server that dies answers them)."""
        with self._lock:
            freeze, self._freeze = self._freeze, None
        if freeze is not None:
            freeze.drop = drop
            freeze.released.set()

    def _wait_if_frozen(self, operation: str, environ: Environ) -> None:
        with self._lock:
            freeze = self._freeze
            if freeze is None or freeze.admit(operation):
                return
        freeze.released.wait()
        with self._lock:
            freeze.held -= 1
        if freeze.drop:
            _drop_connection(environ)

    def hold(self, operation: str, seconds: float | None, count: int) -> Hold:
        hold = Hold(operation, seconds, count)
        with self._lock:
            self._holds.append(hold)
        return hold

    def _take_hold(self, operation: str) -> Hold | None:
        with self._lock:
            for hold in self._holds:
                if hold.operation == operation and not hold._released.is_set():
                    hold.remaining -= 1
                    if hold.remaining <= 0:
                        self._holds.remove(hold)
                    hold._catch()
                    return hold
        return None

    def inject(self, kind: FaultKind, count: int, operation: str | None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS}")
        with self._lock:
            self._scripts.append(_Script(kind, count, operation))

    def deny(self, operations: Iterable[str], bucket: str | None, prefix: str) -> None:
        with self._lock:
            self._denials.append(_Denial(frozenset(operations), bucket, prefix))

    # -- the WSGI application ------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        body = _RequestBody.wrap(environ)
        try:
            if path.startswith("/moto-api"):
                return self._app(environ, start_response)
            if path.startswith(CONTROL_PATH):
                return self._control(path, environ, start_response)
            with self._lock:
                self._in_flight += 1
                self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
            try:
                return self._handle(path, environ, start_response)
            finally:
                with self._lock:
                    self._in_flight -= 1
        finally:
            body.drain()  # the connection is reused: no unread byte may be left behind
            done = environ.get("aios3fm.request_done")
            if done is not None:
                done()

    def _control(
        self, path: str, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        """``GET /aios3fm-api/requests`` (counts by operation, as JSON), ``POST
        /aios3fm-api/reset-requests``, ``POST /aios3fm-api/latency?seconds=S`` and ``GET``
        or ``POST /aios3fm-api/quirks?NAME=1&NAME=0`` (the switches, as JSON, after the
        change): what a benchmark or a test needs of a server running in another process.
        Never counted."""
        action = path[len(CONTROL_PATH) :]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if action == "quirks":
            return self._control_quirks(query, environ, start_response)
        if action == "requests":
            payload = json.dumps({"requests": self.requests(), "faults": self.faults_injected()})
        elif action == "reset-requests" and environ["REQUEST_METHOD"] == "POST":
            self.reset_counts()
            payload = "{}"
        elif action == "latency" and environ["REQUEST_METHOD"] == "POST":
            self.latency = float(query.get("seconds", ["0"])[0])
            payload = json.dumps({"latency": self.latency})
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"unknown control request"]
        data = payload.encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]

    def _control_quirks(
        self, query: dict[str, list[str]], environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            try:
                self.set_quirks({name: _flag(values[-1]) for name, values in query.items()})
            except ValueError as exc:  # nothing is changed by a request with a bad switch
                data = str(exc).encode()
                start_response(
                    "400 Bad Request",
                    [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))],
                )
                return [data]
        elif environ["REQUEST_METHOD"] != "GET":
            start_response("405 Method Not Allowed", [("Content-Type", "text/plain")])
            return [b"GET or POST"]
        data = json.dumps(self.quirks()).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]

    def _handle(
        self, path: str, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        operation = classify(method, path, query, environ)
        bucket, _, key = unquote(path).lstrip("/").partition("/")
        headers = {
            name[5:].replace("_", "-").lower(): str(value)
            for name, value in environ.items()
            if name.startswith("HTTP_")
        }
        headers.update(
            {k.replace("_", "-").lower(): str(environ[k]) for k in _CONTENT if k in environ}
        )
        with self._lock:
            self._headers[operation] = headers
        fault = self._count_and_pick_fault(operation)
        self._wait_if_frozen(operation, environ)
        if self._latency:
            time.sleep(self._latency)
        if fault == "spike":
            time.sleep(self.spike_seconds)
            fault = None
        if fault == "drop":
            _drop_connection(environ)
        if operation != "DeleteObjects" and self._denial_for(operation, bucket, key):
            return _error_response(start_response, "403", method)
        app = self._app_for(operation, bucket, key, environ)
        if fault in ("lost", "cut"):
            return self._applied_then_broken(app, environ, start_response, fault == "cut")
        if fault is not None:
            return _error_response(start_response, fault, method)
        hold = self._take_hold(operation)
        if hold is not None:
            return self._held(app, environ, start_response, hold)
        return app(environ, start_response)

    def _app_for(self, operation: str, bucket: str, key: str, environ: Environ) -> WSGIApp:
        """What answers the request: moto, or moto behind what it lacks or a switch says."""
        method = environ["REQUEST_METHOD"]
        header = checksum_header(environ) if self.reject_checksum_trailers else None
        if header is not None:  # the body is left unread: __call__ drains it

            def rejected(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
                message = _UNSUPPORTED_HEADER.format(header=header)
                return _error_response(start_response, "unsupported-header", method, message)

            return rejected
        if operation == "DeleteObjects":  # per-key denials and ETags, which moto lacks

            def delete_objects(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
                return self._delete_objects(environ, start_response, bucket)

            return delete_objects
        if self.ignore_conditional_headers:
            drop_conditions(operation, environ)
        if is_conditional(operation, environ):

            def conditional(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
                return self._conditional_write(environ, start_response, operation, bucket, key)

            return conditional
        if operation == "ListObjectsV2" and self.unordered_listings:
            return self._unordered_listing
        return self._app

    def _conditional_write(
        self, environ: Environ, start_response: StartResponse, operation: str, bucket: str,
        key: str,
    ) -> Iterable[bytes]:  # fmt: skip
        """A write with preconditions: those moto skips are checked here, and the check and
        moto's write happen under one lock."""
        with self._write_lock:
            unmet = None
            if self._current_etag is not None:
                unmet = unmet_precondition(operation, environ, bucket, key, self._current_etag)
            if unmet is not None:
                return _error_response(start_response, unmet, environ["REQUEST_METHOD"])
            forget_judged(operation, environ)
            status, headers, body = _answer_now(self._app, environ)
        start_response(status, headers)
        return [body]

    def _unordered_listing(
        self, environ: Environ, start_response: StartResponse
    ) -> Iterable[bytes]:
        status, headers, body = _answer_now(self._app, environ)
        if status.startswith("200"):
            with self._lock:  # the seeded generator, shared with the fault picks
                body = shuffled_listing(body, self._random)
            headers = [(n, v) for n, v in headers if n.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        start_response(status, headers)
        return [body]

    def _applied_then_broken(
        self, app: WSGIApp, environ: Environ, start_response: StartResponse, cut: bool
    ) -> Iterable[bytes]:
        """moto applies the request; the client gets no answer, or half of its body."""
        status, headers, body = _answer_now(app, environ)
        if not cut or len(body) < 2:
            _drop_connection(environ)
        start_response(status, headers)

        def half_then_drop() -> Iterator[bytes]:
            yield body[: len(body) // 2]
            _drop_connection(environ)

        return half_then_drop()

    def _held(
        self, app: WSGIApp, environ: Environ, start_response: StartResponse, hold: Hold
    ) -> Iterable[bytes]:
        """moto answers now; the answer leaves once the hold lets it (a slow response path)."""
        status, headers, body = _answer_now(app, environ)
        hold._wait()
        start_response(status, headers)
        return [body]

    def _count_and_pick_fault(self, operation: str) -> FaultKind | None:
        with self._lock:
            self._counts[operation] += 1
            fault: FaultKind | None = None
            for script in self._scripts:
                if script.operation in (None, operation):
                    fault = script.kind
                    script.remaining -= 1
                    if script.remaining <= 0:
                        self._scripts.remove(script)
                    break
            if fault is None and self._fail_rate and self._random.random() < self._fail_rate:
                fault = self._random.choice(self._faults)
            if fault is not None:
                self._faults_injected[fault] += 1
            return fault

    def _has_denials(self) -> bool:
        with self._lock:
            return bool(self._denials)

    def _denial_for(self, operation: str, bucket: str, key: str) -> bool:
        with self._lock:
            return any(d.covers(operation, bucket, key) for d in self._denials)

    def _delete_objects(
        self, environ: Environ, start_response: StartResponse, bucket: str
    ) -> Iterable[bytes]:
        """DeleteObjects as S3 answers it, where moto does not: a key a deny rule covers
        gets a per-key AccessDenied (as under a bucket policy), and a key sent with an
        ETag is deleted only if it still has that ETag (``*``: any), else a per-key
        PreconditionFailed (moto ignores the ETag; so does a server without conditional
        deletes: ``ignore_conditional_headers``). The keys refused are taken out of the
        request before moto sees it and their errors are added to its answer."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        if self.require_content_md5:  # as servers before S3's flexible checksums did
            sent = environ.get("HTTP_CONTENT_MD5")
            if sent is None:
                return _error_response(start_response, "missing-md5", "POST")
            digest = hashlib.md5(body, usedforsecurity=False).digest()
            if sent != base64.b64encode(digest).decode():
                return _error_response(start_response, "bad-digest", "POST")
        keys, quiet = _delete_request(body)
        if self.ignore_conditional_headers:  # a server without conditional deletes
            keys = [(key, None) for key, _ in keys]
        conditional = any(etag is not None for _, etag in keys)
        with self._write_lock if conditional else contextlib.nullcontext():
            return self._delete_now(environ, start_response, bucket, keys, quiet)

    def _delete_now(
        self, environ: Environ, start_response: StartResponse, bucket: str,
        keys: list[tuple[str, str | None]], quiet: bool,
    ) -> Iterable[bytes]:  # fmt: skip
        refused = {key: error for key, etag in keys if (error := self._refusal(bucket, key, etag))}
        errors = "".join(
            f"<Error><Key>{escape(k)}</Key><Code>{code}</Code><Message>{message}</Message></Error>"
            for k, (code, message) in refused.items()
        )
        allowed = [k for k, _ in keys if k not in refused]
        if not allowed:
            return _xml_response(
                start_response, "200 OK", f'<DeleteResult xmlns="{_S3_NS}">{errors}</DeleteResult>'
            )
        objects = "".join(f"<Object><Key>{escape(k)}</Key></Object>" for k in allowed)
        quiet_xml = "<Quiet>true</Quiet>" if quiet else ""
        new_body = f'<Delete xmlns="{_S3_NS}">{objects}{quiet_xml}</Delete>'.encode()
        forwarded = {k: v for k, v in environ.items() if not _is_checksum_header(k)}
        forwarded["CONTENT_LENGTH"] = str(len(new_body))
        forwarded["wsgi.input"] = _BytesInput(new_body)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"] = status

        answer = b"".join(self._app(forwarded, capture)).decode()
        merged = answer.replace("</DeleteResult>", f"{errors}</DeleteResult>")
        return _xml_response(start_response, captured.get("status", "200 OK"), merged)

    def _refusal(self, bucket: str, key: str, etag: str | None) -> tuple[str, str] | None:
        if self._denial_for("DeleteObject", bucket, key) or self._denial_for(
            "DeleteObjects", bucket, key
        ):
            return ("AccessDenied", "Access Denied")
        if etag is None or self._current_etag is None:
            return None
        now = self._current_etag(bucket, key)
        if now is not None and not etag_matches(etag, now):
            return ("PreconditionFailed", _PRECONDITION_FAILED)
        return None  # matching, or already gone: deleted, as S3 counts a missing key


def _delete_request(body: bytes) -> tuple[list[tuple[str, str | None]], bool]:
    """The keys of a DeleteObjects body, each with the ETag it was sent with, and Quiet."""
    root = ElementTree.fromstring(body)
    keys: list[tuple[str, str | None]] = []
    quiet = False
    for child in root:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "Object":
            fields = {part.tag.rsplit("}", 1)[-1]: part.text or "" for part in child}
            keys.append((fields.get("Key", ""), fields.get("ETag")))
        elif tag == "Quiet":
            quiet = (child.text or "").strip().lower() == "true"
    return keys, quiet


class _RequestBody:
    """The request body handed to moto, counted, so that whatever nobody read (a faulted
    or denied request) can be read off the socket before the next request on it."""

    def __init__(self, stream: Any, remaining: int | None) -> None:
        self._stream = stream
        self._remaining = remaining  # None: chunked, read until its end

    @classmethod
    def wrap(cls, environ: Environ) -> _RequestBody:
        length = environ.get("CONTENT_LENGTH")
        chunked = bool(environ.get("wsgi.input_terminated"))
        remaining = None if chunked else int(length) if length and length.isdigit() else 0
        body = cls(environ["wsgi.input"], remaining)
        environ["wsgi.input"] = body
        return body

    def read(self, size: int | None = -1) -> bytes:
        if self._remaining is None:
            return bytes(self._stream.read(size))
        if size is None or size < 0 or size > self._remaining:
            size = self._remaining
        data = bytes(self._stream.read(size)) if size else b""
        self._remaining -= len(data)
        if size and not data:  # the client went away mid-body
            self._remaining = 0
        return data

    def readline(self, size: int | None = -1) -> bytes:
        if self._remaining is None:
            return bytes(self._stream.readline(size))
        limit = self._remaining if size is None or size < 0 else min(size, self._remaining)
        data = bytes(self._stream.readline(limit)) if limit else b""
        self._remaining -= len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def drain(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while self.read(1 << 16):
                pass


class _BytesInput:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size is None or size < 0 else self._pos + size
        chunk = self._data[self._pos : end]
        self._pos += len(chunk)
        return chunk


def _flag(value: str) -> bool:
    """A switch's value in the control path's query: 1/0, true/false, on/off."""
    known = {"1": True, "true": True, "on": True, "0": False, "false": False, "off": False}
    if value.lower() not in known:
        raise ValueError(f"a switch is 1 or 0 (true/false, on/off), not {value!r}")
    return known[value.lower()]


def _is_checksum_header(name: str) -> bool:
    return name in {"HTTP_CONTENT_MD5", "HTTP_X_AMZ_SDK_CHECKSUM_ALGORITHM"} or name.startswith(
        "HTTP_X_AMZ_CHECKSUM_"
    )


_PRECONDITION_FAILED = "At least one of the pre-conditions you specified did not hold"
# What Backblaze B2 answers a flexible checksum (400 InvalidArgument, naming the header), as
# reported with botocore >= 1.36 and the AWS SDK for JavaScript v3 in home-assistant/core
# #143995, diced/zipline #746 and vatesfr/xen-orchestra #8358 (x-amz-checksum-mode too).
_UNSUPPORTED_HEADER = "Unsupported header '{header}' received for this API call."

_ERRORS = {
    "500": ("500 Internal Server Error", "InternalError", "We encountered an internal error."),
    "503": ("503 Slow Down", "SlowDown", "Please reduce your request rate."),
    "403": ("403 Forbidden", "AccessDenied", "Access Denied"),
    "missing-md5": (
        "400 Bad Request",
        "MissingContentMD5",
        "Missing required header for this request: Content-MD5",
    ),
    "bad-digest": (
        "400 Bad Request",
        "BadDigest",
        "The Content-MD5 you specified did not match what we received.",
    ),
    "412": ("412 Precondition Failed", "PreconditionFailed", _PRECONDITION_FAILED),
    "no-such-key": ("404 Not Found", "NoSuchKey", "The specified key does not exist."),
    "unsupported-header": ("400 Bad Request", "InvalidArgument", _UNSUPPORTED_HEADER),
}


def _answer_now(app: WSGIApp, environ: Environ) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run ``app`` on the request to the end: its status, headers and whole body, not yet
    sent (the fault and hold paths decide when, and how much, the client gets)."""
    captured: list[tuple[str, list[tuple[str, str]]]] = []

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        captured.append((status, headers))

    body = b"".join(app(environ, capture))
    return captured[0][0], captured[0][1], body


def _error_response(
    start_response: StartResponse, kind: str, method: str, message: str | None = None
) -> Iterable[bytes]:
    status, code, standard = _ERRORS[kind]
    message = escape(message or standard)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        "<RequestId>aios3fm-embedded</RequestId></Error>"
    )
    if method == "HEAD":  # HEAD answers carry no body; the client sees the status only
        start_response(status, [("Content-Length", "0")])
        return [b""]
    return _xml_response(start_response, status, body)


def _xml_response(start_response: StartResponse, status: str, body: str) -> Iterable[bytes]:
    data = body.encode()
    start_response(
        status, [("Content-Type", "application/xml"), ("Content-Length", str(len(data)))]
    )
    return [data]


def _drop_connection(environ: Environ) -> None:
    """Cut the TCP connection without an answer, as a crashing server or proxy would."""
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    # werkzeug treats ConnectionError as "client went away" and logs nothing.
    raise ConnectionResetError("aios3fm-embedded: connection dropped by fault injection")
