"""Django settings for the django backend: ``DjangoSettings`` and its helpers.

They live with the Django ORM integration (``utilmeta/core/orm/backends/django/settings.py``),
because the ORM needs Django configured under every backend; this module re-exports them under
the adaptor, so ``utilmeta.core.server.backends.django.DjangoSettings`` keeps its path. The
adaptor imports the integration, never the other way round.
"""

from utilmeta.core.orm.backends.django.settings import (
    APPLICATION,
    DEFAULT_APPS,
    DEFAULT_AUTO_FIELD,
    DEFAULT_MIDDLEWARE,
    URLCONF,
    DjangoSettings,
    current_settings,
    discover_apps,
    ensure_settings,
    module_settings,
    service_dir,
)

__all__ = [
    "APPLICATION",
    "DEFAULT_APPS",
    "DEFAULT_AUTO_FIELD",
    "DEFAULT_MIDDLEWARE",
    "URLCONF",
    "DjangoSettings",
    "current_settings",
    "discover_apps",
    "ensure_settings",
    "module_settings",
    "service_dir",
]
