"""The Redis cache: Django's Redis cache backend, plus ``redis`` clients for direct use.

::

    cache = RedisCache(port=env.REDIS_PORT, db=env.REDIS_DB, password=env.REDIS_PASSWORD)
    cache.get_client().set('k', 'v')                 # redis.Redis (sync)
    await cache.get_async_client().get('k')          # redis.asyncio.Redis

Needs the ``redis`` package (``pip install 'utilmeta[redis]'``), imported only when a client is
asked for or Django builds the cache.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from utilmeta.core.cache.config import _MASK, Cache, _mask_options
from utilmeta.utils.deps import require

__all__ = ["RedisCache"]

DJANGO_BACKEND = "django.core.cache.backends.redis.RedisCache"
# Django-only OPTIONS that are not connection arguments of a redis client
_DJANGO_ONLY_OPTIONS = frozenset({"serializer", "pool_class", "parser_class"})


class RedisCache(Cache):
    """A Redis server as a cache (``CacheConnections({'default': RedisCache(...)})``).

    ``host``/``port``/``db``/``password``/``username`` locate the server (``ssl=True`` for TLS);
    ``options`` are connection options (``socket_timeout``, ``max_connections``, ...) used by both
    the Django cache and the clients. The password is passed as an option, never in the URL.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6379,
        db: int = 0,
        password: str | None = None,
        *,
        username: str | None = None,
        ssl: bool = False,
        timeout: int | float | None = 300,
        options: Mapping[str, Any] | None = None,
        key_prefix: str = "",
        version: int | None = None,
    ) -> None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"RedisCache(port=...) must be a port number, got {port!r}")
        if isinstance(db, bool) or not isinstance(db, int) or db < 0:
            raise ValueError(f"RedisCache(db=...) must be a database number >= 0, got {db!r}")
        self.host = host or "127.0.0.1"
        self.port = port
        self.db = db
        self.password = password or None
        self.username = username or None
        self.ssl = bool(ssl)
        super().__init__(
            DJANGO_BACKEND,
            self.url,
            timeout=timeout,
            options=options,
            key_prefix=key_prefix,
            version=version,
        )
        self._client: Any = None
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The server URL, without credentials."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'rediss' if self.ssl else 'redis'}://{host}:{self.port}/{self.db}"

    def get_options(self) -> dict[str, Any]:
        options = super().get_options()
        if self.password:
            options["password"] = self.password
        if self.username:
            options["username"] = self.username
        return options

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``redis.Redis`` / ``redis.asyncio.Redis`` for this server."""
        kwargs = {k: v for k, v in self.options.items() if k not in _DJANGO_ONLY_OPTIONS}
        kwargs.update(host=self.host, port=self.port, db=self.db, password=self.password, username=self.username)
        if self.ssl:
            kwargs["ssl"] = True
        return kwargs

    def get_client(self) -> Any:
        """A ``redis.Redis`` client (shared, thread-safe: it holds a connection pool)."""
        if self._client is None:
            redis = require("redis", "redis")
            with self._lock:
                if self._client is None:
                    self._client = redis.Redis(**self.client_kwargs())
        return self._client

    def get_async_client(self) -> Any:
        """A ``redis.asyncio.Redis`` client for the running event loop (one per loop: asyncio
        connections belong to the loop that opened them); a new one outside a running loop."""
        require("redis", "redis")
        from redis.asyncio import Redis

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return Redis(**self.client_kwargs())
        client = self._async_clients.get(loop)
        if client is None:
            client = self._async_clients[loop] = Redis(**self.client_kwargs())
        return client

    def _repr_fields(self) -> list[str]:
        fields = [f"host={self.host!r}", f"port={self.port!r}", f"db={self.db!r}"]
        if self.username:
            fields.append(f"username={self.username!r}")
        if self.password:
            fields.append(f"password={_MASK!r}")
        if self.ssl:
            fields.append("ssl=True")
        if self.timeout != 300:
            fields.append(f"timeout={self.timeout!r}")
        if self.options:
            fields.append(f"options={_mask_options(self.options)!r}")
        return fields
