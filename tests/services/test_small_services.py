"""Two small services written the way UtilMeta's guides write them (``library.py`` on flask,
``kitchen.py`` on starlette), served by their backend's own server and used over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from netutil import free_port, serve_script

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def library() -> Iterator[httpx.Client]:
    port = free_port()
    with serve_script(HERE / "library.py", port, env={"SERVICE_PORT": str(port)}):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=10) as client:
            yield client


@pytest.fixture(scope="module")
def kitchen() -> Iterator[str]:
    port = free_port()
    with serve_script(HERE / "kitchen.py", port, env={"SERVICE_PORT": str(port)}):
        yield f"http://127.0.0.1:{port}/api"


def test_library_loans(library):
    r = library.post("/book/1/loan", headers={"X-Member": "ann"})
    assert r.status_code == 200
    assert r.json() == {"data": {"id": 1, "member": "ann"}, "msg": "enjoy", "state": 200}
    assert "last_loan=1" in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
    r = library.post("/book/2/loan", headers={"X-Member": "bob"})
    assert (r.status_code, r.json()) == (409, {"data": None, "msg": "already on loan", "state": "taken"})
    r = library.post("/book/9/loan", headers={"X-Member": "bob"})
    assert (r.status_code, r.json()["msg"]) == (404, "no such book")
    r = library.get("/book/9")
    assert (r.status_code, r.json()["msg"]) == (404, "path '/book/9' not found")
    r = library.post("/book/1/loan")  # the member header is missing: the generic hook, a 400
    assert r.status_code == 400 and "x-member" in r.json()["msg"].lower()


def test_library_files_and_upgrade(library):
    r = library.get("/book/catalogue")
    assert r.content == (HERE / "catalogue.csv").read_bytes()
    assert r.headers["content-type"] == "text/csv"
    r = library.get("/secure")
    assert (r.status_code, r.json()["detail"]) == (426, "upgrade to HTTPS required")


def test_kitchen_ticker(kitchen):
    with httpx.stream("GET", f"{kitchen}/order/7/progress", timeout=10) as r:
        assert r.headers["content-type"] == "text/event-stream"
        text = r.read().decode()
    assert text.count("event: step") == 3 and '"step":"plated"' in text and "id: 2" in text
    r = httpx.get(f"{kitchen}/order/8/progress", timeout=10)
    assert (r.status_code, r.json()) == (404, {"error": "order 8 unknown"})
    r = httpx.get(f"{kitchen}/order/queue", timeout=10)
    assert (r.json(), r.headers["x-queue-length"]) == ([7], "1")


@pytest.fixture(scope="module")
def forum() -> Iterator[httpx.Client]:
    port = free_port()
    with serve_script(HERE / "forum.py", port, env={"SERVICE_PORT": str(port)}):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=10) as client:
            yield client


def test_forum_error_hook_in_the_tutorial_style(forum):
    r = forum.post("/post/1/vote?weight=3")
    assert (r.status_code, r.json()["votes"]) == (200, 3)
    r = forum.post("/post/1/vote?weight=9")
    assert r.status_code == 422
    body = r.json()
    assert body["errors"][0]["name"] == "weight" and "weight" in body["msg"]
    r = forum.get("/post/7")
    assert (r.status_code, r.json()) == (404, {"errors": None, "msg": "post 7 not found"})
