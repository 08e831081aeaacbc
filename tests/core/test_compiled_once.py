"""Nothing is introspected or compiled per request: profile many requests and look."""

from __future__ import annotations

import cProfile
import pstats
import sys
from pathlib import Path

from utilmeta.testing import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from core_app import BenchAPI

FORBIDDEN = {
    "signature",  # inspect
    "get_type_hints",  # typing
    "defstruct",  # msgspec
    "_compile",  # re / our own compile steps
    "compile",
    "_collect",
    "_add",
    "_build",
    "_step_for",
    "converter_for",
}


def test_requests_do_no_introspection_or_compilation():
    client = TestClient(BenchAPI)
    client.get("/hello")  # the router is built before profiling
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(50):
        assert client.get("/hello").status_code == 200
        assert client.get("/items/3", params={"q": "x", "limit": 2}).status_code == 200
        assert client.post("/users", json={"name": "a", "age": 1}).status_code == 200
    profile.disable()
    called = {func for (_file, _line, func) in pstats.Stats(profile).stats}  # type: ignore[attr-defined]
    assert called & FORBIDDEN == set()
    assert "parse" in called  # the profile did see the per-request parsing
