"""Django settings, the one place that turns the service's configs into them:
``service.use(DjangoSettings(...))``.

This is the Django integration of the data layer: the framework-free ``DatabaseConnections`` and
``CacheConnections`` become Django's ``DATABASES`` / ``CACHES`` here (:func:`databases_setting`,
:func:`caches_setting`), and a service that uses them without a ``DjangoSettings`` gets Django
set up with the defaults (:func:`ensure_django`). The configs register themselves as sources
(:func:`settings_source`), so this module imports neither config module. The django *server*
adaptor re-exports ``DjangoSettings`` (``utilmeta.core.server.backends.django``); the arrow
runs from the adaptor to here, never back.

Settings are assembled at ``service.setup()`` — never at import — from, in increasing
precedence: UtilMeta's defaults, the upper-case names of the settings module (the service's own
module unless ``module_name`` is given, so ``DATA_UPLOAD_MAX_NUMBER_FILES = 1000`` beside
``UtilMeta(...)`` works as in a Django settings file), the ``DjangoSettings`` arguments, the
service's ``DatabaseConnections`` / ``CacheConnections`` / ``Time`` configs, and ``extra``.
Then ``settings.configure()`` and ``django.setup()`` run, so models can be imported afterwards.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from importlib.util import find_spec
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from utilmeta.conf.base import Config
from utilmeta.core.orm.backends.django import errors, setup_order
from utilmeta.utils.exceptions import SetupError

if TYPE_CHECKING:
    from utilmeta.core.cache.config import Cache, CacheConnections
    from utilmeta.core.orm.databases import Database, DatabaseConnections
    from utilmeta.core.server.service import UtilMeta

__all__ = [
    "DjangoSettings",
    "ensure_settings",
    "ensure_django",
    "settings_source",
    "database_entry",
    "databases_setting",
    "cache_entry",
    "caches_setting",
    "DEFAULT_APPS",
    "DEFAULT_MIDDLEWARE",
]

DEFAULT_APPS = ["django.contrib.contenttypes"]
# applied to the project's own Django views; UtilMeta APIs are answered before Django's middleware
DEFAULT_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
#: (config class, converter): a used config of that class adds the converter's settings
#: (``DatabaseConnections`` → DATABASES, ``CacheConnections`` → CACHES); filled by the config
#: modules themselves when imported, so this module never imports them
_SOURCES: dict[type[Config], Callable[[Any, str | None], dict[str, Any]]] = {}
#: the root URLconf installed by UtilMeta (imported by Django when it serves, on the django
#: backend): the project's own patterns plus mounted Django routers
URLCONF = "utilmeta.core.server.backends.django.urls"
#: ``WSGI_APPLICATION``: the service's application, for Django's own ``runserver``
APPLICATION = "utilmeta.core.server.backends.django.handlers.application"


class DjangoSettings(Config):
    """Django settings for a service on the django backend, or for the Django ORM on any backend.

    ::

        service.use(DjangoSettings(apps_package='domain', secret_key=env.DJANGO_SECRET_KEY))

    - ``module_name``: the settings module; default: the module that created the service. Its
      upper-case names are Django settings.
    - ``secret_key``: Django's ``SECRET_KEY``. Without one a random key is made for development;
      a production service refuses to start.
    - ``apps``: more ``INSTALLED_APPS``; ``apps_package``: a package (``'domain'``,
      ``'service.apps'``) whose sub-folders are Django apps.
    - ``middleware``: ``MIDDLEWARE`` (applied to Django's own URLs; UtilMeta APIs use plugins).
    - ``root_urlconf``: the project's URLconf, served beside the APIs (default: the settings
      module's ``ROOT_URLCONF``, else the service module's ``urlpatterns`` if it has any).
    - ``allowed_hosts``: ``ALLOWED_HOSTS``; default ``Preference(allowed_hosts=...)``, else any.
    - ``extra``: any other settings, applied last.

    ``DEBUG`` is ``not production`` (always off in production); ``DATABASES``, ``CACHES``,
    ``TIME_ZONE`` and ``USE_TZ`` come from ``DatabaseConnections``, ``CacheConnections`` and
    ``Time`` when those are used.
    """

    def __init__(
        self,
        module_name: str | None = None,
        *,
        secret_key: str | None = None,
        apps: Iterable[str] = (),
        apps_package: str | None = None,
        middleware: Iterable[str] | None = None,
        root_urlconf: str | None = None,
        allowed_hosts: Iterable[str] | None = None,
        default_autofield: str | None = None,
        language: str | None = None,
        use_i18n: bool | None = None,
        append_slash: bool | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(apps, str):
            raise TypeError(f"DjangoSettings(apps=...) takes a list of app names, got the string {apps!r}")
        if isinstance(middleware, str):
            raise TypeError(f"DjangoSettings(middleware=...) takes a list, got the string {middleware!r}")
        extra = dict(extra or {})
        lower = [k for k in extra if not (isinstance(k, str) and k.isupper())]
        if lower:
            raise ValueError(f"DjangoSettings(extra=...): Django settings are upper-case names, got {lower!r}")
        self.module_name = module_name
        self.secret_key = secret_key or None
        self.apps = list(apps)
        self.apps_package = apps_package
        self.middleware = None if middleware is None else list(middleware)
        self.root_urlconf = root_urlconf
        self.allowed_hosts = None if allowed_hosts is None else list(allowed_hosts)
        self.default_autofield = default_autofield
        self.language = language
        self.use_i18n = use_i18n
        self.append_slash = append_slash
        self.extra = extra
        self._generated_key: str | None = None

    def _repr_items(self) -> list[tuple[str, Any]]:
        items = super()._repr_items()
        return [(k, "******" if k == "secret_key" and v else v) for k, v in items]

    # -- assembling the settings -----------------------------------------------------------------

    def settings_module(self, service: UtilMeta) -> ModuleType | None:
        """The module whose upper-case names are settings (None if the service module is gone)."""
        name = self.module_name or service.module_name
        module = sys.modules.get(name)
        if module is not None:
            return module
        try:
            return importlib.import_module(name)
        except ImportError as e:
            if self.module_name:
                raise SetupError(f"DjangoSettings(module_name={name!r}): cannot import it: {e}") from e
            return None

    def installed_apps(self, base: Iterable[str]) -> list[str]:
        found = discover_apps(self.apps_package) if self.apps_package else []
        return _unique([*base, *self.apps, *found])

    def django_settings(self, service: UtilMeta) -> dict[str, Any]:
        """The settings Django will be configured with for ``service`` (without configuring it)."""
        from utilmeta.conf.preference import Preference
        from utilmeta.conf.time import Time

        base_dir = service_dir(service)
        preference = service.get_config(Preference)
        hosts = preference.allowed_hosts if preference is not None else None
        values: dict[str, Any] = {
            "DEBUG": not service.production,
            "ALLOWED_HOSTS": list(hosts) if hosts is not None else ["*"],
            "INSTALLED_APPS": list(DEFAULT_APPS),
            "MIDDLEWARE": list(DEFAULT_MIDDLEWARE),
            "DEFAULT_AUTO_FIELD": DEFAULT_AUTO_FIELD,
            "TIME_ZONE": "UTC",
            "USE_TZ": True,
            "BASE_DIR": Path(base_dir),
            "WSGI_APPLICATION": APPLICATION,
        }
        module = self.settings_module(service)
        if module is not None:
            values.update(module_settings(module))

        if self.secret_key:
            values["SECRET_KEY"] = self.secret_key
        if self.allowed_hosts is not None:
            values["ALLOWED_HOSTS"] = list(self.allowed_hosts)
        if self.middleware is not None:
            values["MIDDLEWARE"] = list(self.middleware)
        values["INSTALLED_APPS"] = self.installed_apps(values.get("INSTALLED_APPS") or ())
        for key, value in (
            ("ROOT_URLCONF", self.root_urlconf),
            ("DEFAULT_AUTO_FIELD", self.default_autofield),
            ("LANGUAGE_CODE", self.language),
            ("USE_I18N", self.use_i18n),
            ("APPEND_SLASH", self.append_slash),
        ):
            if value is not None:
                values[key] = value

        for kind, convert in _SOURCES.items():
            config = service.get_config(kind)
            if config is not None:
                values.update(convert(config, base_dir))
        time_config = service.get_config(Time)
        if time_config is not None:
            values.update(time_config.django_settings())

        values.update(self.extra)
        if service.production:
            values["DEBUG"] = False  # never a debug page in production, whatever the module says
        if not values.get("SECRET_KEY"):
            values["SECRET_KEY"] = self._development_key(service)
        values["ROOT_URLCONF"] = URLCONF
        return values

    def user_urlconf(self, service: UtilMeta) -> str | None:
        """The project's own URLconf module name, if it declares one."""
        name = self.root_urlconf or self.extra.get("ROOT_URLCONF")
        if not name:
            module = self.settings_module(service)
            name = getattr(module, "ROOT_URLCONF", None) if module is not None else None
        return name if isinstance(name, str) and name and name != URLCONF else None

    def _development_key(self, service: UtilMeta) -> str:
        if service.production:
            raise SetupError(
                "DjangoSettings: no secret key for a production service; pass "
                "DjangoSettings(secret_key=...) (from an environment variable) or set SECRET_KEY "
                "in the settings module"
            )
        if self._generated_key is None:
            import secrets

            # random per process: development only, never derived from guessable service data
            self._generated_key = "dev-" + secrets.token_urlsafe(48)
        return self._generated_key

    # -- Config ----------------------------------------------------------------------------------

    def hook(self, service: UtilMeta) -> None:
        """A model imported before ``service.setup()`` now names itself and the service."""
        setup_order.guard(service)

    def setup(self, service: UtilMeta) -> None:
        """Configure Django (unless it already is, e.g. by ``DJANGO_SETTINGS_MODULE`` code that
        ran first) and call ``django.setup()``."""
        import django
        from django.conf import settings

        if not settings.configured:
            settings.configure(**self.django_settings(service))
        django.setup()
        errors.register()


