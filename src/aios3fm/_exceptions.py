"""Every exception aios3fm raises, and the one table that maps S3 error codes onto them.

Classes are grouped by how a caller reacts, and each subclasses the builtin it would
catch anyway (``except FileNotFoundError`` works for a missing key). The botocore or
aiohttp error that caused one is kept as ``__cause__`` (``raise ... from exc``).
Messages carry the S3 error code, the operation and the location, never credentials:
:func:`redact` scrubs any secret the client knows before a message is built.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable

from ._redact import scrub

__all__ = [
    "AccessDeniedError",
    "AioS3FMError",
    "AlreadyExistsError",
    "BucketNotFoundError",
    "CorruptArchiveError",
    "DirectoryNotEmptyError",
    "InvalidLocationError",
    "InvalidRangeError",
    "InvalidRequestError",
    "IsADirectoryS3Error",
    "MissingDependencyError",
    "NotADirectoryS3Error",
    "NotFoundError",
    "OperationError",
    "PreconditionFailedError",
    "S3Error",
    "TransientError",
    "UnsafeArchiveMember",
    "UnsafeKeyError",
    "already_exists",
    "bucket_not_found",
    "error_class_for",
    "is_a_directory",
    "not_a_directory",
    "not_found",
    "redact",
]


class AioS3FMError(Exception):
    """Base class of every error aios3fm raises on purpose."""


class S3Error(AioS3FMError, OSError):
    """An S3 request failed. ``code`` is the S3 error code (``NoSuchKey``, ``403``, ...).

    ``location`` is ``s3://bucket/key`` (or ``s3://bucket/`` / ``s3://``) when known,
    ``operation`` the S3 operation name and ``status`` the HTTP status.
    """

    errno_value: int = errno.EIO

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        operation: str | None = None,
        location: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(self.errno_value, message)
        self.message = message
        self.code = code
        self.operation = operation
        self.location = location
        self.status = status
        self.filename = location

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[object, ...]:
        # OSError pickles through its args; keep the keyword fields too.
        return (
            _rebuild,
            (type(self), self.message, self.code, self.operation, self.location, self.status),
        )


def _rebuild(
    cls: type[S3Error],
    message: str,
    code: str | None,
    operation: str | None,
    location: str | None,
    status: int | None,
) -> S3Error:
    return cls(message, code=code, operation=operation, location=location, status=status)


class NotFoundError(S3Error, FileNotFoundError):
    """The key, prefix or upload does not exist."""

    errno_value = errno.ENOENT


class BucketNotFoundError(NotFoundError):
    """The bucket does not exist."""


class AlreadyExistsError(S3Error, FileExistsError):
    """The bucket or object already exists."""

    errno_value = errno.EEXIST


class AccessDeniedError(S3Error, PermissionError):
    """The credentials are not allowed to do this (or are not valid)."""

    errno_value = errno.EACCES


class IsADirectoryS3Error(S3Error, IsADirectoryError):
    """A file was expected and the location is a directory."""

    errno_value = errno.EISDIR


class NotADirectoryS3Error(S3Error, NotADirectoryError):
    """A directory was expected and the location is a file."""

    errno_value = errno.ENOTDIR


class DirectoryNotEmptyError(S3Error):
    """The bucket or directory still holds objects."""

    errno_value = errno.ENOTEMPTY


class PreconditionFailedError(S3Error):
    """A conditional request (If-Match, If-None-Match, ...) did not hold."""


class InvalidRangeError(S3Error, ValueError):
    """The requested byte range is outside the object."""

    errno_value = errno.EINVAL


class InvalidRequestError(S3Error, ValueError):
    """S3 refused the request as malformed: a bad bucket name, a key too long, ..."""

    errno_value = errno.EINVAL


class TransientError(S3Error, ConnectionError):
    """A failure worth retrying: throttling, 5xx, a dropped connection or a timeout.

    Raised only once the retries allowed by the settings are spent.
    """

    errno_value = errno.EAGAIN


class InvalidLocationError(AioS3FMError, ValueError):
    """A location string that is not a valid ``s3://bucket/key`` or local path."""


class OperationError(AioS3FMError):
    """Some items of a bulk operation failed; ``result`` holds every item, and the first
    failure is ``__cause__``."""

    def __init__(self, result: object) -> None:
        failed = getattr(result, "failed", ())
        count = getattr(result, "counts", {}).get("failed", len(failed))
        operation = getattr(result, "operation", "operation")
        first = failed[0] if failed else None
        detail = f": {first.source}: {first.error}" if first is not None else ""
        super().__init__(f"{operation}: {count} item(s) failed{detail}")
        self.result = result


