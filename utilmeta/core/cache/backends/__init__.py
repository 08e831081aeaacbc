"""Cache backends: the Redis cache (``backends.redis.RedisCache``), one module per engine.

Backends build on the config (``utilmeta/core/cache/config.py``), which holds the short engine
names (:data:`ENGINES`, re-exported here); a name maps to the Django cache backend that
implements it, imported only when Django builds its caches, never by ``import utilmeta``.
"""

from utilmeta.core.cache.config import ENGINES

__all__ = ["ENGINES"]
