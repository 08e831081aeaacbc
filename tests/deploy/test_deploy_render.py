"""The deploy renderers, as text: what each file says for each backend, and what is refused."""

from __future__ import annotations

import configparser
import json
import shlex
from pathlib import Path

import pytest

from utilmeta import UtilMeta
from utilmeta.conf import Preference
from utilmeta.core import api
from utilmeta.core.server.backends import BACKEND_INFO
from utilmeta.deploy import TARGETS, DeployError, ServiceInfo, interface_of, load, recommended_server, servers_for
from utilmeta.deploy.docker import DockerImage
from utilmeta.deploy.gunicorn import UVICORN_WORKER, GunicornConfig
from utilmeta.deploy.nginx import NginxConfig, nginx_size
from utilmeta.deploy.supervisor import SupervisorProgram
from utilmeta.deploy.systemd import SystemdUnit, systemd_quote
from utilmeta.deploy.uwsgi import UWSGIConfig
from utilmeta.deploy.wheel import current_wheel

ROOT = Path("/srv/demo")
PYTHON = Path("/srv/demo/.venv/bin/python")


def info(backend: str = "flask", **overrides: object) -> ServiceInfo:
    values: dict[str, object] = {
        "name": "demo",
        "backend": backend,
        "app": "server:app",
        "root": ROOT,
        "asynchronous": BACKEND_INFO[backend].default_asynchronous,
        "route": "/api",
        "python": PYTHON,
        "venv": ROOT / ".venv",
    }
    values.update(overrides)
    return ServiceInfo(**values)  # type: ignore[arg-type]


