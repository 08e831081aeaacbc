"""API management: the OpenAPI document and the docs page (``utilmeta.ops``).

``generate`` / ``render`` build the OpenAPI document of a service; ``Docs`` configures the
``openapi.json`` and ``docs`` endpoints every service serves outside production. Each name is
imported when first asked for: a service in production loads none of the document builder.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from utilmeta.ops.docs import Docs
    from utilmeta.ops.openapi import generate, render

__all__ = ["Docs", "generate", "render"]

_LAZY = {"Docs": "utilmeta.ops.docs", "generate": "utilmeta.ops.openapi", "render": "utilmeta.ops.openapi"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'utilmeta.ops' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
