"""API management: the OpenAPI document and the docs page (``utilmeta.ops``).

``generate`` / ``render`` build the OpenAPI document of a service; ``Docs`` configures the
``openapi.json`` and ``docs`` endpoints every service serves outside production. Each name is
imported when first asked for: a service in production loads none of the document builder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from utilmeta.utils.lazy import lazy_names

if TYPE_CHECKING:
    from utilmeta.ops.docs import Docs
    from utilmeta.ops.openapi import generate, render

__all__ = ["Docs", "generate", "render"]

_LAZY = {"Docs": "utilmeta.ops.docs", "generate": "utilmeta.ops.openapi", "render": "utilmeta.ops.openapi"}


__getattr__, __dir__ = lazy_names("utilmeta.ops", globals(), _LAZY)
