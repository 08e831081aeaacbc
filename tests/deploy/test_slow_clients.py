"""Slow clients against every generated deployment: behind the generated Nginx they hold nothing.

Each row of the end-to-end tests boots (Nginx in front of its server, from the generated files)
and, all rows at once, meets :data:`SLOW` clients that send a request line and then one header
byte every 100 ms. While they trickle, :data:`NORMAL` ordinary requests through Nginx, one every
:data:`SPACING` header bytes (about 3 s in all), must all be answered; afterwards every slow
client is still connected and, once it ends its header block, answered too. Nginx holds the
slow headers itself (``client_header_timeout``), so the servers never see them.

The control: the same slow clients straight at a Gunicorn sync-worker row take both its workers,
and an ordinary request gets no answer until they finish — the danger ``meta deploy`` refuses to
expose (:mod:`utilmeta.deploy.exposure`), and the proof that these slow clients do hold a server.
A sync worker reads one connection at a time, so with both workers holding a slow client the
ordinary request cannot be accepted: its read timeout is certain to expire, whatever the load.
"""

from __future__ import annotations

import socket
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import pytest
from netutil import wait_until
from test_deploy_e2e import ROWS as E2E_ROWS
from test_deploy_e2e import WORKERS, Deployment, Row, deployed

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="deployment tests run on Linux")

SLOW = 8
NORMAL = 16
#: seconds between two header bytes of a slow client
TRICKLE = 0.1
#: header bytes each slow client has sent before the ordinary requests start
ESTABLISHED = 5
#: header bytes each slow client sends between two ordinary requests: they spread over ~3 s
SPACING = 2
#: every generated deployment, plus Flask on sync workers (the WSGI frameworks' documented option)
ROWS = [*E2E_ROWS, Row("flask", "gunicorn", "sync")]
#: at most this many rows boot at once (two cores; the rest of the suite may be running too)
BOOTING = 4


class SlowClients:
    """``count`` connections to ``port``, each sending a request line, then a header byte every
    :data:`TRICKLE` seconds until :meth:`finish`, then the end of its headers; each reads its answer."""

    def __init__(self, port: int, count: int = SLOW):
        self.port = port
        self.sent = [0] * count
        self.errors: list[BaseException | None] = [None] * count
        self.answers: list[bytes] = [b""] * count
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(count)]
        for thread in self._threads:
            thread.start()

    def _run(self, index: int) -> None:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=15) as sock:
                sock.sendall(b"GET /api/hello HTTP/1.1\r\nHost: slow.example\r\nX-Slow: ")
                while not self._stop.wait(TRICKLE):
                    sock.sendall(b"a")
                    self.sent[index] += 1
                sock.sendall(b"\r\nConnection: close\r\n\r\n")
                while chunk := sock.recv(65536):
                    self.answers[index] += chunk
        except OSError as e:
            self.errors[index] = e

    def have_sent(self, count: int) -> bool:
        """Whether every client has sent ``count`` header bytes (or failed: see :attr:`errors`)."""
        return all(sent >= count or error for sent, error in zip(self.sent, self.errors, strict=True))

    def finish(self, timeout: float = 20) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    @property
    def statuses(self) -> list[str]:
        """The status line of each answer (``''`` for none)."""
        return [answer.split(b"\r\n", 1)[0].decode("latin-1") for answer in self.answers]


@dataclass
class Outcome:
    """What a row's attacks saw; its tests assert on it."""

    error: BaseException | None = None
    normal: list[Any] = field(default_factory=list)
    trickled: list[int] = field(default_factory=list)
    slow_errors: list[BaseException | None] = field(default_factory=list)
    slow_statuses: list[str] = field(default_factory=list)
    direct: dict[str, Any] = field(default_factory=dict)


def _answer(client: httpx.Client, url: str) -> Any:
    try:
        r = client.get(url)
        return (r.status_code, r.text)
    except httpx.HTTPError as e:
        return repr(e)


