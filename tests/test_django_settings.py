"""``DjangoSettings``: the settings it assembles (in-process, without configuring Django) and the
seed's Django samples, run unchanged in fresh interpreters (Django is configured once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

from utilmeta import UtilMeta
from utilmeta.conf import Preference, Time
from utilmeta.core.cache import Cache, CacheConnections
from utilmeta.core.orm import Database, DatabaseConnections
from utilmeta.core.server.backends.django import DjangoSettings
from utilmeta.core.server.backends.django.settings import DEFAULT_MIDDLEWARE, URLCONF, discover_apps
from utilmeta.utils.exceptions import SetupError


@pytest.fixture
def module(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest) -> types.ModuleType:
    """A service module living in ``tmp_path`` (its upper-case names are settings)."""
    name = f"djsettings_{request.node.name.replace('[', '_').replace(']', '').replace('-', '_')}"
    mod = types.ModuleType(name)
    mod.__file__ = str(tmp_path / f"{name}.py")
    monkeypatch.setitem(sys.modules, name, mod)
    return mod


def service(mod: Any, **kwargs: Any) -> UtilMeta:
    return UtilMeta(mod.__name__, backend="django", **kwargs)


def settings_of(s: UtilMeta, config: DjangoSettings | None = None) -> dict[str, Any]:
    config = config or DjangoSettings()
    return config.django_settings(s)


# -- assembling ----------------------------------------------------------------------------


def test_defaults_for_development(module: Any, tmp_path: Path) -> None:
    values = settings_of(service(module))
    assert values["DEBUG"] is True
    assert values["ALLOWED_HOSTS"] == ["*"]
    assert values["INSTALLED_APPS"] == ["django.contrib.contenttypes"]
    assert values["MIDDLEWARE"] == DEFAULT_MIDDLEWARE
    assert values["ROOT_URLCONF"] == URLCONF
    assert (values["TIME_ZONE"], values["USE_TZ"]) == ("UTC", True)
    assert values["DEFAULT_AUTO_FIELD"] == "django.db.models.BigAutoField"
    assert values["BASE_DIR"] == tmp_path
    assert "DATABASES" not in values and "CACHES" not in values


def test_a_random_secret_key_for_development_only(module: Any) -> None:
    s = service(module)
    config = DjangoSettings()
    key = settings_of(s, config)["SECRET_KEY"]
    assert len(key) >= 50 and key == settings_of(s, config)["SECRET_KEY"]  # stable for the process
    assert key != settings_of(s)["SECRET_KEY"]  # not derived from guessable service data


@pytest.mark.parametrize("given", [None, ""])
def test_production_without_a_secret_key_refuses_to_start(module: Any, given: str | None) -> None:
    s = service(module, production=True)
    with pytest.raises(SetupError, match="no secret key for a production service"):
        settings_of(s, DjangoSettings(secret_key=given))  # '' is what an unset env variable gives


def test_production_turns_debug_off_whatever_is_declared(module: Any) -> None:
    module.DEBUG = True
    module.SECRET_KEY = "from-the-module"
    values = settings_of(service(module, production=True), DjangoSettings(extra={"DEBUG": True}))
    assert values["DEBUG"] is False
    assert values["SECRET_KEY"] == "from-the-module"


def test_module_level_settings_are_honoured(module: Any) -> None:
    module.DATA_UPLOAD_MAX_NUMBER_FILES = 1000
    module.INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes"]
    module.lower_case = "ignored"
    module._PRIVATE = "ignored"
    values = settings_of(service(module), DjangoSettings(apps=["django.contrib.sessions", "django.contrib.auth"]))
    assert values["DATA_UPLOAD_MAX_NUMBER_FILES"] == 1000
    assert values["INSTALLED_APPS"] == ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions"]
    assert "lower_case" not in values and "_PRIVATE" not in values


def test_precedence_module_then_arguments_then_configs_then_extra(module: Any, tmp_path: Path) -> None:
    module.SECRET_KEY = "module"
    module.MIDDLEWARE = ["module.Middleware"]
    module.DATABASES = {"default": {"ENGINE": "module"}}
    module.TIME_ZONE = "Europe/Paris"
    s = service(module)
    s.use(DatabaseConnections({"default": Database(name="db")}))
    s.use(Time(time_zone="Asia/Tokyo", use_tz=False))
    config = DjangoSettings(secret_key="argument", middleware=[], extra={"SECRET_KEY": "extra", "X_SETTING": 1})
    values = settings_of(s, config)
    assert values["SECRET_KEY"] == "extra"
    assert values["MIDDLEWARE"] == []
    assert values["DATABASES"]["default"]["NAME"] == str(tmp_path / "db")  # the config over the module
    assert (values["TIME_ZONE"], values["USE_TZ"]) == ("Asia/Tokyo", False)
    assert values["X_SETTING"] == 1


def test_databases_caches_and_hosts_from_the_service_configs(module: Any, tmp_path: Path) -> None:
    s = service(module)
    s.use(DatabaseConnections({"default": Database(name="db.sqlite3"), "other": Database(name=":memory:")}))
    s.use(CacheConnections({"default": Cache(engine="locmem"), "files": Cache(engine="file", location="cache")}))
    s.use(Preference(allowed_hosts=["example.com", ".example.org"]))
    values = settings_of(s)
    assert values["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["DATABASES"]["default"]["NAME"] == str(tmp_path / "db.sqlite3")
    assert values["DATABASES"]["other"]["NAME"] == ":memory:"
    assert values["CACHES"]["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["CACHES"]["files"]["LOCATION"] == str(tmp_path / "cache")
    assert values["ALLOWED_HOSTS"] == ["example.com", ".example.org"]
    assert settings_of(s, DjangoSettings(allowed_hosts=["a.test"]))["ALLOWED_HOSTS"] == ["a.test"]


def test_time_without_a_zone_gives_django_a_zone_name(module: Any) -> None:
    s = service(module)
    s.use(Time())
    assert settings_of(s)["TIME_ZONE"]  # Django needs a name: the machine's zone


def test_root_urlconf_is_utilmetas_and_the_projects_is_included(module: Any) -> None:
    s = service(module)
    assert DjangoSettings().user_urlconf(s) is None
    module.ROOT_URLCONF = "mysite.urls"
    assert DjangoSettings().user_urlconf(s) == "mysite.urls"
    assert DjangoSettings(root_urlconf="other.urls").user_urlconf(s) == "other.urls"
    assert settings_of(s, DjangoSettings(root_urlconf="other.urls"))["ROOT_URLCONF"] == URLCONF


def test_an_explicit_settings_module(module: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    other: Any = types.ModuleType("djsettings_explicit_module")
    other.LANGUAGE_CODE = "fr"
    monkeypatch.setitem(sys.modules, other.__name__, other)
    module.LANGUAGE_CODE = "de"
    s = service(module)
    assert settings_of(s, DjangoSettings(other.__name__))["LANGUAGE_CODE"] == "fr"
    assert settings_of(s, DjangoSettings(language="es"))["LANGUAGE_CODE"] == "es"
    with pytest.raises(SetupError, match="cannot import it"):
        settings_of(s, DjangoSettings("djsettings_no_such_module"))


def test_apps_package_finds_the_apps_in_its_sub_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "djsettings_domain"
    for folder, files in {
        "user": ["__init__.py", "models.py"],
        "blog": ["apps.py"],  # a namespace package is an app too
        "_private": ["__init__.py"],
        "__pycache__": ["x.py"],
        "static": ["style.css"],
        "not-an-identifier": ["__init__.py"],
    }.items():
        (root / folder).mkdir(parents=True)
        for name in files:
            (root / folder / name).write_text("")
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert discover_apps("djsettings_domain") == ["djsettings_domain.blog", "djsettings_domain.user"]
    with pytest.raises(SetupError, match="no such package"):
        discover_apps("djsettings_no_such_package")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="upper-case"):
        DjangoSettings(extra={"debug": True})
    with pytest.raises(TypeError, match="list of app names"):
        DjangoSettings(apps="myapp")
    with pytest.raises(TypeError, match="takes a list"):
        DjangoSettings(middleware="x.Middleware")


def test_repr_hides_the_secret_key() -> None:
    text = repr(DjangoSettings(secret_key="s3cr3t-value", apps_package="domain"))
    assert "s3cr3t" not in text and "apps_package='domain'" in text


# -- the seed's samples, unchanged, in fresh interpreters ----------------------------------


def run_project(tmp_path: Path, files: dict[str, str], driver: str, env: dict[str, str] | None = None) -> Any:
    """Write the project, run ``driver`` in it; the driver prints one JSON line, returned."""
    for name, text in files.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip())
    (tmp_path / "driver.py").write_text(textwrap.dedent(driver).lstrip())
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DEMO_", "DJANGO_"))}
    result = subprocess.run(
        [sys.executable, "driver.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**environ, **(env or {})},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


HELLO_SERVER = """
from utilmeta import UtilMeta
from utilmeta.core import api
import django

