"""End to end: Nginx → each backend on its recommended server, from the generated configs.

Every row starts the real processes on free loopback ports: the server (Gunicorn or uWSGI on
their own; Daphne, Sanic and Tornado as two instances under supervisord) and Nginx in front.
The client connects from 127.0.0.3, so the address Nginx sees differs from the one the
service's peer (Nginx, 127.0.0.1) has. The service logs in production JSON lines to a file, so
its access line of a request can be found by the request id Nginx gave it. The tests of a row
run in order; the last one stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from deploy_support import (
    Nginx,
    Process,
    children,
    free_port,
    free_ports,
    require,
    require_executable,
    require_module,
    require_nginx,
)
from netutil import wait_until

from utilmeta.bin.process import read_pid, stop
from utilmeta.deploy import ServiceInfo
from utilmeta.deploy.gunicorn import GunicornConfig
from utilmeta.deploy.nginx import NginxConfig
from utilmeta.deploy.supervisor import SupervisorProgram
from utilmeta.deploy.uwsgi import UWSGIConfig
from utilmeta.ops.log import ACCESS_LOGGER

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="deployment tests run on Linux")

CLIENT_IP = "127.0.0.3"
BODY_LIMIT = 1024
WORKERS = 2
GRACEFUL = 5

SERVICE = """
import asyncio
import os
import time

from utilmeta import UtilMeta
from utilmeta.conf import Logging, Preference
from utilmeta.core import api, request

EVENTS = {events!r}


def record(event):
    with open(EVENTS, "a") as f:
        f.write(f"{{event}} {{os.getpid()}}\\n")


class RootAPI(api.API):
    @api.get
    def hello(self):
        return "world"

    @api.get
    def ip(self):
        return self.request.ip_address

    @api.get
    def pid(self):
        return str(os.getpid())

    @api.post
    def echo(self, data: bytes = request.Body):
        return str(len(data))

    @api.post
    def digest(self, data: bytes = request.Body):
        import hashlib

        return f"{{hashlib.sha256(data).hexdigest()[:16]}} {{len(data)}}"

    @api.post
    def json(self, data: dict = request.Body):
        return "ok"

    if {asynchronous!r}:

        @api.get
        async def slow(self):
            record("slow")
            await asyncio.sleep(2)
            return "done"

    else:

        @api.get
        def slow(self):
            record("slow")
            time.sleep(2)
            return "done"


service = UtilMeta(
    __name__,
    name="e2e",
    backend={backend!r},
    api=RootAPI,
    route="/api",
    production=True,
    asynchronous={asynchronous!r},
)
service.use(Preference(max_body_size={limit}))
service.use(Logging("production", file={access_log!r}))
if {backend!r} == "django":
    from utilmeta.core.server.backends.django import DjangoSettings

    service.use(DjangoSettings(secret_key="e2e-not-a-secret-" + "k" * 50))


@service.on_startup
def started():
    record("start")


@service.on_shutdown
def stopped():
    record("stop")


