"""The adaptor contract's lifecycle: the service's hooks once per process, whoever calls first.

Each backend only says *when* its framework starts (a lifespan event, a listener, the first
request); these tests hold the one piece that decides *whether* the hooks run.
"""

from __future__ import annotations

import asyncio
import os
import threading
import warnings

import pytest

from utilmeta import UtilMeta
from utilmeta.core import api


class RootAPI(api.API):
    @api.get
    def hello(self) -> str:
        return "world"


def _service(backend: str, ran: list[str]) -> UtilMeta:
    s = UtilMeta(__name__, backend=backend, api=RootAPI)

    @s.on_startup
    def start() -> None:
        ran.append("start")

    @s.on_shutdown
    def stop() -> None:
        ran.append("stop")

    return s


def test_first_requests_from_many_threads_run_the_hooks_once():
    ran: list[str] = []
    lifecycle = _service("wsgi", ran).adaptor.lifecycle
    barrier = threading.Barrier(8)

    def first_request() -> None:
        barrier.wait()
        lifecycle.start()

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ran == ["start"] and lifecycle.started
    lifecycle.shutdown()
    lifecycle.shutdown()
    assert ran == ["start", "stop"]


async def test_concurrent_first_requests_on_a_loop_wait_for_one_run():
    ran: list[str] = []
    s = UtilMeta(__name__, backend="asgi", api=RootAPI)
    gate = asyncio.Event()

    @s.on_startup
    async def start() -> None:
        await gate.wait()  # the others arrive while the hooks are still running
        ran.append("start")

    lifecycle = s.adaptor.lifecycle
    waiting = [asyncio.ensure_future(lifecycle.astart()) for _ in range(5)]
    await asyncio.sleep(0)
    assert not lifecycle.started and not any(w.done() for w in waiting)
    gate.set()
    await asyncio.gather(*waiting)
    assert ran == ["start"] and lifecycle.started


async def test_a_lifespan_start_and_a_first_request_share_one_run():
    ran: list[str] = []
    lifecycle = _service("asgi", ran).adaptor.lifecycle
    await lifecycle.astartup()
    await lifecycle.astart()  # a request after the lifespan: nothing more to run
    await lifecycle.ashutdown()
    assert ran == ["start", "stop"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_runs_the_hooks_anew():
    ran: list[str] = []
    lifecycle = _service("wsgi", ran).adaptor.lifecycle
    lifecycle.start()  # the master served (or preloaded and started) before forking
    read, write = os.pipe()
    with warnings.catch_warnings():  # Python >= 3.12 warns about forking with threads about
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the worker: its own run of the hooks, with a free lock
        try:
            fresh = not lifecycle.started
            lifecycle.start()
            os.write(write, f"{fresh} {ran}".encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    os.waitpid(pid, 0)
    assert child == "True ['start', 'start']"
    assert ran == ["start"]
