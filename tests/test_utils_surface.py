"""``utilmeta.utils`` keeps the names code written for UtilMeta imports from it."""

from __future__ import annotations

import asyncio

import pytest

from utilmeta.core import api
from utilmeta.utils import Error, Plugin, awaitable
from utilmeta.utils.exceptions import NotFound, PermissionDenied


def test_error_describes_an_exception():
    try:
        raise PermissionDenied("members only", state=7)
    except PermissionDenied:
        error = Error()
    assert (error.status, error.message, error.state) == (403, "members only", 7)
    assert "PermissionDenied" in error.traceback
    assert Error(KeyError("k")).status == 500
    thrown = Error(KeyError("k")).throw(NotFound)
    assert isinstance(thrown, NotFound) and isinstance(thrown.__cause__, KeyError)
    with pytest.raises(ValueError):
        Error()


def fetch(key: str) -> str:
    return "sync " + key


@awaitable(fetch)
async def fetch(key: str) -> str:
    await asyncio.sleep(0)
    return "async " + key


def test_awaitable_picks_by_the_calling_context():
    assert fetch("a") == "sync a"

    async def caller() -> list[str]:
        return [await fetch("b"), *[await fetch(k) for k in ("c",)]]

    assert asyncio.run(caller()) == ["async b", "async c"]
    with pytest.raises(TypeError, match="different signatures"):

        @awaitable(fetch)
        async def other(key: str, extra: int) -> str:
            return key


def test_api_plugins_are_utils_plugins():
    assert issubclass(api.Plugin, Plugin) and isinstance(api.CORS(), Plugin)