app = service.application()
"""


@dataclass(frozen=True)
class Row:
    backend: str
    server: str
    worker_class: str | None = None
    asynchronous: bool = False

    @property
    def id(self) -> str:
        mode = "-async" if self.asynchronous and self.backend == "django" else ""
        return f"{self.backend}{mode}-{self.server}" + (f"-{self.worker_class}" if self.worker_class else "")

    @property
    def supervised(self) -> bool:
        """One process per instance, restarted by supervisord (no master of its own)."""
        return self.server in ("daphne", "sanic", "tornado")


#: every backend on its recommended server, plus uWSGI for the WSGI frameworks and Gunicorn's
#: sync worker once (its hooks and graceful stop do not depend on the framework). Each row boots
#: its servers once for all the tests below, so a row costs about 5 seconds.
ROWS = [
    Row("wsgi", "gunicorn", "sync"),
    Row("wsgi", "gunicorn", "gevent"),
    Row("asgi", "gunicorn", "uvicorn", asynchronous=True),
    Row("flask", "gunicorn", "gevent"),
    Row("flask", "uwsgi"),
    Row("django", "gunicorn", "gevent"),
    Row("django", "uwsgi"),
    Row("django", "daphne", asynchronous=True),
    Row("starlette", "gunicorn", "uvicorn", asynchronous=True),
    Row("fastapi", "gunicorn", "uvicorn", asynchronous=True),
    Row("sanic", "sanic", asynchronous=True),
    Row("tornado", "tornado", asynchronous=True),
]


def _require_row(row: Row) -> None:
    require_nginx()
    framework = {"wsgi": None, "asgi": None}.get(row.backend, row.backend)
    if framework:
        require_module(framework)
        adaptor = Path(__file__).parents[2] / "utilmeta" / "core" / "server" / "backends"
        require(
            (adaptor / f"{framework}.py").exists() or (adaptor / framework).is_dir(),
            f"the {framework} backend adaptor is not written yet",
        )
    if row.server == "gunicorn":
        require_module("gunicorn")
        if row.worker_class == "gevent":
            require_module("gevent")
        if row.worker_class == "uvicorn":
            require_module("uvicorn_worker", "uvicorn-worker")
    elif row.server == "uwsgi":
        require_executable("uwsgi", "uwsgi")
    elif row.server == "daphne":
        require_module("daphne")
    elif row.server == "sanic":
        require_executable("sanic", "sanic")
    if row.supervised:
        require_module("supervisor")


class Deployment:
    """One running row: the server (or supervisord), Nginx, and a client from 127.0.0.3."""

    def __init__(self, row: Row, root: Path):
        self.row = row
        self.root = root
        self.events = root / "events.txt"
        self.events.touch()
        #: the service's own log: production JSON lines, the access lines among them
        self.service_log = root / "service.jsonl"
        (root / "server.py").write_text(
            SERVICE.format(
                events=str(self.events),
                backend=row.backend,
                asynchronous=row.asynchronous,
                limit=BODY_LIMIT,
                access_log=str(self.service_log),
            )
        )
        instances = WORKERS if row.supervised else 1
        self.info = ServiceInfo(
            name="e2e",
            backend=row.backend,
            app="server:app",
            root=root,
            asynchronous=row.asynchronous,
            port=free_ports(instances),
            route="/api",
            max_body_size=BODY_LIMIT,
            pidfile=root / "e2e.pid",
            server=row.server,  # type: ignore[arg-type]
            instances=instances,
            graceful_timeout=GRACEFUL,
        )
        self.nginx_port = free_port()
        self.server: Process | None = None
        self.supervisor: Process | None = None
        self.nginx: Nginx | None = None
        self.client = httpx.Client(
            base_url=f"http://127.0.0.1:{self.nginx_port}",
            transport=httpx.HTTPTransport(local_address=CLIENT_IP),
            timeout=20,
        )

    # -- start / stop ----------------------------------------------------------------------------

    def start(self) -> None:
        if self.row.supervised:
            self._start_supervised()
        else:
            self._start_master()
        site = self.root / "site.conf"
        nginx = NginxConfig(self.info, listen=f"127.0.0.1:{self.nginx_port}", timeout=20, keepalive_timeout=1)
        site.write_text(nginx.render())
        self.nginx = Nginx(require_nginx(), self.root, site)
        checked = self.nginx.test()
        assert checked.returncode == 0, checked.stderr
        self.nginx.start(self.nginx_port)

    def _start_master(self) -> None:
        if self.row.server == "gunicorn":
            text = GunicornConfig(
                self.info, workers=WORKERS, worker_class=self.row.worker_class, timeout=20, keepalive=2
            ).render()
            config = self.root / "gunicorn.py"
        else:
            stats = f"127.0.0.1:{free_port()}"
            text = UWSGIConfig(self.info, processes=WORKERS, harakiri=20, stats=stats).render()
            config = self.root / "uwsgi.ini"
        config.write_text(text)
        self.server = Process(self.info.command(config), cwd=self.root, log=self.root / "server.log")
        self.server.wait_port(self.info.port)

    def _start_supervised(self) -> None:
        programs = self.root / "programs"
        programs.mkdir()
        program = SupervisorProgram(self.info, start_seconds=1)
        (programs / program.output_name).write_text(program.render())
        self.programs = [f"e2e:{name}" for name in program.program_names()]
        self.supervisord_conf = self.root / "supervisord.conf"
        self.supervisord_conf.write_text(supervisord_config(self.root, programs))
        self.supervisor = Process(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.supervisord_conf)],
            cwd=self.root,
            log=self.root / "supervisord.out",
        )
        for port in self.info.ports:
            self.supervisor.wait_port(port, timeout=30)

    def ctl(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(self.supervisord_conf), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        return result.stdout + result.stderr

    def close(self) -> None:
        self.client.close()
        if self.nginx is not None:
            self.nginx.stop()
        if self.server is not None:
            self.server.stop(signal.SIGTERM, timeout=10)
        if self.supervisor is not None:
            self.supervisor.stop(signal.SIGTERM, timeout=20)

    def logs(self) -> str:
        parts = []
        for name in ("server.log", "supervisord.out", "supervisord.log", "nginx.log"):
            path = self.root / name
            if path.exists():
                parts.append(f"--- {name}\n{path.read_text(errors='replace')[-2000:]}")
        for path in sorted(self.root.glob("e2e-*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-1500:]}")
        return "\n".join(parts)

    # -- observations ----------------------------------------------------------------------------

    def events_of(self, kind: str) -> list[int]:
        return [int(line.split()[1]) for line in self.events.read_text().splitlines() if line.split()[0] == kind]

    def server_pids(self) -> set[int]:
        """The processes serving requests: the master's workers, or the supervised instances."""
        if self.server is not None:
            return children(self.server.pid)
        pids = set()
        for program in self.programs:
            out = self.ctl("pid", program).strip()
            if out.isdigit() and out != "0":
                pids.add(int(out))
        return pids

    def access_lines(self, request_id: str) -> list[dict[str, Any]]:
        """The service's access-log records of one request."""
        if not self.service_log.exists():
            return []
        records = [json.loads(line) for line in self.service_log.read_text().splitlines() if line.startswith("{")]
        return [r for r in records if r.get("logger") == ACCESS_LOGGER and r.get("request_id") == request_id]

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)


