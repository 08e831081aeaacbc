"""Declaring APIs: ``from utilmeta.core import api``.

class RootAPI(api.API):
    @api.get
    def hello(self) -> str:
        return 'world'
"""

from utilmeta.core.api.base import API
from utilmeta.core.api.decorators import after, before, delete, get, handle, patch, post, put, route
from utilmeta.core.api.plugin import CORS, Plugin, plugin

__all__ = [
    "API",
    "get",
    "post",
    "put",
    "patch",
    "delete",
    "route",
    "before",
    "after",
    "handle",
    "Plugin",
    "CORS",
    "plugin",
]
