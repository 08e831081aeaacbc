"""Client IP and scheme behind proxies, on every backend, sync and async: ``X-Forwarded-For`` and
``X-Forwarded-Proto`` count only when the peer is a trusted proxy, and the client is the first
untrusted address walking the header from the right (a client can put anything on its left)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app import make_service
from backends_table import Cell
from harness import _is_asgi, served

from utilmeta.core.server.service import _clear_service

TRUSTED = ("127.0.0.1", "10.0.0.0/8")
FORGED = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7, 10.0.0.2", "X-Forwarded-Proto": "https"}


def _get(app: Any, peer: str, headers: dict[str, str]) -> Any:
    if _is_asgi(app):
        import asyncio

        async def one() -> httpx.Response:
            transport = httpx.ASGITransport(app=app, client=(peer, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return await client.get("/api/client", headers=headers)

        return asyncio.run(one()).json()
    with httpx.Client(transport=httpx.WSGITransport(app=app, remote_addr=peer), base_url="http://testserver") as c:
        return c.get("/api/client", headers=headers).json()


def _from(port: int, local: str, headers: dict[str, str]) -> Any:
    transport = httpx.HTTPTransport(local_address=local)
    with httpx.Client(transport=transport, base_url=f"http://127.0.0.1:{port}", timeout=10, trust_env=False) as c:
        deadline = time.monotonic() + 10
        while True:  # a worker may still be coming up behind the listening socket
            r = c.get("/api/client", headers=headers)
            if r.status_code == 200 or time.monotonic() > deadline:
                return r.json()
            time.sleep(0.05)


def test_forwarded_headers_only_from_trusted_proxies(backend: Cell, tmp_path: Path) -> None:
    if backend.own_server:
        with served(backend.name, backend.style, tmp_path, trusted_proxies=TRUSTED) as (url, _proc):
            port = int(url.rsplit(":", 1)[1])
            trusted = _from(port, "127.0.0.1", FORGED)
            untrusted = _from(port, "127.0.0.3", FORGED)  # another loopback address, not a proxy
            plain = _from(port, "127.0.0.1", {})
        outsider = "127.0.0.3"
    else:
        app = make_service(backend.name, backend.style, trusted_proxies=TRUSTED).application()
        try:
            trusted = _get(app, "127.0.0.1", FORGED)
            untrusted = _get(app, "198.51.100.7", FORGED)
            plain = _get(app, "127.0.0.1", {})
        finally:
            _clear_service()
        outsider = "198.51.100.7"
    # 10.0.0.2 is a trusted proxy too; 203.0.113.7 is the first address nobody trusted vouches for
    assert trusted == {"ip": "203.0.113.7", "scheme": "https"}
    assert untrusted == {"ip": outsider, "scheme": "http"}
    assert plain == {"ip": "127.0.0.1", "scheme": "http"}
