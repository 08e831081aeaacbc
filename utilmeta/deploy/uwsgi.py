"""``uwsgi.ini``: a uWSGI configuration for a WSGI service behind Nginx.

The service listens on a ``socket`` (the uwsgi protocol, for Nginx's ``uwsgi_pass``) — never an
``http-socket`` facing clients: either on an address other than loopback is refused (see
:mod:`utilmeta.deploy.exposure`). ``strict`` makes uWSGI refuse unknown options; SIGTERM is made
graceful (workers finish their requests, then exit) with the ``gracefully_kill_them_all``
master hook; the stats server listens on a private address (a public one is refused). Started
as root, ``uid``/``gid`` make it drop privileges before serving. The service's startup/shutdown
hooks run in each worker through :mod:`utilmeta.deploy.hooks`.

INI comments are whole lines only (uWSGI reads ``;`` and ``#`` after a value as part of it).
"""

from __future__ import annotations

import ipaddress
from typing import ClassVar, Literal

from utilmeta.deploy.base import DeployError, Renderer, ServiceInfo, cpu_count
from utilmeta.deploy.exposure import Exposure, front_of

__all__ = ["UWSGIConfig", "check_private"]


def check_private(address: str) -> str:
    """``address`` when it is private: a unix socket path, or a loopback/private IP with a port.

    The stats server answers anyone who connects with the full state of every worker and
    request, so uWSGI's docs insist it stays off public interfaces (and ``:9191`` or
    ``0.0.0.0:9191`` listen on all of them).
    """
    if address.startswith(("/", "@", "./")):
        return address
    host, sep, port = address.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit():
        raise DeployError(f"stats={address!r}: give host:port (like 127.0.0.1:9191) or a unix socket path")
    if host == "localhost":
        return address
    try:
        ip = ipaddress.ip_address(host or "0.0.0.0")
    except ValueError:
        raise DeployError(
            f"stats={address!r}: give an IP address (like 127.0.0.1:9191) or a unix socket path, "
            f"so it is certain to be private"
        ) from None
    if ip.is_unspecified or not (ip.is_loopback or ip.is_private):
        raise DeployError(
            f"stats={address!r} would publish every worker's state to the network: "
            f"bind it to 127.0.0.1, a private address or a unix socket"
        )
    return address


class UWSGIConfig(Renderer):
    """uWSGI settings: socket, master, processes/threads, harakiri, recycling, stats, graceful stop."""

    target = "uwsgi"
    filename: ClassVar[str] = "uwsgi.ini"

    def __init__(
        self,
        info: ServiceInfo,
        *,
        processes: int | None = None,
        threads: int = 2,
        harakiri: int = 30,
        max_requests: int = 1000,
        max_requests_delta: int = 50,
        graceful_timeout: int | None = None,
        stats: str | None = None,
        protocol: Literal["uwsgi", "http"] = "uwsgi",
        buffer_size: int = 32768,
        request_logging: bool = False,
        uid: str | None = None,
        gid: str | None = None,
    ):
        super().__init__(info)
        if info.interface != "wsgi":
            raise DeployError(
                f"uWSGI serves WSGI applications; a {info.backend} "
                f"{'async ' if info.asynchronous else ''}service runs on "
                + ("its own server" if info.interface == "own" else "Gunicorn with the uvicorn worker, or Daphne")
            )
        if processes is not None and processes < 1:
            raise DeployError(f"processes must be at least 1, got {processes}")
        self.processes = processes or cpu_count() * 2 + 1
        self.threads = threads
        self.harakiri = harakiri
        self.max_requests = max_requests
        self.max_requests_delta = max_requests_delta
        self.graceful_timeout = info.graceful_timeout if graceful_timeout is None else graceful_timeout
        self.stats = check_private(stats or "127.0.0.1:9191")
        self.protocol = protocol
        self.buffer_size = buffer_size
        self.request_logging = request_logging
        self.uid = uid
        self.gid = gid
        self.refuse_exposed()

    def exposures(self) -> list[Exposure]:
        return self.exposures_of(front_of("uwsgi", protocol=self.protocol))

    def options(self) -> list[tuple[str, str | int | bool] | str]:
        """``(key, value)`` pairs in file order; a bare string is a comment line."""
        info = self.info
        listen = "socket" if self.protocol == "uwsgi" else "http-socket"
        items: list[tuple[str, str | int | bool] | str] = [
            ("strict", True),
            ("chdir", str(info.root)),
            ("module", info.app),
        ]
        if info.venv is not None:
            items.append(("virtualenv", str(info.venv)))
        items += [
            ("need-app", True),
            ("single-interpreter", True),
            ("import", "utilmeta.deploy.hooks"),
            ("procname-prefix-spaced", info.name),
        ]
        if self.uid or self.gid:
            items.append("started as root: drop to this user and group before serving")
            if self.uid:
                items.append(("uid", self.uid))
            if self.gid:
                items.append(("gid", self.gid))
        items += [
            "the uwsgi protocol, for Nginx's uwsgi_pass"
            if self.protocol == "uwsgi"
            else "HTTP, for a proxy's proxy_pass",
            *self.proxy_note,
            *[(listen, address) for address in info.addresses],
            ("master", True),
            ("processes", self.processes),
            ("threads", self.threads),
            ("enable-threads", True),
            ("thunder-lock", True),
            ("vacuum", True),
            ("pidfile", str(info.default_pidfile)),
            "kill a worker stuck on one request for longer than this (seconds)",
            ("harakiri", self.harakiri),
            ("max-requests", self.max_requests),
            ("max-requests-delta", self.max_requests_delta),
            ("buffer-size", self.buffer_size),
            "JSON statistics, on a private address only",
            ("stats", self.stats),
            "SIGTERM: stop accepting, let workers finish their requests, then exit",
            ("hook-master-start", "unix_signal:15 gracefully_kill_them_all"),
            ("worker-reload-mercy", self.graceful_timeout),
            ("reload-mercy", self.graceful_timeout),
        ]
        if not self.request_logging:
            items += [
                "utilmeta logs each request itself; keep uWSGI's lines for failures",
                ("disable-logging", True),
                ("log-4xx", True),
                ("log-5xx", True),
            ]
        log = info.log_file("uwsgi")
        if log is not None:
            items.append(("logto", str(log)))
        for key, value in info.environment.items():
            items.append(("env", f"{key}={value}"))
        return items

    def render(self) -> str:
        lines = ["[uwsgi]"]
        for item in self.options():
            if isinstance(item, str):
                lines.append(f"# {item}")
                continue
            key, value = item
            if isinstance(value, bool):
                value = "true" if value else "false"
            lines.append(f"{key} = {value}")
        return "\n".join(lines) + "\n"