def ensure_settings(service: UtilMeta) -> None:
    """Set Django up for ``service`` with default settings when it uses no ``DjangoSettings``
    (a used one sets Django up itself, in its turn). ``DJANGO_SETTINGS_MODULE`` is honoured."""
    if service.get_config(DjangoSettings) is not None:
        return
    import django
    from django.conf import settings

    if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        settings.configure(**DjangoSettings().django_settings(service))
    django.setup()
    errors.register()


def ensure_django(service: UtilMeta) -> None:
    """:func:`ensure_settings` when Django is installed (the data configs' ``setup``): models
    and Django caches then work under any backend."""
    if find_spec("django") is not None:
        ensure_settings(service)


def settings_source(kind: type[Config], convert: Callable[[Any, str | None], dict[str, Any]]) -> None:
    """Make a used config of class ``kind`` add ``convert(config, base_dir)`` to the settings."""
    _SOURCES[kind] = convert


# -- the data configs as Django settings ----------------------------------------------------------


def database_entry(db: Database, base_dir: str | None = None) -> dict[str, Any]:
    """One database as one entry of Django's ``DATABASES``; a relative SQLite name is a file in
    ``base_dir`` (default: the working directory)."""
    name = db.name
    if db.backend == "django.db.backends.mysql":
        _mysql_driver()
    if db.is_sqlite and name != ":memory:" and not name.startswith("file:") and not os.path.isabs(name):
        name = os.path.join(base_dir or os.getcwd(), name)
    return {
        "ENGINE": db.backend,
        "NAME": name,
        "USER": db.user,
        "PASSWORD": db.password,
        "HOST": db.host,
        "PORT": "" if db.port is None else str(db.port),
        "OPTIONS": dict(db.options),
        "CONN_MAX_AGE": db.max_age,
        "CONN_HEALTH_CHECKS": db.health_checks,
        "TIME_ZONE": db.time_zone,
        "TEST": dict(db.test),
    }