class RootAPI(api.API):
    @api.get
    def hello(self):
        return 'world'

service = UtilMeta(
    __name__,
    name='demo',
    backend=django,
    api=RootAPI,
    route='/api'
)

app = service.application()

if __name__ == '__main__':
    service.run()
"""

WSGI_DRIVER = """
import json
import httpx
import server
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

client = httpx.Client(transport=httpx.WSGITransport(app=server.app), base_url="http://testserver")
r = client.get("/api/hello")
print(json.dumps({
    "wsgi": isinstance(server.app, WSGIHandler),
    "status": r.status_code,
    "text": r.text,
    "debug": settings.DEBUG,
    "urlconf": settings.ROOT_URLCONF,
}))
"""


def test_seed_hello_world_sample(tmp_path: Path) -> None:
    out = run_project(tmp_path, {"server.py": HELLO_SERVER}, WSGI_DRIVER)
    assert out == {"wsgi": True, "status": 200, "text": "world", "debug": True, "urlconf": URLCONF}


def test_seed_api_reference_string_sample(tmp_path: Path) -> None:
    files = {
        "server.py": """
            from utilmeta import UtilMeta
            import django

            service = UtilMeta(
                __name__,
                name='demo',
                backend=django,
                api='service.api.RootAPI',
                route='/api',
            )
            app = service.application()
            """,
        "service/__init__.py": "",
        "service/api.py": """
            from utilmeta.core import api

            class RootAPI(api.API):
                @api.get
                def hello(self):
                    return 'world'
            """,
    }
    out = run_project(tmp_path, files, WSGI_DRIVER)
    assert (out["wsgi"], out["status"], out["text"]) == (True, 200, "world")


ENV_FILE = """
from utilmeta.conf import Env

