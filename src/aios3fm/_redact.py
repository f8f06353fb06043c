"""Keeping credentials out of logs and messages.

botocore logs every request it sends at DEBUG level, ``Authorization`` header (access key
id and signature) and ``X-Amz-Security-Token`` included, and its signer logs the canonical
request. Turning DEBUG logging on must not put those in a log file, so aios3fm installs a
log-record factory that scrubs every record from the AWS and HTTP libraries it uses (and
its own) when the record is made: the known secrets of every client opened in this
process, and anything shaped like a signature, credential scope or token, whatever the
handlers are and whenever their loggers were created.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

__all__ = ["install_log_redaction", "register_secrets", "scrub"]

MASK = "***"

# Loggers whose records can carry request headers, signing material or presigned URLs.
_SCRUBBED_LOGGERS = ("botocore", "aiobotocore", "aioboto3", "boto3", "s3transfer",
                     "urllib3", "aiohttp", "aios3fm")  # fmt: skip

_PATTERNS = (
    # Authorization: AWS4-HMAC-SHA256 Credential=AKIA.../scope, ..., Signature=hex
    re.compile(r"(Credential=)[^/,\s'\"]+", re.IGNORECASE),
    re.compile(r"(Signature=)[0-9A-Za-z%+/=]+", re.IGNORECASE),
    # botocore's signer: 'Signature:' with the hex on the next line
    re.compile(r"(Signature:\s*)[0-9A-Fa-f]{16,}", re.IGNORECASE),
    # presigned-URL query parameters
    re.compile(r"(X-Amz-(?:Credential|Signature|Security-Token)=)[^&\s'\"]+", re.IGNORECASE),
    # the token header, as a dict item (b'...' or '...') or as a canonical-request line
    re.compile(r"(x-amz-security-token['\"]?\s*[:=]\s*b?['\"]?)[^'\"\s,}]+", re.IGNORECASE),
    # SigV2 and SigV4 Authorization values in any other shape
    re.compile(r"(Authorization['\"]?\s*[:=]\s*b?['\"]?AWS )[^'\"\s,}]+", re.IGNORECASE),
)

_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def register_secrets(secrets: Iterable[str | None]) -> None:
    """Remember credentials in use so that :func:`scrub` removes them verbatim too."""
    with _lock:
        _secrets.update(s for s in secrets if s and len(s) >= 4)


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without known secrets (registered or given) and without anything shaped
    like a signature, credential scope, session token or SigV2 authorization."""
    with _lock:
        known = list(_secrets)
    known.extend(s for s in secrets if s and len(s) >= 4)
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def _scrubbed(record: logging.LogRecord) -> logging.LogRecord:
    if not record.name.startswith(_SCRUBBED_LOGGERS):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is left for logging to report
        return record
    record.msg = scrub(message)
    record.args = None
    return record


def install_log_redaction() -> None:
    """Wrap the process's log-record factory once (idempotent, thread-safe)."""
    import logging

    global _installed
    with _lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return _scrubbed(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True