def supervisord_config(root: Path, programs: Path) -> str:
    return textwrap.dedent(
        f"""\
        [unix_http_server]
        file={root / "supervisor.sock"}

        [supervisord]
        nodaemon=true
        logfile={root / "supervisord.log"}
        pidfile={root / "supervisord.pid"}
        childlogdir={root}

        [rpcinterface:supervisor]
        supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

        [supervisorctl]
        serverurl=unix://{root / "supervisor.sock"}

        [include]
        files = {programs}/*.conf
        """
    )


@contextlib.contextmanager
def deployed(row: Row, root: Path) -> Iterator[Deployment]:
    """The row's servers and Nginx, running in ``root`` (skipped when a tool is missing)."""
    _require_row(row)
    d = Deployment(row, root)
    try:
        d.start()
    except BaseException:
        logs = d.logs()
        d.close()
        raise AssertionError(f"{row.id} did not start:\n{logs}") from None
    try:
        yield d
    finally:
        d.close()


@pytest.fixture(scope="module", params=ROWS, ids=lambda row: row.id)
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with deployed(request.param, tmp_path_factory.mktemp(request.param.id)) as d:
        yield d


def _explain(d: Deployment) -> str:
    return f"\n{d.logs()}"


def test_answers_through_nginx(deployment: Deployment) -> None:
    r = deployment.get("/api/hello")
    assert (r.status_code, r.text) == (200, "world"), _explain(deployment)
    assert r.headers.get("x-request-id")
    if deployment.supervisor is not None:  # RUNNING once up for startsecs

        def running() -> list[str]:
            rows = [line.split() for line in deployment.ctl("status").splitlines()]
            return sorted(row[0] for row in rows if row[1:2] == ["RUNNING"])

        wait_until(lambda: running() == sorted(deployment.programs), 10, "supervisorctl status: all RUNNING")