class ServiceEnvironment(Env):
    PRODUCTION: bool = False
    DJANGO_SECRET_KEY: str = ''
    COOKIE_AGE: int = 7 * 24 * 3600

    # cache -----
    REDIS_DB: int = 0
    REDIS_PORT: int = 6379
    REDIS_PASSWORD: str

    # databases ---------
    DB_HOST: str = ''
    DB_USER: str
    DB_PASSWORD: str
    DB_PORT: int = 5432

env = ServiceEnvironment(sys_env='DEMO_')
"""

CONF_FILE = """
from utilmeta import UtilMeta
from config.env import env

def configure(service: UtilMeta):
    from utilmeta.core.server.backends.django import DjangoSettings
    from utilmeta.core.orm import DatabaseConnections, Database
    from utilmeta.conf.time import Time

    service.use(DjangoSettings(
        apps_package='domain',
        secret_key=env.DJANGO_SECRET_KEY
    ))
    service.use(DatabaseConnections({
        'default': Database(
            name='db',
            engine='sqlite3',
        )
    }))
    service.use(Time(
        time_zone='UTC',
        use_tz=True,
        datetime_format="%Y-%m-%dT%H:%M:%S.%fZ"
    ))
"""

SETUP_SERVER = """
from utilmeta import UtilMeta
from config.conf import configure
import django

