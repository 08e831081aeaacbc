"""A representative service for the docs tests: every parameter location, body kinds (JSON,
form, multipart with a file), a response template, nested and reused schemas, and errors.

Importable by a subprocess too: ``make_service(backend, port=...)`` builds the service.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import msgspec

from utilmeta import UtilMeta
from utilmeta.core import api, request, response
from utilmeta.core.file import File
from utilmeta.utils.exceptions import NotFound


class Color(enum.Enum):
    red = "red"
    blue = "blue"


class Address(msgspec.Struct):
    city: Annotated[str, msgspec.Meta(min_length=1, max_length=30)]
    zip: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{5}$")] = "00000"


class UserIn(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=20, description="the display name")]
    age: Annotated[int, msgspec.Meta(ge=0, le=150)]
    color: Color = Color.red
    address: Optional[Address] = None
    tags: list[str] = []


class User(UserIn, kw_only=True):
    id: int


class Filters(msgspec.Struct, kw_only=True):
    page: Annotated[int, msgspec.Meta(ge=1, le=100)] = 1
    size: Annotated[int, msgspec.Meta(ge=1, le=50)] = 10
    color: Optional[Color] = None


class Page(msgspec.Struct):
    items: list[User]
    page: int


class Upload(msgspec.Struct):
    filename: Optional[str]
    size: int
    note: str


class Wrap(response.Response):
    result_key = "data"
    message_key = "msg"
    state_key = "code"


def _user(id: int, data: UserIn | None = None) -> User:
    d = data or UserIn(name="ada", age=36, address=Address(city="London"))
    return User(id=id, name=d.name, age=d.age, color=d.color, address=d.address, tags=d.tags)


class UserAPI(api.API):
    """Users."""

    @api.get("{id}")
    def get(self, id: Annotated[int, request.PathParam(ge=1, description="the user's id")]) -> User:
        """Get one user.

        Ids above 1000 do not exist."""
        if id > 1000:
            raise NotFound(f"no user {id}")
        return _user(id)

    @api.post
    def post(self, user: UserIn = request.Json) -> Wrap[User]:
        """Create a user."""
        return _user(1, user)  # type: ignore[return-value]

    @api.get
    def list(self, filters: Filters = request.Query) -> Page:
        return Page(items=[_user(1)] if filters.color in (None, Color.red) else [], page=filters.page)


class RootAPI(api.API):
    user: UserAPI

    @api.get
    def hello(
        self,
        name: Annotated[str, request.QueryParam(max_length=10, description="who to greet")] = "world",
        times: Annotated[int, request.QueryParam(ge=1, le=3)] = 1,
    ) -> str:
        return " ".join([f"hello {name}"] * times)

    @api.get(tags=["misc"])
    def whoami(
        self,
        token: Annotated[str, request.HeaderParam("X-Token", min_length=1, max_length=40)],
        session: Optional[str] = request.CookieParam(default=None, max_length=40),
    ) -> dict[str, Any]:
        return {"token_length": len(token), "has_session": session is not None}

    @api.post(tags=["misc"])
    def login(
        self,
        username: str = request.BodyParam(min_length=1, max_length=20),
        password: str = request.BodyParam(min_length=1, max_length=20),
    ) -> Wrap[bool]:
        return True  # type: ignore[return-value]

    @api.post(tags=["misc"])
    def upload(self, file: File, note: str = request.BodyParam(default="", max_length=20)) -> Upload:
        return Upload(filename=file.filename, size=file.size, note=note)

    @api.get("items/{slug}", tags=["misc"])
    def item(self, slug: str = request.SlugPathParam(max_length=20)) -> dict[str, str]:
        return {"slug": slug}


def make_service(backend: str = "asgi", *, port: int | None = None, **kwargs: Any) -> UtilMeta:
    """The service on ``backend`` (a fresh one: clear the previous one first)."""
    return UtilMeta(
        __name__,
        backend=backend,
        name="people",
        description="A representative service",
        version="1.0.0",
        api=RootAPI,
        route="/api",
        port=port,
        **kwargs,
    )


def application(backend: str) -> Any:
    """The service's app on ``backend``, to call in-process (several in one test process)."""
    app = make_service(backend).application()
    if backend == "sanic":  # Sanic rewrites its own classes at its first start in a process: a second start fails
        app.config.TOUCHUP = False
    return app


# -- a real server on a loopback port ---------------------------------------------------------------


def free_port() -> int:
    # not netutil's: this module is also the service module of the server subprocesses, where
    # only its own folder is on sys.path
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(what: str, check: Any, timeout: float = 30.0) -> Any:
    """Poll ``check()`` until it returns something true, or fail after ``timeout`` seconds."""
    import time

    end = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < end:
        try:
            last = check()
        except Exception as e:  # not ready yet
            last = e
        else:
            if last:
                return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@contextlib.contextmanager
def running(backend: str, workdir: Path) -> Iterator[str]:
    """This service on ``backend``, run by ``service.run()`` in a subprocess; yields its base URL."""
    import subprocess
    import sys
    import urllib.request

    port = free_port()
    script = workdir / f"serve_{backend}.py"
    repo = Path(__file__).resolve().parents[2]
    script.write_text(
        f"import sys\nsys.path.insert(0, {str(repo)!r})\n"
        "from tests.ops.apis import make_service\n"
        f"make_service({backend!r}, port={port}).run()\n"
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for("the service", lambda: urllib.request.urlopen(f"{base}/api/openapi.json", timeout=2).status == 200)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