def test_client_ip_is_the_one_nginx_saw(deployment: Deployment) -> None:
    r = deployment.get("/api/ip", headers={"X-Forwarded-For": "6.6.6.6"})
    assert r.status_code == 200, _explain(deployment)
    request_id = r.headers["x-request-id"]
    line = wait_until(
        lambda: next(
            (ln for ln in deployment.nginx.access_log.read_text().splitlines() if f" {request_id} " in ln),  # type: ignore[union-attr]
            None,
        ),
        5,
        "the request in Nginx's access log",
    )
    seen_by_nginx = str(line).split()[0]
    assert seen_by_nginx == CLIENT_IP
    assert r.text == seen_by_nginx
    # the service's access log: one line for the request, with the client IP Nginx saw
    (access,) = wait_until(lambda: deployment.access_lines(request_id), 5, "the request in the service's access log")
    assert (access["method"], access["path"], access["status"]) == ("GET", "/api/ip", 200), access
    assert access["client_ip"] == CLIENT_IP and isinstance(access["duration_ms"], (int, float)), access
    assert access["level"] == "INFO" and access["service"] == "e2e"


def test_body_over_the_limit_is_refused_by_nginx(deployment: Deployment) -> None:
    small = deployment.client.post("/api/echo", content=b"x" * 512)
    assert (small.status_code, small.text) == (200, "512"), _explain(deployment)
    large = deployment.client.post("/api/echo", content=b"x" * (BODY_LIMIT * 4))
    assert large.status_code == 413
    assert "nginx" in large.text and "x-request-id" not in large.headers


def test_startup_hooks_ran_once_per_worker(deployment: Deployment) -> None:
    started = wait_until(
        lambda: len(deployment.events_of("start")) >= WORKERS and deployment.events_of("start"),
        15,
        f"{WORKERS} startup hooks",
    )
    answering = {int(deployment.get("/api/pid").text) for _ in range(6)}
    starts = deployment.events_of("start")
    assert len(starts) == len(set(starts)) == WORKERS, (starts, _explain(deployment))
    assert answering <= set(starts), (answering, started)
    assert set(starts) == deployment.server_pids()


def test_worker_killed_with_sigkill_is_replaced(deployment: Deployment) -> None:
    before = deployment.server_pids()
    victim = int(deployment.get("/api/pid").text)
    assert victim in before
    os.kill(victim, signal.SIGKILL)

    def replaced() -> set[int] | None:
        now = deployment.server_pids()
        return now if len(now) == len(before) and victim not in now else None

    now = wait_until(replaced, 20, f"a replacement for worker {victim}", interval=0.1)

    def replacement_serves() -> bool:
        r = deployment.get("/api/pid")  # servers that start lazily run the hooks on a request
        return r.status_code == 200 and set(now) <= set(deployment.events_of("start"))

    wait_until(replacement_serves, 15, "the new worker to run its startup hook and serve", interval=0.05)
    for _ in range(4):
        r = deployment.get("/api/hello")
        assert (r.status_code, r.text) == (200, "world"), _explain(deployment)


def test_sigterm_lets_the_request_in_flight_finish(deployment: Deployment) -> None:
    # every worker up (its startup hooks run), so each must run its shutdown hooks below
    wait_until(
        lambda: deployment.server_pids() <= set(deployment.events_of("start")), 15, "every worker's startup hooks"
    )
    answer: dict[str, Any] = {}

    def slow() -> None:
        try:
            answer["response"] = deployment.get("/api/slow")
        except Exception as e:  # reported below
            answer["error"] = e

    thread = threading.Thread(target=slow)
    thread.start()
    wait_until(lambda: deployment.events_of("slow"), 10, "the slow request to reach the service")
    serving = deployment.server_pids()
    if deployment.server is not None:
        # what `meta down` does with the server's pidfile: SIGTERM, then wait for the exit
        pidfile = deployment.info.default_pidfile
        assert read_pid(pidfile) == deployment.server.pid
        assert stop(pidfile, timeout=20) == deployment.server.pid
        assert not pidfile.exists()
    else:
        threading.Thread(target=deployment.ctl, args=("stop", "all"), daemon=True).start()
    thread.join(20)
    response = answer.get("response")
    assert response is not None and response.status_code == 200, (answer, _explain(deployment))
    assert response.text == "done"
    if deployment.server is not None:
        deployment.server.wait(5)
    else:
        wait_until(lambda: not deployment.server_pids(), 20, "supervised instances to stop", interval=0.1)
    stopped = set(deployment.events_of("stop"))
    assert serving <= stopped, (serving, stopped, _explain(deployment))
