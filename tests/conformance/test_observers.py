"""Request observers on every backend: ``started``, ``failed`` and ``finished`` with the values the
client saw, the same events as the core's in-process reference; and a service that observes
nothing runs no observer code at all."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app import make_service
from backends_table import Cell
from harness import Answer, Client, served
from observed import Recorder, read

from utilmeta import UtilMeta
from utilmeta.conf import Logging
from utilmeta.conf._access import ACCESS_LOG, ACCESS_LOGGER
from utilmeta.core import api
from utilmeta.core.api.plugin import Plugin
from utilmeta.core.api.router import ObservedRouter, Router
from utilmeta.core.response import Response
from utilmeta.core.server.service import _clear_service
from utilmeta.testing import TestClient
from utilmeta.utils.exceptions import SetupError

USER = b'{"name":"ann","age":3}'

#: id → (method, url, httpx keyword arguments, the exception ``failed`` reports or None)
CASES: dict[str, tuple[str, str, dict[str, Any], str | None]] = {
    "text": ("GET", "/api/hello", {}, None),
    "json-body": ("POST", "/api/users", {"content": USER, "headers": {"Content-Type": "application/json"}}, None),
    "server-error": ("GET", "/api/crash", {}, "RuntimeError"),
    "not-found": ("GET", "/api/nope/deeper", {}, "NotFound"),
    "bad-body": (
        "POST",
        "/api/users",
        {"content": b'{"name": ', "headers": {"Content-Type": "application/json"}},
        "ParseError",
    ),
    "head": ("HEAD", "/api/json", {}, None),
}


def send_all(client: Client | TestClient, prefix: str) -> dict[str, Answer]:
    answers = {}
    for case, (method, url, kwargs, _) in CASES.items():
        headers = {**kwargs.get("headers", {}), "X-Request-ID": f"{prefix}-{case}"}
        sent = {**kwargs, "headers": headers}
        if isinstance(client, TestClient):
            r = client.request(method, url, headers=headers, content=kwargs.get("content"))
            answers[case] = Answer(r.status_code, dict(r.headers), r.content)
        else:
            answers[case] = client.send(method, url, **sent)
    return answers


def by_request(events: list[dict[str, Any]], prefix: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {case: [] for case in CASES}
    for event in events:
        case = event["id"].removeprefix(prefix + "-")
        if case in out:
            out[case].append(event)
    return out


@contextlib.contextmanager
def observed(cell: Cell, tmp: pytest.TempPathFactory) -> Iterator[tuple[Client, Any]]:
    """A client over the backend and a function returning the events the service's observer saw."""
    name, style = cell.name, cell.style
    if cell.own_server:
        folder = tmp.mktemp(f"observed-{name}-{style}")
        path = str(folder / "events.jsonl")
        with served(name, style, folder, env={"UTILMETA_TEST_OBSERVE_FILE": path}) as (url, _proc):
            client = Client(base_url=url)
            try:
                yield client, lambda: read(path)
            finally:
                client.close()
    else:
        service = make_service(name, style)
        recorder = service.observe(Recorder())
        client = Client(service.application())
        try:
            yield client, lambda: list(recorder.events)
        finally:
            client.close()
            _clear_service()


def reference_events(style: str) -> dict[str, list[dict[str, Any]]]:
    service = make_service("wsgi" if style == "sync" else "asgi", style)
    recorder = service.observe(Recorder())
    client = TestClient(service)
    try:
        send_all(client, "obs")
    finally:
        client.close()
        _clear_service()
    return by_request(recorder.events, "obs")


def _comparable(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "duration"}


def test_an_observer_sees_each_request(backend: Cell, tmp_path_factory: pytest.TempPathFactory) -> None:
    style = backend.style
    with observed(backend, tmp_path_factory) as (client, events):
        answers = send_all(client, "obs")
        # the router reports before the adaptor writes: every event is in by the time of the answer
        seen = by_request(events(), "obs")
    want = reference_events(style)
    for case, (method, _url, kwargs, error) in CASES.items():
        got = seen[case]
        kinds = [e["event"] for e in got]
        assert kinds == (["started", "failed", "finished"] if error else ["started", "finished"]), (case, got)
        started, finished = got[0], got[-1]
        assert (started["method"], started["id"]) == (method, f"obs-{case}")
        answer = answers[case]
        assert finished["status"] == answer.status, case
        assert finished["response_size"] == len(answer.body), case
        assert finished["request_size"] == len(kwargs.get("content", b"")), case
        assert isinstance(finished["duration"], float) and finished["duration"] >= 0
        if error:
            assert got[1]["error"] == error, case
        assert [_comparable(e) for e in got] == [_comparable(e) for e in want[case]], case
    assert seen["server-error"][1]["text"] == "internal detail 42"
    assert seen["head"][-1]["response_size"] == 0 and seen["text"][-1]["response_size"] == len(b"world")


# -- registration, and what a service that observes nothing pays ------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    access = logging.getLogger(ACCESS_LOGGER)
    handlers, level, access_level = list(root.handlers), root.level, access.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    access.setLevel(access_level)