class UnsafeArchiveMember(AioS3FMError, ValueError):
    """An archive member that would escape the destination (absolute name, ``..``, a
    link) or is a device or fifo, or members adding up past ``max_total_size``. The
    whole archive is refused before anything is written."""


class UnsafeKeyError(AioS3FMError, ValueError):
    """An S3 key that cannot become a file under the local destination without leaving
    it or losing its name: a ``..`` or ``.`` segment, an empty segment (``//``, a leading
    ``/``) or a backslash form of them. That item is refused and nothing is written."""


class CorruptArchiveError(AioS3FMError, ValueError):
    """The archive cannot be read as the format its name (or ``format=``) says."""


class MissingDependencyError(AioS3FMError, ImportError):
    """An optional dependency is not installed; the message says which extra to install."""


_CODE_TABLE: dict[str, type[S3Error]] = {
    "NoSuchKey": NotFoundError,
    "NotFound": NotFoundError,
    "404": NotFoundError,
    "NoSuchUpload": NotFoundError,
    "NoSuchVersion": NotFoundError,
    "NoSuchBucket": BucketNotFoundError,
    "BucketAlreadyOwnedByYou": AlreadyExistsError,
    "BucketAlreadyExists": AlreadyExistsError,
    "AccessDenied": AccessDeniedError,
    "403": AccessDeniedError,
    "Forbidden": AccessDeniedError,
    "AllAccessDisabled": AccessDeniedError,
    "InvalidAccessKeyId": AccessDeniedError,
    "SignatureDoesNotMatch": AccessDeniedError,
    "ExpiredToken": AccessDeniedError,
    "InvalidToken": AccessDeniedError,
    "AccountProblem": AccessDeniedError,
    "BucketNotEmpty": DirectoryNotEmptyError,
    "PreconditionFailed": PreconditionFailedError,
    "412": PreconditionFailedError,
    "InvalidRange": InvalidRangeError,
    "416": InvalidRangeError,
    "InvalidBucketName": InvalidRequestError,
    "KeyTooLongError": InvalidRequestError,
    "InvalidArgument": InvalidRequestError,
    "InvalidRequest": InvalidRequestError,
    "MalformedXML": InvalidRequestError,
    "EntityTooSmall": InvalidRequestError,
    "EntityTooLarge": InvalidRequestError,
    "SlowDown": TransientError,
    "Throttling": TransientError,
    "ThrottlingException": TransientError,
    "RequestTimeout": TransientError,
    "RequestTimeTooSkewed": TransientError,
    "InternalError": TransientError,
    "ServiceUnavailable": TransientError,
    "500": TransientError,
    "502": TransientError,
    "503": TransientError,
    "504": TransientError,
}


def error_class_for(code: str | None, status: int | None = None) -> type[S3Error]:
    """The exception class for an S3 error code, falling back on the HTTP status."""
    if code is not None and code in _CODE_TABLE:
        return _CODE_TABLE[code]
    if status is not None:
        if status >= 500:
            return TransientError
        return _CODE_TABLE.get(str(status), S3Error)
    return S3Error


# -- the one place that builds the file-system errors of S3 locations --------------------


def not_found(location: object, operation: str, what: str = "file or directory") -> NotFoundError:
    """``s3://b/k: no such file or directory`` (``what`` names the kind looked for)."""
    return NotFoundError(f"{location}: no such {what}", code="NotFound", operation=operation,
                         location=str(location))  # fmt: skip


def bucket_not_found(bucket: str, operation: str) -> BucketNotFoundError:
    location = f"s3://{bucket}/"
    return BucketNotFoundError(f"{location}: no such bucket", code="NoSuchBucket",
                               operation=operation, location=location, status=404)  # fmt: skip


def is_a_directory(location: object, operation: str, hint: str = "") -> IsADirectoryS3Error:
    """``s3://b/d: is a directory``, with `` (hint)`` when given (``use -r``)."""
    suffix = f" ({hint})" if hint else ""
    return IsADirectoryS3Error(f"{location}: is a directory{suffix}", code="IsADirectory",
                               operation=operation, location=str(location))  # fmt: skip


def not_a_directory(location: object, operation: str) -> NotADirectoryS3Error:
    return NotADirectoryS3Error(f"{location}: not a directory", code="NotADirectory",
                                operation=operation, location=str(location))  # fmt: skip


def already_exists(
    location: object, operation: str, what: str = "file exists"
) -> AlreadyExistsError:
    return AlreadyExistsError(f"{location}: {what}", code="AlreadyExists", operation=operation,
                              location=str(location))  # fmt: skip


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` without the given secrets (access key id, secret key, session token), those
    of every client opened, or anything shaped like a signature or token."""
    return scrub(text, secrets)