def _through_nginx(d: Deployment, outcome: Outcome) -> None:
    slow = SlowClients(d.nginx_port)
    try:
        for index in range(NORMAL):
            bytes_sent = ESTABLISHED + SPACING * index
            wait_until(partial(slow.have_sent, bytes_sent), 10, f"the slow clients to send {bytes_sent} bytes")
            outcome.normal.append(_answer(d.client, "/api/hello"))
        # they were trickling through all of it: each sends more after the last ordinary answer
        after = list(slow.sent)
        wait_until(lambda: slow.have_sent(max(after) + 1), 10, "the slow clients to go on trickling")
    finally:
        slow.finish()
    outcome.trickled = slow.sent
    outcome.slow_errors = slow.errors
    outcome.slow_statuses = slow.statuses


def _direct_to_sync_workers(d: Deployment, outcome: Outcome) -> None:
    port = d.info.ports[0]
    slow = SlowClients(port)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=2) as client:
        try:
            wait_until(lambda: slow.have_sent(ESTABLISHED), 10, "the slow clients to trickle")
            outcome.direct["while_trickling"] = _answer(client, "/api/hello")
        finally:
            slow.finish()
        outcome.direct["slow_statuses"] = slow.statuses
        client.timeout = httpx.Timeout(20)
        outcome.direct["after"] = _answer(client, "/api/hello")


def _attack(d: Deployment, outcome: Outcome) -> None:
    try:
        _through_nginx(d, outcome)
        if d.row.server == "gunicorn" and d.row.worker_class == "sync":
            _direct_to_sync_workers(d, outcome)
    except BaseException as e:  # reported by the row's test
        outcome.error = e


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Deployment | None, Outcome]]]:
    """Every row booted (a few at a time), then all attacked at once."""
    found: dict[str, tuple[Deployment | None, Outcome]] = {}
    with ExitStack() as stack:
        roots = {row.id: tmp_path_factory.mktemp(f"slow-{row.id}") for row in ROWS}  # mktemp is not thread-safe

        def boot(row: Row) -> None:
            outcome = Outcome()
            try:
                d = stack.enter_context(deployed(row, roots[row.id]))
            except BaseException as e:  # a skip (missing tool) or a failure to start: the row's test says
                outcome.error = e
                found[row.id] = (None, outcome)
                return
            found[row.id] = (d, outcome)

        with ThreadPoolExecutor(BOOTING) as pool:
            list(pool.map(boot, ROWS))
        running = [(d, outcome) for d, outcome in found.values() if d is not None]
        threads = [threading.Thread(target=_attack, args=pair) for pair in running]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        yield found


def _outcome(outcomes: dict[str, tuple[Deployment | None, Outcome]], row: Row) -> tuple[Deployment, Outcome]:
    d, outcome = outcomes[row.id]
    if isinstance(outcome.error, pytest.skip.Exception):
        raise outcome.error
    if outcome.error is not None or d is None:
        raise AssertionError(f"{row.id}: {outcome.error!r}" + (f"\n{d.logs()}" if d else "")) from outcome.error
    return d, outcome


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.id)
def test_slow_clients_hold_nothing_behind_nginx(
    outcomes: dict[str, tuple[Deployment | None, Outcome]], row: Row
) -> None:
    d, outcome = _outcome(outcomes, row)
    print(f"{row.id}: {NORMAL} ordinary answers while {SLOW} clients trickled {outcome.trickled} header bytes")
    assert outcome.normal == [(200, "world")] * NORMAL, d.logs()
    assert outcome.slow_errors == [None] * SLOW, d.logs()
    # once they end their headers, the slow clients are answered like anyone else
    assert all(status.startswith("HTTP/1.1 200") for status in outcome.slow_statuses), outcome.slow_statuses


SYNC_ROWS = [row for row in ROWS if row.server == "gunicorn" and row.worker_class == "sync"]


@pytest.mark.parametrize("row", SYNC_ROWS, ids=lambda row: row.id)
def test_slow_clients_stop_sync_workers_facing_clients_directly(
    outcomes: dict[str, tuple[Deployment | None, Outcome]], row: Row
) -> None:
    d, outcome = _outcome(outcomes, row)
    assert SLOW >= WORKERS
    # both workers hold a slow client: an ordinary request is not even accepted
    assert "ReadTimeout" in str(outcome.direct["while_trickling"]), (outcome.direct, d.logs())
    # they finish their headers, are answered, and the workers are free again
    assert all(s.startswith("HTTP/1.1 200") for s in outcome.direct["slow_statuses"]), outcome.direct
    assert outcome.direct["after"] == (200, "world"), (outcome.direct, d.logs())
