"""The root URLconf UtilMeta installs (``ROOT_URLCONF``).

Its ``urlpatterns`` are the Django routers mounted with ``service.mount(router, route)``
(anything with a ``urls`` attribute: Django-Ninja APIs, DRF routers) followed by the project's
own patterns (``DjangoSettings(root_urlconf=...)``, the settings module's ``ROOT_URLCONF``, or the
service module's ``urlpatterns``). They are read when Django first resolves a URL, so patterns
declared after ``service.application()`` in the service module count too. ``handler404`` and the
other error views come from the project's URLconf.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

__all__: list[str] = []


def _project_urlconf() -> ModuleType | None:
    from utilmeta.conf._lookup import current_service as get_service  # the slot UtilMeta(...) fills
    from utilmeta.core.server.backends.django.settings import current_settings

    service = get_service()
    if service is None:
        return None
    name = current_settings(service).user_urlconf(service)
    if name:
        return importlib.import_module(name)
    module = sys.modules.get(service.module_name)
    return module if module is not None and hasattr(module, "urlpatterns") else None


def _mounted() -> list[Any]:
    from django.urls import include, path

    from utilmeta.conf._lookup import current_service as get_service  # the slot UtilMeta(...) fills

    service = get_service()
    patterns: list[Any] = []
    for target, route in service.mounts if service is not None else ():
        urls = getattr(target, "urls", None)
        if urls is None:
            continue  # WSGI/ASGI apps are dispatched by the handler, before Django
        prefix = route.strip("/")
        patterns.append(path(f"{prefix}/" if prefix else "", urls if isinstance(urls, tuple) else include(urls)))
    return patterns


def __getattr__(name: str) -> Any:
    if name == "urlpatterns":
        project = _project_urlconf()
        return [*_mounted(), *(getattr(project, "urlpatterns", None) or [])]
    if name.startswith("handler"):
        project = _project_urlconf()
        if project is not None and hasattr(project, name):
            return getattr(project, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
