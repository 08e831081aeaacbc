"""Preference: defaults, the seed's sample, validation and the host / proxy checks."""

import urllib.request
from typing import Any

import httpx
import pytest

from utilmeta.conf import Config, Preference
from utilmeta.core.server.service import get_service

DEFAULTS = {
    "strict_root_route": False,
    "api_default_strict_response": None,
    "client_default_request_backend": "urllib",
    "default_aborted_response_status": 503,
    "default_timeout_response_status": 504,
    "orm_default_query_distinct": False,
    "orm_default_gather_async_fields": False,
    "orm_raise_non_exists_required_field": False,
    "orm_schema_query_max_depth": 100,
    "dependencies_auto_install_disabled": False,
    "max_body_size": 10 * 1024 * 1024,
    "json_max_depth": 64,
    "multipart_max_parts": 1000,
    "multipart_max_files": 100,
    "trusted_proxies": ("127.0.0.1", "::1"),
    "allowed_hosts": None,
}


def test_defaults() -> None:
    preference = Preference()
    assert isinstance(preference, Config)
    assert {name: getattr(preference, name) for name in DEFAULTS} == DEFAULTS
    assert "client_default_request_backend='urllib'" in repr(preference)


def test_seed_sample() -> None:
    preference = Preference(
        client_default_request_backend=httpx,
        default_aborted_response_status=500,
        orm_raise_non_exists_required_field=True,
    )
    assert preference.client_default_request_backend == "httpx"
    assert preference.default_aborted_response_status == 500
    assert preference.orm_raise_non_exists_required_field is True
    assert preference.default_timeout_response_status == 504


def test_every_option_can_be_set() -> None:
    preference = Preference(
        strict_root_route=True,
        api_default_strict_response=False,
        client_default_request_backend="requests",
        default_aborted_response_status=502,
        default_timeout_response_status=408,
        orm_default_query_distinct=True,
        orm_default_gather_async_fields=True,
        orm_raise_non_exists_required_field=True,
        orm_schema_query_max_depth=5,
        dependencies_auto_install_disabled=True,
        max_body_size=1,
        json_max_depth=2,
        multipart_max_parts=3,
        multipart_max_files=4,
        trusted_proxies=["10.0.0.0/8"],
        allowed_hosts=["Example.com"],
    )
    assert preference.strict_root_route and preference.dependencies_auto_install_disabled
    assert preference.api_default_strict_response is False
    assert (preference.max_body_size, preference.json_max_depth) == (1, 2)
    assert (preference.multipart_max_parts, preference.multipart_max_files) == (3, 4)
    assert preference.trusted_proxies == ("10.0.0.0/8",)
    assert preference.allowed_hosts == ("example.com",)


@pytest.mark.parametrize(
    ("backend", "name"),
    [(httpx, "httpx"), (urllib.request, "urllib"), ("HTTPX", "httpx"), (" aiohttp ", "aiohttp")]
    + [("requests", "requests"), ("urllib", "urllib"), (None, "urllib")],
)
def test_request_backend_is_normalised_to_a_name(backend: object, name: str) -> None:
    assert Preference(client_default_request_backend=backend).client_default_request_backend == name  # type: ignore[arg-type]


def test_unknown_request_backend() -> None:
    with pytest.raises(ValueError, match="choose one of httpx, aiohttp, requests, urllib"):
        Preference(client_default_request_backend="curl")
    with pytest.raises(ValueError, match="unsupported request library"):
        Preference(client_default_request_backend=pytest)
    with pytest.raises(TypeError, match="client_default_request_backend"):
        Preference(client_default_request_backend=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"strict_root_route": 1}, TypeError, "strict_root_route.*must be a bool"),
        ({"api_default_strict_response": "yes"}, TypeError, "api_default_strict_response"),
        ({"orm_default_query_distinct": None}, TypeError, "orm_default_query_distinct"),
        ({"default_aborted_response_status": 600}, ValueError, "between 100 and 599"),
        ({"default_timeout_response_status": 99}, ValueError, "between 100 and 599"),
        ({"default_timeout_response_status": "504"}, TypeError, "must be an int"),
        ({"default_aborted_response_status": True}, TypeError, "must be an int"),
        ({"orm_schema_query_max_depth": 0}, ValueError, "positive"),
        ({"max_body_size": -1}, ValueError, r"max_body_size=-1\): must be a positive int"),
        ({"json_max_depth": 1.5}, TypeError, "json_max_depth"),
        ({"multipart_max_parts": 0}, ValueError, "multipart_max_parts"),
        ({"multipart_max_files": 0}, ValueError, "multipart_max_files"),
        ({"trusted_proxies": ["localhost"]}, ValueError, "'localhost' is not an IP address"),
        ({"trusted_proxies": [1]}, TypeError, "trusted_proxies"),
        ({"allowed_hosts": ["https://example.com"]}, ValueError, "without scheme or path"),
        ({"allowed_hosts": ["a b"]}, ValueError, "not a host name"),
    ],
)
def test_validation(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        Preference(**kwargs)  # type: ignore[arg-type]


def test_options_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Preference(True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="no_such_option"):
        Preference(no_such_option=1)  # type: ignore[call-arg]


# -- proxies and hosts --------------------------------------------------------------------


def test_default_trusted_proxies_are_loopback() -> None:
    preference = Preference()
    assert preference.is_trusted_proxy("127.0.0.1")
    assert preference.is_trusted_proxy("::1") and preference.is_trusted_proxy("[::1]")
    assert not preference.is_trusted_proxy("10.0.0.1")
    assert not preference.is_trusted_proxy("/run/gunicorn.sock")


def test_trusted_networks_and_wildcard() -> None:
    preference = Preference(trusted_proxies="10.0.0.0/8, 192.168.1.1")
    assert preference.trusted_proxies == ("10.0.0.0/8", "192.168.1.1")
    assert preference.is_trusted_proxy("10.2.3.4") and preference.is_trusted_proxy("192.168.1.1")
    assert not preference.is_trusted_proxy("127.0.0.1")
    assert Preference(trusted_proxies=["*"]).is_trusted_proxy("203.0.113.9")


def test_any_host_by_default() -> None:
    assert Preference().is_allowed_host("anything.example:8000")


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("example.com", True),
        ("EXAMPLE.com:8000", True),
        ("example.com.", True),
        ("api.example.org", True),
        ("example.org", True),
        ("deep.api.example.org:443", True),
        ("badexample.org", False),
        ("evil.com", False),
        ("[::1]:8000", True),
        ("::1", True),
        ("", False),
    ],
)
def test_allowed_hosts(host: str, allowed: bool) -> None:
    preference = Preference(allowed_hosts=["example.com", ".example.org", "[::1]"])
    assert preference.is_allowed_host(host) is allowed


def test_wildcard_and_single_string_hosts() -> None:
    assert Preference(allowed_hosts=["*"]).is_allowed_host("whatever")
    single = Preference(allowed_hosts="example.com")
    assert single.allowed_hosts == ("example.com",)
    assert not Preference(allowed_hosts=[]).is_allowed_host("example.com")


def test_get_without_a_current_service() -> None:
    assert get_service() is None  # the suite's fresh_service fixture cleared it
    preference = Preference.get()
    assert isinstance(preference, Preference)
    assert preference.default_aborted_response_status == 503
    assert Preference.get() is preference  # one shared default instance


def test_get_returns_the_config_of_the_current_service(service: Any) -> None:
    default = Preference.get()
    assert default.strict_root_route is False
    config = Preference(strict_root_route=True)
    service.use(config)
    assert Preference.get() is config