DATA_UPLOAD_MAX_NUMBER_FILES = 1000

service = UtilMeta(__name__, name='demo', backend=django)
configure(service)

service.setup()

from user.models import *
"""

PROJECT = {
    "config/__init__.py": "",
    "config/env.py": ENV_FILE,
    "config/conf.py": CONF_FILE,
    "domain/__init__.py": "",
    "domain/user/__init__.py": "",
    "domain/user/models.py": """
        from django.db import models

        class User(models.Model):
            username = models.CharField(max_length=40, unique=True)
            joined = models.DateTimeField(auto_now_add=True)
        """,
    # `from user.models import *` in the seed: the app's models, importable under that name too
    "user/__init__.py": "",
    "user/models.py": "from domain.user.models import *  # noqa: F403\n",
    "server.py": SETUP_SERVER,
}

SEED_ENV = {"DEMO_REDIS_PASSWORD": "redis-pass", "DEMO_DB_USER": "u", "DEMO_DB_PASSWORD": "p"}


def test_seed_configure_and_setup_samples(tmp_path: Path) -> None:
    driver = """
        import json
        import server
        from django.conf import settings
        from django.core.management import call_command

        call_command("migrate", run_syncdb=True, verbosity=0)
        user = server.User.objects.create(username="alice")
        print(json.dumps({
            "files": settings.DATA_UPLOAD_MAX_NUMBER_FILES,
            "apps": settings.INSTALLED_APPS,
            "db": settings.DATABASES["default"]["NAME"],
            "tz": [settings.TIME_ZONE, settings.USE_TZ],
            "debug": settings.DEBUG,
            "dev_key": settings.SECRET_KEY.startswith("dev-"),
            "users": server.User.objects.count(),
            "aware": user.joined.tzinfo is not None,
        }))
        """
    out = run_project(tmp_path, PROJECT, driver, env=SEED_ENV)
    assert out == {
        "files": 1000,
        "apps": ["django.contrib.contenttypes", "domain.user"],
        "db": str(tmp_path / "db"),
        "tz": ["UTC", True],
        "debug": True,
        "dev_key": True,
        "users": 1,
        "aware": True,
    }
    assert (tmp_path / "db").is_file()


def test_seed_project_in_production(tmp_path: Path) -> None:
    driver = """
        import json
        try:
            import server
        except Exception as e:
            print(json.dumps({"error": type(e).__name__, "message": str(e)}))
        else:
            from django.conf import settings
            print(json.dumps({"debug": settings.DEBUG, "key": settings.SECRET_KEY}))
        """
    project = {**PROJECT, "server.py": SETUP_SERVER.replace("name='demo',", "name='demo', production=True,")}
    out = run_project(tmp_path, project, driver, env=SEED_ENV)
    assert out["error"] == "SetupError" and "secret key" in out["message"]
    out = run_project(tmp_path, project, driver, env={**SEED_ENV, "DEMO_DJANGO_SECRET_KEY": "k" * 50})
    assert out == {"debug": False, "key": "k" * 50}


def test_importing_models_before_setup_is_djangos_improperly_configured(tmp_path: Path) -> None:
    driver = """
        import json
        from utilmeta import UtilMeta
        import django
        from config.conf import configure

        service = UtilMeta(__name__, name='demo', backend=django)
        configure(service)
        from django.conf import settings
        configured_by_use = settings.configured
        try:
            from domain.user.models import User
        except Exception as e:
            error = [type(e).__module__ + "." + type(e).__name__, str(e)]
        service.setup()
        from domain.user.models import User
        print(json.dumps({"configured_by_use": configured_by_use, "error": error, "model": User.__name__}))
        """
    out = run_project(tmp_path, PROJECT, driver, env=SEED_ENV)
    assert out["configured_by_use"] is False
    assert out["error"][0] == "django.core.exceptions.ImproperlyConfigured"
    assert "settings are not configured" in out["error"][1]
    assert out["model"] == "User"
