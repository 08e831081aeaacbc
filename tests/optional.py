"""What to do when something a test needs is not installed or not running: skip, except under
``CI=true``, where CI was told to provide it and its absence is a failure.

Only absence skips. A module that is installed but fails to import, a service that cannot be
built — those are bugs and fail everywhere.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest

__all__ = ["under_ci", "unavailable", "optional_import"]


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> NoReturn:
    """Skip for want of ``reason``'s missing piece; under CI, fail."""
    if under_ci():
        pytest.fail(f"CI=true: {reason}")
    pytest.skip(reason)


def optional_import(module: str, install: str | None = None) -> ModuleType:
    """``import module``; when the module itself (not something it imports) is not installed,
    ``unavailable`` with a hint (``install``, e.g. ``"pip install 'utilmeta[redis]'"``)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if not missing or not (module == missing or module.startswith(missing + ".")):
            raise  # installed, but broken: a failure, not a skip
        unavailable(f"{module} is not installed" + (f" ({install})" if install else ""))
