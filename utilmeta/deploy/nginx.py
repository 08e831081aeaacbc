"""An Nginx site for the service: an ``upstream`` of its server instances and a ``server`` block.

Gunicorn, Daphne, Sanic and Tornado are reached with ``proxy_pass`` (HTTP/1.1 keep-alive to the
upstream, ``Host``, ``X-Forwarded-For``, ``X-Forwarded-Proto`` and ``X-Request-ID`` set); uWSGI
with ``uwsgi_pass`` and the uwsgi parameters written out, so the file needs no ``include``.
A GET in flight on an instance that dies is retried on the next one (``proxy_next_upstream``'s
default, idempotent requests only); several instances are never taken out of rotation
(``max_fails=0``), so one restarting leaves the others serving, whatever fails next.
Idle upstream connections are closed after ``keepalive_timeout`` (4 s), before the servers'
own keep-alive timeout (Gunicorn's ``keepalive = 5``) can close them under Nginx's feet.
``client_max_body_size`` follows the service's ``Preference(max_body_size=...)``: too large a
body is refused by Nginx with 413 before it reaches a worker.

Put the file (``<name>.nginx.conf``) in ``/etc/nginx/conf.d/`` (or ``sites-enabled/``), check it
with ``nginx -t``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from utilmeta.deploy.base import Renderer, ServiceInfo

__all__ = ["NginxConfig", "nginx_size"]

_UWSGI_PARAMS = (
    ("QUERY_STRING", "$query_string"),
    ("REQUEST_METHOD", "$request_method"),
    ("CONTENT_TYPE", "$content_type"),
    ("CONTENT_LENGTH", "$content_length"),
    ("REQUEST_URI", "$request_uri"),
    ("PATH_INFO", "$document_uri"),
    ("DOCUMENT_ROOT", "$document_root"),
    ("SERVER_PROTOCOL", "$server_protocol"),
    ("REQUEST_SCHEME", "$scheme"),
    ("UWSGI_SCHEME", "$scheme"),
    ("HTTPS", "$https if_not_empty"),
    ("REMOTE_ADDR", "$remote_addr"),
    ("REMOTE_PORT", "$remote_port"),
    ("SERVER_PORT", "$server_port"),
    ("SERVER_NAME", "$server_name"),
    ("HTTP_HOST", "$host"),
    ("HTTP_X_FORWARDED_FOR", "$proxy_add_x_forwarded_for"),
    ("HTTP_X_REQUEST_ID", "$request_id"),
)

_PROXY_HEADERS = (
    ("Host", "$host"),
    ("X-Forwarded-For", "$proxy_add_x_forwarded_for"),
    ("X-Forwarded-Proto", "$scheme"),
    ("X-Real-IP", "$remote_addr"),
    ("X-Request-ID", "$request_id"),
    ("Connection", '""'),
)


def nginx_size(size: int) -> str:
    """Bytes as an Nginx size (``10m``, ``64k`` or a plain number)."""
    for unit, factor in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if size and size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


class NginxConfig(Renderer):
    """A site configuration: upstream + server (+ an HTTP → HTTPS redirect when TLS is given)."""

    target = "nginx"
    filename: ClassVar[str] = "{name}.nginx.conf"

    def __init__(
        self,
        info: ServiceInfo,
        *,
        listen: str | int = 80,
        server_name: str = "_",
        upstreams: list[str] | None = None,
        timeout: int = 60,
        keepalive: int = 16,
        keepalive_timeout: int = 4,
        tls_certificate: Path | str | None = None,
        tls_key: Path | str | None = None,
        access_log: Path | str | None = None,
        client_timeout: int = 15,
    ):
        super().__init__(info)
        #: how long a client may take to send its header block, and between two reads of its body:
        #: a slow client holds a connection of Nginx's, never a worker of the service's
        self.client_timeout = client_timeout
        self.listen = str(listen)
        self.server_name = server_name
        self.upstreams = list(upstreams or info.addresses)
        self.timeout = timeout
        self.keepalive = keepalive
        self.keepalive_timeout = keepalive_timeout
        if (tls_certificate is None) != (tls_key is None):
            raise ValueError("give both tls_certificate and tls_key, or neither")
        self.tls_certificate = tls_certificate
        self.tls_key = tls_key
        self.access_log = access_log

    @property
    def upstream_name(self) -> str:
        return re.sub(r"\W", "_", self.info.name) + "_app"

    @property
    def keeps_alive(self) -> bool:
        """Keep-alive connections to the upstream, except for uWSGI (its protocol has none) and
        Sanic (a connection kept alive would hold its graceful stop to the full timeout)."""
        return self.info.chosen_server not in ("uwsgi", "sanic")

    @property
    def uses_uwsgi(self) -> bool:
        return self.info.chosen_server == "uwsgi"

    @property
    def location(self) -> str:
        return self.info.route.rstrip("/") + "/"

    def _upstream(self) -> list[str]:
        lines = [f"upstream {self.upstream_name} {{"]
        # several instances: never take one out of rotation (Nginx's default, max_fails=1, does
        # for fail_timeout=10s). A refused connection costs nothing and the request goes on to
        # the next instance; with the default, an instance that failed while supervisord
        # restarted it stays out for 10 s, and should the other fail then, none is left (502).
        mark = " max_fails=0" if len(self.upstreams) > 1 else ""
        lines += [f"    server {address}{mark};" for address in self.upstreams]
        if self.keeps_alive:
            lines += [f"    keepalive {self.keepalive};", f"    keepalive_timeout {self.keepalive_timeout}s;"]
        lines.append("}")
        return lines

    def _pass(self) -> list[str]:
        if self.uses_uwsgi:
            lines = [f"uwsgi_param {key} {value};" for key, value in _UWSGI_PARAMS]
            lines += [f"uwsgi_pass {self.upstream_name};", f"uwsgi_read_timeout {self.timeout}s;"]
            return lines
        lines = [f"proxy_pass http://{self.upstream_name};", "proxy_http_version 1.1;"]
        headers = _PROXY_HEADERS if self.keeps_alive else _PROXY_HEADERS[:-1]
        lines += [f"proxy_set_header {name} {value};" for name, value in headers]
        lines += ["proxy_redirect off;", f"proxy_read_timeout {self.timeout}s;"]
        return lines

    def _server(self) -> list[str]:
        tls = self.tls_certificate is not None
        listen = self.listen if not tls or self.listen != "80" else "443"
        lines = ["server {", f"    listen {listen}{' ssl' if tls else ''};", f"    server_name {self.server_name};"]
        if tls:
            lines += [
                f"    ssl_certificate {self.tls_certificate};",
                f"    ssl_certificate_key {self.tls_key};",
                "    ssl_protocols TLSv1.2 TLSv1.3;",
            ]
        lines += ["    charset utf-8;", f"    client_max_body_size {nginx_size(self.info.max_body_size)};"]
        lines += [
            f"    client_header_timeout {self.client_timeout}s;",
            f"    client_body_timeout {self.client_timeout}s;",
        ]
        if not self.info.server_tokens:
            lines.append("    server_tokens off;")
        if self.access_log:
            lines.append(f"    access_log {self.access_log};")
        lines += ["", f"    location {self.location} {{"]
        lines += [f"        {line}" for line in self._pass()]
        lines += ["    }", "}"]
        return lines

    def _redirect(self) -> list[str]:
        return [
            "server {",
            "    listen 80;",
            f"    server_name {self.server_name};",
            "    return 301 https://$host$request_uri;",
            "}",
        ]

    def render(self) -> str:
        lines = [f"# {self.info.name}: Nginx in front of {self.info.chosen_server}", *self._upstream(), ""]
        if self.tls_certificate is not None:
            lines += [*self._redirect(), ""]
        lines += self._server()
        return "\n".join(lines) + "\n"
