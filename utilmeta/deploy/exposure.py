"""What may face clients directly, and what belongs behind the generated Nginx.

The generated Nginx reads a client's whole header block and body before it passes a request on
(``client_header_timeout``/``client_body_timeout`` bound how long that may take) and refuses
malformed requests itself. A server that clients reach without it is a risk of one of two kinds:

- **held by slow clients** (an error): Gunicorn's ``sync`` and ``gthread`` workers and uWSGI give
  each connection a process or thread until its request is read. Eight clients sending a header
  byte every 100 ms hold every worker of a two-worker sync deployment: nobody else is answered.
  The uwsgi protocol (uWSGI's ``socket``) is worse: its client sets the WSGI environment itself.
- **lenient parsers** (a warning): uvicorn (httptools) takes a 64 KiB header and a duplicate
  ``Host``, Sanic's server malformed chunk sizes and control bytes in headers, Tornado's
  ``Content-Length: 5, 5`` — requests a proxy in front would refuse or normalise.

A server is *exposed* when it listens on an address other than loopback (``0.0.0.0``, ``::``,
a public or private IP, a host name): loopback (or a unix socket) is reached only from the
machine itself, which is how the generated Nginx reaches it. A deployment whose only client is a
buffering proxy elsewhere says so (``ServiceInfo(behind_proxy=True)``, ``--behind-proxy``).

A *front* names what parses the client's bytes: Gunicorn's worker class (``sync``, ``gthread``,
``gevent``, ``uvicorn``), ``uwsgi`` / ``uwsgi-http`` for uWSGI's ``socket`` / ``http-socket``,
or the server itself (``daphne``, ``sanic``, ``tornado``).
"""

from __future__ import annotations

import ast
import ipaddress
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, NamedTuple

__all__ = ["BEHIND_PROXY", "Exposure", "exposures", "front_of", "host_of", "is_local", "read_config"]

#: the comment line a config rendered with ``behind_proxy`` carries, so ``meta check`` reads the decision
BEHIND_PROXY = "behind-proxy: a buffering proxy is the only client of this address (meta deploy --behind-proxy)"

#: fronts that give each connection a worker until its request is read: an error when exposed
_HELD = {
    "sync": "gunicorn sync workers are held by slow clients (a few trickling headers stop the service)",
    "gthread": "gunicorn gthread workers give each slow client a thread (a few trickling headers stop the service)",
    "uwsgi-http": "uWSGI workers are held by slow clients (a few trickling headers stop the service)",
    "uwsgi": "uWSGI's socket speaks the uwsgi protocol, in which the client sets the WSGI environment itself",
}
#: what the gevent worker changes for the held Gunicorn workers
_GEVENT = {"sync", "gthread"}
#: fronts whose parser accepts requests a proxy refuses: a warning when exposed
_LENIENT = {
    "uvicorn": "uvicorn accepts requests a proxy refuses (a 64 KiB header, a duplicate Host)",
    "sanic": "Sanic's own server accepts requests a proxy refuses (malformed chunk sizes, control bytes in headers)",
    "tornado": "Tornado's own server accepts requests a proxy refuses (Content-Length: 5, 5)",
}


class Exposure(NamedTuple):
    """One risk of letting clients reach a server directly, as the one line that says what to do."""

    level: Literal["error", "warning"]
    message: str


def front_of(server: str, worker_class: str | None = None, protocol: str = "uwsgi") -> str:
    """The front of ``server``: its worker class on Gunicorn, its socket kind on uWSGI, else itself."""
    if server == "gunicorn":
        return worker_class or "sync"  # Gunicorn's own default
    if server == "uwsgi":
        return "uwsgi" if protocol == "uwsgi" else "uwsgi-http"
    return server


def host_of(address: str) -> str:
    """The host of a bind address: ``0.0.0.0:8000`` → ``0.0.0.0``, ``[::1]:80`` → ``::1``;
    ``unix:/run/x.sock`` (Gunicorn) and ``/run/x.sock`` (uWSGI) → ``unix``."""
    if address.startswith(("unix:", "/", "@", "./", "fd://")):
        return "unix"
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    if address.count(":") == 1:
        return address.split(":", 1)[0] or "0.0.0.0"  # ``:8000``: every interface
    return address  # a bare host, or an IPv6 address without a port


def is_local(host: str) -> bool:
    """Whether only this machine can connect to ``host`` (loopback, or a unix socket)."""
    if host in ("unix", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def exposures(front: str, hosts: Iterable[str]) -> list[Exposure]:
    """The risk of ``front`` listening on ``hosts`` (none when they are all local)."""
    exposed = sorted({host for host in hosts if not is_local(host)})
    why = _HELD.get(front) or _LENIENT.get(front)
    if not exposed or why is None:
        return []
    where = ", ".join(exposed)
    gevent = ", use the gevent worker" if front in _GEVENT else ""
    return [
        Exposure(
            "error" if front in _HELD else "warning",
            f"{why}; bound to {where}, clients reach it without a proxy: put it on 127.0.0.1 behind the "
            f"generated Nginx (meta deploy nginx){gevent}, or pass --behind-proxy if a buffering proxy is its "
            f"only client",
        )
    ]


def _gunicorn(text: str) -> list[tuple[str, list[str]]]:
    values = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                values[node.targets[0].id] = ast.literal_eval(node.value)
            except (ValueError, TypeError):
                continue  # computed (``workers = cpu_count() * 2``): not what we read
    bind = values.get("bind", "127.0.0.1:8000")  # Gunicorn's defaults
    worker_class = str(values.get("worker_class", "sync"))
    worker = "uvicorn" if "uvicorn" in worker_class.lower() else worker_class.rsplit(".", 1)[-1]
    addresses = [bind] if isinstance(bind, str) else [str(b) for b in bind]
    return [(front_of("gunicorn", worker.lower()), [host_of(a) for a in addresses])]


def _uwsgi(text: str) -> list[tuple[str, list[str]]]:
    sockets: dict[str, list[str]] = {"socket": [], "http-socket": []}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() in sockets:
            sockets[key.strip()].append(host_of(value.strip()))
    return [
        (front_of("uwsgi", protocol="uwsgi" if key == "socket" else "http"), hosts)
        for key, hosts in sockets.items()
        if hosts
    ]


def read_config(path: Path) -> list[tuple[str, list[str]]]:
    """Each front and its hosts in a ``gunicorn.py`` (its literal ``bind`` and ``worker_class``,
    else Gunicorn's defaults) or a ``uwsgi.ini`` (its ``socket`` / ``http-socket`` lines); none
    in a file rendered with ``behind_proxy`` (it carries the :data:`BEHIND_PROXY` line)."""
    text = path.read_text(encoding="utf-8")
    if f"# {BEHIND_PROXY}" in text:
        return []
    return _uwsgi(text) if path.suffix == ".ini" else _gunicorn(text)
