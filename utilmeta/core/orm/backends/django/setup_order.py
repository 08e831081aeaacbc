"""Models imported before ``service.setup()``: Django's error, naming the module and the service.

Django is configured in ``service.setup()``, so a model module imported before it fails in
Django's app registry (``apps.check_apps_ready``) with ``ImproperlyConfigured: Requested setting
INSTALLED_APPS, but settings are not configured. ...`` (or ``AppRegistryNotReady: Apps aren't
loaded yet.``), which says nothing of UtilMeta. Once a service that will set Django up exists
(:func:`guard`), that check raises the same exception with Django's first sentence followed, on
the same line, by the module imported too early and the service to set up::

    ImproperlyConfigured: Requested setting INSTALLED_APPS, but settings are not configured:
    blog.models was imported before service.setup() of the UtilMeta service 'blog'; call
    service.setup() before importing models

(one line). Without such a service, or once it is set up, Django's error is left as it is.
"""

from __future__ import annotations

import sys
import weakref
from importlib.util import find_spec
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from utilmeta.core.server.service import UtilMeta

__all__ = ["guard", "explain"]

#: the services whose setup() configures Django; the check is explained only for these
_SERVICES: weakref.WeakSet[Any] = weakref.WeakSet()


def guard(service: UtilMeta) -> None:
    """Explain a model import before ``service.setup()`` (called when a config or backend that
    sets Django up is used). Imports ``django.apps`` (a few light modules), if Django is installed."""
    if find_spec("django") is None:
        return
    from django.apps import apps

    _SERVICES.add(service)
    check = apps.check_apps_ready
    if getattr(check, "_utilmeta_guard", False):
        return

    def check_apps_ready() -> None:
        try:
            check()
        except Exception as e:
            explain(e, sys._getframe(1))
            raise

    check_apps_ready._utilmeta_guard = True  # type: ignore[attr-defined]
    # an instance attribute: the registry calls self.check_apps_ready(), nothing else changes
    apps.check_apps_ready = check_apps_ready


def explain(error: BaseException, frame: FrameType | None) -> None:
    """Add the module and the service to Django's not-ready ``error`` (in place, on one line),
    when the process's service sets Django up and is not set up yet."""
    from django.apps import apps
    from django.core.exceptions import AppRegistryNotReady, ImproperlyConfigured

    from utilmeta.conf._lookup import current_service

    if not isinstance(error, ImproperlyConfigured | AppRegistryNotReady) or apps.loading:
        return  # apps.loading: django.setup() itself is running (an app imports models too early)
    service = current_service()
    if service is None or service not in _SERVICES or getattr(service, "_setup_done", False):
        return
    message = str(error.args[0]) if error.args else ""
    first = message.split(". ", 1)[0].strip().rstrip(".")
    module = _imported_module(frame, service.module_name)
    what = f"{module} was imported" if module else "Django models were used"
    error.args = (
        f"{first}: {what} before service.setup() of the UtilMeta service {service.name!r}; "
        "call service.setup() before importing models",
    )


def _imported_module(frame: FrameType | None, service_module: str) -> str | None:
    """The module whose import ran into the check: the innermost module being executed that is
    not Django's own (``blog.models`` defining a model, not ``django.db.models``), unless that
    is the importer itself (the service's module, ``__main__``) importing a Django module."""
    executing: list[str] = []
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            executing.append(str(frame.f_globals.get("__name__", "")))
        frame = frame.f_back
    previous: str | None = None
    for name in executing:
        if not _is_django(name):
            if name in ("__main__", service_module) and previous is not None:
                return previous
            return name
        previous = name
    return previous


def _is_django(name: str) -> bool:
    return name == "django" or name.startswith("django.")
