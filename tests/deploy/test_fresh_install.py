"""Every config `meta deploy` writes boots from a fresh virtualenv holding only what the project
declares: the new project's ``requirements.txt`` plus the server packages of the Dockerfile
`meta deploy docker` writes, or the ``deploy`` extra.

One virtualenv (no system site-packages) for the whole module, filled in the order of the
cases, each case adding what it declares. The first case is the one a missing declaration
breaks (Gunicorn's gevent worker imports ``packaging`` without declaring it), so nothing
installed for a later case can hide it. utilmeta is first installed from a wheel of this
checkout, built once; then each project installs the wheel ``meta setup`` wrote for it. For
each case, in the fresh virtualenv: ``meta setup`` a project, ``pip install -r
requirements.txt``, run the Dockerfile's ``pip install`` line (the wheel beside it copied to
``wheels/``, as the image's ``COPY`` does), write the
server config, the supervisor program and the Nginx site with ``meta deploy``, start the
program's command, and get ``200 hello, world`` through Nginx.

Packages come from the package index (pip's cache makes a repeat fast): without it the tests
skip, and fail under CI. One run takes a minute or two on two cores (warm pip cache), most of
it the installs.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from deploy_support import Nginx, Process, free_port, require_nginx
from optional import unavailable

from utilmeta.deploy import recommended_server

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="deployment tests run on Linux")

REPO = Path(__file__).resolve().parents[2]
#: what pip says when it cannot reach the package index (rather than a package being wrong)
_OFFLINE = re.compile(
    r"NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution"
    r"|Network is unreachable|ConnectTimeoutError|ReadTimeoutError|ProxyError"
)


@dataclass(frozen=True)
class Case:
    backend: str
    server: str | None = None
    worker_class: str | None = None
    asynchronous: bool = False
    #: install the ``deploy`` extra instead of the Dockerfile's server packages
    extra: bool = False

    @property
    def id(self) -> str:
        parts = [self.backend + ("-async" if self.asynchronous else ""), self.server or "default"]
        parts += [self.worker_class] if self.worker_class else []
        return "-".join(parts + (["deploy-extra"] if self.extra else []))


#: every server and Gunicorn worker class the generator emits, the gevent default first
CASES = [
    Case("flask"),  # Gunicorn, gevent worker
    Case("flask", worker_class="sync"),
    Case("flask", worker_class="gthread"),
    Case("starlette"),  # Gunicorn, uvicorn worker
    Case("django", server="uwsgi"),  # the Dockerfile's pyuwsgi
    Case("django", asynchronous=True),  # Daphne
    Case("sanic"),
    Case("tornado"),
    Case("django", server="uwsgi", extra=True),  # the deploy extra's uwsgi
]


def _clean_env(venv: Path) -> dict[str, str]:
    """This process's environment without what would let the venv see this checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


