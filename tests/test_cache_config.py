"""``Cache`` / ``CacheConnections`` / ``RedisCache``: Django ``CACHES`` from the config, and a real Redis
(``UTILMETA_TEST_REDIS``, default the local server; skipped when unreachable, except under ``CI=true``)
through the sync and asyncio clients and through Django's cache."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from optional import unavailable

from utilmeta import UtilMeta
from utilmeta.core.cache import Cache, CacheConnections
from utilmeta.core.cache.backends.redis import RedisCache

REDIS_URL = os.environ.get("UTILMETA_TEST_REDIS", "redis://127.0.0.1:6379/0")


# -- Cache ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "engine, backend",
    [
        ("locmem", "django.core.cache.backends.locmem.LocMemCache"),
        ("redis", "django.core.cache.backends.redis.RedisCache"),
        ("db", "django.core.cache.backends.db.DatabaseCache"),
        ("file", "django.core.cache.backends.filebased.FileBasedCache"),
        ("dummy", "django.core.cache.backends.dummy.DummyCache"),
        ("django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.locmem.LocMemCache"),
    ],
)
def test_engine_names(engine: str, backend: str) -> None:
    assert Cache(engine=engine).backend == backend


def test_a_cache_as_django_settings(tmp_path: Path) -> None:
    cache = Cache(engine="file", location="cache", timeout=None, key_prefix="p", version=2, max_entries=50)
    assert cache.django_settings(str(tmp_path)) == {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(tmp_path / "cache"),
        "TIMEOUT": None,
        "OPTIONS": {"MAX_ENTRIES": 50},
        "KEY_PREFIX": "p",
        "VERSION": 2,
    }
    assert Cache(engine="db", location="cache_table").django_settings(str(tmp_path))["LOCATION"] == "cache_table"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"engine": ""}, TypeError, "engine"),
        ({"engine": "mongo"}, ValueError, "unknown engine"),
        ({"timeout": -1}, ValueError, "timeout"),
        ({"max_entries": 0}, ValueError, "max_entries"),
    ],
)
def test_bad_caches(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Cache(**kwargs)


def test_secrets_are_never_in_repr() -> None:
    cache = Cache(engine="redis", location="redis://user:s3cr3t@h:6379/0", options={"password": "s3cr3t"})
    assert "s3cr3t" not in repr(cache)
    assert "redis://user:******@h:6379/0" in repr(cache)


def test_connections_by_alias() -> None:
    default, fallback = Cache(engine="locmem"), Cache(engine="dummy")
    conns = CacheConnections({"default": default, "fallback": fallback})
    assert conns.get() is default and conns["fallback"] is fallback
    assert "fallback" in conns and len(conns) == 2 and list(conns) == ["default", "fallback"]
    caches = conns.django_settings()["CACHES"]
    assert caches["fallback"]["BACKEND"] == "django.core.cache.backends.dummy.DummyCache"
    with pytest.raises(ValueError, match="needs a 'default' cache"):
        CacheConnections({"main": default})
    with pytest.raises(TypeError, match="must be a Cache"):
        CacheConnections({"default": "locmem"})  # type: ignore[dict-item]


def test_the_used_connections_are_current() -> None:
    s = UtilMeta("djtest_cache_current", backend="wsgi")
    conns = CacheConnections({"default": Cache()})
    assert CacheConnections.current() is None
    s.use(conns)
    assert CacheConnections.current() is conns


# -- RedisCache ----------------------------------------------------------------------------


def test_redis_cache_as_django_settings() -> None:
    cache = RedisCache(port=6380, db=2, password="s3cr3t", options={"socket_timeout": 2})
    assert cache.django_settings() == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6380/2",  # no credentials in the URL
        "TIMEOUT": 300,
        "OPTIONS": {"socket_timeout": 2, "password": "s3cr3t"},
        "KEY_PREFIX": "",
    }
    assert "s3cr3t" not in repr(cache) and "password='******'" in repr(cache)
    assert RedisCache(host="::1", ssl=True).url == "rediss://[::1]:6379/0"


def test_redis_client_arguments_leave_out_django_only_options() -> None:
    cache = RedisCache(username="u", password="p", options={"socket_timeout": 2, "serializer": "x.Serializer"})
    assert cache.client_kwargs() == {
        "socket_timeout": 2,
        "host": "127.0.0.1",
        "port": 6379,
        "db": 0,
        "password": "p",
        "username": "u",
    }


@pytest.mark.parametrize("kwargs", [{"port": 0}, {"port": "6379"}, {"db": -1}])
def test_bad_redis_caches(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RedisCache(**kwargs)


def _redis() -> RedisCache:
    url = urlsplit(REDIS_URL)
    host, port = url.hostname or "127.0.0.1", url.port or 6379
    problem = None
    try:
        import redis  # noqa: F401
    except ImportError:
        problem = "redis is not installed (pip install 'utilmeta[redis]')"
    else:
        try:
            with socket.create_connection((host, port), timeout=1):
                pass
        except OSError:
            problem = f"no Redis reachable at {host}:{port} (UTILMETA_TEST_REDIS)"
    if problem:
        unavailable(problem)
    return RedisCache(
        host=host,
        port=port,
        db=int(url.path.lstrip("/") or 0),
        password=unquote(url.password) if url.password else None,
        username=unquote(url.username) if url.username else None,
    )


@pytest.fixture
def key() -> str:
    return f"utilmeta-test-{uuid.uuid4().hex}"


def test_sync_client_on_a_real_redis(key: str) -> None:
    cache = _redis()
    client = cache.get_client()
    assert client is cache.get_client()  # one client (one connection pool) per cache
    try:
        assert client.set(key, "v", ex=30) is True
        assert client.get(key) == b"v"
        client.delete(key)
        assert client.get(key) is None
    finally:
        client.close()


async def test_async_client_on_a_real_redis(key: str) -> None:
    from redis.asyncio import Redis

    cache = _redis()
    client = cache.get_async_client()
    assert isinstance(client, Redis) and client is cache.get_async_client()  # one per event loop
    try:
        await client.set(key, "v", ex=30)
        assert await client.get(key) == b"v"
    finally:
        await client.delete(key)
        await client.aclose()


def test_djangos_redis_cache_from_the_generated_settings(key: str) -> None:
    from django.core.cache.backends.redis import RedisCache as DjangoRedisCache

    cache = _redis()
    entry = cache.django_settings()
    django_cache = DjangoRedisCache(entry["LOCATION"], entry)
    try:
        django_cache.set(key, {"a": [1, 2]}, timeout=30)
        assert django_cache.get(key) == {"a": [1, 2]}
    finally:
        django_cache.delete(key)
        for pool in django_cache._cache._pools.values():  # Django's close() keeps the pools open
            pool.disconnect()


ENV_FILE = """
from utilmeta.conf import Env

