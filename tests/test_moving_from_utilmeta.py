"""Every code sample of ``docs/moving-from-utilmeta.md`` runs as printed and answers as the page
says. Each sample starts with a ``# <file>.py`` line: that is the file it is written to; the
Django and Tornado samples are served by their framework's own server, in a subprocess."""

from __future__ import annotations

import re
import sys
import textwrap
import types
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from netutil import free_port, serve_script

from utilmeta.testing import TestClient

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "moving-from-utilmeta.md"


def samples() -> dict[str, str]:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    named = {}
    for block in blocks:
        first, _, _ = block.partition("\n")
        assert first.startswith("# ") and first.endswith(".py"), f"a sample without its file name: {first!r}"
        named[first[2:]] = block
    return named


def test_every_sample_is_run_here() -> None:
    assert set(samples()) == {"notes_service.py", "calc_flask.py", "urls.py", "tornado_app.py", "mount_flask.py"}


@pytest.fixture()
def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Run a sample as a module (written to its file in a temporary folder, the working directory)."""
    monkeypatch.chdir(tmp_path)
    loaded: list[str] = []

    def run(name: str) -> types.ModuleType:
        path = tmp_path / name
        path.write_text(samples()[name])
        module = types.ModuleType(path.stem)
        module.__file__ = str(path)
        sys.modules[module.__name__] = module
        loaded.append(module.__name__)
        exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
        return module

    yield run
    for name in loaded:
        sys.modules.pop(name, None)


def test_notes_service(load, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    module = load("notes_service.py")
    with TestClient(module.service) as client:
        r = client.get("/api/board/summary", params={"board": "home"})
        assert r.json() == {"data": {"board": "home", "notes": ["home: buy milk"]}, "msg": ""}
        assert r.headers["x-served-by"] == "notes"
        assert client.delete("/api/board/follow", params={"board": "home"}).json()["data"] == "unfollowed home"
        assert client.post("/api/board/follow", params={"board": "home"}).json()["data"] == "following home"
        assert client.get("/api/board/home/notes").json()["data"] == ["home: buy milk"]
        assert client.get("/api/hello").headers["x-hello"] == "notes"
        docs = client.get("/api/docs")
        assert docs.headers["content-type"] == "application/json"
        assert "/board/summary" in docs.json()["paths"]
    assert (tmp_path / "openapi.json").is_file()


def test_calc_flask(load) -> None:  # type: ignore[no-untyped-def]
    app = load("calc_flask.py").app
    with app.test_client() as client:
        assert client.get("/calc/add?a=-1&b=2").json == {"data": 1, "msg": ""}
        assert "Hello, World!" in client.get("/").text


def test_mount_flask(load) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    app = load("mount_flask.py").app

    async def call() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.get("/v1/hello")

    r = asyncio.run(call())
    assert (r.status_code, r.text) == (200, "<p>Hello, flask!</p>")


def calc_module() -> str:
    """``calc.py``: the ``CalcAPI`` class of the Flask sample, without the Flask app."""
    source = samples()["calc_flask.py"]
    start = source.index("class CalcAPI")
    return "from utilmeta.core import api, response\n\n\n" + source[start : source.index("CalcAPI.__as__")]


RUN_DJANGO = """
import sys

import django
from django.conf import settings

settings.configure(DEBUG=False, SECRET_KEY="guide", ALLOWED_HOSTS=["127.0.0.1"], ROOT_URLCONF="urls")
django.setup()
from django.core.management import execute_from_command_line

execute_from_command_line([sys.argv[0], "runserver", "127.0.0.1:{port}", "--noreload"])
"""

RUN_TORNADO = """
import asyncio

from tornado_app import make_app


async def main():
    make_app().listen({port}, address="127.0.0.1")
    await asyncio.Event().wait()


asyncio.run(main())
"""


@pytest.mark.parametrize(
    ("sample", "runner", "home"), [("urls.py", RUN_DJANGO, "Django"), ("tornado_app.py", RUN_TORNADO, "Tornado")]
)
def test_calc_in_django_and_tornado(tmp_path: Path, sample: str, runner: str, home: str) -> None:
    (tmp_path / "calc.py").write_text(calc_module())
    (tmp_path / sample).write_text(samples()[sample])
    port = free_port()
    script = tmp_path / "serve.py"
    script.write_text(textwrap.dedent(runner).format(port=port))
    with serve_script(script, port, stop_timeout=10):
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(base + "/calc/add?a=-1&b=2", timeout=10).json() == {"data": 1, "msg": ""}
        assert httpx.get(base + "/", timeout=10).text == f"Hello, {home}!"
