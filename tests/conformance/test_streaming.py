"""Server-sent events stream for real, through each backend's own server (``service.run()``):
the first event reaches the client while the generator is still running, and a client that
goes away closes the generator. Sync services stream ``def`` generators, async ones async
generators (``tests/conformance/app_responses.py``)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import served
from netutil import wait_until

from utilmeta.core.server.service import _clear_service


@pytest.fixture(scope="module")
def server(backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp(f"sse-{backend}")
    with served(backend.name, backend.style, folder, env={"UTILMETA_TEST_SSE_DIR": str(folder)}) as (url, _):
        yield url, folder
    _clear_service()


def next_event(lines: Iterator[str]) -> list[str]:
    """The lines of the next event (up to its blank line)."""
    event: list[str] = []
    for line in lines:
        if not line:
            if event:
                return event
            continue
        event.append(line)
    raise AssertionError(f"the stream ended inside an event: {event}")


def test_first_event_arrives_before_the_generator_finishes(server):
    url, folder = server
    with httpx.stream("GET", f"{url}/api/responses/gated?tag=gate", timeout=20) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream"
        assert r.headers["cache-control"] == "no-cache"
        assert "content-length" not in r.headers
        lines = r.iter_lines()
        assert next_event(lines) == ["event: open", "data: first"]
        # the generator is blocked until this file exists: the first event came while it ran
        (folder / "gate.go").write_text("go")
        assert next_event(lines) == ["data: second"]


def test_client_disconnect_closes_the_generator(server):
    url, folder = server
    with httpx.stream("GET", f"{url}/api/responses/endless?tag=gone", timeout=20) as r:
        assert next_event(r.iter_lines()) == ['data: {"n":0}']
    # leaving the block closed the connection mid-stream
    wait_until(lambda: (folder / "gone.closed").exists(), 20, "the server to close the event generator")
