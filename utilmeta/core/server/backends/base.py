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

#: class attributes copied from ``info``; an adaptor that set them would shadow its row
_DERIVED = frozenset(("default_asynchronous", "default_port", "supports_sync", "supports_async"))


class ServerAdaptor:
    #: the registry name (``'flask'``)
    name: ClassVar[str]
    #: the backend's facts: its row in the registry (found by ``name``); an adaptor from outside
    #: the registry sets its own ``BackendInfo``
    info: ClassVar[BackendInfo]
    # derived from ``info`` for the service's constructor
    default_asynchronous: ClassVar[bool]
    default_port: ClassVar[int]
    supports_sync: ClassVar[bool]
    supports_async: ClassVar[bool]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared = _DERIVED.intersection(cls.__dict__)
        if declared:
            raise TypeError(f"{cls.__name__}: {', '.join(sorted(declared))} come from the backend's BackendInfo row")
        if "info" not in cls.__dict__ and "name" in cls.__dict__:
            from utilmeta.core.server.backends import BACKEND_INFO

            if cls.name not in BACKEND_INFO:
                raise TypeError(
                    f"{cls.__name__}: backend {cls.name!r} has no registry row; set info = BackendInfo(...)"
                )
            cls.info = BACKEND_INFO[cls.name]
        if "info" in cls.__dict__:
            cls.default_asynchronous = cls.info.default_asynchronous
            cls.default_port = cls.info.default_port
            cls.supports_sync = cls.info.supports_sync
            cls.supports_async = cls.info.supports_async

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
