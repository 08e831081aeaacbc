"""Caches: ``CacheConnections({'default': Cache(engine='locmem'), ...})``.

With Django installed the connections become Django's ``CACHES``; ``backends.redis.RedisCache``
also gives ``redis`` clients for direct sync and asyncio use.
"""

from utilmeta.core.cache.config import Cache, CacheConnections

__all__ = ["Cache", "CacheConnections"]
