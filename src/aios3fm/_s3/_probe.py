"""probe: what an S3 endpoint honours, found by trying it under a temporary prefix.

S3-compatible services differ where aios3fm's guarantees rest: conditional writes and
deletes (a service that accepts ``If-None-Match`` and ignores it overwrites silently),
flexible checksums (botocore's 2025 defaults), UploadPartCopy, and the order of listings.
Each check is one small request whose answer tells supported (the condition held the
write back, the feature worked), ignored (accepted, no effect) or refused (an error); the
objects it writes live under ``.aios3fm-probe-<random>/`` and are removed at the end,
failed or cancelled included. The resulting Capabilities make the client fall back where
a feature cannot be relied on (see ``S3Client.capabilities``).
"""

from __future__ import annotations

import contextlib
import random
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import anyio

from .._exceptions import NotFoundError, PreconditionFailedError, S3Error
from .._models import Capabilities, ProbeReport, ProbeRow, Support
from .._tasks import task_group
from ._client import S3Client, _location

__all__ = ["probe"]

_Outcome = Support | Literal["failed"]
_WRONG_ETAG = '"00000000000000000000000000000000"'
_LISTED = 12  # keys of the listing check; pages of 4 (a shuffled page of 4 stays sorted 1/24)
_PAGE = 4

_EFFECTS: dict[str, dict[str, str]] = {
    "conditional_put": {
        "supported": "conflict='error'/'skip' uploads and create_file are atomic",
        "other": "a HEAD before each such write; not atomic (said in each result's notes)",
    },
    "conditional_copy": {
        "supported": "conflict='error'/'skip' S3 copies are atomic",
        "other": "a HEAD before each such copy; not atomic (said in each result's notes)",
    },
    "conditional_delete": {
        "supported": "used one key at a time where DeleteObjects ignores ETags",
        "other": "sources are HEADed before an unconditional delete where needed",
    },
    "conditional_delete_batch": {
        "supported": "moves delete only the version they copied, 1,000 keys a request",
        "other": "moves and --if-unchanged deletes check each key alone (see the row above)",
    },
    "checksum_trailers": {
        "supported": "request_checksum_calculation='when_supported' may be used",
        "other": "keep request_checksum_calculation='when_required' (the default)",
    },
    "delete_content_md5": {
        "supported": "DeleteObjects carries Content-MD5 (always sent)",
        "other": "bulk deletes will fail on this endpoint",
    },
    "multipart_copy": {
        "supported": "large S3 copies run as parallel UploadPartCopy",
        "other": "one CopyObject per object, up to 5 GiB",
    },
    "ordered_listing": {
        "supported": "none needed (listings are sorted by aios3fm anyway)",
        "other": "none needed: aios3fm sorts what it lists",
    },
    "start_after": {
        "supported": "none needed (aios3fm follows continuation tokens)",
        "other": "none needed: aios3fm does not use StartAfter",
    },
}


@dataclass
class _Probe:
    client: S3Client
    bucket: str
    prefix: str
    rows: list[ProbeRow] = field(default_factory=list)

    def key(self, name: str) -> str:
        return self.prefix + name

    def row(self, feature: str, check: str, outcome: _Outcome, detail: str) -> None:
        effects = _EFFECTS[feature]
        effect = effects["supported"] if outcome in ("supported", "unknown") else effects["other"]
        self.rows.append(ProbeRow(feature, check, outcome, detail, effect))

    async def call(self, operation: str, key: str, **params: Any) -> Any:
        return await self.client.call(
            operation, _location(self.bucket, key), Bucket=self.bucket, Key=key, **params
        )

    async def put(self, name: str, body: bytes, **params: Any) -> Any:
        return await self.call("PutObject", self.key(name), Body=body, **params)

    async def body(self, name: str) -> bytes | None:
        try:
            return await self.client.get_bytes(self.bucket, self.key(name))
        except NotFoundError:
            return None

    async def attempt(
        self, feature: str, check: str, request: Callable[[], Awaitable[object]],
        held: Callable[[], Awaitable[bool]],
    ) -> None:  # fmt: skip
        """``request`` should be refused with 412; if it is answered 2xx, ``held`` says
        whether the state shows the condition was kept anyway."""
        try:
            await request()
        except PreconditionFailedError:
            self.row(feature, check, "supported", "412 PreconditionFailed")
            return
        except S3Error as exc:
            self.row(feature, check, *_refusal(exc))
            return
        if await held():
            self.row(feature, check, "supported", "answered 2xx, state unchanged")
        else:
            self.row(feature, check, "ignored", "accepted, and the condition was not applied")


def _refusal(exc: S3Error) -> tuple[_Outcome, str]:
    """A 4xx that names the request as unsupported is a refusal; anything else (5xx,
    denied, a dropped connection) says nothing about the feature: the check failed."""
    detail = f"{exc.code or exc.status}: {exc.message}"
    if exc.status in (400, 405, 501) or exc.code in ("NotImplemented", "InvalidArgument"):
        return "refused", detail
    return "failed", detail


