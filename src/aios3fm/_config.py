"""Settings: one frozen dataclass, built from keyword arguments or the environment."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["GiB", "KiB", "MiB", "Settings", "parse_size"]

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

AddressingStyle = Literal["auto", "path", "virtual"]
ChecksumWhen = Literal["when_supported", "when_required"]
_CHECKSUM_WHEN = ("when_supported", "when_required")


@dataclass(frozen=True)
class Settings:
    """How a :class:`~aios3fm.FileManager` (and its :class:`~aios3fm.S3Client`) behaves.

    Every field has a documented default; :meth:`from_env` reads the ``AIOS3FM_*``
    variables (and ``AWS_ENDPOINT_URL``) on top of them. Credentials are optional: without
    them the standard AWS chain is used (environment, profile, instance metadata), except
    for an endpoint served by :class:`~aios3fm.EmbeddedS3`, which gets that server's dummy
    credentials and never reads the user's AWS configuration.
    """

    endpoint_url: str | None = None
    """S3 endpoint; ``None`` for AWS itself."""
    region: str | None = None
    """Region; ``None`` lets the AWS chain decide, falling back on ``us-east-1``."""
    profile: str | None = None
    """Named profile from the AWS config files."""
    addressing_style: AddressingStyle | None = None
    """``path`` or ``virtual``; ``None`` picks ``path`` for a custom endpoint, else ``auto``."""
    access_key_id: str | None = field(default=None, repr=False)
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    concurrency: int = 64
    """Requests in flight at once, for everything the client does (multipart parts
    included). The connection pool is sized to match."""
    multipart_threshold: int = 8 * MiB
    """Uploads larger than this go as multipart uploads."""
    multipart_chunksize: int = 8 * MiB
    """Part size of multipart uploads, grown as needed to stay within 10,000 parts."""
    copy_threshold: int = 5 * GiB
    """Server-side copies larger than this go as multipart copies (UploadPartCopy)."""
    copy_chunksize: int = 512 * MiB
    """Part size of multipart copies, grown as needed to stay within 10,000 parts."""
    max_attempts: int = 5
    """Tries per request (the first included) on transient errors: 5xx, SlowDown,
    throttling, dropped connections, timeouts. aios3fm retries; botocore tries once."""
    retry_base_delay: float = 0.1
    """Backoff before retry n is uniform in [0, min(retry_max_delay, base * 2**n)]."""
    retry_max_delay: float = 5.0
    retry_deadline: float = 120.0
    """No retry starts after this many seconds from the first try."""
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    request_checksum_calculation: ChecksumWhen | None = None
    """``when_supported``: a CRC32 checksum with every upload (botocore's default since
    1.36, which some S3-compatible servers refuse); ``when_required``: only where an
    operation demands one. ``None``: ``AWS_REQUEST_CHECKSUM_CALCULATION`` or the profile's
    ``request_checksum_calculation`` when set, else ``when_required`` (uploads are checked
    by their Content-MD5/ETag already)."""
    response_checksum_validation: ChecksumWhen | None = None
    """Whether downloads check the checksum S3 returns: ``when_supported`` or
    ``when_required``; ``None`` as above (``AWS_RESPONSE_CHECKSUM_VALIDATION``, the
    profile's ``response_checksum_validation``, else ``when_required``)."""

    cache_ttl: float = 60.0
    """Seconds a cached listing or object fact stays valid (env ``AIOS3FM_CACHE_TTL``)."""
    cache_negative_ttl: float = 5.0
    """Seconds a "does not exist" answer stays valid."""
    cache_max_entries: int = 100_000
    """Bound of the cache, a listing counting as its number of children; 0 disables it."""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.concurrency}")
        if self.multipart_chunksize < 5 * MiB:
            raise ValueError("multipart_chunksize must be at least 5 MiB (an S3 limit)")
        if self.copy_chunksize < 5 * MiB:
            raise ValueError("copy_chunksize must be at least 5 MiB (an S3 limit)")
        if self.multipart_threshold < 0 or self.copy_threshold < 0:
            raise ValueError("thresholds must not be negative")
        for name in ("request_checksum_calculation", "response_checksum_validation"):
            value = getattr(self, name)
            if isinstance(value, str):  # any case, as botocore reads the AWS_* variables
                value = value.lower()
                object.__setattr__(self, name, value)
            if value is not None and value not in _CHECKSUM_WHEN:
                choices = "'when_supported' or 'when_required'"
                raise ValueError(f"{name} must be {choices}, not {value!r}")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.cache_ttl < 0 or self.cache_negative_ttl < 0 or self.cache_max_entries < 0:
            raise ValueError(
                "cache_ttl, cache_negative_ttl and cache_max_entries must not be negative"
            )

    def replace(self, **changes: object) -> Settings:
        """A copy with the given fields changed (``None`` values are ignored)."""
        given = {name: value for name, value in changes.items() if value is not None}
        return dataclasses.replace(self, **given)  # type: ignore[arg-type]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Defaults overridden by ``AWS_ENDPOINT_URL`` and ``AIOS3FM_<FIELD>`` variables.

        Numbers accept a plain integer or a ``KiB``/``MiB``/``GiB`` suffix
        (``AIOS3FM_MULTIPART_THRESHOLD=16MiB``).
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        if env.get("AWS_ENDPOINT_URL"):
            values["endpoint_url"] = env["AWS_ENDPOINT_URL"]
        for f in dataclasses.fields(cls):
            raw = env.get(f"AIOS3FM_{f.name.upper()}")
            if raw is None or f.name in _SECRET_FIELDS:
                continue
            values[f.name] = _convert(f.name, raw, f.default)
        return cls(**values)  # type: ignore[arg-type]


_SECRET_FIELDS = frozenset({"access_key_id", "secret_access_key", "session_token"})
_UNITS = {"kib": KiB, "mib": MiB, "gib": GiB, "tib": 1024 * GiB, "k": KiB, "m": MiB, "g": GiB,
          "t": 1024 * GiB}  # fmt: skip


def parse_size(text: str) -> int:
    """``"16MiB"`` -> 16777216: a whole number of bytes, or one with a KiB/MiB/GiB/TiB (or
    K/M/G/T) suffix; ValueError otherwise."""
    lowered = text.strip().lower()
    for suffix, factor in _UNITS.items():
        if lowered.endswith(suffix) and lowered[: -len(suffix)]:
            return int(float(lowered[: -len(suffix)]) * factor)
    return int(lowered)


def _convert(name: str, raw: str, default: object) -> object:
    text = raw.strip()
    try:
        if isinstance(default, bool):
            return text.lower() in {"1", "true", "yes", "on"}
        if isinstance(default, int):
            return parse_size(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        raise ValueError(f"AIOS3FM_{name.upper()}={raw!r} is not a valid number") from None
    return text or None
