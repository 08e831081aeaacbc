"""The process's current service, and the config instance it uses; what upper layers provide.

The slot lives here, below the service layer: ``UtilMeta(...)`` fills it
(``utilmeta.core.server.service``), configs read it, and ``utilmeta.conf`` never imports the
service layer — not at import, not at run time.

Likewise :func:`provide` / :func:`provided`: a lower layer calls, by name, what a higher one put
here when it was imported — ``'embed'`` (``API.__as__``, by the service layer) and ``'openapi'``
(the document of ``utilmeta.core.api.specs.openapi``, by the ``utilmeta`` package from ``ops``).
``import utilmeta``, which any import of a submodule runs first, puts them here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from utilmeta.conf.base import Config

__all__ = ["current_config", "current_service", "provide", "provided", "set_current_service"]

C = TypeVar("C", bound=Config)


class _Service(Protocol):
    """What configs need of the service here (``UtilMeta`` is one)."""

    def get_config(self, kind: type[C]) -> C | None: ...


_current: Any = None


def current_service() -> Any:
    """The process's service (a ``UtilMeta``), or None before one is created."""
    return _current


def set_current_service(service: _Service | None) -> None:
    """Called by the service layer only: ``UtilMeta(...)`` and ``_clear_service()``."""
    global _current
    _current = service


def current_config(cls: type[C]) -> C | None:
    """The instance of ``cls`` used by the current service, or None (no service, or not used)."""
    service: _Service | None = _current
    if service is None:
        return None
    config = service.get_config(cls)
    return config if isinstance(config, cls) else None


_provided: dict[str, Callable[..., Any]] = {}


def provide(name: str, func: Callable[..., Any]) -> None:
    """Called by a higher layer at its import: ``func`` is what ``provided(name)`` gives."""
    _provided[name] = func


def provided(name: str) -> Callable[..., Any]:
    try:
        return _provided[name]
    except KeyError:
        raise LookupError(f"nothing provides {name!r}: import utilmeta first") from None
