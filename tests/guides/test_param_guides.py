"""Three small services written the way UtilMeta's guides write them (``*_service.py`` beside this
file: a library on flask, weather stations on starlette, a help desk on django), each served by
its own ``service.run()`` on a free port and asked what its guide says it answers."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netutil import free_port, serve_script

HERE = Path(__file__).resolve().parent


def _serve(name: str, backend: str) -> Iterator[httpx.Client]:
    pytest.importorskip(backend)
    port = free_port()
    with serve_script(HERE / f"{name}_service.py", port, env={"GUIDE_PORT": str(port)}, stop_timeout=10):
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=10) as client:
            yield client


@pytest.fixture(scope="module")
def library() -> Iterator[httpx.Client]:
    yield from _serve("library", "flask")


@pytest.fixture(scope="module")
def weather() -> Iterator[httpx.Client]:
    yield from _serve("weather", "starlette")


@pytest.fixture(scope="module")
def helpdesk() -> Iterator[httpx.Client]:
    yield from _serve("helpdesk", "django")


KEY = {"X-Api-Key": "reader-key"}


def test_library_general_header_and_shelf_slug(library):
    r = library.get("/catalog/shelves/sci-fi", headers=KEY)
    assert r.status_code == 200 and [b["title"] for b in r.json()] == ["Dune", "Hyperion"]
    r = library.get("/catalog/shelves/sci-fi")
    assert r.status_code == 400 and r.json()["errors"][0]["name"] == "x-api-key"
    assert library.get("/catalog/shelves/sci-fi", headers={"X-Api-Key": "other"}).status_code == 401
    assert library.get("/catalog/shelves/cooking", headers=KEY).status_code == 404  # raised in __init__
    assert library.get("/catalog/shelves/Sci_Fi", headers=KEY).status_code == 404  # not a slug


def test_library_page_may_be_left_out_and_bodies_reach_the_shelf(library):
    assert library.get("/catalog/shelves/sci-fi/page", headers=KEY).json()[0]["title"] == "Dune"
    assert library.get("/catalog/shelves/sci-fi/page/2", headers=KEY).json()[0]["title"] == "Hyperion"
    assert library.get("/catalog/shelves/sci-fi/page/0", headers=KEY).status_code == 400
    r = library.post("/catalog/shelves/poetry", headers=KEY, json={"isbn": "9780140424393", "title": "Odes"})
    assert r.json() == {"isbn": "9780140424393", "title": "Odes"}
    assert library.get("/catalog/search/title?q=ODE", headers=KEY).json() == ["Odes"]
    assert library.get("/catalog/search/author?q=x", headers=KEY).status_code == 400


def test_weather_general_query_cookie_and_hook_path_param(weather):
    assert weather.get("/whoami").json() == {"data": "guest", "msg": ""}
    assert weather.get("/whoami", headers={"Cookie": "session=s9"}).json() == {"data": "s9", "msg": ""}
    r = weather.get("/stations/oslo-blindern/readings/2024-01-15", params={"unit": "f"})
    assert r.json()["data"] == {
        "station": "oslo-blindern",
        "day": "2024-01-15",
        "unit": "f",
        "temperatures": [18.5, 26.6, 15.35],
    }
    assert weather.get("/stations/oslo-blindern/readings/2024-01-15", params={"unit": "k"}).status_code == 400
    assert weather.get("/stations/oslo-blindern/readings/15-01-2024").status_code == 400
    assert weather.get("/stations/oslo-blindern/readings/2024-01-16").status_code == 404
    assert weather.get("/stations/closed-bergen/exports/a.csv").status_code == 410  # the hook's slug
    assert weather.get("/stations/oslo-blindern/exports/2024/jan.csv").json()["data"] == "oslo-blindern:2024/jan.csv"


def test_helpdesk_regex_path_literal_header_and_error_hook(helpdesk):
    alice = {"X-Agent": "alice"}
    assert helpdesk.get("/tickets/NET-101", headers=alice).json()["title"] == "VPN drops"
    assert helpdesk.get("/tickets/net-101", headers=alice).status_code == 404  # the regex does not match
    r = helpdesk.get("/tickets/XX-9", headers=alice)
    assert (r.status_code, r.json()) == (404, {"missing": "ticket XX-9 not found", "agent": "alice"})
    r = helpdesk.get("/tickets/NET-101", headers={"X-Agent": "eve"})
    assert r.status_code == 400 and "'alice', 'bob'" in r.json()["errors"][0]["message"]
    assert helpdesk.get("/tickets/list/closed", headers=alice).json() == ["HR-7"]
    assert helpdesk.get("/tickets/list/closed/2", headers=alice).json() == []
    r = helpdesk.post("/tickets/NET-101/close", headers={"X-Agent": "bob"})
    assert r.json() == {"code": "NET-101", "title": "VPN drops (closed by bob)", "status": "closed"}
    assert helpdesk.get("/tickets/list/closed", headers=alice).json() == ["HR-7", "NET-101"]
