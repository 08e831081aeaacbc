"""Daphne with a graceful stop and the service's hooks: ``python -m utilmeta.deploy.daphne``.

Daphne on its own cancels the requests in flight when it gets SIGTERM, and sends no ASGI
lifespan events, so an ASGI app's startup/shutdown hooks never run under it. This runs
Daphne's own command line (every ``daphne`` option works) with a server that

- runs the service's startup hooks on Daphne's event loop before it serves;
- on SIGTERM or SIGINT stops listening, lets the requests in flight finish (at most
  ``--graceful-timeout`` seconds, default 30), runs the shutdown hooks and exits;
  a second signal stops at once.

The generated systemd units and supervisor programs start Daphne this way.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server
from twisted.internet import reactor as _reactor

__all__ = ["GracefulServer", "main"]

_FLUSH_DELAY = 0.1
#: Twisted's global reactor (Daphne installed the asyncio one); its zope interfaces confuse mypy
reactor: Any = _reactor


def _service() -> Any:
    from utilmeta.core.server.service import get_service

    return get_service()


class GracefulServer(Server):
    """Daphne's server, stopping gracefully and running the service's hooks."""

    graceful_timeout: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.signal_handlers = False
        self._ports: list[Any] = []
        self._draining = False

    def run(self) -> None:
        service = _service()
        if service is not None:
            loop = reactor._asyncioEventloop
            loop.run_until_complete(service.adaptor.lifecycle.astartup())
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        super().run()

    def listen_success(self, port: Any) -> None:
        self._ports.append(port)
        super().listen_success(port)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        reactor.callFromThread(self.drain)

    def drain(self) -> None:
        """Stop accepting; stop the server once no request is in flight (or at the deadline)."""
        if self._draining:
            self.stop()
            return
        self._draining = True
        for port in self._ports:
            port.stopListening()
        self._wait(time.monotonic() + self.graceful_timeout)

    def _busy(self) -> bool:
        for details in list(self.connections.values()):
            instance = details.get("application_instance")
            if instance is not None and not instance.done():
                return True
        return False

    def _wait(self, deadline: float) -> None:
        if self._busy() and time.monotonic() < deadline:
            reactor.callLater(0.05, self._wait, deadline)
            return
        reactor.callLater(_FLUSH_DELAY, self._finish)

    def _finish(self) -> None:
        service = _service()
        if service is None:
            self.stop()
            return
        future = asyncio.ensure_future(service.adaptor.lifecycle.ashutdown(), loop=reactor._asyncioEventloop)
        future.add_done_callback(lambda _: self.stop())


def main(argv: Sequence[str] | None = None) -> None:
    """``daphne`` with a graceful stop; ``--graceful-timeout SECONDS`` comes before Daphne's options."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--graceful-timeout"] and len(args) > 1:
        GracefulServer.graceful_timeout = float(args[1])
        args = args[2:]
    CommandLineInterface.server_class = GracefulServer
    CommandLineInterface().run(args)


if __name__ == "__main__":
    main()
