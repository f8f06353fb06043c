"""Building the one aiobotocore client a Transport uses: credentials, region, pool, retries.

One reason to change: how aios3fm configures botocore. An endpoint registered as local
(EmbeddedS3 registers itself when it starts) gets its dummy credentials and a session that
reads no AWS profile or config file, so tests and demos never touch the user's AWS settings.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple, cast

import anyio.to_thread
from aiobotocore.config import AioConfig
from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import AioSession
from botocore.context import get_context
from botocore.utils import parse_timestamp as botocore_parse_timestamp

from .._config import Settings
from .._redact import install_log_redaction, register_secrets

__all__ = [
    "LocalEndpoint",
    "forget_local_endpoint",
    "open_botocore_client",
    "register_local_endpoint",
]

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class LocalEndpoint:
    """The dummy credentials of a throwaway server running in this process."""

    access_key_id: str
    secret_access_key: str
    region: str


# endpoint_url -> credentials of the local servers of this process, so that
# FileManager(endpoint_url=s3.endpoint_url) needs nothing else and never reads ~/.aws.
_LOCAL: dict[str, LocalEndpoint] = {}
_LOCAL_LOCK = threading.Lock()


def register_local_endpoint(endpoint_url: str, credentials: LocalEndpoint) -> None:
    with _LOCAL_LOCK:
        _LOCAL[endpoint_url.rstrip("/")] = credentials


def forget_local_endpoint(endpoint_url: str) -> None:
    with _LOCAL_LOCK:
        _LOCAL.pop(endpoint_url.rstrip("/"), None)


def _local_endpoint(endpoint_url: str | None) -> LocalEndpoint | None:
    if endpoint_url is None:
        return None
    with _LOCAL_LOCK:
        return _LOCAL.get(endpoint_url.rstrip("/"))


class _NoHiddenResend(AIOHTTPSession):  # type: ignore[misc]
    """aiohttp resends an idempotent request once, silently, when its connection drops.
    aios3fm's Transport already retries (and counts) attempts, so that hidden second layer
    would multiply retries and make attempts uncountable: it is switched off here. aiohttp has
    no public switch for it; tests assert exact attempt counts under dropped connections,
    so a change in either library shows up there."""

    async def _get_session(self, proxy_url: str | None) -> Any:
        session = await super()._get_session(proxy_url)
        if getattr(session, "_retry_connection", False):
            session._retry_connection = False
        return session


_LOADER: Any = None


def _share_loader(session: AioSession) -> None:
    """One botocore data loader for every session of the process: it keeps the parsed
    S3 service model and endpoint rules, which each new session would otherwise read and
    parse again (about 40 ms per FileManager opened). Only read-only data is shared;
    credentials and configuration stay per session."""
    global _LOADER
    if _LOADER is None:
        _LOADER = session.get_component("data_loader")
    else:
        session.register_component("data_loader", _LOADER)


def _isolated_session() -> AioSession:
    return AioSession(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )


class _Resolved(NamedTuple):
    session: AioSession
    region: str
    request_checksum_calculation: str
    response_checksum_validation: str


def _new_session(s: Settings, embedded: LocalEndpoint | None) -> _Resolved:
    """A botocore session (the embedded server's ignores the user's AWS files) sharing
    the process's data loader, and what it resolves: the region and the checksum rules
    (the setting, else the AWS environment variable or profile key, else when_required)."""
    if embedded is not None and not s.access_key_id:
        session = _isolated_session()
        region: str = s.region or embedded.region
        profile: Mapping[str, Any] = {}
    else:
        session = AioSession(profile=s.profile)
        region = s.region or session.get_config_variable("region") or DEFAULT_REGION
        profile = session.get_scoped_config()
    _share_loader(session)
    session.get_component("response_parser_factory").set_parser_defaults(
        timestamp_parser=parse_timestamp
    )

    def checksum_rule(name: str) -> str:
        given = getattr(s, name) or os.environ.get(f"AWS_{name.upper()}") or profile.get(name)
        return str(given or "when_required").lower()

    return _Resolved(
        session,
        region,
        checksum_rule("request_checksum_calculation"),
        checksum_rule("response_checksum_validation"),
    )


async def open_botocore_client(
    settings: Settings, stack: AsyncExitStack
) -> tuple[Any, tuple[str, ...]]:
    """The aiobotocore S3 client (closed with ``stack``) and the secrets to redact."""
    s = settings
    embedded = _local_endpoint(s.endpoint_url)
    creds: dict[str, str | None] = {
        "aws_access_key_id": s.access_key_id,
        "aws_secret_access_key": s.secret_access_key,
        "aws_session_token": s.session_token,
    }
    if embedded is not None and not s.access_key_id:
        creds["aws_access_key_id"] = embedded.access_key_id
        creds["aws_secret_access_key"] = embedded.secret_access_key
    # A session reads the AWS config files: made in a worker thread, off the event loop.
    resolved = await anyio.to_thread.run_sync(_new_session, s, embedded)
    session = resolved.session
    config = AioConfig(
        max_pool_connections=s.concurrency,
        connect_timeout=s.connect_timeout,
        read_timeout=s.read_timeout,
        # one attempt: Transport._send is the retry loop, so the two never multiply
        retries={"mode": "standard", "total_max_attempts": 1},
        s3={"addressing_style": s.addressing_style or ("path" if s.endpoint_url else "auto")},
        # CRC checksums on every PUT cost CPU and buy nothing over TLS/MD5 ETags here,
        # unless the user's settings, environment or profile ask for them
        request_checksum_calculation=resolved.request_checksum_calculation,
        response_checksum_validation=resolved.response_checksum_validation,
        # Parameters are built by S3Client, not by users.
        parameter_validation=False,
        http_session_cls=_NoHiddenResend,
        # the service model and endpoint rules are read in a worker thread (aiobotocore 3.7)
        warm_up_loader_caches=True,
    )
    client = await stack.enter_async_context(
        session.create_client(
            "s3", region_name=resolved.region, endpoint_url=s.endpoint_url, config=config, **creds
        )
    )
    _cache_endpoints_per_bucket(client)
    _memoise_endpoints(client)
    _cache_user_agent(client)
    client.meta.events.register("before-send.s3", _send_body_at_once)
    client.meta.events.register("before-sign.s3.DeleteObjects", _content_md5)
    secrets = [v for v in creds.values() if v]
    secrets.extend(await _resolved_secrets(client))  # from the environment or a profile
    install_log_redaction()
    register_secrets(secrets)
    return client, tuple(dict.fromkeys(secrets))


async def _resolved_secrets(client: Any) -> list[str]:
    """The credentials botocore resolved by itself, so that logs can be scrubbed of them."""
    credentials = getattr(getattr(client, "_request_signer", None), "_credentials", None)
    if credentials is None:
        return []
    try:
        frozen = await credentials.get_frozen_credentials()
    except Exception:  # resolution fails later, with a proper error, on the first call
        return []
    return [v for v in (frozen.access_key, frozen.secret_key, frozen.token) if v]


# Parameters of S3's endpoint rules that no rule reads (checked against botocore's
# ruleset by tests/test_client.py), yet botocore passes them to its memoised resolver.
UNUSED_ENDPOINT_PARAMETERS = ("Key", "Prefix", "CopySource")


def _send_body_at_once(request: Any, **kwargs: Any) -> None:
    """Drop botocore's ``Expect: 100-continue`` (it adds one to every upload): aiohttp
    waits for the server's 100 Continue with no timeout at all, so against a server that
    never answers, an upload hung for ever instead of failing after ``read_timeout``;
    and the wait cost a round trip per PUT. The header is never signed, so removing it
    here, just before sending, is safe; the body goes at once (as aws s3 does for small
    bodies). Returns None, which lets the request go on."""
    request.headers.pop("Expect", None)


def _content_md5(request: Any, **kwargs: Any) -> None:
    """DeleteObjects with a Content-MD5 beside botocore's CRC32: since botocore 1.36 it
    sends only the CRC, and servers that predate the flexible checksums (older MinIO,
    Ceph RGW, some hosted services) refuse a DeleteObjects without Content-MD5. S3
    accepts both; the MD5 of a batch of 1000 keys costs well under a millisecond."""
    body = request.body
    if isinstance(body, (bytes, bytearray)) and "Content-MD5" not in request.headers:
        digest = hashlib.md5(body, usedforsecurity=False).digest()
        request.headers["Content-MD5"] = base64.b64encode(digest).decode()


def _cache_endpoints_per_bucket(client: Any) -> None:
    """Let botocore's endpoint resolution hit its cache once per bucket and operation.

    botocore evaluates S3's endpoint rule set (hundreds of rules) for each request,
    memoised on every parameter, the object key included, although no rule reads the
    key: each new key missed the cache, about 1 ms of CPU per request. Dropping the
    parameters no rule reads keeps the answers the same and makes them cache hits.
    """
    resolver = getattr(client, "_ruleset_resolver", None)
    provider = getattr(resolver, "_provider", None)
    if provider is None:
        return
    resolve = provider.resolve_endpoint

    def resolve_endpoint(**params: Any) -> Any:
        for name in UNUSED_ENDPOINT_PARAMETERS:
            params.pop(name, None)
        return resolve(**params)

    provider.resolve_endpoint = resolve_endpoint


def _memoise_endpoints(client: Any) -> None:
    """Remember each (operation, bucket)'s resolved endpoint, skipping the per-request
    gathering of rule parameters (17 lookups and an event) once the answer is known.

    Sound for what aios3fm sends: the answer depends on the operation, the bucket and the
    client's fixed configuration, never on the key (see UNUSED_ENDPOINT_PARAMETERS).
    """
    resolver = getattr(client, "_ruleset_resolver", None)
    if resolver is None:
        return
    construct = resolver.construct_endpoint
    memo: dict[tuple[str, object], Any] = {}

    async def construct_endpoint(operation_model: Any, call_args: Any, request_context: Any) -> Any:
        key = (operation_model.name, (call_args or {}).get("Bucket"))
        endpoint = memo.get(key)
        if endpoint is None:
            endpoint = await construct(
                operation_model=operation_model,
                call_args=call_args,
                request_context=request_context,
            )
            if len(memo) >= 4096:  # many buckets: start over rather than grow
                memo.clear()
            memo[key] = endpoint
        return endpoint

    resolver.construct_endpoint = construct_endpoint


def _cache_user_agent(client: Any) -> None:
    """Build the User-Agent once per set of request features instead of twice a request.

    botocore assembles the header from a dozen components, sanitising each, for every
    request and again when the request is created (about 0.2 ms each time); its value
    only changes with the feature metrics of the current call, which key the memo.
    """
    creator = getattr(client, "_user_agent_creator", None)
    if creator is None:
        return
    build = creator.to_string
    memo: dict[frozenset[str], str] = {}

    def to_string() -> str:
        context = get_context()
        features = frozenset(context.features) if context is not None else frozenset()
        text = memo.get(features)
        if text is None:
            text = memo[features] = build()
        return text

    creator.to_string = to_string


def parse_timestamp(text: str) -> datetime:
    """S3's two timestamp forms without dateutil's general parser: ISO 8601 in listings
    (``2026-11-21T10:00:00.000Z``) and HTTP dates in headers (``Sat, 21 Nov 2026 10:00:00
    GMT``); anything else goes to botocore's own parser."""
    try:
        if text[:1].isdigit():
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            parsed = parsedate_to_datetime(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed
    except (TypeError, ValueError, IndexError):
        return cast(datetime, botocore_parse_timestamp(text))
