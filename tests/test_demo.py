"""The README's demo: started as a user would, on a free port, answering real HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, deadline: float = 15.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"the demo exited early: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"the demo did not listen on {port} within {deadline}s")


@pytest.fixture(params=["starlette", "flask"])
def demo(request):
    """The demo as ``scripts/demo`` runs it: its default backend, and one other."""
    port = free_port()
    env = {**os.environ, "DEMO_PORT": str(port), "DEMO_API_KEY": "k3y", "DEMO_PRODUCTION": "true"}
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
