"""Whether the service can listen where it is told, checked before anything starts.

``service.run()`` and ``meta run`` ask :func:`listen_problem` before a server (and the startup
hooks it runs) starts, so a port in use is one line naming the address, the same on every
backend, instead of a server's traceback after the hooks already ran.
"""

from __future__ import annotations

import errno
import socket

__all__ = ["accepts", "bind", "listen_problem", "shown_address"]


def _connect_host(host: str) -> str:
    host = host.strip("[]")
    return "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host


def shown_address(host: str, port: int) -> str:
    """``host:port``, an IPv6 host in brackets (``[::1]:8000``)."""
    host = host.strip("[]")
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether something accepts TCP connections on ``host:port`` (a wildcard host: on loopback)."""
    try:
        with socket.create_connection((_connect_host(host), port), timeout=timeout):
            return True
    except OSError:
        return False


def listen_problem(host: str, port: int, choose: str) -> str | None:
    """Why a server could not listen on ``host:port``, as a sentence ending with what to do
    (``choose``: how to pick another address, e.g. ``'with --port'``); None when it can.

    The address is bound (and released) as a server binds it: a port in use, an address that is
    not this machine's and a port the user may not open are all found, not only a listener."""
    where = shown_address(host, port)
    in_use = f"{where} is in use by another program: stop it, or choose another {choose}"
    if port == 0:
        return None  # the system picks a free one
    try:
        infos = socket.getaddrinfo(host.strip("[]") or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        return f"cannot listen on {where}: {e.strerror}; choose another {choose}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no conflict
        try:
            probe.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return in_use
            return f"cannot listen on {where}: {e.strerror}; choose another {choose}"
    # where a system lets the bind above share a port (SO_REUSEADDR beside a wildcard listener on
    # some BSDs), a listener still answers
    return in_use if accepts(host, port) else None


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (``port=0``: the system picks one, which
    ``getsockname()`` names), for a server that is handed its socket. Not listening yet: the
    server listens once it has started (uvicorn after the lifespan startup), so a port that
    accepts connections is a service that serves them."""
    host = host.strip("[]")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no conflict
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock
