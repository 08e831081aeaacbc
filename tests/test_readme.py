"""The README's service sample runs as printed, on the backend it names, and answers as it says."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pytest
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