async def _conditional_put(p: _Probe) -> None:
    await p.put("existing", b"first")

    async def overwrite() -> None:
        await p.put("existing", b"second", IfNoneMatch="*")

    async def kept() -> bool:
        return await p.body("existing") == b"first"

    await p.attempt(
        "conditional_put", "PutObject If-None-Match: * onto an existing key", overwrite, kept
    )


async def _conditional_copy(p: _Probe) -> None:
    await p.put("copy-source", b"source")
    await p.put("copy-target", b"target")

    async def overwrite() -> None:
        await p.call(
            "CopyObject", p.key("copy-target"), IfNoneMatch="*",
            CopySource={"Bucket": p.bucket, "Key": p.key("copy-source")},
        )  # fmt: skip

    async def kept() -> bool:
        return await p.body("copy-target") == b"target"

    await p.attempt(
        "conditional_copy", "CopyObject If-None-Match: * onto an existing key", overwrite, kept
    )


async def _conditional_delete(p: _Probe) -> None:
    await p.put("delete-one", b"kept")

    async def delete() -> None:
        await p.call("DeleteObject", p.key("delete-one"), IfMatch=_WRONG_ETAG)

    async def kept() -> bool:
        return await p.body("delete-one") == b"kept"

    await p.attempt("conditional_delete", "DeleteObject If-Match: <another ETag>", delete, kept)


async def _conditional_delete_batch(p: _Probe) -> None:
    key = p.key("delete-batch")
    await p.put("delete-batch", b"kept")
    check = "DeleteObjects with a per-key <ETag> it does not have"
    try:
        response = await p.client.call(
            "DeleteObjects", _location(p.bucket), Bucket=p.bucket,
            Delete={"Objects": [{"Key": key, "ETag": _WRONG_ETAG}], "Quiet": True},
        )  # fmt: skip
    except S3Error as exc:
        p.row("conditional_delete_batch", check, *_refusal(exc))
        return
    codes = [e.get("Code", "") for e in response.get("Errors", ()) if e.get("Key") == key]
    if "PreconditionFailed" in codes:
        p.row("conditional_delete_batch", check, "supported", "per-key PreconditionFailed")
    elif codes:
        p.row("conditional_delete_batch", check, "failed", f"per-key {codes[0]}")
    elif await p.body("delete-batch") == b"kept":
        p.row("conditional_delete_batch", check, "supported", "no error, object kept")
    else:
        p.row("conditional_delete_batch", check, "ignored", "the object was deleted")


async def _checksum_trailers(p: _Probe) -> None:
    check = "PutObject with ChecksumAlgorithm=CRC32 (x-amz-checksum-crc32)"
    try:
        await p.put("checksum", b"checksummed", ChecksumAlgorithm="CRC32")
    except S3Error as exc:
        p.row("checksum_trailers", check, *_refusal(exc))
        return
    if await p.body("checksum") == b"checksummed":
        p.row("checksum_trailers", check, "supported", "stored")
    else:
        p.row("checksum_trailers", check, "failed", "stored other bytes than were sent")


async def _delete_content_md5(p: _Probe) -> None:
    await p.put("delete-md5", b"md5")
    check = "DeleteObjects with Content-MD5"
    try:
        result = await p.client.delete_many(p.bucket, [p.key("delete-md5")])
    except S3Error as exc:
        p.row("delete_content_md5", check, *_refusal(exc))
        return
    if result.errors:
        error = result.errors[0]
        p.row("delete_content_md5", check, "failed", f"per-key {error.code}: {error.message}")
    elif await p.body("delete-md5") is None:
        p.row("delete_content_md5", check, "supported", "deleted")
    else:
        p.row("delete_content_md5", check, "ignored", "answered 2xx, the object is still there")


async def _multipart_copy(p: _Probe) -> None:
    data = b"part-copied" * 100
    await p.put("part-source", data)
    target = p.key("part-target")
    check = "CreateMultipartUpload, UploadPartCopy, CompleteMultipartUpload"
    upload_id: str | None = None
    try:
        upload_id = await p.client.create_multipart(p.bucket, target)
        response = await p.call(
            "UploadPartCopy", target, UploadId=upload_id, PartNumber=1,
            CopySource={"Bucket": p.bucket, "Key": p.key("part-source")},
            CopySourceRange=f"bytes=0-{len(data) - 1}",
        )  # fmt: skip
        etag = response["CopyPartResult"]["ETag"]
        await p.client.complete_multipart(p.bucket, target, upload_id, [etag])
        upload_id = None
    except S3Error as exc:
        p.row("multipart_copy", check, *_refusal(exc))
        return
    finally:
        if upload_id is not None:
            with anyio.CancelScope(shield=True):
                await _quietly(p.client.abort_multipart(p.bucket, target, upload_id))
    if await p.body("part-target") == data:
        p.row("multipart_copy", check, "supported", "the copy has the source's bytes")
    else:
        p.row("multipart_copy", check, "failed", "the copy differs from its source")


