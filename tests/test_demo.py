"""The README's demo: started as a user would, on a free port, answering real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from netutil import free_port, wait_for_port

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo"


@pytest.fixture(params=["starlette", "flask"])
def demo(request, tmp_path):
    """The demo as ``scripts/demo`` runs it: its default backend, and one other (its SQLite file
    in a fresh folder: created and migrated on this first start)."""
    port = free_port()
    env = {
        **os.environ,
        "DEMO_PORT": str(port),
        "DEMO_API_KEY": "k3y",
        "DEMO_PRODUCTION": "true",
        "DEMO_DB": str(tmp_path / "demo.sqlite3"),
        "DEMO_SECRET_KEY": "a-long-random-test-key-" + "x" * 40,
    }
    if request.param != "starlette":
        env["DEMO_BACKEND"] = request.param
    proc = subprocess.Popen(
        [sys.executable, "server.py"], cwd=DEMO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_demo_serves_its_blog_from_sqlite(demo):
    base, _ = demo
    with httpx.Client(base_url=base) as c:
        page = c.get("/api/posts", params={"tag": "web", "order": "-comments_num", "limit": 1}).json()
        assert page["count"] == 2 and len(page["data"]) == 1
        post = page["data"][0]
        assert post["author"]["name"] == "ann" and post["comments_num"] == 3
        assert [t["name"] for t in post["tags"]] == ["orm", "web"] and len(post["latest_comments"]) == 2
        created = c.post("/api/posts", json={"title": "hello", "author_id": post["author"]["id"], "tags": [1]})
        assert created.status_code == 200 and created.json()["tags"] == [{"id": 1, "name": "orm"}]
        assert c.get(f"/api/posts/{created.json()['id']}").json()["title"] == "hello"
        missing = c.post("/api/posts", json={"title": "x", "author_id": 999})
        assert missing.status_code == 400 and "author" in missing.json()["detail"]
        bad = c.get("/api/posts", params={"order": "bogus"})
        assert bad.status_code == 400 and "query parameter 'order'" in bad.json()["message"]
        found = c.get("/api/posts", params={"search": "declare once", "scope": "id,title,author.name"}).json()
        assert found["data"] == [{"id": post["id"], "title": "Schemas without N+1", "author": {"name": "ann"}}]
        bad = c.get("/api/posts", params={"scope": "id,password"})
        assert bad.status_code == 400 and "query parameter 'scope'" in bad.json()["message"]
        assert c.get("/api/posts/999").status_code == 404


def test_demo_serves_its_apis(demo):
    base, proc = demo
    with httpx.Client(base_url=base) as c:
        assert c.get("/api/hello/you", params={"excited": "1"}).text == "Hello, you!"
        assert c.get("/api/health").json()["status"] == "ok"
        assert c.post("/api/todos", json={"title": "x"}).status_code == 401
        r = c.post("/api/todos", json={"title": "write docs", "tags": ["docs"]}, headers={"X-API-Key": "k3y"})
        assert r.status_code == 201
        todo = r.json()["data"]
        assert todo["title"] == "write docs" and todo["created_at"].endswith("Z")
        listed = c.get("/api/todos", params={"tag": "docs"}).json()
        assert listed["count"] == 1 and listed["data"][0]["id"] == todo["id"]
        bad = c.post("/api/todos", json={"title": "", "tags": ["Bad Tag"]}, headers={"X-API-Key": "k3y"})
        assert bad.status_code == 400 and "title" in bad.json()["message"]
        assert c.get("/api/todos/999").status_code == 404
        assert c.get("/api/todos", params={"limit": 0}).status_code == 400
        patched = c.patch(f"/api/todos/{todo['id']}", json={"done": True}, headers={"X-API-Key": "k3y"})
        assert patched.json()["data"]["done"] is True
    proc.terminate()
    out = proc.communicate(timeout=10)[0]
    assert f"at {base}/api" in out.splitlines()[0]


def test_the_url_the_banner_shows_answers_with_the_way_to_the_docs():
    # scripts/demo in development: the first URL the user sees is the banner's
    port = free_port()
    env = {**os.environ, "DEMO_PORT": str(port)}
    env.pop("DEMO_PRODUCTION", None)
    proc = subprocess.Popen(
        [sys.executable, "server.py"], cwd=DEMO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_for_port(port, proc)
        assert proc.stdout is not None
        banner = proc.stdout.readline().strip()
        url = banner.rpartition(" at ")[2]
        assert url == f"http://127.0.0.1:{port}/api", banner
        assert proc.stdout.readline().rstrip() == f"  API docs: {url}/docs"  # the banner's second line
        with httpx.Client() as c:
            index = c.get(url)
            assert index.status_code == 200, index.text
            links = index.json()
            assert (links["name"], links["version"]) == ("demo", "0.1.0")
            assert ("GET", "/api/todos") in {(r["method"], r["path"]) for r in links["routes"]}
            origin = url.removesuffix("/api")
            assert c.get(origin + links["docs"]).headers["content-type"].startswith("text/html")
            assert c.get(origin + links["openapi"]).json()["info"]["title"] == "demo"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_scripts_demo_on_a_port_in_use_is_one_line():
    # the README's first command, while another program holds the port
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "DEMO_PORT": str(port)}
        done = subprocess.run(
            [str(DEMO.parent.parent / "scripts" / "demo")], env=env, capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 1
    assert done.stderr == (
        f"utilmeta: error: 127.0.0.1:{port} is in use by another program: stop it, or choose another "
        "with DEMO_PORT=... in the environment\n"
    )
    assert "UtilMeta service" not in done.stdout
