"""Small shared helpers, and the names code written for UtilMeta imports from here:
``Error``, ``awaitable``, ``Plugin`` (and ``utilmeta.utils.exceptions``)."""

from utilmeta.utils.decorator import awaitable
from utilmeta.utils.error import Error
from utilmeta.utils.plugin import Plugin

__all__ = ["Error", "Plugin", "awaitable"]
