"""The S3 layer: the only code that talks to aiobotocore.

Promises: one method per S3 operation (S3Client), every request through one Transport
(one concurrency limit, counted, retried in one loop, errors translated in one place),
botocore's response dicts read in one module and turned into aios3fm's values; the
endpoint's capabilities found by ``probe`` and honoured by the client's fallbacks.
May import: the floor only (``aios3fm._config``, ``_exceptions``, ``_models``, ...).
"""

from ._client import S3Client
from ._multipart import part_size
from ._probe import probe
from ._responses import ObjectReader
from ._session import LocalEndpoint, forget_local_endpoint, register_local_endpoint

__all__ = [
    "LocalEndpoint",
    "ObjectReader",
    "S3Client",
    "forget_local_endpoint",
    "part_size",
    "probe",
    "register_local_endpoint",
]
