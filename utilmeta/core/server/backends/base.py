"""The contract every backend adaptor fulfils.

An adaptor translates between its framework and the core; it has no behaviour of its own.
Routing, parsing, errors, HEAD/OPTIONS and hooks all live in the core's
:class:`~utilmeta.core.api.router.Router`, reached through ``service.router``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from utilmeta.core.server.service import UtilMeta

__all__ = ["ServerAdaptor"]


class ServerAdaptor:
    #: the registry name (``'flask'``)
    name: ClassVar[str]
    #: the framework's top-level import name, and the utilmeta extra that installs it
    framework: ClassVar[str | None] = None
    extra: ClassVar[str | None] = None
    default_asynchronous: ClassVar[bool] = False
    default_port: ClassVar[int] = 8000
    #: whether the service may be synchronous / asynchronous on this backend
    supports_sync: ClassVar[bool] = True
    supports_async: ClassVar[bool] = True

    def __init__(self, service: UtilMeta, app: Any = None):
        self.service = service
        #: an application instance the user passed as ``backend=``; it keeps its own routes
        self.app = app

    @classmethod
    def accepts(cls, app: Any) -> bool:
        """Whether ``app`` (passed as ``backend=``) is an application of this framework."""
        return False

    @property
    def version(self) -> str:
        """The installed framework's version, for the start banner."""
        if not self.framework:
            return ""
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(self.framework)
        except PackageNotFoundError:
            return ""

    def check(self) -> None:
        """Refuse configurations this backend cannot serve (called by ``service.setup()``)."""

    def application(self) -> Any:
        """The native application (WSGI/ASGI callable or framework app) serving the service."""
        raise NotImplementedError

    def run(self, **kwargs: Any) -> None:
        """Serve in the foreground with the framework's own runner; ``kwargs`` go to it."""
        raise NotImplementedError
