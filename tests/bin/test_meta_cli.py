"""The ``meta`` command: finding the project, scaffolding, checks, routes, deploy files, run/down.

Commands that only read or write files run in-process through ``main(argv)``; the ones that
serve run as real processes on free loopback ports.
"""

from __future__ import annotations

import argparse
import configparser
import importlib.metadata
import importlib.util
import json
import logging
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from backends_table import FRAMEWORKS
from netutil import free_port
from optional import unavailable

from utilmeta.bin.meta import COMMANDS, main, parser
from utilmeta.deploy.wheel import current_wheel

ROOT = Path(__file__).resolve().parents[2]

SERVICE = """
from utilmeta import UtilMeta
from utilmeta.conf import Preference
from utilmeta.core import api


class UserAPI(api.API):
    @api.get("{{id}}", summary="One user")
    def one(self, id: int) -> dict:
        return {{"id": id}}


class RootAPI(api.API):
    user: UserAPI

    @api.get(summary="Say hello")
    def hello(self) -> str:
        return "world"

    @api.post
    def echo(self) -> str:
        return "ok"


service = UtilMeta(__name__, name="cli", backend={backend!r}, api=RootAPI, route="/api", production={production!r})
service.use(Preference({preference}))
app = service.application()
"""


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Work in ``tmp_path``; forget the project modules, sys.path entries and log handlers a test adds."""
    monkeypatch.chdir(tmp_path)
    modules = set(sys.modules)
    path = list(sys.path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield tmp_path
    project = str(tmp_path.resolve())
    for name in set(sys.modules) - modules:
        if (getattr(sys.modules[name], "__file__", None) or "").startswith(project):
            del sys.modules[name]  # the test project's own modules (server, api, config, ...)
    sys.path[:] = path
    for handler in set(root.handlers) - set(handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)


def write_project(root: Path, *, backend: str = "wsgi", production: bool = False, preference: str = "") -> Path:
    (root / "server.py").write_text(SERVICE.format(backend=backend, production=production, preference=preference))
    (root / "meta.ini").write_text("[utilmeta]\nname = cli\nservice = server:service\napp = server:app\n")
    return root


def run_meta(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out = capsys.readouterr()
    return status, out.out, out.err


def meta_process(
    *argv: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "utilmeta", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def need(available: bool, reason: str) -> None:
    """Skip without a tool the test needs — except under CI (``CI=true``), where that fails."""
    if not available:
        unavailable(reason)


def wait_answer(url: str, timeout: float = 20) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# -- the command itself ------------------------------------------------------------------------------


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in ("setup", "init", "run", "down", "restart", "check", "routes", "gen_openapi", "deploy"):
        assert command in out


def test_python_dash_m_utilmeta_is_the_meta_command(tmp_path: Path) -> None:
    result = meta_process("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("utilmeta ")


def test_no_project_is_one_line_saying_what_to_do(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_meta(capsys, "routes")
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("meta: error: no meta.ini found")
    assert "meta init" in err and "Traceback" not in err


def test_an_unknown_command_is_a_usage_error(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_meta(capsys, "frobnicate")
    assert status == 2 and "unknown command 'frobnicate'" in err


def test_the_project_is_found_from_a_subdirectory(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated)
    sub = isolated / "deep" / "er"
    sub.mkdir(parents=True)
    os.chdir(sub)
    status, out, _ = run_meta(capsys, "routes")
    assert status == 0 and "/api/hello" in out


def test_a_bad_ini_key_is_reported(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (isolated / "meta.ini").write_text("[utilmeta]\nservice = server\n")
    status, _, err = run_meta(capsys, "check")
    assert status == 1 and "write it as module:attribute" in err


# -- setup / init ----------------------------------------------------------------------------------------


def test_setup_scaffolds_a_project(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_meta(capsys, "setup", "demo", "--backend", "starlette")
    assert status == 0 and "created project 'demo' (starlette)" in out
    root = isolated / "demo"
    for name in ("server.py", "api.py", "config/__init__.py", "config/env.py", "meta.ini", "requirements.txt"):
        compile((root / name).read_text(), name, "exec") if name.endswith(".py") else None
        assert (root / name).is_file(), name
    assert ".env" in (root / ".gitignore").read_text().split()
    wheel = current_wheel()
    assert (root / "requirements.txt").read_text().splitlines()[-2:] == [
        "--find-links wheels",
        f"utilmeta[starlette]=={wheel.version}",
    ]
    assert (root / "wheels" / wheel.filename).read_bytes() == wheel.data
    ini = configparser.ConfigParser()
    ini.read(root / "meta.ini")
    assert dict(ini["utilmeta"]) == {
        "name": "demo",
        "service": "server:service",
        "app": "server:app",
        "main": "server.py",
        "pidfile": "demo.pid",
    }
    assert 'backend="starlette"' in (root / "server.py").read_text()
    again, _, err = run_meta(capsys, "setup", "demo")
    assert again == 1 and "already exists" in err


@pytest.mark.parametrize("name", ["1demo", "my demo", "class", "x" * 70])
def test_setup_refuses_a_bad_name(name: str, isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_meta(capsys, "setup", name)
    assert status == 1 and "invalid project name" in err


def test_init_finds_the_service_and_app(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated)
    (isolated / "meta.ini").unlink()
    status, out, _ = run_meta(capsys, "init")
    assert status == 0 and "service = server:service, app = server:app" in out
    ini = configparser.ConfigParser()
    ini.read(isolated / "meta.ini")
    assert ini["utilmeta"]["main"] == "server.py" and ini["utilmeta"]["name"] == "cli"  # UtilMeta(name="cli")
    again, _, err = run_meta(capsys, "init")
    assert again == 1 and "--force" in err
    forced, _, _ = run_meta(capsys, "init", "--force", "--name", "renamed")
    assert forced == 0 and "name = renamed" in (isolated / "meta.ini").read_text()


def test_init_then_run_d_and_down_name_the_service_alike(tmp_path: Path) -> None:
    """`meta init` in a folder whose name is not the service's: `meta run -d` says "ex running",
    so `meta down` says "stopped ex", not the folder's name."""
    need(importlib.util.find_spec("starlette") is not None, "starlette is not installed")
    root = tmp_path / "existing"
    root.mkdir()
    (root / "main.py").write_text(
        "from utilmeta import UtilMeta\n\n"
        'service = UtilMeta(__name__, name="ex", backend="starlette")\n'
        "app = service.application()\n"
    )
    assert meta_process("init", cwd=root).returncode == 0
    port = str(free_port())
    started = meta_process("run", "-d", "--port", port, cwd=root)
    try:
        assert started.returncode == 0, started.stderr
        pid = int((root / "ex.pid").read_text())
        assert started.stdout.startswith(f"ex running in the background: pid {pid}"), started.stdout
        down = meta_process("down", cwd=root)
        assert down.returncode == 0 and down.stdout == f"stopped ex (pid {pid})\n", down.stdout + down.stderr
    finally:
        for pidfile in root.glob("*.pid"):
            leftover = int(pidfile.read_text())
            if _running(leftover):
                os.kill(leftover, signal.SIGKILL)