def _called_files(client: TestClient, path: str) -> set[str]:
    """The source files of every Python function called while the request is served."""
    files: set[str] = set()

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            files.add(frame.f_code.co_filename)

    sys.setprofile(profile)
    try:
        response = client.get(path)
    finally:
        sys.setprofile(None)
    assert response.status_code == 200
    return files


def _observer_code(files: set[str]) -> set[str]:
    ours = (str(Path("utilmeta", "core", "api", "observer.py")), str(Path("utilmeta", "conf", "_access.py")))
    return {f for f in files if f.endswith(ours) or f.endswith(str(Path("conformance", "observed.py")))}


def test_a_service_that_observes_nothing_runs_no_observer_code(restore_logging: None) -> None:
    service = make_service("wsgi", "sync")
    service.use(Logging(access_log=False))
    assert service.observers == []
    client = TestClient(service)
    assert type(service.router) is Router
    assert _observer_code(_called_files(client, "/api/hello")) == set()


def test_the_probe_sees_observer_code_when_something_observes() -> None:
    service = make_service("wsgi", "sync")
    recorder = service.observe(Recorder())
    client = TestClient(service)
    assert isinstance(service.router, ObservedRouter)
    files = _observer_code(_called_files(client, "/api/hello"))
    assert any(f.endswith("observed.py") for f in files)  # the recorder ran
    assert any(f.endswith("_access.py") for f in files)  # and the access line, observed by default
    assert [e["event"] for e in recorder.events] == ["started", "finished"]


def test_every_service_observes_the_access_line_once(restore_logging: None) -> None:
    assert make_service("wsgi").observers == [ACCESS_LOG]
    service = make_service("wsgi")
    service.use(Logging(access_log=True))
    assert service.observers == [ACCESS_LOG]


def test_without_a_logging_config_the_access_line_follows_the_users_logging(restore_logging: None) -> None:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    access = logging.getLogger(ACCESS_LOGGER)
    collect = Collect()
    access.addHandler(collect)
    try:
        with TestClient(make_service("wsgi", "sync")) as client:
            access.setLevel(logging.WARNING)
            client.get("/api/hello", headers={"X-Request-ID": "quiet"})
            access.setLevel(logging.INFO)  # the user's own logging setup turns it on
            client.get("/api/hello", headers={"X-Request-ID": "loud"})
    finally:
        access.removeHandler(collect)
    assert [(r.request_id, r.status, r.route) for r in records] == [("loud", 200, "/hello")]  # type: ignore[attr-defined]


def test_observers_are_registered_before_the_application_is_built() -> None:
    service = make_service("wsgi", "sync")
    service.application()
    with pytest.raises(SetupError, match="after the application was built"):
        service.observe(Recorder())


def test_an_object_with_no_event_method_is_refused_at_once() -> None:
    service = make_service("wsgi", "sync")
    with pytest.raises(TypeError, match="defines none of started, failed, finished"):
        service.observe(object())


def test_a_class_is_refused_for_its_instance() -> None:
    service = make_service("wsgi", "sync")
    with pytest.raises(TypeError, match=r"Recorder\(\) instead of"):
        service.observe(Recorder)


def test_an_error_a_plugin_answers_for_is_still_reported() -> None:
    class Apologise(Plugin):
        def handle_error(self, request: Any, error: BaseException) -> Response | None:
            return Response("sorry", status=503)

    @Apologise()
    class RootAPI(api.API):
        @api.get
        def hello(self) -> str:
            raise RuntimeError("down")

    service = UtilMeta(__name__, backend="wsgi", api=RootAPI)
    recorder = service.observe(Recorder())
    with TestClient(service) as client:
        answer = client.get("/hello")
    assert (answer.status_code, answer.content) == (503, b"sorry")  # the plugin's answer, untouched
    assert [(e["event"], e.get("error"), e.get("status")) for e in recorder.events] == [
        ("started", None, None),
        ("failed", "RuntimeError", None),
        ("finished", None, 503),
    ]


def test_an_observer_defines_only_the_events_it_wants() -> None:
    seen: list[int] = []

    class Statuses:
        def finished(self, request: Any, response: Any, duration: float) -> None:
            seen.append(response.status)

    service = make_service("wsgi", "sync")
    service.observe(Statuses())
    client = TestClient(service)
    client.get("/api/hello")
    client.get("/api/crash")
    assert seen == [200, 500]
    observers = service.router.observers
    assert (len(observers.started), len(observers.failed), len(observers.finished)) == (0, 0, 2)


def test_an_exception_escaping_the_dispatch_is_reported_and_propagates() -> None:
    recorder = Recorder()
    service = make_service("wsgi", "sync")
    service.observe(recorder)
    router = service.router

    def broken(*args: Any) -> Any:
        raise KeyError("dispatch bug")

    router.resolve = broken  # a bug below the core's error handling
    with pytest.raises(KeyError):
        TestClient(service).get("/api/hello")
    assert [e["event"] for e in recorder.events] == ["started", "failed"]
    assert recorder.events[1]["error"] == "KeyError"