async def _listing(p: _Probe) -> None:
    names = [f"listed/{i:02d}" for i in range(_LISTED)]
    shuffled = random.Random(0).sample(names, len(names))
    async with task_group() as tg:
        for name in shuffled:
            tg.start_soon(p.put, name, b"")
    prefix = p.key("listed/")
    order: list[str] = []
    pages: list[list[str]] = []
    params: dict[str, Any] = {"Bucket": p.bucket, "Prefix": prefix, "MaxKeys": _PAGE}
    check = f"ListObjectsV2 of {_LISTED} keys, {_PAGE} a page"
    try:
        while True:
            page = await p.client.call("ListObjectsV2", _location(p.bucket, prefix), **params)
            pages.append([o["Key"] for o in page.get("Contents", ())])
            order.extend(pages[-1])
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                break
            params["ContinuationToken"] = token
    except S3Error as exc:
        p.row("ordered_listing", check, *_refusal(exc))
        return
    expected = [p.key(n) for n in names]
    if order == expected:
        p.row("ordered_listing", check, "supported", f"{len(pages)} pages in key order")
    elif sorted(order) == expected:
        unsorted = sum(page != sorted(page) for page in pages)
        p.row("ordered_listing", check, "ignored", f"{unsorted} of {len(pages)} pages unsorted")
    else:
        p.row("ordered_listing", check, "failed", f"listed {len(order)} of {_LISTED} keys")
    after = expected[_LISTED // 2 - 1]
    check = "ListObjectsV2 StartAfter"
    try:
        page = await p.client.call(
            "ListObjectsV2", _location(p.bucket, prefix), Bucket=p.bucket, Prefix=prefix,
            StartAfter=after,
        )  # fmt: skip
    except S3Error as exc:
        p.row("start_after", check, *_refusal(exc))
        return
    listed = sorted(o["Key"] for o in page.get("Contents", ()))
    if listed == expected[_LISTED // 2 :]:
        p.row("start_after", check, "supported", "only the keys after it")
    else:
        p.row("start_after", check, "ignored", f"{len(listed)} keys listed, not {_LISTED // 2}")


_CHECKS = (
    _conditional_put,
    _conditional_copy,
    _conditional_delete,
    _conditional_delete_batch,
    _checksum_trailers,
    _delete_content_md5,
    _multipart_copy,
    _listing,
)


async def _quietly(awaitable: Awaitable[object]) -> None:
    with contextlib.suppress(S3Error):  # a probe's cleanup: what is left shows in ``cleaned``
        await awaitable


async def _clean(client: S3Client, bucket: str, prefix: str) -> bool:
    """Remove everything the probe wrote (and any upload it left open); whether the
    prefix is empty afterwards."""
    try:
        for key, upload_id in await client.list_multipart_uploads(bucket, prefix):
            await _quietly(client.abort_multipart(bucket, key, upload_id))
        keys = [o.key async for page in client.list_tree(bucket, prefix) for o in page]
        if keys:
            await client.delete_many(bucket, keys)
        return not [o async for page in client.list_tree(bucket, prefix) for o in page]
    except S3Error:
        return False


async def probe(client: S3Client, bucket: str) -> ProbeReport:
    """Run every check against ``bucket`` under a temporary prefix (removed afterwards)
    and return the report; the client's ``capabilities`` are left as the probe found
    them. A check that fails for an unrelated reason (5xx, denied) leaves its feature
    ``unknown``; a bucket that cannot be written raises, before any check is run."""
    prefix = f".aios3fm-probe-{uuid.uuid4().hex[:12]}/"
    before = Counter(client.api_calls)
    p = _Probe(client, bucket, prefix)
    saved = client.capabilities
    client.capabilities = Capabilities()  # the checks must see the endpoint, not fallbacks
    try:
        await p.put("hello", b"aios3fm probe")  # a bucket we cannot write raises here
        for check in _CHECKS:
            await check(p)
    except BaseException:
        client.capabilities = saved
        raise
    finally:
        with anyio.CancelScope(shield=True):
            cleaned = await _clean(client, bucket, prefix)
    found = {row.feature: row.outcome for row in p.rows if row.outcome != "failed"}
    capabilities = replace(Capabilities(), **found)
    client.capabilities = capabilities
    calls = Counter(client.api_calls)
    calls.subtract(before)
    return ProbeReport(
        bucket, prefix, tuple(p.rows), capabilities, {k: v for k, v in sorted(calls.items()) if v},
        cleaned,
    )  # fmt: skip