def test_init_without_a_service_asks_for_one(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (isolated / "other.py").write_text("x = 1\n")
    status, _, err = run_meta(capsys, "init")
    assert status == 1 and "--service module:attribute" in err
    status, _, _ = run_meta(capsys, "init", "--service", "other:service")
    assert status == 0


# -- routes / check --------------------------------------------------------------------------------------


def test_routes_is_a_table_of_method_path_endpoint_summary(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated)
    status, out, _ = run_meta(capsys, "routes")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["METHOD", "PATH", "ENDPOINT", "SUMMARY"]
    rows = {tuple(line.split(None, 2)[:2]): line for line in lines[2:]}
    assert "RootAPI.hello" in rows[("GET", "/api/hello")] and "Say hello" in rows[("GET", "/api/hello")]
    assert "UserAPI.one" in rows[("GET", "/api/user/{id}")]
    assert ("POST", "/api/echo") in rows
    status, out, _ = run_meta(capsys, "routes", "--json")
    listed = {(r["method"], r["path"]): r for r in json.loads(out)}
    assert listed[("GET", "/api/user/{id}")]["summary"] == "One user"


def test_gen_openapi_prints_or_writes_the_document(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated)
    status, out, _ = run_meta(capsys, "gen_openapi")
    document = json.loads(out)
    assert status == 0 and document["openapi"].startswith("3.1")
    assert "/hello" in document["paths"] and "/user/{id}" in document["paths"]
    status, out, _ = run_meta(capsys, "gen_openapi", "--out", "docs/openapi.json", "--openapi-version", "3.0")
    assert status == 0 and "wrote" in out
    assert json.loads((isolated / "docs" / "openapi.json").read_text())["openapi"].startswith("3.0")


def test_check_passes_a_sound_project(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated)
    status, out, _ = run_meta(capsys, "check")
    assert status == 0 and "no problems found" in out and "wsgi (sync)" in out


def test_check_reports_an_import_error_in_one_line(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated)
    (isolated / "server.py").write_text("import os\nimport no_such_module_here\n")
    status, _, err = run_meta(capsys, "check")
    assert status == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert "server.py, line 2" in err and "no_such_module_here" in err


def test_check_reports_a_setup_error(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated)
    source = (isolated / "server.py").read_text()
    (isolated / "server.py").write_text(source.replace("def echo(self)", "async def echo(self)"))
    status, _, err = run_meta(capsys, "check")
    assert status == 1 and "RootAPI.echo" in err and "asynchronous=True" in err and "Traceback" not in err


def test_check_reports_an_app_that_is_not_the_service_application(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_project(isolated)
    with open(isolated / "server.py", "a") as f:
        f.write("other = object()\n")
    (isolated / "meta.ini").write_text("[utilmeta]\nservice = server:service\napp = server:other\n")
    status, out, _ = run_meta(capsys, "check")
    assert status == 1 and "app = server:other" in out


def test_check_deploy_flags_a_debug_configuration(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated, production=False)
    status, out, _ = run_meta(capsys, "check", "--deploy")
    assert status == 1
    assert "error: debug mode" in out and "allowed_hosts" in out


def test_check_deploy_passes_a_production_configuration(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated, production=True, preference="allowed_hosts=['api.example.com']")
    status, out, _ = run_meta(capsys, "check", "--deploy")
    assert status == 0, out
    assert "no problems found (deploy checks included)" in out


def test_check_deploy_flags_trusting_every_proxy(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated, production=True, preference="allowed_hosts=['a.example'], trusted_proxies=['*']")
    status, out, _ = run_meta(capsys, "check", "--deploy")
    assert status == 1 and "trusted_proxies includes '*'" in out


def test_check_deploy_fail_level_warning(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated, production=True)
    assert run_meta(capsys, "check", "--deploy")[0] == 0
    status, out, _ = run_meta(capsys, "check", "--deploy", "--fail-level", "warning")
    assert status == 1 and "warning: any Host header is accepted" in out


def test_check_deploy_flags_public_api_docs(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated, production=True, preference="allowed_hosts=['api.example.com']")
    server = isolated / "server.py"
    server.write_text(
        server.read_text().replace(
            "app = service.application()",
            "from utilmeta.ops.docs import Docs\n\nservice.use(Docs(enabled=True))\napp = service.application()",
        )
    )
    status, out, _ = run_meta(capsys, "check", "--deploy", "--fail-level", "warning")
    assert status == 1 and "warning: the API docs are public (/api/openapi.json)" in out


# -- user mistakes: one line each, never a traceback -----------------------------------------------------


MISTAKES = {
    "ini file missing": ("", ["--ini", "nowhere.ini", "routes"], "no such file: nowhere.ini"),
    "ini not ini": ("not an ini file\n", ["check"], "is not a valid ini file"),
    "ini without section": ("[other]\nx = 1\n", ["check"], "has no [utilmeta] section"),
    "module missing": ("[utilmeta]\nservice = nowhere:service\n", ["check"], "cannot find module 'nowhere'"),
    "attribute missing": ("[utilmeta]\nservice = server:nothing\n", ["routes"], "has no attribute 'nothing'"),
    "not a service": ("[utilmeta]\nservice = server:app\n", ["check"], "not the UtilMeta(...) instance"),
    "main missing": ("[utilmeta]\nservice = server:service\nmain = gone.py\n", ["run"], "gone.py does not exist"),
    "deploy without app": ("[utilmeta]\nservice = server:service\n", ["deploy", "nginx"], "meta.ini has no `app`"),
    "workers off sanic": (None, ["run", "--workers", "2"], "--workers is for sanic"),
    "port in use": (None, ["run", "--port", "{busy}"], "is in use by another program"),
    "background on port 0": (
        None,
        ["run", "-d", "--port", "0"],
        "meta run -d needs a port to wait on and print, not 0",
    ),
    "bad option": (None, ["deploy", "nginx", "--workers", "2"], "--workers does not apply"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_user_mistake_is_one_line_saying_what_to_do(
    mistake: str, isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ini, argv, message = MISTAKES[mistake]
    write_project(isolated)
    if ini is not None:
        (isolated / "meta.ini").write_text(ini)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        argv = [arg.format(busy=busy.getsockname()[1]) for arg in argv]
        status, out, err = run_meta(capsys, *argv)
    assert status == 1, out + err
    assert err.startswith("meta: error: ") and err.count("\n") == 1, err
    assert message in err and "Traceback" not in err


# -- deploy ----------------------------------------------------------------------------------------------


def test_deploy_prints_the_config(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated)
    status, out, _ = run_meta(capsys, "deploy", "gunicorn", "--workers", "3", "--port", "9001")
    assert status == 0
    assert "wsgi_app = 'server:app'" in out and "workers = 3" in out and "bind = ['127.0.0.1:9001']" in out
    assert f"chdir = {str(isolated.resolve())!r}" in out


def test_deploy_writes_files_and_keeps_existing_ones(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated)
    status, out, _ = run_meta(capsys, "deploy", "nginx", "--out", "deploy", "--server-name", "api.example.com")
    target = isolated / "deploy" / "cli.nginx.conf"
    assert status == 0 and f"wrote {target.resolve()}" in out
    assert "server_name api.example.com;" in target.read_text()
    status, _, err = run_meta(capsys, "deploy", "nginx", "--out", "deploy")
    assert status == 1 and "--force" in err
    assert run_meta(capsys, "deploy", "nginx", "--out", "deploy", "--force")[0] == 0
    assert run_meta(capsys, "deploy", "systemd", "--out", "deploy")[0] == 0
    unit = (isolated / "deploy" / "cli.service").read_text()
    assert f"-c {(isolated / 'deploy' / 'gunicorn.py').resolve()}" in unit
    assert run_meta(capsys, "deploy", "docker", "--out", "image")[0] == 0
    assert {p.name for p in (isolated / "image").rglob("*") if p.is_file()} == {
        "Dockerfile",
        "Dockerfile.dockerignore",
        "gunicorn.docker.py",
        current_wheel().filename,
    }


def test_deploy_refuses_what_the_backend_cannot_run(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated, backend="asgi")
    status, _, err = run_meta(capsys, "deploy", "uwsgi")
    assert status == 1 and err.count("\n") == 1 and "uWSGI serves WSGI applications" in err
    status, _, err = run_meta(capsys, "deploy", "gunicorn", "--listen", "80")
    assert status == 1 and "--listen does not apply" in err
    status, _, err = run_meta(capsys, "deploy", "gunicorn", "--server", "uwsgi")
    assert status == 1 and "use one of: gunicorn, daphne" in err


def test_deploy_uwsgi_options(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated)
    argv = ("deploy", "uwsgi", "--user", "www-data", "--group", "www-data", "--workers", "3", "--stats")
    status, out, _ = run_meta(capsys, *argv, "127.0.0.1:9200")
    assert status == 0
    lines = out.splitlines()
    for line in ("uid = www-data", "gid = www-data", "processes = 3", "stats = 127.0.0.1:9200"):
        assert line in lines, line
    status, _, err = run_meta(capsys, *argv, "0.0.0.0:9200")
    assert status == 1 and err.count("\n") == 1 and "bind it to 127.0.0.1" in err


# -- real processes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", [b.name for b in FRAMEWORKS])
def test_setup_then_run_serves_the_scaffolded_project(backend: str, tmp_path: Path) -> None:
    need(importlib.util.find_spec(backend) is not None, f"{backend} is not installed")
    created = meta_process("setup", "demo", "--backend", backend, cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    root = tmp_path / "demo"
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "utilmeta", "run"],
        cwd=root,
        env={**os.environ, "DEMO_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        answer = wait_answer(f"http://127.0.0.1:{port}/api/hello?name=meta")
        assert (answer.status_code, answer.text) == (200, "hello, meta")
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=15)
        # a clean stop; uvicorn re-raises the SIGTERM it handled once it has shut down
        assert server.returncode in (0, -signal.SIGTERM), output
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert "UtilMeta service 'demo'" in output


def test_run_in_the_background_then_down_and_restart(tmp_path: Path) -> None:
    need(importlib.util.find_spec("flask") is not None, "flask is not installed")
    assert meta_process("setup", "bg", "--backend", "flask", cwd=tmp_path).returncode == 0
    root = tmp_path / "bg"
    ini = root / "meta.ini"
    ini.write_text(ini.read_text().replace("pidfile = bg.pid", "pidfile = run/bg.pid"))
    pidfile = root / "run" / "bg.pid"
    port = str(free_port())
    started = meta_process("run", "-d", "--port", port, cwd=root)
    assert started.returncode == 0, started.stderr
    pid = int(pidfile.read_text())
    assert f"pid {pid}" in started.stdout and (root / "run" / "bg.log").is_file()
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/api/hello").text == "hello, world"
        twice = meta_process("run", "-d", "--port", port, cwd=root)
        assert twice.returncode == 1 and f"already running (pid {pid}" in twice.stderr
        # the foreground `meta run` a user tries next names the background service, not "another program"
        foreground = meta_process("run", "--port", port, cwd=root)
        assert foreground.returncode == 1 and "another program" not in foreground.stderr, foreground.stderr
        assert f"bg already runs in the background (pid {pid}" in foreground.stderr
        assert "`meta down` stops it" in foreground.stderr
        restarted = meta_process("restart", "--port", port, cwd=root)
        assert restarted.returncode == 0, restarted.stderr
        assert f"stopped bg (pid {pid})" in restarted.stdout
        new_pid = int(pidfile.read_text())
        assert new_pid != pid and not _running(pid)
        assert httpx.get(f"http://127.0.0.1:{port}/api/hello").text == "hello, world"
        down = meta_process("down", cwd=root)
        assert down.returncode == 0 and f"pid {new_pid}" in down.stdout
        assert not pidfile.exists() and not _running(new_pid)
        again = meta_process("down", cwd=root)
        assert again.returncode == 0 and "bg is not running" in again.stdout, again.stderr
    finally:
        for leftover in (pid, *([int(pidfile.read_text())] if pidfile.exists() else [])):
            try:
                os.kill(leftover, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _running(pid: int) -> bool:
    """Whether ``pid`` runs: an exited process the init process has not reaped yet does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except FileNotFoundError:  # gone meanwhile
        return False
    except OSError:  # no /proc: os.kill's answer
        return True


def test_a_background_service_that_fails_to_start_is_reported(tmp_path: Path) -> None:
    write_project(tmp_path)
    with open(tmp_path / "server.py", "a") as f:
        f.write("raise RuntimeError('boom at start')\n")
    (tmp_path / "meta.ini").write_text("[utilmeta]\nname = cli\napp = server:app\n")
    result = meta_process("run", "-d", "--port", str(free_port()), cwd=tmp_path)
    assert result.returncode == 1 and "boom at start" in result.stderr and "Traceback" not in result.stderr


def test_generated_gunicorn_config_of_a_scaffolded_project_checks(tmp_path: Path) -> None:
    need(importlib.util.find_spec("flask") is not None, "flask is not installed")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    need(gunicorn.exists(), "gunicorn is not installed")
    assert meta_process("setup", "gc", "--backend", "flask", cwd=tmp_path).returncode == 0
    root = tmp_path / "gc"
    written = meta_process("deploy", "gunicorn", "--out", "deploy", "--worker-class", "sync", cwd=root)
    assert written.returncode == 0, written.stderr
    checked = subprocess.run(
        [str(gunicorn), "--check-config", "-c", "deploy/gunicorn.py"], cwd=root, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stderr


def test_django_management_commands_pass_through(tmp_path: Path) -> None:
    need(importlib.util.find_spec("django") is not None, "django is not installed")
    assert meta_process("setup", "dj", "--backend", "django", cwd=tmp_path).returncode == 0
    result = meta_process("version", cwd=tmp_path / "dj")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == importlib.metadata.version("django")


def test_check_deploy_flags_a_weak_django_secret_key(tmp_path: Path) -> None:
    need(importlib.util.find_spec("django") is not None, "django is not installed")
    assert meta_process("setup", "dk", "--backend", "django", cwd=tmp_path).returncode == 0
    root = tmp_path / "dk"
    server = root / "server.py"
    server.write_text(
        server.read_text().replace(
            "service.use(Logging())",
            textwrap.dedent(
                """\
                service.use(Logging())
                from utilmeta.core.server.backends.django import DjangoSettings

                service.use(DjangoSettings(secret_key="short"))"""
            ),
        )
    )
    result = meta_process("check", "--deploy", cwd=root, env={"DK_PRODUCTION": "true"})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Django SECRET_KEY is weak" in result.stdout and "debug mode" not in result.stdout


# -- the command line as documented ----------------------------------------------------------------------

#: the documents whose `meta ...` command lines must work as written
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCED_COMMAND = re.compile(r"^\s*(?:\$\s+)?(meta\s.*)$")
_INLINE_COMMAND = re.compile(r"`(meta\s[^`]+)`")
#: Django's management commands the docs pass through `meta` (not the parser's)
DJANGO_COMMANDS = {"migrate", "makemigrations", "shell", "version"}


def documented_commands() -> list[tuple[str, str, bool]]:
    """Every `meta ...` line of the documents: (where, line, in a code block — else inline code)."""
    found = []
    for document in DOCUMENTS:
        fenced = False
        for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{document.relative_to(ROOT)}:{number}"
            if line.lstrip().startswith("```"):
                fenced = not fenced
            elif fenced:
                match = _FENCED_COMMAND.match(line)
                if match:
                    found.append((where, match.group(1), True))
            else:
                found.extend((where, text.replace("\\|", "|"), False) for text in _INLINE_COMMAND.findall(line))
    return found


def _argv(line: str) -> list[str]:
    words = shlex.split(line, comments=True)
    for end, word in enumerate(words):  # one command: up to `&&`, `|` or `;`
        if word in ("&&", "||", "|", ";"):
            words = words[:end]
            break
    assert words[0] == "meta"
    return words[1:]


def _shown_options(parser: argparse.ArgumentParser) -> set[str]:
    shown = (action for action in parser._actions if action.help != argparse.SUPPRESS)
    return {option for action in shown for option in action.option_strings}


def _command_parsers() -> dict[str | None, argparse.ArgumentParser]:
    root = parser()
    found: dict[str | None, argparse.ArgumentParser] = {None: root}
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def test_documented_command_lines_parse_and_name_shown_options() -> None:
    """Each `meta ...` line of a code block parses with the real parser; each option a document
    names (in a code block or in a synopsis like `meta gen_openapi [--out FILE]`) is one that
    `--help` shows — not a hidden alias or a name the parser never had."""
    parsers = _command_parsers()
    lines = documented_commands()
    assert any(fenced for _, _, fenced in lines), "the documents have `meta` command lines in code blocks"
    problems = []
    for where, line, fenced in lines:
        argv = _argv(line)
        command = None
        words = iter(argv)
        for word in words:  # the command is the first word that is not a global option or its value
            if word in ("--ini", "--service", "--app"):
                next(words, None)
            elif not word.startswith("-"):
                command = word
                break
        if command in DJANGO_COMMANDS:
            continue
        if command not in parsers and not fenced:
            continue  # a placeholder: `meta COMMAND --help`
        if fenced:
            try:
                parser().parse_args(argv)
            except SystemExit:
                problems.append(f"{where}: `{line}` does not parse")
                continue
        shown = _shown_options(parsers[command]) | _shown_options(parsers[None])
        for word in argv:
            option = word.strip("[]").split("=")[0]
            if option.startswith("--") and option not in shown:
                problems.append(f"{where}: `{line}` names {option}, which `meta {command} --help` does not show")
    assert not problems, "\n".join(problems)


def test_help_examples_parse() -> None:
    from utilmeta.bin.meta import EXAMPLES

    examples = [line for line, _ in EXAMPLES]
    for command in COMMANDS:
        assert len(command.examples) >= 2, f"meta {command.name} --help needs examples"
        examples += [line for line, _ in command.examples]
    for line in examples:
        parser().parse_args(_argv(line))


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_help_of_every_command_ends_with_examples(command: str, tmp_path: Path) -> None:
    shown = meta_process(command, "--help", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    examples = shown.stdout.split("\nexamples:\n")[1].splitlines()
    assert len(examples) >= 2 and all(line.lstrip().startswith(f"meta {command}") for line in examples)


def test_meta_alone_prints_the_help_and_is_a_usage_error(tmp_path: Path) -> None:
    alone = meta_process(cwd=tmp_path)
    assert alone.returncode == 2 and alone.stdout == ""
    assert alone.stderr.startswith("usage: meta") and "examples:" in alone.stderr


def test_gen_openapi_help_names_out_and_to_as_one_option(tmp_path: Path) -> None:
    shown = meta_process("gen_openapi", "--help", cwd=tmp_path)
    assert "--out FILE, --to FILE" in shown.stdout