def assert_no_inline_comments(text: str) -> None:
    """Comments only on lines of their own (uWSGI, systemd and supervisor read the rest as values)."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("#", ";")):
            continue
        assert " #" not in line and " ;" not in line, line


# -- choosing the server -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend, asynchronous, interface, servers",
    [
        ("django", False, "wsgi", ("gunicorn", "uwsgi")),
        ("django", True, "asgi", ("daphne", "gunicorn")),
        ("flask", False, "wsgi", ("gunicorn", "uwsgi")),
        ("flask", True, "wsgi", ("gunicorn", "uwsgi")),
        ("wsgi", False, "wsgi", ("gunicorn", "uwsgi")),
        ("starlette", True, "asgi", ("gunicorn", "daphne")),
        ("fastapi", True, "asgi", ("gunicorn", "daphne")),
        ("asgi", True, "asgi", ("gunicorn", "daphne")),
        ("sanic", True, "own", ("sanic",)),
        ("tornado", True, "own", ("tornado",)),
    ],
)
def test_each_backend_gets_its_recommended_server(
    backend: str, asynchronous: bool, interface: str, servers: tuple[str, ...]
) -> None:
    assert interface_of(backend, asynchronous) == interface
    assert servers_for(backend, asynchronous) == servers
    assert recommended_server(backend, asynchronous) == servers[0]


def test_service_info_refuses_what_cannot_work() -> None:
    with pytest.raises(DeployError, match="module:attribute"):
        info(app="server")
    with pytest.raises(DeployError, match="port"):
        info(port=70000)
    with pytest.raises(DeployError, match="use one of: gunicorn, uwsgi"):
        info(server="daphne")
    with pytest.raises(DeployError, match="instances"):
        info(instances=0)


def test_service_info_from_a_live_service(tmp_path: Path) -> None:
    class RootAPI(api.API):
        @api.get
        def hello(self) -> str:
            return "world"

    service = UtilMeta(__name__, name="live", backend="wsgi", api=RootAPI, route="/v1", port=9100, production=True)
    service.use(Preference(max_body_size=2048, trusted_proxies=["10.0.0.0/8"]))
    described = ServiceInfo.from_service(service, app="server:app", root=tmp_path, instances=2)
    assert (described.name, described.backend, described.asynchronous) == ("live", "wsgi", False)
    assert (described.port, described.route, described.root) == (9100, "/v1", tmp_path.resolve())
    assert described.max_body_size == 2048 and described.trusted_proxies == ("10.0.0.0/8",)
    assert described.addresses == ["127.0.0.1:9100", "127.0.0.1:9101"]


def test_unknown_target() -> None:
    with pytest.raises(DeployError, match="gunicorn, uwsgi, nginx, systemd, supervisor, docker"):
        load("apache")
    for name in TARGETS:
        assert load(name).target == name


# -- gunicorn ---------------------------------------------------------------------------------------------


def _settings(text: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(text, "gunicorn.py", "exec"), namespace)
    return namespace


def test_gunicorn_for_a_wsgi_service() -> None:
    text = GunicornConfig(info("flask", port=8123)).render()
    settings = _settings(text)
    assert settings["wsgi_app"] == "server:app" and settings["chdir"] == str(ROOT)
    assert settings["bind"] == ["127.0.0.1:8123"] and settings["worker_class"] == "gevent"
    assert "workers = multiprocessing.cpu_count() * 2 + 1" in text
    assert settings["max_requests"] == 1000 and settings["max_requests_jitter"] == 100
    assert settings["timeout"] == 30 and settings["graceful_timeout"] == 30
    assert settings["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert settings["accesslog"] == "-" and settings["errorlog"] == "-"
    assert callable(settings["post_worker_init"]) and callable(settings["worker_exit"])
    assert settings["preload_app"] is False


def test_gunicorn_for_an_asgi_service_uses_the_uvicorn_worker() -> None:
    settings = _settings(GunicornConfig(info("fastapi"), workers=4).render())
    assert settings["worker_class"] == UVICORN_WORKER and settings["workers"] == 4
    assert "post_worker_init" not in settings  # the lifespan protocol runs the hooks


def test_gunicorn_options_and_refusals(tmp_path: Path) -> None:
    settings = _settings(GunicornConfig(info("django", log_dir=tmp_path), worker_class="gthread", threads=8).render())
    assert settings["threads"] == 8 and settings["accesslog"] == str(tmp_path / "access.log")
    with pytest.raises(DeployError, match="its own server"):
        GunicornConfig(info("tornado"))
    with pytest.raises(DeployError, match="uvicorn worker"):
        GunicornConfig(info("starlette"), worker_class="gevent")
    with pytest.raises(DeployError, match="WSGI"):
        GunicornConfig(info("flask"), worker_class="uvicorn")


# -- uwsgi ------------------------------------------------------------------------------------------------


def _ini_pairs(text: str) -> list[tuple[str, str]]:
    lines = text.splitlines()
    assert lines[0] == "[uwsgi]"
    pairs = []
    for line in lines[1:]:
        if line.startswith("#"):
            continue
        key, sep, value = line.partition(" = ")
        assert sep, line
        pairs.append((key, value))
    return pairs


def test_uwsgi_for_nginx_uwsgi_pass() -> None:
    text = UWSGIConfig(info("flask", instances=1), processes=3, threads=4, stats="127.0.0.1:9999").render()
    pairs = _ini_pairs(text)
    settings = dict(pairs)
    assert settings["strict"] == "true" and settings["master"] == "true" and settings["need-app"] == "true"
    assert settings["socket"] == "127.0.0.1:8000" and "http-socket" not in settings and "http" not in settings
    assert (settings["processes"], settings["threads"]) == ("3", "4")
    assert settings["harakiri"] == "30" and settings["max-requests"] == "1000"
    assert settings["stats"] == "127.0.0.1:9999"
    assert settings["hook-master-start"] == "unix_signal:15 gracefully_kill_them_all"
    assert settings["import"] == "utilmeta.deploy.hooks" and settings["virtualenv"] == str(ROOT / ".venv")
    assert ("env", "PYTHONUNBUFFERED=1") in pairs
    assert_no_inline_comments(text)


def test_uwsgi_drops_root_to_the_given_user() -> None:
    settings = dict(_ini_pairs(UWSGIConfig(info("flask"), uid="www-data", gid="www-data").render()))
    assert (settings["uid"], settings["gid"]) == ("www-data", "www-data")
    assert "uid" not in dict(_ini_pairs(UWSGIConfig(info("flask")).render()))


@pytest.mark.parametrize("address", ["127.0.0.1:9191", "[::1]:9191", "10.1.2.3:9191", "localhost:9191", "/run/s.sock"])
def test_uwsgi_stats_on_a_private_address(address: str) -> None:
    assert dict(_ini_pairs(UWSGIConfig(info("flask"), stats=address).render()))["stats"] == address


@pytest.mark.parametrize(
    "address, problem",
    [
        (":9191", "publish"),
        ("0.0.0.0:9191", "publish"),
        ("[::]:9191", "publish"),
        ("8.8.8.8:9191", "publish"),
        ("stats.example.com:9191", "give an IP address"),
        ("9191", "host:port"),
    ],
)
def test_uwsgi_refuses_stats_on_a_public_address(address: str, problem: str) -> None:
    with pytest.raises(DeployError, match=problem):
        UWSGIConfig(info("flask"), stats=address)


def test_uwsgi_refuses_asgi_and_own_servers() -> None:
    with pytest.raises(DeployError, match="Gunicorn with the uvicorn worker, or Daphne"):
        UWSGIConfig(info("starlette"))
    with pytest.raises(DeployError, match="its own server"):
        UWSGIConfig(info("sanic"))


# -- nginx ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size, text", [(10 << 20, "10m"), (64 << 10, "64k"), (1 << 30, "1g"), (1500, "1500")])
def test_nginx_sizes(size: int, text: str) -> None:
    assert nginx_size(size) == text


def test_nginx_proxies_to_several_instances() -> None:
    text = NginxConfig(
        info("tornado", instances=3, port=8000, max_body_size=1 << 20), server_name="api.example.com"
    ).render()
    assert "upstream demo_app {" in text
    for port in (8000, 8001, 8002):
        assert f"server 127.0.0.1:{port} max_fails=0;" in text
    for header in (
        "proxy_set_header Host $host;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "proxy_set_header X-Forwarded-Proto $scheme;",
    ):
        assert header in text
    assert "client_max_body_size 1m;" in text and "location /api/ {" in text
    assert "keepalive 16;" in text and 'proxy_set_header Connection "";' in text
    assert "server_name api.example.com;" in text


def test_nginx_uwsgi_pass_writes_the_parameters_out() -> None:
    text = NginxConfig(info("django", server="uwsgi")).render()
    assert "uwsgi_pass demo_app;" in text and "proxy_pass" not in text and "include" not in text
    for param in ("REQUEST_METHOD $request_method", "REMOTE_ADDR $remote_addr", "PATH_INFO $document_uri"):
        assert f"uwsgi_param {param};" in text
    assert "keepalive" not in text


def test_nginx_for_sanic_closes_upstream_connections() -> None:
    text = NginxConfig(info("sanic")).render()
    assert "keepalive" not in text and "Connection" not in text


def test_nginx_tls_and_root_route(tmp_path: Path) -> None:
    text = NginxConfig(info("flask", route=""), tls_certificate="/c.pem", tls_key="/k.pem").render()
    assert "return 301 https://$host$request_uri;" in text and "listen 443 ssl;" in text
    assert "location / {" in text
    with pytest.raises(ValueError, match="both"):
        NginxConfig(info(), tls_certificate="/c.pem")


# -- systemd ----------------------------------------------------------------------------------------------


def test_systemd_quoting() -> None:
    assert systemd_quote("/srv/app") == "/srv/app"
    assert systemd_quote("a b") == '"a b"'
    assert systemd_quote("50%") == "50%%"
    assert systemd_quote("%i", specifiers=True) == "%i"
    assert systemd_quote("$HOME") == '"$$HOME"'


def test_systemd_unit_for_gunicorn() -> None:
    unit = SystemdUnit(info("flask"), config=ROOT / "deploy" / "gunicorn.py", user="www-data")
    text = unit.render()
    assert unit.output_name == "demo.service"
    assert "Type=notify" in text and "User=www-data" in text and f"WorkingDirectory={ROOT}" in text
    assert f"ExecStart={ROOT}/.venv/bin/gunicorn -c {ROOT}/deploy/gunicorn.py" in text
    assert "ExecReload=/bin/kill -s HUP $MAINPID" in text and "KillSignal=SIGTERM" in text
    assert "TimeoutStopSec=35" in text and "Restart=on-failure" in text and "WantedBy=multi-user.target" in text
    assert_no_inline_comments(text)


def test_systemd_template_unit_for_one_process_per_instance() -> None:
    unit = SystemdUnit(info("tornado", graceful_timeout=10))
    text = unit.render()
    assert unit.output_name == "demo@.service" and "Type=exec" in text
    assert "--port %i" in text and "TimeoutStopSec=15" in text and "ExecReload" not in text


# -- supervisor -------------------------------------------------------------------------------------------


def _supervisor(text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    return parser


def test_supervisor_program_for_gunicorn() -> None:
    described = info("flask")
    text = SupervisorProgram(described, config=ROOT / "gunicorn.py").render()
    parsed = _supervisor(text)
    assert parsed.sections() == ["program:demo"]
    program = parsed["program:demo"]
    assert shlex.split(program["command"]) == described.command(ROOT / "gunicorn.py")
    assert program["directory"] == str(ROOT) and program["autorestart"] == "true"
    assert program["stopsignal"] == "TERM" and program["stopwaitsecs"] == "35"
    assert_no_inline_comments(text)


def test_supervisor_group_of_instances_escapes_percent(tmp_path: Path) -> None:
    described = info("sanic", instances=2, port=8000, root=Path("/srv/100%"))
    text = SupervisorProgram(described).render()
    parsed = _supervisor(text)
    assert parsed.sections() == ["program:demo-8000", "program:demo-8001", "group:demo"]
    assert parsed["group:demo"]["programs"] == "demo-8000,demo-8001"
    assert parsed["program:demo-8000"]["directory"] == "/srv/100%%"
    command = shlex.split(parsed["program:demo-8001"]["command"])
    assert command[1:3] == ["server:app", "--host"] and "--single-process" in command and "8001" in command
    assert 'SANIC_GRACEFUL_SHUTDOWN_TIMEOUT="30"' in parsed["program:demo-8000"]["environment"]


# -- docker -----------------------------------------------------------------------------------------------


_DOCKER_INSTRUCTIONS = {"FROM", "ENV", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "STOPSIGNAL", "CMD"}


def assert_dockerfile(text: str) -> None:
    """Each instruction known, continuations ending in a backslash, CMD in exec (JSON) form —
    what ``docker build`` would parse (no Docker daemon in the test environment)."""
    continued = False
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if not continued:
            assert line.split()[0] in _DOCKER_INSTRUCTIONS, line
        continued = line.endswith("\\")
    assert not continued
    assert text.splitlines()[0].startswith("FROM ")
    assert sum(line.startswith("CMD ") for line in text.splitlines()) == 1


def test_docker_image_for_gunicorn() -> None:
    image = DockerImage(info("fastapi", port=8080))
    files = image.files()
    assert set(files) == {"Dockerfile", ".dockerignore", current_wheel().filename, "gunicorn.docker.py"}
    dockerfile = str(files["Dockerfile"])
    cmd = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    assert json.loads(cmd[4:]) == ["gunicorn", "-c", "/app/gunicorn.docker.py"]
    assert "USER app" in dockerfile and "EXPOSE 8080" in dockerfile and "gunicorn uvicorn-worker" in dockerfile
    assert_dockerfile(dockerfile)
    settings = _settings(str(files["gunicorn.docker.py"]))
    assert settings["bind"] == ["0.0.0.0:8080"] and settings["chdir"] == "/app"
    assert ".env" in str(files[".dockerignore"]).split()


def test_docker_image_for_uwsgi() -> None:
    files = DockerImage(info("django", server="uwsgi")).files()
    assert set(files) == {"Dockerfile", ".dockerignore", current_wheel().filename, "uwsgi.docker.ini"}
    assert_dockerfile(str(files["Dockerfile"]))
    assert "pyuwsgi" in str(files["Dockerfile"])
    settings = dict(_ini_pairs(str(files["uwsgi.docker.ini"])))
    assert settings["socket"] == "0.0.0.0:8000" and settings["chdir"] == "/app" and "virtualenv" not in settings
    assert settings["stats"] == "127.0.0.1:9191"


def test_docker_image_for_tornado_runs_meta() -> None:
    files = DockerImage(info("tornado")).files()
    assert set(files) == {"Dockerfile", ".dockerignore", current_wheel().filename}
    cmd = next(line for line in str(files["Dockerfile"]).splitlines() if line.startswith("CMD "))
    assert json.loads(cmd[4:])[:5] == ["python", "-m", "utilmeta", "--app", "server:app"]
    assert_dockerfile(str(files["Dockerfile"]))
    assert "0.0.0.0" in cmd


def test_docker_files_in_a_folder_of_the_project() -> None:
    files = DockerImage(info("flask"), out="ops/docker").files()
    assert "Dockerfile.dockerignore" in files and ".dockerignore" not in files
    dockerfile = str(files["Dockerfile"])
    assert f"COPY ops/docker/{current_wheel().filename} wheels/" in dockerfile
    assert '"/app/ops/docker/gunicorn.docker.py"' in dockerfile
    for outside in ("/srv/image", "../image"):
        with pytest.raises(DeployError, match="write the Docker files inside it"):
            DockerImage(info("flask"), out=outside)
