"""Hand-written parsing and validation shared by the native apps (what a careful user writes once
and calls from every view): the same rules as :class:`benchmarks.core_app.UserIn` and the
``item`` endpoint's typed parameters."""

from __future__ import annotations

from typing import Any

HELLO = "Hello, World!"
HELLO_BYTES = HELLO.encode()
TEXT_TYPE = "text/plain; charset=utf-8"
NAME_MAX = 20


class Invalid(ValueError):
    """A request the endpoint refuses with 400; the message says which parameter and why."""


def int_param(value: str | None, name: str, default: int) -> int:
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise Invalid(f"{name}: expected an integer, got {value!r}") from None


def item(id: str, q: str | None, limit: str | None) -> dict[str, Any]:
    """The ``GET /items/{id}`` result, from the raw path segment and query values."""
    return {"id": int_param(id, "id", 0), "q": q or "", "limit": int_param(limit, "limit", 10)}


def user(data: Any) -> dict[str, Any]:
    """The validated ``POST /users`` body (unknown keys dropped, ``tags`` defaulting to [])."""
    if not isinstance(data, dict):
        raise Invalid("body: expected a JSON object")
    name = data.get("name")
    if not isinstance(name, str):
        raise Invalid("name: expected a string")
    if len(name) > NAME_MAX:
        raise Invalid(f"name: at most {NAME_MAX} characters")
    age = data.get("age")
    if type(age) is not int:  # bool is an int subclass, and not an age
        raise Invalid("age: expected an integer")
    if age < 0:
        raise Invalid("age: must be >= 0")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise Invalid("tags: expected a list of strings")
    return {"name": name, "age": age, "tags": tags}


def error_body(error: Exception) -> dict[str, str]:
    return {"detail": str(error)}
