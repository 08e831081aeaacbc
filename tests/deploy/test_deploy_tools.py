"""Every generated config passes its own tool: ``nginx -t``, ``gunicorn --check-config``, a uWSGI
``strict`` boot, ``systemd-analyze verify``, supervisord + ``supervisorctl status``.

Each test also shows the tool refuses a broken variant, so a pass means the tool really looked.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from deploy_support import (
    Nginx,
    Process,
    free_port,
    require,
    require_executable,
    require_module,
    require_nginx,
)
from netutil import wait_until

from utilmeta.deploy import ServiceInfo
from utilmeta.deploy.gunicorn import GunicornConfig
from utilmeta.deploy.nginx import NginxConfig
from utilmeta.deploy.supervisor import SupervisorProgram
from utilmeta.deploy.systemd import SystemdUnit
from utilmeta.deploy.uwsgi import UWSGIConfig

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="deployment tools are tested on Linux")

SERVICE = """
import os

from utilmeta import UtilMeta
from utilmeta.core import api


class RootAPI(api.API):
    @api.get
    def hello(self):
        return "world"


service = UtilMeta(__name__, name="tools", backend={backend!r}, api=RootAPI, route="/api", production=True)


@service.on_startup
def started():
    with open({events!r}, "a") as f:
        f.write(f"start {{os.getpid()}}\\n")


@service.on_shutdown
def stopped():
    with open({events!r}, "a") as f:
        f.write(f"stop {{os.getpid()}}\\n")


