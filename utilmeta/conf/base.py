"""The base of every object passed to ``service.use(...)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from utilmeta.core.server.service import UtilMeta

__all__ = ["Config"]


class Config:
    """A piece of service configuration.

    ``service.use(config)`` calls :meth:`hook` at once; ``service.setup()`` calls :meth:`setup`
    once; :meth:`on_startup` / :meth:`on_shutdown` run in every worker process around serving.
    One instance of each ``Config`` class may be used per service (the service enforces it).
    Subclasses override what they need; the defaults do nothing.
    """

    def hook(self, service: UtilMeta) -> None:
        """Called by ``service.use(self)``."""

    def setup(self, service: UtilMeta) -> None:
        """Called once by ``service.setup()``, in the order the configs were used."""

    def on_startup(self, service: UtilMeta) -> None:
        """Called in each worker process before it serves requests."""

    def on_shutdown(self, service: UtilMeta) -> None:
        """Called in each worker process when it stops gracefully."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._repr_items())
        return f"{type(self).__name__}({fields})"

    def _repr_items(self) -> list[tuple[str, Any]]:
        return [(k, v) for k, v in vars(self).items() if not k.startswith("_")]
