"""The service object: constructor, use/setup, hooks, one service per process, async rules."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from backends_table import FRAMEWORKS

import utilmeta
from utilmeta import UtilMeta
from utilmeta.conf import Preference, Time
from utilmeta.core import api
from utilmeta.core.server.service import _clear_service
from utilmeta.testing import AsyncTestClient, TestClient
from utilmeta.utils.exceptions import SetupError


class RootAPI(api.API):
    @api.get
    def hello(self) -> str:
        return "world"


def test_constructor_defaults_and_version_tuple():
    s = UtilMeta(__name__, backend="wsgi", name="demo", version=(0, 1, 0), description="d")
    assert (s.name, s.version, s.host, s.port, s.production, s.asynchronous) == (
        "demo",
        "0.1.0",
        "127.0.0.1",
        8000,
        False,
        False,
    )
    assert s.base_url == "http://127.0.0.1:8000"
    _clear_service()
    assert UtilMeta(__name__, backend="asgi", name="demo").asynchronous is True


def test_bad_constructor_arguments():
    with pytest.raises(SetupError, match="unknown backend 'nope'"):
        UtilMeta(__name__, backend="nope")
    with pytest.raises(SetupError, match="version must be"):
        UtilMeta(__name__, backend="wsgi", version=1.2)  # type: ignore[arg-type]
    with pytest.raises(SetupError, match="port"):
        UtilMeta(__name__, backend="wsgi", port=70000)
    with pytest.raises(SetupError, match="cannot serve an asynchronous"):
        UtilMeta(__name__, backend="wsgi", asynchronous=True)
    with pytest.raises(SetupError, match="not a supported framework"):
        UtilMeta(__name__, backend=object())


def test_from_utilmeta_import_service():
    with pytest.raises(ImportError, match="no UtilMeta service has been created"):
        from utilmeta import service
    s = UtilMeta(__name__, backend="wsgi", name="x")
    from utilmeta import service

    assert service is s and utilmeta.service is s


def test_a_second_different_service_is_refused():
    UtilMeta(__name__, backend="wsgi", name="first")
    with pytest.raises(SetupError, match="only one service"):
        UtilMeta("another.module", backend="wsgi", name="second")


def _python(tmp_path: Path, script: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "server.py").write_text(script)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (os.getcwd(), os.environ.get("PYTHONPATH"))))}
    return subprocess.run(
        [sys.executable, "server.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def test_two_services_in_one_module_are_refused(tmp_path: Path):
    # `python server.py` where the module creates two services: the second is refused, naming the first
    done = _python(
        tmp_path,
        "from utilmeta import UtilMeta\n"
        "first = UtilMeta(__name__, backend='wsgi', name='first')\n"
        "second = UtilMeta(__name__, backend='wsgi', name='second')\n",
    )
    assert done.returncode == 1
    assert "SetupError: a UtilMeta service ('first', created in __main__ at line 2) already exists" in done.stderr
    assert "only one service can be created per process" in done.stderr


def test_a_factory_called_again_re_creates_its_service_but_a_second_call_is_refused():
    def build(name: str) -> UtilMeta:
        return UtilMeta(__name__, backend="wsgi", name=name)

    first = build("demo")
    assert build("demo") is not first  # the same declaration made again replaces the service
    with pytest.raises(SetupError, match=r"\('demo', created in .* at line \d+\) already exists"):
        UtilMeta(__name__, backend="wsgi", name="other")


def test_a_module_run_again_re_creates_its_service(tmp_path: Path):
    # `python server.py` then `import server` (and a reload of it) run the same UtilMeta(...) again:
    # the new service replaces the old one
    done = _python(
        tmp_path,
        "import importlib\n"
        "import utilmeta\n"
        "from utilmeta import UtilMeta\n"
        "service = UtilMeta(__name__, backend='wsgi', name='demo')\n"
        "if __name__ == '__main__':\n"
        "    import server\n"
        "    assert utilmeta.service is server.service is not service\n"
        "    importlib.reload(server)\n"
        "    assert utilmeta.service is server.service\n"
        "    print('replaced')\n",
    )
    assert (done.returncode, done.stdout.strip()) == (0, "replaced"), done.stderr


def test_use_same_config_twice_and_setup_idempotent():
    calls = []

    class Tracking(Preference):
        def setup(self, service):
            calls.append("setup")

    s = UtilMeta(__name__, backend="wsgi")
    assert s.use(Tracking()) is s
    with pytest.raises(SetupError, match="already used"):
        s.use(Tracking())
    with pytest.raises(SetupError, match="takes a config object"):
        s.use("nope")  # type: ignore[arg-type]
    s.use(Time(time_zone="UTC"))
    s.setup()
    s.setup()
    assert calls == ["setup"]
    assert isinstance(s.get_config(Preference), Tracking)
    with pytest.raises(SetupError, match="after setup"):
        s.use(Preference.__new__(type("Late", (Preference,), {})))


def test_api_reference_string_is_resolved_lazily(tmp_path, monkeypatch):
    pkg = tmp_path / "lazyservice"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "api.py").write_text(
        "from utilmeta.core import api\n"
        "IMPORTED = True\n"
        "class RootAPI(api.API):\n"
        "    @api.get\n"
        "    def hello(self):\n"
        "        return 'world'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    s = UtilMeta(__name__, backend="wsgi", api="lazyservice.api.RootAPI", route="/api")
    assert "lazyservice.api" not in sys.modules
    assert TestClient(s).get("/api/hello").text == "world"
    _clear_service()
    bad = UtilMeta(__name__, backend="wsgi", api="lazyservice.api.Missing")
    with pytest.raises(SetupError, match="has no attribute 'Missing'"):
        bad.application()


def test_hooks_return_the_function_and_run_once():
    s = UtilMeta(__name__, backend="wsgi", api=RootAPI)
    ran: list[str] = []

    def start() -> None:
        ran.append("start")

    def stop() -> None:
        ran.append("stop")

    assert s.on_startup(start) is start
    assert s.on_shutdown(stop) is stop
    with TestClient(s) as c:
        assert c.get("/hello").text == "world"
        s.startup()
    s.shutdown()
    assert ran == ["start", "stop"]


def test_async_hook_in_sync_service_is_refused():
    s = UtilMeta(__name__, backend="wsgi")

    async def hook() -> None:
        pass

    with pytest.raises(SetupError, match="is async but the service is synchronous"):
        s.on_startup(hook)


async def test_async_hooks_in_async_service():
    s = UtilMeta(__name__, backend="asgi", api=RootAPI)
    ran: list[str] = []

    @s.on_startup
    async def start() -> None:
        await asyncio.sleep(0)
        ran.append("start")

    @s.on_shutdown
    def stop() -> None:
        ran.append("stop")

    async with AsyncTestClient(s) as c:
        assert (await c.get("/hello")).text == "world"
    assert ran == ["start", "stop"]


def test_async_endpoint_in_sync_service_is_a_setup_error_naming_it():
    class AsyncAPI(api.API):
        @api.get
        async def slow(self) -> str:
            return "x"

    s = UtilMeta(__name__, backend="wsgi", api=AsyncAPI)
    with pytest.raises(SetupError, match=r"AsyncAPI\.slow .*asynchronous=True"):
        s.application()


class MixedAPI(api.API):
    @api.get
    async def native(self) -> str:
        await asyncio.sleep(0)
        return "async"

    @api.get
    def blocking(self) -> str:
        time.sleep(0.3)
        return threading.current_thread().name

    @api.get
    async def probe(self) -> str:
        return "alive"


async def test_sync_endpoints_in_async_service_run_in_a_thread_pool():
    s = UtilMeta(__name__, backend="asgi", api=MixedAPI)
    c = AsyncTestClient(s)
    assert (await c.get("/native")).text == "async"
    slow = [asyncio.create_task(c.get("/blocking")) for _ in range(2)]
    await asyncio.sleep(0.05)
    # the loop still answers while both blocking calls sleep in worker threads
    started = time.perf_counter()
    assert (await c.get("/probe")).text == "alive"
    assert time.perf_counter() - started < 0.25
    names = [(await t).text for t in slow]
    assert all(n.startswith("utilmeta-sync") for n in names)


def test_sync_client_drives_an_async_service():
    s = UtilMeta(__name__, backend="asgi", api=MixedAPI)
    with TestClient(s) as c:
        assert c.get("/native").text == "async"
        assert c.get("/blocking").status_code == 200


def test_application_of_the_bare_backends():
    from utilmeta.core.server.backends.asgi import ASGIApp
    from utilmeta.core.server.backends.wsgi import WSGIApp

    assert isinstance(UtilMeta(__name__, backend="wsgi", api=RootAPI).application(), WSGIApp)
    _clear_service()
    assert isinstance(UtilMeta(__name__, backend="asgi", api=RootAPI).application(), ASGIApp)


def test_missing_framework_names_the_extra(monkeypatch):
    from utilmeta.core.server import backends

    monkeypatch.setitem(backends.BACKENDS, "flask", "utilmeta_missing_module_for_test:X")
    with pytest.raises(SetupError):
        backends.load("flask")


def _loaded_in_a_fresh_process(code: str, modules: set[str]) -> list[str]:
    """Which of ``modules`` a new interpreter has imported after running ``code``."""
    probe = f"{code}\nimport sys\nprint(','.join(sorted(m for m in {sorted(modules)!r} if m in sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


def test_import_loads_no_web_framework():
    code = (
        "import utilmeta, utilmeta.core.api, utilmeta.core.request, utilmeta.core.response, utilmeta.conf\n"
        "from utilmeta import UtilMeta\n"
    )
    frameworks = {b.module for b in FRAMEWORKS if b.module} | {"uvicorn", "pydantic"}
    assert _loaded_in_a_fresh_process(code, frameworks | {"werkzeug", "python_multipart", "multipart"}) == []


def test_seed_placeholder_signature_runs_unchanged():
    # seed 001 opens with `service = UtilMeta(__name__, ...)`
    service = UtilMeta(__name__, ...)
    assert service.backend_name == "wsgi"
    _clear_service()
    assert UtilMeta(__name__, "asgi").asynchronous is True


def test_a_production_service_loads_only_what_it_uses():
    # the import time of a service is part of its start-up cost: the document builder, the docs
    # page, Env's file readers, time zones and upload spooling are loaded only when used
    code = (
        "from utilmeta import UtilMeta\n"
        "from utilmeta.core import api\n"
        "class RootAPI(api.API):\n"
        "    @api.get\n"
        "    def hello(self) -> str:\n"
        "        return 'world'\n"
        "app = UtilMeta(__name__, backend='wsgi', api=RootAPI, production=True).application()\n"
    )
    unused = {"utilmeta.ops.openapi", "utilmeta.ops.docs", "utilmeta.conf.env", "utilmeta.conf.logging"}
    unused |= {"zoneinfo", "tempfile", "configparser", "html", "pathlib", "subprocess", "asyncio", "dataclasses"}
    assert _loaded_in_a_fresh_process(code, unused) == []


def test_a_misspelt_backend_names_the_closest_one(tmp_path: Path):
    done = _python(tmp_path, "from utilmeta import UtilMeta\nservice = UtilMeta(__name__, backend='flaks')\n")
    assert done.returncode == 1
    assert "unknown backend 'flaks' (did you mean 'flask'?); choose one of: " in done.stderr


@pytest.mark.parametrize(
    ("ref", "hint"),
    [
        ("api.RootApi", "module 'api' has no attribute 'RootApi' (did you mean 'RootAPI'?)"),
        ("apis.RootAPI", "cannot import 'apis': No module named 'apis' (did you mean 'api'?)"),
        ("pkg.handlers.RootAPI", "No module named 'pkg.handlers' (did you mean 'pkg.handler'?)"),
    ],
)
def test_a_misspelt_api_reference_names_the_closest_one(tmp_path: Path, ref: str, hint: str):
    api_code = (
        "from utilmeta.core import api\nclass RootAPI(api.API):\n    @api.get\n    def hello(self): return 'hi'\n"
    )
    (tmp_path / "api.py").write_text(api_code)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "handler.py").write_text(api_code)
    done = _python(
        tmp_path,
        f"from utilmeta import UtilMeta\nservice = UtilMeta(__name__, backend='wsgi', api={ref!r})\n"
        "app = service.application()\n",
    )
    assert done.returncode == 1
    assert f"SetupError: api={ref!r}: " in done.stderr and hint in done.stderr, done.stderr


def test_run_on_an_address_not_of_this_machine_is_one_line(tmp_path: Path):
    # 192.0.2.1 is reserved for documentation: no machine has it
    done = _python(
        tmp_path,
        "from utilmeta import UtilMeta\n"
        "service = UtilMeta(__name__, backend='wsgi', host='192.0.2.1', port=8000)\n"
        "service.run()\n",
    )
    assert done.returncode == 1
    assert done.stderr == (
        "utilmeta: error: cannot listen on 192.0.2.1:8000: Cannot assign requested address; "
        "choose another with UtilMeta(host=..., port=...) or service.run(host=..., port=...)\n"
    )
