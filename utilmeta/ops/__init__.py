"""API management: the OpenAPI document and the docs page (``utilmeta.ops``).

``generate`` / ``render`` build the OpenAPI document of a service; ``Docs`` configures the
``openapi.json`` and ``docs`` endpoints every service serves outside production.
"""

from utilmeta.ops.docs import Docs
from utilmeta.ops.openapi import generate, render

__all__ = ["Docs", "generate", "render"]
