"""The process's current service, and the config instance it uses.

The slot lives here, below the service layer: ``UtilMeta(...)`` fills it
(``utilmeta.core.server.service``), configs read it, and ``utilmeta.conf`` never imports the
service layer — not at import, not at run time.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from utilmeta.conf.base import Config

__all__ = ["current_config", "current_service", "set_current_service"]

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