class FreshVenv:
    """A virtualenv made by ``python -m venv`` and the commands run in it."""

    def __init__(self, root: Path):
        self.root = root
        self.path = root / "venv"
        self.bin = self.path / "bin"
        self.env = _clean_env(self.path)
        subprocess.run([sys.executable, "-m", "venv", str(self.path)], check=True, timeout=300)
        wheels = root / "wheels"
        self.pip("wheel", "--no-deps", "-w", str(wheels), str(REPO))
        (self.wheel,) = wheels.glob("utilmeta-*.whl")
        self.projects: dict[tuple[str, bool], Path] = {}

    def run(self, args: list[str], *, cwd: Path | None = None, timeout: float = 120) -> str:
        result = subprocess.run(
            args, cwd=cwd or self.root, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise AssertionError(f"{shlex.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def pip(self, *args: str, cwd: Path | None = None) -> None:
        command = [str(self.bin / "python"), "-m", "pip", *args, "--disable-pip-version-check", "-q"]
        result = subprocess.run(
            command, cwd=cwd or self.root, env=self.env, capture_output=True, text=True, timeout=900
        )
        if result.returncode != 0:
            output = result.stdout + result.stderr
            if _OFFLINE.search(output):
                unavailable(f"the package index cannot be reached:\n{output[-1500:]}")
            raise AssertionError(f"pip {shlex.join(args)} failed:\n{output}")

    def meta(self, project: Path, *args: str) -> str:
        return self.run([str(self.bin / "meta"), *args], cwd=project)

    def project(self, case: Case) -> Path:
        """A project made by ``meta setup`` for the case's backend, its requirements installed."""
        key = (case.backend, case.asynchronous)
        if key not in self.projects:
            name = f"{case.backend}{'-async' if case.asynchronous else ''}"
            self.run([str(self.bin / "meta"), "setup", "demo", "--backend", case.backend, "--dir", name], cwd=self.root)
            project = self.root / name
            if case.asynchronous:  # served by Daphne instead of Gunicorn
                server = project / "server.py"
                server.write_text(server.read_text().replace("    api=", "    asynchronous=True,\n    api=", 1))
            # the requirements `meta setup` wrote: utilmeta from the wheel it put in wheels/
            self.pip("install", "-r", "requirements.txt", cwd=project)
            self.projects[key] = project
        return self.projects[key]


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> FreshVenv:
    fresh = FreshVenv(tmp_path_factory.mktemp("fresh"))
    fresh.pip("install", f"utilmeta @ {fresh.wheel.as_uri()}")
    found = fresh.run([str(fresh.bin / "python"), "-c", "import utilmeta; print(utilmeta.__file__)"])
    assert found.startswith(str(fresh.path)), found  # the installed copy, not this checkout
    return fresh


def _server_options(case: Case) -> list[str]:
    return ["--server", case.server] if case.server else []


def _install_server(venv: FreshVenv, project: Path, case: Case) -> None:
    """What the case declares for its server: the Dockerfile's ``pip install`` line, run as it
    is (less ``--no-cache-dir``, which only slows a repeat), or the deploy extra."""
    if case.extra:
        (pinned,) = [ln for ln in (project / "requirements.txt").read_text().splitlines() if ln.startswith("utilmeta")]
        venv.pip("install", "--find-links", "wheels", pinned.replace("]==", ",deploy]=="), cwd=project)
        return
    docker = project / "docker"
    venv.meta(project, "deploy", "docker", "--out", str(docker), "--force", *_server_options(case))
    for wheel in docker.glob("utilmeta-*.whl"):  # COPY docker/utilmeta-*.whl wheels/
        shutil.copyfile(wheel, project / "wheels" / wheel.name)
    (line,) = [ln for ln in (docker / "Dockerfile").read_text().splitlines() if ln.startswith("RUN pip install")]
    args = [arg for arg in shlex.split(line.removeprefix("RUN pip ")) if arg != "--no-cache-dir"]
    venv.pip(*args, cwd=project)


@dataclass
class Program:
    command: list[str]
    directory: Path
    environment: dict[str, str]


def _program(path: Path) -> Program:
    """The single ``[program:...]`` of a supervisor file `meta deploy supervisor` wrote."""
    parser = configparser.RawConfigParser()
    parser.read(path)
    (section,) = [s for s in parser.sections() if s.startswith("program:")]
    values = parser[section]
    environment = dict(re.findall(r'(\w+)="([^"]*)"', values.get("environment", "")))
    return Program(shlex.split(values["command"]), Path(values["directory"]), environment)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_generated_config_boots_from_a_fresh_virtualenv(venv: FreshVenv, case: Case) -> None:
    nginx_binary = require_nginx()
    project = venv.project(case)
    _install_server(venv, project, case)
    port, nginx_port = free_port(), free_port()
    deploy = project / f"deploy-{case.id}"
    where = ["--out", str(deploy), "--port", str(port), *_server_options(case)]
    server = case.server or recommended_server(case.backend, case.asynchronous)
    if server in ("gunicorn", "uwsgi"):  # the server's own config file
        target = server
        options = ["--workers", "1"]
        options += ["--worker-class", case.worker_class] if case.worker_class else []
        options += ["--stats", f"127.0.0.1:{free_port()}"] if target == "uwsgi" else []
        venv.meta(project, "deploy", target, *where, *options)
    venv.meta(project, "deploy", "supervisor", *where)
    site_dir = project / f"nginx-{case.id}"
    venv.meta(project, "deploy", "nginx", *where[2:], "--out", str(site_dir), "--listen", f"127.0.0.1:{nginx_port}")
    program = _program(deploy / "demo.supervisor.conf")
    assert Path(program.command[0]).is_relative_to(venv.path), program.command  # the venv's own executables
    log = deploy / "server.log"
    process = Process(
        program.command, cwd=program.directory, log=log, env={**venv.env, **program.environment, "PYTHONPATH": ""}
    )
    nginx = Nginx(nginx_binary, site_dir, site_dir / "demo.nginx.conf")
    try:
        process.wait_port(port, timeout=60)
        checked = nginx.test()
        assert checked.returncode == 0, checked.stderr
        nginx.start(nginx_port)
        r = httpx.get(f"http://127.0.0.1:{nginx_port}/api/hello", timeout=30)
        assert (r.status_code, r.text) == (200, "hello, world"), process.output()[-3000:]
    finally:
        nginx.stop()
        process.stop(timeout=20)


def test_the_deploy_extra_holds_every_server_package_the_dockerfile_installs(venv: FreshVenv) -> None:
    """One declaration cannot fall behind the other: what a Dockerfile adds for its server is in
    the ``deploy`` extra of the wheel built from this checkout (uWSGI as the ``uwsgi`` sdist
    there, the prebuilt ``pyuwsgi`` in an image)."""
    from utilmeta.deploy.docker import _SERVER_PACKAGES

    script = "import importlib.metadata as m; print('\\n'.join(m.requires('utilmeta') or []))"
    requires = venv.run([str(venv.bin / "python"), "-c", script]).splitlines()
    deploy = {_name(r) for r in requires if re.search(r"""extra\s*==\s*["']deploy["']""", r)}
    wanted = {
        _name(p) for by_interface in _SERVER_PACKAGES.values() for ps in by_interface.values() for p in ps.split()
    }
    assert (wanted - {"pyuwsgi"}) | {"uwsgi"} <= deploy, (wanted, deploy)


def _name(requirement: str) -> str:
    """A requirement's project name, normalized (PEP 503)."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()
