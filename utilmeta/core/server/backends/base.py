"""The contract every backend adaptor fulfils.

An adaptor translates between its framework and the core; it has no behaviour of its own.
Routing, parsing, errors, HEAD/OPTIONS and hooks all live in the core's
:class:`~utilmeta.core.api.router.Router`, reached through ``service.router``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from utilmeta.core.server.backends import BackendInfo
    from utilmeta.core.server.service import UtilMeta

__all__ = ["ServerAdaptor"]

#: facts an adaptor used to declare itself; they live in its registry row now, and a class
#: declaring one would silently disagree with the row
_ROW_FACTS = frozenset(
    ("framework", "extra", "default_asynchronous", "default_port", "supports_sync", "supports_async")
)


class ServerAdaptor:
    #: the registry name (``'flask'``)
    name: ClassVar[str]
    #: the backend's facts (framework, default port and mode, how it is served): its row in the
    #: registry, found by ``name``; an adaptor from outside the registry sets its own
    info: ClassVar[BackendInfo]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = _ROW_FACTS.intersection(cls.__dict__)
        if declared:
            raise TypeError(f"{cls.__name__}: {', '.join(sorted(declared))} belong in the backend's BackendInfo row")
        if "info" not in cls.__dict__ and "name" in cls.__dict__:
            from utilmeta.core.server.backends import BACKEND_INFO

            if cls.name not in BACKEND_INFO:
                raise TypeError(
                    f"{cls.__name__}: backend {cls.name!r} has no registry row; set info = BackendInfo(...)"
                )
            cls.info = BACKEND_INFO[cls.name]

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
        framework = self.info.framework
        if not framework:
            return ""
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(framework)
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
