"""How the conformance suite talks to each backend: in-process through the native WSGI/ASGI app where
the framework has one, through a real server process on a free loopback port for the backends that
write the bytes with their own server (``Backend.own_server`` in ``tests/backends_table.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from netutil import free_port, serve_script

HERE = Path(__file__).resolve().parent


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        import msgspec

        return msgspec.json.decode(self.body)


def _answer(r: httpx.Response) -> Answer:
    return Answer(r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content)


SERVER_SCRIPT = """
import sys
sys.path.insert(0, {here!r})
from app import make_service
service = make_service({backend!r}, {style!r}, port={port}, **{options!r})
app = service.application()
if __name__ == "__main__":
    service.run()
"""


@contextlib.contextmanager
def served(
    backend: str,
    style: str,
    tmp: Path,
    env: dict[str, str] | None = None,
    **options: Any,
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run the conformance service with ``service.run()`` in a subprocess; yield its base URL.
    ``options`` go to ``make_service`` (``production``, ``strict``, ``trusted_proxies``, ...)."""
    port = free_port()
    script = tmp / f"server_{backend}_{style}.py"
    script.write_text(SERVER_SCRIPT.format(here=str(HERE), backend=backend, style=style, port=port, options=options))
    with serve_script(script, port, env=env, stop_timeout=10) as proc:
        yield f"http://127.0.0.1:{port}", proc


class Client:
    """A sync client over one backend's app: ``client.send(method, url, **httpx_kwargs) -> Answer``."""

    def __init__(self, app: Any = None, base_url: str | None = None):
        self.loop: asyncio.AbstractEventLoop | None = None
        if base_url is not None:
            self.sync: httpx.Client | None = httpx.Client(base_url=base_url, timeout=10)
            self.async_: httpx.AsyncClient | None = None
        elif _is_asgi(app):
            self.sync = None
            self.loop = asyncio.new_event_loop()
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            self.async_ = httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=10)
        else:
            transport = httpx.WSGITransport(app=app, remote_addr="127.0.0.1")
            self.sync = httpx.Client(transport=transport, base_url="http://testserver", timeout=10)
            self.async_ = None

    def send(self, method: str, url: str, **kwargs: Any) -> Answer:
        if self.sync is not None:
            return _answer(self.sync.request(method, url, **kwargs))
        assert self.async_ is not None and self.loop is not None
        return _answer(self.loop.run_until_complete(self.async_.request(method, url, **kwargs)))

    def send_many(self, method: str, url: str, n: int) -> list[Answer]:
        """``n`` identical requests at once (threads for sync clients, tasks on one loop for ASGI)."""
        if self.sync is not None:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(n) as pool:
                return list(pool.map(lambda _: self.send(method, url), range(n)))
        assert self.async_ is not None and self.loop is not None
        client = self.async_

        async def many() -> list[httpx.Response]:
            return list(await asyncio.gather(*(client.request(method, url) for _ in range(n))))

        return [_answer(r) for r in self.loop.run_until_complete(many())]

    def close(self) -> None:
        if self.sync is not None:
            self.sync.close()
        if self.async_ is not None and self.loop is not None:
            self.loop.run_until_complete(self.async_.aclose())
            self.loop.close()


def _is_asgi(app: Any) -> bool:
    import inspect

    if inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(type(app).__call__):
        return True
    try:
        from django.core.handlers.asgi import ASGIHandler

        if isinstance(app, ASGIHandler):
            return True
    except ImportError:
        pass
    return False