def _mysql_driver() -> None:
    """Django's MySQL/MariaDB backend imports ``MySQLdb`` (mysqlclient, a C build); without it,
    PyMySQL (``pip install 'utilmeta[mysql]'``, pure Python) stands in for it."""
    if find_spec("MySQLdb") is not None or find_spec("pymysql") is None:
        return  # mysqlclient is there, or neither is: Django names the missing driver
    import pymysql

    pymysql.install_as_MySQLdb()


def databases_setting(connections: DatabaseConnections, base_dir: str | None = None) -> dict[str, Any]:
    """``{'DATABASES': {...}}``."""
    return {"DATABASES": {alias: database_entry(db, base_dir) for alias, db in connections.items()}}


def cache_entry(cache: Cache, base_dir: str | None = None) -> dict[str, Any]:
    """One cache as one entry of Django's ``CACHES``; a relative file-cache directory is in
    ``base_dir`` (default: the working directory)."""
    entry: dict[str, Any] = {
        "BACKEND": cache.backend,
        "LOCATION": cache.get_location(base_dir),
        "TIMEOUT": cache.timeout,
        "OPTIONS": cache.get_options(),
        "KEY_PREFIX": cache.key_prefix,
    }
    if cache.version is not None:
        entry["VERSION"] = cache.version
    return entry


def caches_setting(connections: CacheConnections, base_dir: str | None = None) -> dict[str, Any]:
    """``{'CACHES': {...}}``."""
    return {"CACHES": {alias: cache_entry(cache, base_dir) for alias, cache in connections.items()}}


def current_settings(service: UtilMeta) -> DjangoSettings:
    """The ``DjangoSettings`` the service uses, or the defaults."""
    return service.get_config(DjangoSettings) or DjangoSettings()


def service_dir(service: UtilMeta) -> str:
    """The service's directory (its module's), where relative paths are taken from."""
    return os.path.dirname(service.module_file) if service.module_file else os.getcwd()


def module_settings(module: ModuleType) -> dict[str, Any]:
    """The Django settings a module declares: its upper-case names, as Django reads them."""
    return {k: v for k, v in vars(module).items() if k.isupper() and not k.startswith("_")}


def discover_apps(package: str) -> list[str]:
    """The Django apps in the sub-folders of ``package``: every sub-folder holding Python code."""
    try:
        spec = find_spec(package)
    except (ImportError, ValueError) as e:
        raise SetupError(f"DjangoSettings(apps_package={package!r}): cannot import it: {e}") from e
    if spec is None or not spec.submodule_search_locations:
        raise SetupError(
            f"DjangoSettings(apps_package={package!r}): no such package on sys.path; run the service "
            "from the project directory or add it to sys.path"
        )
    apps = []
    for location in spec.submodule_search_locations:
        try:
            entries = sorted(os.scandir(location), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            if (
                entry.is_dir()
                and entry.name.isidentifier()
                and not entry.name.startswith("_")
                and _has_python(entry.path)
            ):
                apps.append(f"{package}.{entry.name}")
    return apps


def _has_python(path: str) -> bool:
    try:
        return any(name.endswith(".py") for name in os.listdir(path))
    except OSError:
        return False


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
