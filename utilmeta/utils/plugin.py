"""``Plugin``: the root of every plugin class (``from utilmeta.utils import Plugin``, where
UtilMeta has it). API plugins — what decorates an API class or an endpoint and processes its
requests — are :class:`utilmeta.core.api.Plugin`, a subclass; ``isinstance(p, Plugin)`` holds
for all of them."""

from __future__ import annotations

__all__ = ["Plugin"]


class Plugin:
    """Base class of plugins."""
