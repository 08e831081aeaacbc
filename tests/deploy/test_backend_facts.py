"""The backend registry's rows are the one source of backend facts.

Each adaptor's port, mode and interface come from its row; ``deploy/`` and ``bin/`` pick the
server, worker class, port and extra a row names (a changed row changes what they render); and
no module outside the backends package keeps its own table of backend names.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import pytest
from deploy_support import require_module

import utilmeta
from utilmeta import UtilMeta
from utilmeta.bin.scaffold import BACKENDS as SCAFFOLD_BACKENDS
from utilmeta.bin.scaffold import scaffold
from utilmeta.core.server import backends
from utilmeta.core.server.backends import BACKEND_INFO, BackendInfo, Server, ServerAdaptor, Serving, load
from utilmeta.core.server.service import _clear_service
from utilmeta.deploy import DeployError, ServiceInfo, interface_of, servers_for
from utilmeta.deploy.gunicorn import GunicornConfig
from utilmeta.deploy.uwsgi import UWSGIConfig
from utilmeta.utils.exceptions import SetupError

ROWS = list(BACKEND_INFO.values())
MODES = [(row, mode) for row in ROWS for mode in (False, True) if (row.when_async if mode else row.when_sync)]


def mode_id(case: tuple[BackendInfo, bool]) -> str:
    row, asynchronous = case
    return f"{row.name}-{'async' if asynchronous else 'sync'}"


def described(backend: str, asynchronous: bool) -> ServiceInfo:
    return ServiceInfo(
        name="demo", backend=backend, app="server:app", root=Path("/srv/demo"), asynchronous=asynchronous
    )


# -- the adaptors read their row ---------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_each_adaptor_reads_its_row(row: BackendInfo) -> None:
    if row.framework:
        require_module(row.framework)
    adaptor = load(row.name)
    assert adaptor.name == row.name and adaptor.info is row
    assert backends.BACKENDS[row.name] == row.adaptor
    # the row's default mode is one the backend serves
    row.serving(row.default_asynchronous)


def test_an_adaptor_outside_the_registry_declares_its_own_row() -> None:
    with pytest.raises(TypeError, match="no registry row"):

        class Nameless(ServerAdaptor):
            name = "seventh"

    with pytest.raises(TypeError, match="default_port belong in the backend's BackendInfo row"):

        class Shadowing(ServerAdaptor):
            name = "flask"
            default_port = 5001

    own = BackendInfo(
        "seventh", "x:Seventh", None, None, 9001, True, when_sync=None, when_async=Serving("asgi", ("daphne",), None)
    )

    class Seventh(ServerAdaptor):
        name = "seventh"
        info = own

    class Derived(Seventh):
        pass

    assert Derived.info is own
    service = UtilMeta(__name__, name="seventh", backend=Seventh)
    assert (service.backend_name, service.port, service.asynchronous) == ("seventh", 9001, True)
    with pytest.raises(SetupError, match="'seventh' cannot serve a synchronous service"):
        UtilMeta(__name__, name="seventh", backend=Seventh, asynchronous=False)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_the_service_takes_its_defaults_from_the_row(row: BackendInfo) -> None:
    if row.framework:
        require_module(row.framework)
    service = UtilMeta(__name__, name="facts", backend=row.name)
    assert (service.port, service.asynchronous) == (row.default_port, row.default_asynchronous)
    other = not row.default_asynchronous
    _clear_service()  # one service per process: the second mode is another service
    if row.when_async if other else row.when_sync:
        assert UtilMeta(__name__, name="facts", backend=row.name, asynchronous=other).asynchronous is other
    else:
        with pytest.raises(SetupError, match="cannot serve"):
            UtilMeta(__name__, name="facts", backend=row.name, asynchronous=other)


# -- deploy and bin read the row ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", MODES, ids=mode_id)
def test_deploy_picks_the_rows_server_and_worker_class(case: tuple[BackendInfo, bool]) -> None:
    row, asynchronous = case
    serving = row.serving(asynchronous)
    info = described(row.name, asynchronous)
    assert info.interface == interface_of(row.name, asynchronous) == serving.interface
    assert servers_for(row.name, asynchronous) == serving.servers
    assert info.chosen_server == serving.servers[0]
    if serving.worker_class is None:
        with pytest.raises(DeployError, match="its own server"):
            GunicornConfig(info)
    else:
        assert "gunicorn" in serving.servers
        assert f"worker_class = {GunicornConfig(info).gunicorn_worker_class!r}" in GunicornConfig(info).render()
        assert GunicornConfig(info).worker_class == serving.worker_class
    if "uwsgi" in serving.servers:
        assert "module = server:app" in UWSGIConfig(info).render()
    else:
        with pytest.raises(DeployError, match="uWSGI serves WSGI"):
            UWSGIConfig(info)


def test_a_mode_the_row_does_not_serve_is_refused() -> None:
    with pytest.raises(DeployError, match="'wsgi' cannot serve an asynchronous service"):
        described("wsgi", True)
    with pytest.raises(DeployError, match="unknown backend 'nosuch'"):
        described("nosuch", False)


def test_a_changed_row_changes_what_deploy_and_bin_render(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    flask = BACKEND_INFO["flask"]
    changed = flask._replace(
        extra="flask-extra", default_port=5123, when_sync=Serving("wsgi", ("uwsgi", "gunicorn"), "sync")
    )
    monkeypatch.setitem(BACKEND_INFO, "flask", changed)
    info = described("flask", False)
    assert info.chosen_server == "uwsgi"
    assert GunicornConfig(info).worker_class == "sync"
    with pytest.raises(DeployError, match="use one of: uwsgi, gunicorn"):
        described("flask", False).replace(server="daphne")
    scaffold(tmp_path, "demo", "flask")
    assert "PORT: int = 5123" in (tmp_path / "config" / "env.py").read_text()
    assert "\nutilmeta[flask-extra]==" in (tmp_path / "requirements.txt").read_text()


def test_the_facts_are_read_without_importing_a_framework() -> None:
    # `meta setup` and `meta deploy` read the rows where the framework may not be installed
    frameworks = sorted({row.framework for row in ROWS if row.framework} | {"uvicorn", "daphne", "gunicorn"})
    code = (
        "import sys, utilmeta.bin.scaffold, utilmeta.bin.process, utilmeta.deploy.gunicorn, utilmeta.deploy.docker\n"
        "from utilmeta.deploy import ServiceInfo\n"
        "ServiceInfo(name='x', backend='fastapi', app='s:app', root='.', asynchronous=True).chosen_server\n"
        f"print([m for m in {frameworks!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_meta_setup_offers_the_rows_with_a_framework() -> None:
    assert SCAFFOLD_BACKENDS == tuple(row.name for row in ROWS if row.framework)
    assert {"django", "flask", "starlette", "fastapi", "sanic", "tornado"} <= set(SCAFFOLD_BACKENDS)


# -- no other table of backend names ---------------------------------------------------------------------------

PACKAGE = Path(utilmeta.__file__).parent
#: the registry and the adaptors may name backends; nothing else in the package should
EXEMPT = PACKAGE / "core" / "server" / "backends"
NAMES = frozenset(BACKEND_INFO)
#: names that are only backends (``sanic``/``tornado`` are servers too, ``wsgi``/``asgi`` interfaces)
FRAMEWORK_ONLY = NAMES - set(get_args(Server)) - {"wsgi", "asgi"}


def _strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def backend_tables(source: str) -> list[str]:
    """The places in ``source`` that decide by backend name: a comparison of something named
    ``backend`` with a backend name (``backend == 'flask'``, ``backend in ('asgi', ...)``), or a
    literal collection holding a name that is only a backend (``('starlette', 'fastapi')``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            if _strings(node) & NAMES and "backend" in ast.unparse(node):
                found.append(ast.unparse(node))
        elif isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)):
            elements: list[Any] = list(node.keys) if isinstance(node, ast.Dict) else list(node.elts)
            named = {e.value for e in elements if isinstance(e, ast.Constant) and isinstance(e.value, str)}
            if named & FRAMEWORK_ONLY:
                found.append(ast.unparse(node))
    return found


@pytest.mark.parametrize(
    "source",
    [
        'port = 5000 if backend == "flask" else 8000',
        'if service.backend_name != "sanic": pass',
        'asgi = info.backend in ("asgi", "starlette", "fastapi")',
        'CHOICES = ("django", "flask")',
        'PORTS = {"flask": 5000}',
    ],
)
def test_the_table_finder_finds_tables(source: str) -> None:
    assert backend_tables(source)


def test_the_table_finder_leaves_server_and_interface_names_alone() -> None:
    source = 'keeps_alive = server not in ("uwsgi", "sanic")\nPACKAGES = {"wsgi": "gevent", "asgi": "uvicorn-worker"}'
    assert backend_tables(source) == []


def test_no_module_outside_the_registry_keeps_a_table_of_backends() -> None:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(EXEMPT):
            continue
        tables = backend_tables(path.read_text(encoding="utf-8"))
        if tables:
            found[str(path.relative_to(PACKAGE))] = tables
    assert found == {}, "read these facts from utilmeta.core.server.backends.BACKEND_INFO"
