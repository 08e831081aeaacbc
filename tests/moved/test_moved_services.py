"""Three small services written the way UtilMeta's guides write them (utype parameters, header
schemas, list and multi-part bodies, typed files), each run by ``service.run()`` on a real
backend and spoken to over a socket."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from netutil import free_port, serve_script
from optional import optional_import

HERE = Path(__file__).resolve().parent
PNG = b"\x89PNG\r\n\x1a\n" + bytes(16)


@pytest.fixture(scope="module")
def serve() -> Iterator[Callable[[str, str], httpx.Client]]:
    optional_import("utype", "pip install 'utilmeta[utype]'")
    with contextlib.ExitStack() as stack:

        def run(name: str, backend: str) -> httpx.Client:
            optional_import(backend, f"pip install 'utilmeta[{backend}]'")
            port = free_port()
            stack.enter_context(serve_script(HERE / f"{name}_service.py", port, env={"PORT": str(port)}))
            return stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=10))

        yield run


def problems(r: httpx.Response) -> list[str]:
    assert r.status_code == 400, r.text
    return [e["name"] for e in r.json()["errors"]]


def test_library_on_flask(serve) -> None:
    c = serve("library", "flask")
    assert c.get("/book/search?genre=poetry&page=2").json() == {"genre": "poetry", "page": 2}
    assert problems(c.get("/book/search?page=0")) == ["page"]
    assert c.get("/book/dune?min_copies=2").json() == {"slug": "dune", "available": True}
    assert problems(c.get("/book/dune?min_copies=-1")) == ["min_copies"]
    assert c.post("/book/donate", json=[{"slug": "ulysses", "copies": 2}, {"slug": "beloved"}]).json() == 3
    assert c.post("/book/donate", json={"slug": "walden"}).json() == 1  # one object: a list of one
    assert problems(c.post("/book/donate", json=[{"slug": "UPPER"}])) == ["[0].slug"]
    ok = c.post("/book/borrow", data={"slug": "dune"}, headers={"x-library-card": "AB1234", "X-DAYS": "7"})
    assert ok.json() == {"card": "AB1234", "branch": "central", "days": 7, "slug": "dune", "note": ""}
    assert problems(c.post("/book/borrow", data={"slug": "dune"}, headers={"X-Library-Card": "short"})) == [
        "X-Library-Card"
    ]
    too_long = c.post("/book/borrow", data={"slug": "d"}, headers={"X-Library-Card": "AB1234", "X-Days": "60"})
    assert problems(too_long) == ["x-days"]
    assert c.get("/book/overdue?per_day=0.5&late-days=4").json() == 2.0
    assert problems(c.get("/book/overdue?per_day=0&late-days=2")) == ["per_day"]
    assert problems(c.get("/book/overdue?per_day=1&late-days=0")) == ["late-days"]


def test_gallery_on_starlette(serve) -> None:
    c = serve("gallery", "starlette")
    files = [("cover", ("c.png", PNG, "image/png")), ("photos", ("a.png", PNG, "image/png"))]
    files.append(("photos", ("b.png", PNG, "image/png")))
    ok = c.post("/gallery/album", data={"title": "Alps"}, files=files)
    assert ok.json() == {"title": "Alps", "cover": len(PNG), "photos": ["a.png", "b.png"]}
    wrong = c.post("/gallery/album", data={"title": "Alps"}, files={"cover": ("c.txt", b"x", "text/plain")})
    assert problems(wrong) == ["cover"]
    put = c.put("/gallery/cover/alps", content=PNG, headers={"Content-Type": "image/png"})
    assert put.json() == {"album": "alps", "type": "image/png", "size": len(PNG)}
    assert problems(c.put("/gallery/cover/alps", content=b"{}", headers={"Content-Type": "application/json"})) == [
        "image"
    ]
    voice = c.post("/gallery/voice", files={"memo": ("m.ogg", b"OggS", "audio/ogg")})
    assert voice.json() == {"type": "audio/ogg", "caption": None}
    assert problems(c.post("/gallery/voice", files={"memo": ("m.png", PNG, "image/png")})) == ["memo"]
    assert c.post("/gallery/voice", files={"memo": ("m.ogg", b"x" * 2048, "audio/ogg")}).status_code == 413
    blob = c.post("/gallery/archive", content=b"PK\x03\x04", headers={"Content-Type": "application/zip"})
    assert blob.json() == {"type": "application/zip", "size": 4}
    assert c.post("/gallery/archive", content=b"x" * 5000).status_code == 413


def test_sensors_on_tornado(serve) -> None:
    c = serve("sensors", "tornado")
    assert c.get("/sensors/3/temp?window-min=10").json() == {"zone": 3, "kind": "temp", "window": 10}
    assert problems(c.get("/sensors/13/wind?window-min=90")) == ["zone", "window-min"]
    readings = [{"sensor": "a", "celsius": 20}, {"sensor": "b", "celsius": 21.5}]
    assert c.post("/sensors/readings", json=readings).json() == 20.75
    assert problems(c.post("/sensors/readings", json=[{"sensor": "a", "celsius": 99}])) == ["[0].celsius"]
    assert c.post("/sensors/readings", data={"sensor": "a", "celsius": "1"}).status_code == 415
    tagged = c.post("/sensors/tagged", json={"site": "north", "tags": ["glass"]})
    assert tagged.json() == {"site": "north", "tags": ["glass"]}
    assert c.post("/sensors/calibrate", data={"sensor": "s1", "offset": "0.3"}).json() == {
        "sensor": "s1",
        "keys": ["offset", "sensor"],
    }
    assert c.post("/sensors/note", content=b"dry soil in bed four", headers={"Content-Type": "text/plain"}).json() == 5
    assert c.post("/sensors/note", json="dry").status_code == 415
    assert c.post("/sensors/legacy", data={"site": "south"}).text == "south"
    assert c.post("/sensors/legacy", json={"site": "south"}).status_code == 415
