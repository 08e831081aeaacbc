"""What every deploy renderer shares: the service description, the server choice, the base class.

A renderer is a small typed object: ``GunicornConfig(info, workers=4).render()`` returns the
text of ``gunicorn.py``. :class:`ServiceInfo` describes the service in plain values, so a
renderer never imports the user's code; :meth:`ServiceInfo.from_service` builds one from a
live :class:`~utilmeta.UtilMeta`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from utilmeta.core.server import backends
from utilmeta.core.server.backends import Interface, Server, Serving
from utilmeta.deploy.exposure import BEHIND_PROXY, Exposure, exposures, is_local
from utilmeta.utils.exceptions import SetupError

if TYPE_CHECKING:
    from utilmeta.core.server.service import UtilMeta

__all__ = [
    "DeployError",
    "cpu_count",
    "Interface",
    "Renderer",
    "Server",
    "ServiceInfo",
    "interface_of",
    "recommended_server",
    "servers_for",
    "serving_of",
]

_DEFAULT_MAX_BODY = 10 * 1024 * 1024


class DeployError(ValueError):
    """A deployment that cannot be rendered as asked (the message says what to change)."""


def serving_of(backend: str, asynchronous: bool) -> Serving:
    """How the backend registry says a service of this backend and mode is served."""
    try:
        return backends.info(backend).serving(asynchronous)
    except SetupError as e:
        raise DeployError(str(e)) from None


def interface_of(backend: str, asynchronous: bool) -> Interface:
    """How a server talks to the service's application: WSGI, ASGI, or the framework's own server."""
    return serving_of(backend, asynchronous).interface


def servers_for(backend: str, asynchronous: bool) -> tuple[Server, ...]:
    """The servers that can run the service, the recommended one first."""
    return serving_of(backend, asynchronous).servers


def recommended_server(backend: str, asynchronous: bool) -> Server:
    """Gunicorn (gevent or uvicorn workers) for WSGI and ASGI apps, Daphne for async Django,
    the framework's own server for sanic and tornado."""
    return servers_for(backend, asynchronous)[0]


def _venv_of(python: Path) -> Path | None:
    candidate = python.parent.parent
    return candidate if (candidate / "pyvenv.cfg").is_file() else None


