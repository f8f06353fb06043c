"""The embedded S3 server: a side branch for tests, demos and ``aios3fm server``.

Promises: moto's S3 over real HTTP on a free loopback port (EmbeddedS3), behind a WSGI
middleware that counts requests by S3 operation (``_classify``) and injects latency,
faults, holds and denials (``_middleware``), honours the conditional writes moto lacks and
plays S3-compatible endpoints by switches (``_quirks``); and the same server in its own
process (``_process``). moto is imported only when a server starts.
May import: ``aios3fm._s3`` (to register its endpoint as local) and the floor. Nothing
below the CLI imports this layer.
"""

from ._classify import classify
from ._embedded import EmbeddedCredentials, EmbeddedS3
from ._middleware import CONTROL_PATH, DEFAULT_FAULTS, FAULT_KINDS, FaultKind, Hold, S3Middleware
from ._process import ServerProcess, free_port, server_process

__all__ = [
    "CONTROL_PATH",
    "DEFAULT_FAULTS",
    "FAULT_KINDS",
    "EmbeddedCredentials",
    "EmbeddedS3",
    "FaultKind",
    "Hold",
    "S3Middleware",
    "ServerProcess",
    "classify",
    "free_port",
    "server_process",
]
