"""Framework-wide preferences: behaviour switches, defaults and request limits."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from utilmeta.conf._lookup import current_config
from utilmeta.conf.base import Config

__all__ = ["Preference", "REQUEST_BACKENDS"]

#: Request libraries the ``Client`` can use, by name.
REQUEST_BACKENDS = ("httpx", "aiohttp", "requests", "urllib")

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Preference(Config):
    """Tune the framework's behaviour; every option has a documented default.

    ::

        service.use(Preference(client_default_request_backend=httpx, default_aborted_response_status=500))

    Behaviour (from the original framework):

    - ``strict_root_route``: only paths under the root route reach the root API (else 404).
    - ``api_default_strict_response``: validate what endpoints return against their declared type.
    - ``client_default_request_backend``: ``Client`` request library, a module or one of
      ``httpx``, ``aiohttp``, ``requests``, ``urllib`` (default); stored as its name.
    - ``default_aborted_response_status`` (503) / ``default_timeout_response_status`` (504):
      status of a ``Client`` response when the request failed / timed out.
    - ``orm_default_query_distinct``, ``orm_default_gather_async_fields``,
      ``orm_raise_non_exists_required_field``, ``orm_schema_query_max_depth`` (100): ORM defaults.
    - ``dependencies_auto_install_disabled``: never ``pip install`` a missing dependency (see
      :func:`utilmeta.utils.deps.require`; auto-install is also opt-in and never in production).

    Limits and security:

    - ``max_body_size`` (10 MiB, 413 beyond), ``json_max_depth`` (64, 400 beyond),
      ``multipart_max_parts`` (1000), ``multipart_max_files`` (100);
    - ``trusted_proxies``: peers (IPs or networks, ``*`` for any) whose ``X-Forwarded-*`` headers
      are believed; default the loopback addresses, as Gunicorn and Uvicorn do;
    - ``allowed_hosts``: None accepts any ``Host``; else names, ``.example.com`` for the domain and
      its subdomains, ``*`` for any (checked by :meth:`is_allowed_host`);
    - ``max_header_size`` (64 KiB): a request whose header block is larger gets a 431 (checked by the
      core on ASGI servers and Sanic, given to Tornado's server); a WSGI server parses headers
      itself, so another value on a WSGI backend is refused at setup;
    - ``content_type_nosniff`` (True): ``X-Content-Type-Options: nosniff`` on every response;
    - ``docs_deny_framing`` (True): the docs page may not be framed by another site
      (``X-Frame-Options: DENY`` and ``Content-Security-Policy: frame-ancestors 'none'``);
    - ``server_tokens`` (False): whether a ``Server`` header names the server's version (Tornado's
      own, the generated Nginx's ``server_tokens``).

    ``docs/security.md`` explains each default.
    """

    def __init__(
        self,
        *,
        strict_root_route: bool = False,
        api_default_strict_response: bool | None = None,
        client_default_request_backend: ModuleType | str | None = None,
        default_aborted_response_status: int = 503,
        default_timeout_response_status: int = 504,
        orm_default_query_distinct: bool = False,
        orm_default_gather_async_fields: bool = False,
        orm_raise_non_exists_required_field: bool = False,
        orm_schema_query_max_depth: int = 100,
        dependencies_auto_install_disabled: bool = False,
        max_body_size: int = 10 * 1024 * 1024,
        json_max_depth: int = 64,
        multipart_max_parts: int = 1000,
        multipart_max_files: int = 100,
        trusted_proxies: Iterable[str] | str = ("127.0.0.1", "::1"),
        allowed_hosts: Iterable[str] | str | None = None,
        max_header_size: int = 64 * 1024,
        content_type_nosniff: bool = True,
        docs_deny_framing: bool = True,
        server_tokens: bool = False,
    ) -> None:
        self.strict_root_route = _bool("strict_root_route", strict_root_route)
        if api_default_strict_response is not None:
            _bool("api_default_strict_response", api_default_strict_response)
        self.api_default_strict_response = api_default_strict_response
        self.client_default_request_backend = _request_backend(client_default_request_backend)
        self.default_aborted_response_status = _status(
            "default_aborted_response_status", default_aborted_response_status
        )
        self.default_timeout_response_status = _status(
            "default_timeout_response_status", default_timeout_response_status
        )
        self.orm_default_query_distinct = _bool("orm_default_query_distinct", orm_default_query_distinct)
        self.orm_default_gather_async_fields = _bool("orm_default_gather_async_fields", orm_default_gather_async_fields)
        self.orm_raise_non_exists_required_field = _bool(
            "orm_raise_non_exists_required_field", orm_raise_non_exists_required_field
        )
        self.orm_schema_query_max_depth = _positive("orm_schema_query_max_depth", orm_schema_query_max_depth)
        self.dependencies_auto_install_disabled = _bool(
            "dependencies_auto_install_disabled", dependencies_auto_install_disabled
        )
        self.max_body_size = _positive("max_body_size", max_body_size)
        self.json_max_depth = _positive("json_max_depth", json_max_depth)
        self.multipart_max_parts = _positive("multipart_max_parts", multipart_max_parts)
        self.multipart_max_files = _positive("multipart_max_files", multipart_max_files)
        self.trusted_proxies = _strings("trusted_proxies", trusted_proxies)
        self._proxy_networks = _networks(self.trusted_proxies)
        self.allowed_hosts = None if allowed_hosts is None else _hosts(allowed_hosts)
        self.max_header_size = _positive("max_header_size", max_header_size)
        self.content_type_nosniff = _bool("content_type_nosniff", content_type_nosniff)
        self.docs_deny_framing = _bool("docs_deny_framing", docs_deny_framing)
        self.server_tokens = _bool("server_tokens", server_tokens)

    @classmethod
    def get(cls) -> Preference:
        """The ``Preference`` of the current service, or the defaults when it uses none."""
        return current_config(cls) or _DEFAULT

    @staticmethod
    def get_default() -> Preference:
        """The defaults (one shared instance)."""
        return _DEFAULT

    def is_trusted_proxy(self, address: str) -> bool:
        """Whether a peer address is one whose ``X-Forwarded-*`` headers may be believed."""
        if self._proxy_networks is None:
            return True
        try:
            ip = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            return False  # a unix socket path or garbage: not an address we were told to trust
        return any(ip in network for network in self._proxy_networks)

    def is_allowed_host(self, host: str) -> bool:
        """Whether a ``Host`` header value (port allowed) matches ``allowed_hosts``."""
        if self.allowed_hosts is None:
            return True
        name = _strip_port(host.strip().lower()).rstrip(".")
        if not name:
            return False
        for pattern in self.allowed_hosts:
            if pattern == "*" or pattern == name:
                return True
            # ".example.com" covers example.com and every subdomain, as in Django
            if pattern.startswith(".") and (name == pattern[1:] or name.endswith(pattern)):
                return True
        return False


def _bool(option: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"Preference({option}=...) must be a bool, got {value!r}")
    return value


def _int(option: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Preference({option}=...) must be an int, got {value!r}")
    return value


def _status(option: str, value: Any) -> int:
    if not 100 <= _int(option, value) <= 599:
        raise ValueError(f"Preference({option}={value!r}): an HTTP status must be between 100 and 599")
    return int(value)


def _positive(option: str, value: Any) -> int:
    if _int(option, value) <= 0:
        raise ValueError(f"Preference({option}={value!r}): must be a positive int")
    return int(value)


def _request_backend(value: ModuleType | str | None) -> str:
    if value is None:
        return "urllib"
    if isinstance(value, ModuleType):
        name = value.__name__
    elif isinstance(value, str):
        name = value.strip().lower()
    else:
        raise TypeError(f"Preference(client_default_request_backend=...) must be a module or a name, got {value!r}")
    root = name.partition(".")[0]  # urllib.request → urllib
    if root not in REQUEST_BACKENDS:
        raise ValueError(
            f"Preference(client_default_request_backend={value!r}): unsupported request library; "
            f"choose one of {', '.join(REQUEST_BACKENDS)}"
        )
    return root


def _strings(option: str, value: Iterable[str] | str) -> tuple[str, ...]:
    # a single string is one entry or a comma-separated list (as in FORWARDED_ALLOW_IPS)
    items = value.split(",") if isinstance(value, str) else list(value)
    if not all(isinstance(item, str) for item in items):
        raise TypeError(f"Preference({option}=...) must be strings, got {value!r}")
    return tuple(item.strip() for item in items if item.strip())


def _networks(proxies: tuple[str, ...]) -> list[_Network] | None:
    """The parsed ``trusted_proxies``; None when ``*`` trusts every peer."""
    if "*" in proxies:
        return None
    networks: list[_Network] = []
    for entry in proxies:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"Preference(trusted_proxies=...): {entry!r} is not an IP address, a network or '*'"
            ) from None
    return networks


def _hosts(value: Iterable[str] | str) -> tuple[str, ...]:
    hosts = _strings("allowed_hosts", value)
    for host in hosts:
        if "/" in host or any(ch.isspace() for ch in host):
            raise ValueError(
                f"Preference(allowed_hosts=...): {host!r} is not a host name; "
                "give names like 'example.com' or '.example.com', without scheme or path"
            )
    return tuple(host.lower().removeprefix("[").removesuffix("]") for host in hosts)


def _strip_port(host: str) -> str:
    if host.startswith("["):  # [::1]:8000
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.partition(":")[0]
    return host  # a bare IPv6 address or a name without port


_DEFAULT = Preference()
