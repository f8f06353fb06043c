"""The cache: a synchronous TTL + LRU store, single-flight, and the cached reads."""

from ._cache import S3Cache
from ._store import MISS, CacheStore, dir_form, parent_dir

__all__ = ["MISS", "CacheStore", "S3Cache", "dir_form", "parent_dir"]
