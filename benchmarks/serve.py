"""Serve an app with its framework's own server, in one process, without an access log.

    python -m benchmarks.serve sanic benchmarks.apps.native_sanic:app --port 8000
    python -m benchmarks.serve tornado benchmarks.apps.native_tornado:app --port 8000

(ASGI and WSGI apps are served by uvicorn and gunicorn directly; see :mod:`benchmarks.servers`.)
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import signal
from typing import Any


def load(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr or "app")


def serve_sanic(app: Any, host: str, port: int) -> None:
    app.run(host=host, port=port, single_process=True, access_log=False, motd=False, debug=False)


def serve_tornado(app: Any, host: str, port: int) -> None:
    from tornado.httpserver import HTTPServer

    async def main() -> None:
        server = HTTPServer(app, xheaders=False)
        server.listen(port, address=host)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.stop()

    asyncio.run(main())


SERVERS = {"sanic": serve_sanic, "tornado": serve_tornado}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("server", choices=sorted(SERVERS))
    parser.add_argument("target", help="module:attribute of the app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    SERVERS[args.server](load(args.target), args.host, args.port)


if __name__ == "__main__":
    main()
