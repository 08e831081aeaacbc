"""Cache backends: short engine names, and the Redis cache (``backends.redis.RedisCache``).

A name maps to the Django cache backend that implements it; backends are imported only when
Django builds its caches, never by ``import utilmeta``.
"""

__all__ = ["ENGINES"]

ENGINES: dict[str, str] = {
    "locmem": "django.core.cache.backends.locmem.LocMemCache",
    "redis": "django.core.cache.backends.redis.RedisCache",
    "db": "django.core.cache.backends.db.DatabaseCache",
    "database": "django.core.cache.backends.db.DatabaseCache",
    "file": "django.core.cache.backends.filebased.FileBasedCache",
    "dummy": "django.core.cache.backends.dummy.DummyCache",
    "memcached": "django.core.cache.backends.memcached.PyMemcacheCache",
    "pymemcache": "django.core.cache.backends.memcached.PyMemcacheCache",
    "pylibmc": "django.core.cache.backends.memcached.PyLibMCCache",
}