@dataclass(frozen=True)
class ServiceInfo:
    """The facts about a service that its deployment files need, as plain values.

    ``app`` is the ``module:attribute`` of the WSGI/ASGI application and ``root`` the project
    directory the server runs in. ``host``/``port`` is where the (first) server instance
    listens; ``instances`` more of them listen on the following ports when the server is
    one process per instance (daphne, sanic, tornado). ``graceful_timeout`` is how long a
    stopping server lets requests in flight finish; process managers wait a little longer.
    ``behind_proxy`` says a buffering proxy is the only client of ``host`` even though it is not
    loopback (see :mod:`utilmeta.deploy.exposure`).
    """

    name: str
    backend: str
    app: str
    root: Path
    asynchronous: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    route: str = ""
    production: bool = True
    python: Path = field(default_factory=lambda: Path(sys.executable))
    venv: Path | None = None
    max_body_size: int = _DEFAULT_MAX_BODY
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    #: ``Preference(server_tokens=...)``: whether a Server header names a version
    server_tokens: bool = False
    pidfile: Path | None = None
    log_dir: Path | None = None
    server: Server | None = None
    instances: int = 1
    graceful_timeout: int = 30
    behind_proxy: bool = False

    def __post_init__(self) -> None:
        if ":" not in self.app:
            raise DeployError(f"app={self.app!r}: give the application as 'module:attribute', like 'server:app'")
        if not 0 < self.port < 65536:
            raise DeployError(f"port must be from 1 to 65535, got {self.port}")
        if self.instances < 1:
            raise DeployError(f"instances must be at least 1, got {self.instances}")
        servers = self.serving.servers
        if self.server is not None and self.server not in servers:
            choices = ", ".join(servers)
            mode = "async" if self.asynchronous else "sync"
            raise DeployError(
                f"server {self.server!r} cannot run a {self.backend} ({mode}) service; use one of: {choices}"
            )

    @classmethod
    def from_service(cls, service: UtilMeta, *, app: str, root: Path | str, **overrides: Any) -> ServiceInfo:
        """Describe a live service; ``overrides`` replace any field (``port=9000``, ``server='uwsgi'``)."""
        from utilmeta.conf import Preference

        pref = service.get_config(Preference)
        python = Path(sys.executable)
        values: dict[str, Any] = {
            "name": service.name,
            "backend": service.backend_name,
            "asynchronous": service.asynchronous,
            "app": app,
            "root": Path(root).resolve(),
            "host": service.host,
            "port": service.port,
            "route": service.route,
            "production": service.production,
            "python": python,
            "venv": _venv_of(python),
        }
        if pref is not None:
            values["max_body_size"] = pref.max_body_size
            values["server_tokens"] = pref.server_tokens
            proxies = getattr(pref, "trusted_proxies", None)
            if proxies:
                values["trusted_proxies"] = tuple(str(p) for p in proxies)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes: Any) -> ServiceInfo:
        return replace(self, **changes)

    # -- derived ---------------------------------------------------------------------------------

    @property
    def serving(self) -> Serving:
        """The backend registry's interface, servers and worker class for this service."""
        return serving_of(self.backend, self.asynchronous)

    @property
    def interface(self) -> Interface:
        return self.serving.interface

    @property
    def chosen_server(self) -> Server:
        return self.server or self.serving.servers[0]

    @property
    def module(self) -> str:
        return self.app.split(":", 1)[0]

    @property
    def bin_dir(self) -> Path:
        """Where the service's Python installed its console scripts (gunicorn, uwsgi, ...)."""
        return self.python.parent

    def executable(self, name: str) -> Path:
        return self.bin_dir / name

    @property
    def ports(self) -> list[int]:
        """The port of each server instance."""
        return [self.port + i for i in range(self.instances)]

    @property
    def addresses(self) -> list[str]:
        """``host:port`` of each server instance (IPv6 hosts in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return [f"{host}:{port}" for port in self.ports]

    @property
    def default_pidfile(self) -> Path:
        return self.pidfile or self.root / f"{self.name}.pid"

    def log_file(self, kind: str) -> Path | None:
        """``<log_dir>/<kind>.log``, or None to log to the process's stdout/stderr."""
        return self.log_dir / f"{kind}.log" if self.log_dir else None

    def command(self, config: Path | None = None, *, port: int | str | None = None) -> list[str]:
        """The command line that starts one server instance (``config``: the generated
        gunicorn.py / uwsgi.ini; ``port``: the instance's port, or a placeholder like ``%i``)."""
        server = self.chosen_server
        port = self.port if port is None else port
        if server == "gunicorn":
            return [str(self.executable("gunicorn")), "-c", str(config or self.root / "gunicorn.py")]
        if server == "uwsgi":
            return [str(self.executable("uwsgi")), "--ini", str(config or self.root / "uwsgi.ini")]
        if server == "daphne":
            runner = [str(self.python), "-m", "utilmeta.deploy.daphne"]
            return [
                *runner,
                "--graceful-timeout",
                str(self.graceful_timeout),
                "-b",
                self.host,
                "-p",
                str(port),
                self.app,
            ]
        if server == "sanic":
            return [
                str(self.executable("sanic")),
                self.app,
                "--host",
                self.host,
                "--port",
                str(port),
                "--single-process",
                "--no-motd",
                "--no-access-logs",
            ]
        return [str(self.python), "-m", "utilmeta", "--app", self.app, "run", "--host", self.host, "--port", str(port)]

    @property
    def environment(self) -> dict[str, str]:
        """Environment variables every server process gets."""
        env = {"PYTHONUNBUFFERED": "1"}
        if self.venv is not None:
            env["VIRTUAL_ENV"] = str(self.venv)
        if self.chosen_server == "sanic":
            env["SANIC_GRACEFUL_SHUTDOWN_TIMEOUT"] = str(self.graceful_timeout)
        return env

    @property
    def stop_timeout(self) -> int:
        """How long a process manager waits for a graceful stop before it kills."""
        return self.graceful_timeout + 5


class Renderer:
    """One deployment file (or a few) for one tool.

    Subclasses set :attr:`target` and :attr:`filename`, take their options as keyword
    arguments, and implement :meth:`render`. :meth:`files` maps file names to contents (text,
    or bytes for a binary such as a wheel); most renderers write one file. Each target names
    its files apart from every other target's, so all of them can be written to one directory.
    """

    target: ClassVar[str]
    filename: ClassVar[str]

    def __init__(self, info: ServiceInfo):
        self.info = info

    def render(self) -> str:
        raise NotImplementedError

    def exposures(self) -> list[Exposure]:
        """The risks of clients reaching what this file starts directly (none by default)."""
        return []

    def exposures_of(self, front: str) -> list[Exposure]:
        """The risks of ``front`` listening on the service's host, unless a proxy is its only client."""
        return [] if self.info.behind_proxy else exposures(front, [self.info.host])

    def started_exposures(self) -> list[Exposure]:
        """For a file that starts the server with its address on the command line (Daphne, Sanic,
        Tornado); Gunicorn and uWSGI read their own file, whose renderer checked it."""
        server = self.info.chosen_server
        return [] if server in ("gunicorn", "uwsgi") else self.exposures_of(server)

    @property
    def proxy_note(self) -> list[str]:
        """The :data:`BEHIND_PROXY` comment for a config whose exposed address was declared proxied."""
        return [BEHIND_PROXY] if self.info.behind_proxy and not is_local(self.info.host) else []

    def refuse_exposed(self) -> None:
        """DeployError for an exposure that lets a few clients stop the service (warnings pass)."""
        for exposure in self.exposures():
            if exposure.level == "error":
                raise DeployError(exposure.message)

    def files(self) -> dict[str, str | bytes]:
        return {self.output_name: self.render()}

    @property
    def output_name(self) -> str:
        return self.filename.format(name=self.info.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.info.name!r})"


def cpu_count() -> int:
    """CPUs of the machine rendering the file (uWSGI's ini cannot compute it at start)."""
    return os.cpu_count() or 1
