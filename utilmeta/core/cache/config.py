"""Cache connections: ``CacheConnections({'default': Cache(...)})``.

The config is framework-free: it imports no framework, and turning it into Django's ``CACHES``
is the Django integration's job (``utilmeta/core/orm/backends/django``), which
:meth:`CacheConnections.django_settings` asks. Secrets never appear in ``repr``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from utilmeta.conf._lookup import current_config
from utilmeta.conf.base import Config
from utilmeta.core.orm.backends.django.settings import cache_entry, caches_setting, ensure_django, settings_source
from utilmeta.core.orm.backends.django.setup_order import guard

if TYPE_CHECKING:
    from utilmeta.core.server.service import UtilMeta

__all__ = ["Cache", "CacheConnections", "DEFAULT_ALIAS", "ENGINES"]

#: short engine names → the Django cache backends that implement them
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

DEFAULT_ALIAS = "default"
_MASK = "******"
_URL_PASSWORD = re.compile(r"(://[^:/@]*:)[^@/]*@")
_SECRET_OPTION = re.compile(r"pass|secret|token", re.I)


class Cache:
    """One cache.

    ::

        Cache(engine='django.core.cache.backends.locmem.LocMemCache')
        Cache(engine='file', location='cache', timeout=60)

    - ``engine``: a Django cache backend path, or a short name: ``'locmem'``, ``'redis'``,
      ``'db'``, ``'file'``, ``'dummy'``, ``'memcached'``, ``'pylibmc'``.
    - ``location``: what the backend connects to (a server URL, a table name for ``'db'``, a
      directory for ``'file'`` — relative to the service's directory).
    - ``timeout``: default lifetime of a key in seconds, None for ever; ``options``: the
      backend's ``OPTIONS``; ``key_prefix``, ``version``: as in Django;
      ``max_entries``: for the local-memory, file and db caches.
    """

    def __init__(
        self,
        engine: str = "locmem",
        location: str | list[str] = "",
        *,
        timeout: int | float | None = 300,
        options: Mapping[str, Any] | None = None,
        key_prefix: str = "",
        version: int | None = None,
        max_entries: int | None = None,
    ) -> None:
        if not isinstance(engine, str) or not engine:
            raise TypeError(f"Cache(engine=...) must be a non-empty string, got {engine!r}")
        if "." not in engine and engine.lower() not in ENGINES:
            raise ValueError(
                f"Cache(engine={engine!r}): unknown engine; use one of {', '.join(ENGINES)} "
                "or a Django cache backend path such as 'django.core.cache.backends.locmem.LocMemCache'"
            )
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0):
            raise ValueError(f"Cache(timeout=...) must be a number of seconds >= 0 or None, got {timeout!r}")
        if max_entries is not None and (
            isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries <= 0
        ):
            raise ValueError(f"Cache(max_entries=...) must be a positive integer, got {max_entries!r}")
        self.engine = engine
        self.location = location
        self.timeout = timeout
        self.options = dict(options or {})
        self.key_prefix = key_prefix
        self.version = version
        self.max_entries = max_entries

    @property
    def backend(self) -> str:
        """The full Django backend path of ``engine``."""
        return self.engine if "." in self.engine else ENGINES[self.engine.lower()]

    def get_location(self, base_dir: str | None = None) -> str | list[str]:
        location = self.location
        if (
            isinstance(location, str)
            and location
            and self.backend.endswith(".FileBasedCache")
            and not os.path.isabs(location)
        ):
            return os.path.join(base_dir or os.getcwd(), location)
        return location

    def get_options(self) -> dict[str, Any]:
        options = dict(self.options)
        if self.max_entries is not None:
            options.setdefault("MAX_ENTRIES", self.max_entries)
        return options

    def django_settings(self, base_dir: str | None = None) -> dict[str, Any]:
        """This cache as one entry of Django's ``CACHES``."""
        return cache_entry(self, base_dir)

    def _repr_fields(self) -> list[str]:
        fields = [f"engine={self.engine!r}"]
        if self.location:
            fields.append(f"location={_mask_location(self.location)!r}")
        if self.timeout != 300:
            fields.append(f"timeout={self.timeout!r}")
        if self.options:
            fields.append(f"options={_mask_options(self.options)!r}")
        return fields

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self._repr_fields())})"


def _mask_location(location: str | list[str]) -> str | list[str]:
    if isinstance(location, str):
        return _URL_PASSWORD.sub(rf"\1{_MASK}@", location)
    return [_URL_PASSWORD.sub(rf"\1{_MASK}@", loc) for loc in location]


def _mask_options(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (_MASK if _SECRET_OPTION.search(str(k)) and v else v) for k, v in options.items()}


class CacheConnections(Config):
    """The service's caches by alias; ``'default'`` is the one used unless another is named.

    ::

        service.use(CacheConnections({
            'default': RedisCache(port=env.REDIS_PORT, db=env.REDIS_DB, password=env.REDIS_PASSWORD),
            'fallback': Cache(engine='django.core.cache.backends.locmem.LocMemCache'),
        }))

    With Django this is Django's ``CACHES`` (``django.core.cache.caches['fallback']``). When no
    ``DjangoSettings`` is used and Django is installed, ``service.setup()`` configures Django
    with default settings so the caches work under any backend.
    """

    def __init__(self, caches: Mapping[str, Cache]) -> None:
        if not isinstance(caches, Mapping):
            raise TypeError(f"CacheConnections takes a dict of alias -> Cache, got {caches!r}")
        for alias, cache in caches.items():
            if not isinstance(alias, str) or not alias:
                raise TypeError(f"CacheConnections: aliases must be non-empty strings, got {alias!r}")
            if not isinstance(cache, Cache):
                raise TypeError(f"CacheConnections[{alias!r}] must be a Cache(...), got {cache!r}")
        if caches and DEFAULT_ALIAS not in caches:
            raise ValueError(f"CacheConnections needs a {DEFAULT_ALIAS!r} cache (got {', '.join(map(repr, caches))})")
        self.caches: dict[str, Cache] = dict(caches)

    @classmethod
    def current(cls) -> CacheConnections | None:
        """The ``CacheConnections`` used by the current service, or None."""
        return current_config(cls)

    def get(self, alias: str = DEFAULT_ALIAS) -> Cache:
        try:
            return self.caches[alias]
        except KeyError:
            raise KeyError(f"no cache {alias!r}; configured: {', '.join(self.caches)}") from None

    def __getitem__(self, alias: str) -> Cache:
        return self.get(alias)

    def __contains__(self, alias: object) -> bool:
        return alias in self.caches

    def __iter__(self) -> Iterator[str]:
        return iter(self.caches)

    def __len__(self) -> int:
        return len(self.caches)

    def items(self) -> list[tuple[str, Cache]]:
        return list(self.caches.items())

    def django_settings(self, base_dir: str | None = None) -> dict[str, Any]:
        """``{'CACHES': {...}}`` for Django; relative file-cache directories are taken from ``base_dir``."""
        return caches_setting(self, base_dir)

    def hook(self, service: UtilMeta) -> None:
        guard(service)  # setup() sets Django up: a model imported before it names itself and the service

    def setup(self, service: UtilMeta) -> None:
        ensure_django(service)


settings_source(CacheConnections, caches_setting)
