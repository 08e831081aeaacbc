"""The README's service sample runs as printed, on the backend it names, and answers as it says."""

from __future__ import annotations

import json
import os
import re
import sys
import types
from pathlib import Path

import httpx
import pytest
from netutil import free_port, serve_script
from optional import optional_import

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


@pytest.fixture()
def readme_service():
    optional_import("flask", "pip install 'utilmeta[flask]'")
    (source,) = [b for b in python_blocks() if "UtilMeta(" in b]
    module = types.ModuleType("readme_server")
    sys.modules[module.__name__] = module
    try:
        exec(compile(source.replace("__name__", repr(module.__name__)), str(README), "exec"), module.__dict__)
        yield module
    finally:
        sys.modules.pop(module.__name__, None)


def test_readme_service_answers_as_documented(readme_service: types.ModuleType) -> None:
    import flask

    app = readme_service.app
    assert isinstance(app, flask.Flask)  # "the native Flask app"
    with app.test_client() as client:
        assert client.get("/api/hello").text == "world"
        one = client.get("/api/user/3?fields=name")
        assert one.json == {"data": {"id": 3, "fields": ["name"]}, "msg": ""}
        assert client.get("/api/user/300").status_code == 404
        created = client.post("/api/user", json={"name": "a", "age": 3})
        assert created.json["data"] == {"name": "a", "age": 3}
        templated, problem = (json.loads(b) for b in re.findall(r"```json\n(.*?)```", README.read_text(), re.S))
        bad = client.get("/api/user/x")
        assert bad.status_code == 400 and bad.json == templated
        wrong = client.post("/api/hello")
        assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET, HEAD, OPTIONS"
        assert wrong.headers["Content-Type"] == "application/problem+json"
        assert {**wrong.json, "request_id": problem["request_id"]} == problem


def test_the_urls_the_readme_shows_answer(tmp_path: Path) -> None:
    # the user copies the sample to server.py and runs `python server.py` (here on a free port,
    # not Flask's 5000), then opens the URLs the README names: the index, the docs page, the document
    optional_import("flask", "pip install 'utilmeta[flask]'")
    (source,) = [b for b in python_blocks() if "UtilMeta(" in b]
    port = free_port()
    assert 'route="/api")' in source
    script = tmp_path / "server.py"
    script.write_text(source.replace('route="/api")', f'route="/api", port={port})'))
    urls = sorted(set(re.findall(r"http://127\.0\.0\.1:5000(/[\w./]*\w)", README.read_text())))
    assert urls == ["/api", "/api/docs", "/api/openapi.json"]
    root = Path(__file__).resolve().parent.parent
    env = {"PYTHONPATH": os.pathsep.join(filter(None, (str(root), os.environ.get("PYTHONPATH"))))}
    with serve_script(script, port, env=env), httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        index = client.get("/api")
        assert index.status_code == 200, index.text
        links = index.json()
        assert (links["name"], links["docs"], links["openapi"]) == ("demo", "/api/docs", "/api/openapi.json")
        assert {(r["method"], r["path"]) for r in links["routes"]} >= {("GET", "/api/hello"), ("POST", "/api/user")}
        page = client.get("/api/docs")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert client.get("/api/openapi.json").json()["info"]["title"] == "demo"