app = service.application()
"""


def project(root: Path, backend: str = "wsgi", **overrides: object) -> ServiceInfo:
    """A service file in ``root`` and its description."""
    (root / "server.py").write_text(SERVICE.format(backend=backend, events=str(root / "events.txt")))
    values: dict[str, object] = {
        "name": "tools",
        "backend": backend,
        "app": "server:app",
        "root": root,
        "asynchronous": backend == "asgi",
        "port": free_port(),
        "route": "/api",
        "pidfile": root / "tools.pid",
        "graceful_timeout": 5,
    }
    values.update(overrides)
    return ServiceInfo(**values)  # type: ignore[arg-type]


# -- nginx -t --------------------------------------------------------------------------------------


def _self_signed(root: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    require(openssl is not None, "openssl is not installed")
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        [str(openssl), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@pytest.mark.parametrize(
    "variant", ["gunicorn", "uwsgi", "daphne-instances", "sanic-instances", "tornado-instances", "tls", "root-route"]
)
def test_nginx_accepts_the_generated_site(variant: str, tmp_path: Path) -> None:
    binary = require_nginx()
    server, _, more = variant.partition("-")
    kwargs: dict[str, object] = {"listen": f"127.0.0.1:{free_port()}"}
    if variant == "tls":
        cert, key = _self_signed(tmp_path)
        kwargs.update(listen=f"127.0.0.1:{free_port()}", tls_certificate=cert, tls_key=key)
    overrides: dict[str, object] = {}
    if server in ("uwsgi", "gunicorn"):
        overrides["server"] = server
    if more == "instances":
        backend = {"daphne": "asgi", "sanic": "sanic", "tornado": "tornado"}[server]
        overrides.update(backend=backend, asynchronous=True, instances=3)
    if variant == "root-route":
        overrides["route"] = ""
    info = project(tmp_path, **overrides)  # type: ignore[arg-type]
    site = tmp_path / "site.conf"
    site.write_text(NginxConfig(info, **kwargs).render())  # type: ignore[arg-type]
    checked = Nginx(binary, tmp_path, site).test()
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


def test_nginx_refuses_a_broken_site(tmp_path: Path) -> None:
    binary = require_nginx()
    site = tmp_path / "site.conf"
    site.write_text(NginxConfig(project(tmp_path), listen=f"127.0.0.1:{free_port()}").render() + "server {\n")
    assert Nginx(binary, tmp_path, site).test().returncode != 0


# -- gunicorn --check-config -------------------------------------------------------------------------


@pytest.mark.parametrize("worker_class", ["gevent", "sync", "gthread", "uvicorn"])
def test_gunicorn_checks_the_generated_config(worker_class: str, tmp_path: Path) -> None:
    binary = require_executable("gunicorn", "gunicorn")
    if worker_class == "gevent":
        require_module("gevent")
    if worker_class == "uvicorn":
        require_module("uvicorn_worker", "uvicorn-worker")
    info = project(tmp_path, backend="asgi" if worker_class == "uvicorn" else "wsgi")
    config = tmp_path / "gunicorn.py"
    config.write_text(GunicornConfig(info, worker_class=worker_class, workers=2).render())  # type: ignore[arg-type]
    gunicorn = [str(binary), "--check-config", "-c", str(config)]
    checked = subprocess.run(gunicorn, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config.write_text(config.read_text().replace("'server:app'", "'server:missing'"))
    broken = subprocess.run(gunicorn, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert broken.returncode != 0


# -- uWSGI strict boot --------------------------------------------------------------------------------


def _stats(address: str) -> dict[str, object]:
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return json.loads(b"".join(chunks))  # type: ignore[no-any-return]


def test_uwsgi_boots_the_generated_config_in_strict_mode(tmp_path: Path) -> None:
    uwsgi = require_executable("uwsgi", "uwsgi")
    info = project(tmp_path)
    stats = f"127.0.0.1:{free_port()}"
    config = tmp_path / "uwsgi.ini"
    config.write_text(UWSGIConfig(info, processes=2, threads=2, stats=stats).render())
    assert "strict = true" in config.read_text()
    server = Process([str(uwsgi), "--ini", str(config)], cwd=tmp_path, log=tmp_path / "uwsgi.log")
    try:
        server.wait_port(info.port)
        events = tmp_path / "events.txt"
        wait_until(lambda: events.exists() and events.read_text().count("start") == 2, 10, "two workers' hooks")
        report = _stats(stats)
        assert len(report["workers"]) == 2  # type: ignore[arg-type]
        server.send(signal.SIGTERM)
        assert server.wait(15) == 0, server.output()
        assert events.read_text().count("stop") == 2
    finally:
        server.stop()


def test_uwsgi_strict_mode_refuses_an_unknown_option(tmp_path: Path) -> None:
    uwsgi = require_executable("uwsgi", "uwsgi")
    config = tmp_path / "uwsgi.ini"
    config.write_text(UWSGIConfig(project(tmp_path), processes=1).render() + "no-such-option = 1\n")
    result = subprocess.run([str(uwsgi), "--ini", str(config)], cwd=tmp_path, capture_output=True, timeout=60)
    assert result.returncode != 0
    assert b"no-such-option" in result.stdout + result.stderr


# -- systemd-analyze verify ---------------------------------------------------------------------------


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    require(analyze is not None, "systemd-analyze is not installed (apt-get install systemd)")
    return subprocess.run([str(analyze), "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("server", ["gunicorn", "uwsgi", "daphne", "sanic", "tornado"])
def test_systemd_verifies_the_generated_unit(server: str, tmp_path: Path) -> None:
    backend = {"gunicorn": "wsgi", "uwsgi": "wsgi", "daphne": "asgi", "sanic": "sanic", "tornado": "tornado"}[server]
    info = project(tmp_path, backend=backend, asynchronous=backend != "wsgi", server=server)
    executable = info.command()[0]
    require(Path(executable).exists(), f"{Path(executable).name} is not installed in this environment")
    unit = SystemdUnit(info)
    path = tmp_path / unit.output_name
    path.write_text(unit.render())
    target = tmp_path / unit.output_name.replace("@.", f"@{info.port}.") if unit.templated else path
    checked = _verify(target)
    ours = [line for line in (checked.stdout + checked.stderr).splitlines() if unit.output_name[:-8] in line]
    assert checked.returncode == 0 and not ours, checked.stdout + checked.stderr
    path.write_text(unit.render().replace(executable, str(tmp_path / "missing")))
    assert _verify(target).returncode != 0


# -- supervisord ----------------------------------------------------------------------------------------


def test_supervisord_runs_the_generated_program(tmp_path: Path) -> None:
    require_module("supervisor")
    require_module("gunicorn")
    info = project(tmp_path, server="gunicorn")
    (tmp_path / "gunicorn.py").write_text(GunicornConfig(info, worker_class="sync", workers=1).render())
    programs = tmp_path / "programs"
    programs.mkdir()
    program = SupervisorProgram(info, config=tmp_path / "gunicorn.py", start_seconds=1)
    (programs / program.output_name).write_text(program.render())
    conf = tmp_path / "supervisord.conf"
    conf.write_text(
        textwrap.dedent(
            f"""\
            [unix_http_server]
            file={tmp_path / "s.sock"}
            [supervisord]
            nodaemon=true
            logfile={tmp_path / "supervisord.log"}
            pidfile={tmp_path / "supervisord.pid"}
            childlogdir={tmp_path}
            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
            [supervisorctl]
            serverurl=unix://{tmp_path / "s.sock"}
            [include]
            files = {programs}/*.conf
            """
        )
    )
    supervisord = Process(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(conf)], cwd=tmp_path, log=tmp_path / "out.log"
    )
    ctl = [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(conf)]

    def status() -> str:
        return subprocess.run([*ctl, "status"], capture_output=True, text=True, timeout=30).stdout

    try:
        supervisord.wait_port(info.port, timeout=30)
        wait_until(lambda: "RUNNING" in status(), 15, "supervisorctl to report the program RUNNING")
        assert status().split()[0] == "tools"
    finally:
        supervisord.stop(signal.SIGTERM, timeout=20)