class ServiceEnvironment(Env):
    PRODUCTION: bool = False
    DJANGO_SECRET_KEY: str = ''
    COOKIE_AGE: int = 7 * 24 * 3600

    # cache -----
    REDIS_DB: int = 0
    REDIS_PORT: int = 6379
    REDIS_PASSWORD: str

    # databases ---------
    DB_HOST: str = ''
    DB_USER: str
    DB_PASSWORD: str
    DB_PORT: int = 5432

env = ServiceEnvironment(sys_env='DEMO_')
"""

SERVER = """
from utilmeta import UtilMeta
import django

service = UtilMeta(__name__, name='demo', backend=django)

from utilmeta.core.cache import CacheConnections, Cache
from utilmeta.core.cache.backends.redis import RedisCache
from config.env import env

service.use(CacheConnections({
    'default': RedisCache(
        port=env.REDIS_PORT,
        db=env.REDIS_DB,
        password=env.REDIS_PASSWORD
    ),
    'fallback': Cache(engine='django.core.cache.backends.locmem.LocMemCache')
}))

service.setup()
"""

DRIVER = """
import json
import sys
import server
from django.core.cache import caches

key = sys.argv[1]
caches["default"].set(key, "through django", 30)
caches["fallback"].set(key, "in memory", 30)
config = server.service.get_config(server.CacheConnections)
direct = config["default"].get_client().get(":1:" + key)  # Django's default key: prefix:version:key
out = {
    "default": caches["default"].get(key),
    "fallback": caches["fallback"].get(key),
    "direct": direct is not None,
}
caches["default"].delete(key)
print(json.dumps(out))
"""


def test_seed_cache_connections_sample(tmp_path: Path, key: str) -> None:
    cache = _redis()
    if cache.host != "127.0.0.1" or cache.username:
        unavailable("the seed sample connects to the default host, without a username: it needs Redis on 127.0.0.1")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "__init__.py").write_text("")
    (tmp_path / "config" / "env.py").write_text(textwrap.dedent(ENV_FILE))
    (tmp_path / "server.py").write_text(textwrap.dedent(SERVER))
    (tmp_path / "driver.py").write_text(textwrap.dedent(DRIVER))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEMO_", "DJANGO_"))}
    env.update(
        DEMO_REDIS_PORT=str(cache.port),
        DEMO_REDIS_DB=str(cache.db),
        DEMO_REDIS_PASSWORD="",
        DEMO_DB_USER="u",
        DEMO_DB_PASSWORD="p",
    )
    result = subprocess.run(
        [sys.executable, "driver.py", key], cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "default": "through django",
        "fallback": "in memory",
        "direct": True,
    }
