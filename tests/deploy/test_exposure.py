"""What may face clients directly: the renderers refuse or warn, and read their own files back.

The slow-client test (``test_slow_clients.py``) shows why sync workers must not face clients;
here, that the generated files never put them there unless told a proxy is in front.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from utilmeta.core.server.backends import BACKEND_INFO, BackendInfo
from utilmeta.deploy import DeployError, ServiceInfo, load
from utilmeta.deploy.exposure import BEHIND_PROXY, exposures, front_of, host_of, is_local, read_config
from utilmeta.deploy.gunicorn import GunicornConfig
from utilmeta.deploy.uwsgi import UWSGIConfig

MODES = [
    (row, mode)
    for row in BACKEND_INFO.values()
    for mode in (False, True)
    if (row.when_async if mode else row.when_sync)
]


def described(backend: str = "flask", asynchronous: bool = False, **changes: object) -> ServiceInfo:
    return ServiceInfo(
        name="demo", backend=backend, app="server:app", root=Path("/srv/demo"), asynchronous=asynchronous
    ).replace(**changes)


@pytest.mark.parametrize(
    ("address", "host"),
    [
        ("0.0.0.0:8000", "0.0.0.0"),
        ("127.0.0.1:8000", "127.0.0.1"),
        ("[::1]:8000", "::1"),
        ("[::]:80", "::"),
        ("::", "::"),
        ("localhost:8000", "localhost"),
        (":8000", "0.0.0.0"),
        ("api.internal", "api.internal"),
        ("unix:/run/demo.sock", "unix"),
        ("/run/demo.sock", "unix"),
    ],
)
def test_host_of_a_bind_address(address: str, host: str) -> None:
    assert host_of(address) == host


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("unix", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("203.0.113.9", False),
        ("api.internal", False),
    ],
)
def test_only_loopback_and_unix_sockets_are_local(host: str, local: bool) -> None:
    assert is_local(host) is local


@pytest.mark.parametrize(
    ("front", "level", "words"),
    [
        ("sync", "error", "gunicorn sync workers are held by slow clients"),
        ("gthread", "error", "gunicorn gthread workers give each slow client a thread"),
        ("uwsgi", "error", "the client sets the WSGI environment"),
        ("uwsgi-http", "error", "uWSGI workers are held by slow clients"),
        ("uvicorn", "warning", "uvicorn accepts requests a proxy refuses (a 64 KiB header, a duplicate Host)"),
        ("sanic", "warning", "Sanic's own server accepts requests a proxy refuses"),
        ("tornado", "warning", "Tornado's own server accepts requests a proxy refuses"),
    ],
)
def test_an_exposed_front_is_one_line_saying_why_and_what_to_do(front: str, level: str, words: str) -> None:
    (found,) = exposures(front, ["0.0.0.0"])
    assert found.level == level
    assert words in found.message and "\n" not in found.message
    assert "bound to 0.0.0.0" in found.message and "meta deploy nginx" in found.message
    assert "--behind-proxy" in found.message
    assert ("use the gevent worker" in found.message) is (front in ("sync", "gthread"))
    assert exposures(front, ["127.0.0.1", "unix"]) == []


@pytest.mark.parametrize("front", ["gevent", "daphne"])
def test_fronts_that_neither_block_nor_bend_may_face_clients(front: str) -> None:
    assert exposures(front, ["0.0.0.0"]) == []


def test_fronts_of_each_server() -> None:
    assert front_of("gunicorn") == "sync"  # Gunicorn's own default worker
    assert front_of("gunicorn", "gevent") == "gevent"
    assert front_of("uwsgi") == "uwsgi"
    assert front_of("uwsgi", protocol="http") == "uwsgi-http"
    assert front_of("tornado") == "tornado"


@pytest.mark.parametrize(("row", "asynchronous"), MODES, ids=lambda v: v.name if isinstance(v, BackendInfo) else str(v))
def test_every_default_deployment_on_loopback_is_accepted(row: BackendInfo, asynchronous: bool) -> None:
    info = described(row.name, asynchronous)
    for target in ("gunicorn", "uwsgi", "systemd", "supervisor", "docker", "nginx"):
        try:
            renderer = load(target)(info)
        except DeployError as e:
            assert "slow clients" not in str(e) and "reach it" not in str(e)
            continue
        assert renderer.exposures() == []


@pytest.mark.parametrize("worker_class", ["sync", "gthread"])
def test_gunicorn_refuses_blocking_workers_facing_clients(worker_class: str) -> None:
    with pytest.raises(DeployError, match=f"gunicorn {worker_class} workers .* bound to 0.0.0.0"):
        GunicornConfig(described(host="0.0.0.0"), worker_class=worker_class)  # type: ignore[arg-type]
    assert GunicornConfig(described(), worker_class=worker_class).exposures() == []  # type: ignore[arg-type]
    assert GunicornConfig(described(host="0.0.0.0")).exposures() == []  # gevent


def test_gunicorn_behind_a_proxy_elsewhere_says_so_in_its_file(tmp_path: Path) -> None:
    config = GunicornConfig(described(host="10.0.0.5", behind_proxy=True), worker_class="sync")
    assert config.exposures() == []
    text = config.render()
    assert f"# {BEHIND_PROXY}\nbind = ['10.0.0.5:8000']" in text
    (tmp_path / "gunicorn.py").write_text(text)
    assert read_config(tmp_path / "gunicorn.py") == []


def test_gunicorn_warns_for_uvicorn_facing_clients() -> None:
    (found,) = GunicornConfig(described("fastapi", True, host="0.0.0.0")).exposures()
    assert found.level == "warning" and found.message.startswith("uvicorn accepts")


@pytest.mark.parametrize("protocol", ["uwsgi", "http"])
def test_uwsgi_refuses_any_socket_facing_clients(protocol: str) -> None:
    with pytest.raises(DeployError, match="bound to 0.0.0.0"):
        UWSGIConfig(described(host="0.0.0.0"), protocol=protocol)  # type: ignore[arg-type]
    assert UWSGIConfig(described(host="0.0.0.0", behind_proxy=True), protocol=protocol).exposures() == []  # type: ignore[arg-type]


@pytest.mark.parametrize("target", ["systemd", "supervisor"])
def test_own_servers_facing_clients_are_warned_about(target: str) -> None:
    for backend in ("sanic", "tornado"):
        (found,) = load(target)(described(backend, True, host="0.0.0.0")).exposures()
        assert found.level == "warning" and "accepts requests a proxy refuses" in found.message
        assert load(target)(described(backend, True)).exposures() == []


def test_docker_renders_its_container_config_as_behind_a_proxy() -> None:
    files = load("docker")(described(server="uwsgi")).files()
    assert f"# {BEHIND_PROXY}\nsocket = 0.0.0.0:8000" in str(files["uwsgi.docker.ini"])


def test_read_config_reads_what_the_renderers_write(tmp_path: Path) -> None:
    gunicorn = tmp_path / "gunicorn.py"
    gunicorn.write_text(GunicornConfig(described(port=9000), worker_class="sync").render())
    assert read_config(gunicorn) == [("sync", ["127.0.0.1"])]
    gunicorn.write_text(GunicornConfig(described("fastapi", True, host="0.0.0.0")).render())
    assert read_config(gunicorn) == [("uvicorn", ["0.0.0.0"])]
    uwsgi = tmp_path / "uwsgi.ini"
    uwsgi.write_text(UWSGIConfig(described(instances=2)).render())
    assert read_config(uwsgi) == [("uwsgi", ["127.0.0.1", "127.0.0.1"])]
    uwsgi.write_text("[uwsgi]\nhttp-socket = :8000\nsocket = /run/demo.sock\n")
    assert read_config(uwsgi) == [("uwsgi", ["unix"]), ("uwsgi-http", ["0.0.0.0"])]


def test_read_config_falls_back_to_gunicorns_defaults(tmp_path: Path) -> None:
    path = tmp_path / "gunicorn.py"
    path.write_text("import multiprocessing\nworkers = multiprocessing.cpu_count()\n")
    assert read_config(path) == [("sync", ["127.0.0.1"])]
    path.write_text("bind = '0.0.0.0:80'\nworkers = 3\n")
    (found,) = exposures(*read_config(path)[0])
    assert found.level == "error"
