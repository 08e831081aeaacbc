"""Faults under load, one row per production server (each Gunicorn worker class, uWSGI, Daphne,
Sanic, Tornado), behind the generated Nginx.

`test_deploy_e2e` kills an idle worker and stops a whole server with a request in flight. Here
the clients do not stop: keep-alive clients on a few threads send ``GET /api/pid`` through Nginx
while one worker (or, under supervisord, one instance) is killed with SIGKILL, or stopped with
SIGTERM while it serves a slow request. What holds:

- SIGTERM: the slow request gets its 200, every request of the load gets a 200, and the worker
  is replaced (by the master, or by supervisord's ``autorestart``). A uWSGI worker is sent
  SIGHUP instead: uWSGI's workers stop gracefully on SIGHUP (its master sends them that on a
  reload) and take SIGTERM as a brutal reload. Only uWSGI's master ever gets SIGTERM from the
  generated setups (systemd's ``KillMode=mixed``, supervisord, Docker), and its graceful stop
  is `test_deploy_e2e`'s.
- SIGKILL: at least 99.9 % of the load gets a 200 and the worker is replaced. A GET in flight on
  the killed process is retried by Nginx (``proxy_next_upstream``/``uwsgi_next_upstream``
  default to ``error timeout``, idempotent requests only) on another upstream when there is one
  (the supervised instances), and, on a single upstream, when it was sent on a kept-alive
  connection (Nginx retries a cached connection's error without counting a try). What is not
  retried is answered 502 by Nginx, or cut off mid-body when the victim died after sending
  the header of its answer: at most the requests in flight on the victim, never more.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
from netutil import wait_until
from test_deploy_e2e import CLIENT_IP, ROWS, WORKERS, Deployment, Row, deployed

#: one row per server and worker class: the fault handling is the server's, not the framework's
FAULT_ROWS = list({(row.server, row.worker_class): row for row in reversed(ROWS)}.values())[::-1]
#: keep-alive clients of the load
THREADS = 4
#: requests of the load in all: 99.9 % of them leaves room for two lost in flight
REQUESTS = 2000
SUCCESS = 0.999
#: how httpx reports a connection closed before the whole answer came
_CUT = ("RemoteProtocolError", "ReadError")


class Load:
    """``THREADS`` keep-alive clients sending ``GET /api/pid`` through Nginx until stopped."""

    def __init__(self, d: Deployment):
        self.d = d
        #: (status, body) of each request in order of completion; status 0: no answer at all
        self.results: list[tuple[int, str]] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(THREADS)]

    def _run(self) -> None:
        transport = httpx.HTTPTransport(local_address=CLIENT_IP)
        with httpx.Client(base_url=f"http://127.0.0.1:{self.d.nginx_port}", transport=transport, timeout=20) as c:
            while not self._stop.is_set():
                try:
                    r = c.get("/api/pid")
                    self.results.append((r.status_code, r.text))
                except Exception as e:  # counted as a failure below, never raised in the thread
                    self.results.append((0, repr(e)))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def wait_for(self, count: int, what: str) -> None:
        wait_until(lambda: len(self.results) >= count, 60, f"{count} requests of the load ({what})", interval=0.01)

    def pids_since(self, mark: int) -> set[int]:
        return {int(text) for status, text in self.results[mark:] if status == 200 and text.isdigit()}

    def failures(self) -> list[tuple[int, str]]:
        return [result for result in self.results if result[0] != 200]

    def summary(self) -> str:
        done = len(self.results)
        ok = done - len(self.failures())
        return f"{ok}/{done} = {ok / done:.4%} answered 200; failures: {self.failures()[:5]}"


@pytest.fixture(scope="module", params=FAULT_ROWS, ids=lambda row: row.id)
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    row: Row = request.param
    with deployed(row, tmp_path_factory.mktemp(f"faults-{row.id}")) as d:
        # every worker up and serving before the faults
        wait_until(lambda: len(d.server_pids()) == WORKERS, 20, f"{WORKERS} workers")
        yield d


def _replaced(d: Deployment, victim: int, before: set[int]) -> set[int]:
    """Wait until the victim is gone and a new process took its place; the new ones."""

    def replaced() -> set[int] | None:
        now = d.server_pids()
        return now if len(now) == len(before) and victim not in now else None

    now = cast(set[int], wait_until(replaced, 20, f"a replacement for {victim}", interval=0.05))
    return now - before


def _serves(d: Deployment, load: Load, mark: int, new: set[int]) -> None:
    """The replacement answers: through Nginx under the load for a master's worker; directly on
    its port for a supervised instance (Nginx leaves a failed upstream alone for ``fail_timeout``)."""
    if not d.row.supervised:
        wait_until(lambda: load.pids_since(mark) & new, 20, f"the load to reach the new worker {new}")
        return
    (pid,) = new
    port = next(
        p for p, program in zip(d.info.ports, d.programs, strict=True) if d.ctl("pid", program).strip() == str(pid)
    )

    def answers() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/api/pid", timeout=5).text == str(pid)
        except httpx.HTTPError:
            return False

    wait_until(answers, 20, f"the new instance {pid} to answer on {port}", interval=0.05)


def _graceful_stop(row: Row) -> signal.Signals:
    """The signal that stops one worker gracefully (see the module docstring for uWSGI)."""
    return signal.SIGHUP if row.server == "uwsgi" else signal.SIGTERM


def _report(d: Deployment, fault: str, load: Load) -> str:
    line = f"{d.row.id} {fault}: {load.summary()}"
    print(f"\n{line}")
    return f"{line}\n{d.logs()}"


def test_sigterm_lets_a_workers_request_in_flight_finish_under_load(deployment: Deployment) -> None:
    d = deployment
    answer: dict[str, Any] = {}

    def slow() -> None:
        try:
            answer["response"] = d.get("/api/slow")
        except Exception as e:  # reported below
            answer["error"] = e

    with Load(d) as load:
        load.wait_for(100, "warm-up")
        before = d.server_pids()
        seen = len(d.events_of("slow"))
        thread = threading.Thread(target=slow)
        thread.start()
        victim = wait_until(lambda: d.events_of("slow")[seen:], 10, "the slow request to reach a worker")[0]  # type: ignore[index]
        assert victim in before
        os.kill(victim, _graceful_stop(d.row))
        thread.join(30)
        response = answer.get("response")
        assert response is not None and (response.status_code, response.text) == (200, "done"), (
            answer,
            _report(d, "SIGTERM", load),
        )
        new = _replaced(d, victim, before)
        mark = len(load.results)
        _serves(d, load, mark, new)
        load.wait_for(max(REQUESTS, mark + 100), "after the stop")
    report = _report(d, "SIGTERM", load)
    # a graceful stop loses nothing: no request of the load fails
    assert not load.failures(), report


def test_sigkill_of_a_worker_under_load(deployment: Deployment) -> None:
    d = deployment
    with Load(d) as load:
        load.wait_for(100, "warm-up")
        before = d.server_pids()
        victim = sorted(load.pids_since(0) & before)[0]
        os.kill(victim, signal.SIGKILL)
        new = _replaced(d, victim, before)
        mark = len(load.results)
        _serves(d, load, mark, new)
        load.wait_for(max(REQUESTS, mark + 100), "after the kill")
    report = _report(d, "SIGKILL", load)
    done = len(load.results)
    assert (done - len(load.failures())) / done >= SUCCESS, report
    # what is lost is a request in flight on the victim: Nginx's 502, or, when the victim died
    # between the header and the body of its answer, a connection Nginx closes mid-body
    assert len(load.failures()) <= THREADS, report
    assert all(status == 502 or text.startswith(_CUT) for status, text in load.failures()), report
