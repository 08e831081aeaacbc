"""Find the config instance the current service uses, without importing the service layer eagerly."""

from __future__ import annotations

from typing import TypeVar

from utilmeta.conf.base import Config

__all__ = ["current_config"]

C = TypeVar("C", bound=Config)

_SERVICE_MODULE = "utilmeta.core.server.service"


def current_config(cls: type[C]) -> C | None:
    """The instance of ``cls`` used by the current service, or None (no service, or not used)."""
    try:
        # late import: utilmeta.conf must stay importable without (and before) the service layer
        from utilmeta.core.server.service import get_service
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == _SERVICE_MODULE or _SERVICE_MODULE.startswith(exc.name + ".")):
            return None
        raise
    service = get_service()
    if service is None:
        return None
    config = service.get_config(cls)
    return config if isinstance(config, cls) else None
