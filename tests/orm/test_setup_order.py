"""Models imported before ``service.setup()``: Django's error keeps its first sentence and names,
on the same line, the module imported too early and the service to set up; in the right order
the models load; without a service that sets Django up, Django's error is its own.

Each case is a fresh interpreter (Django is configured once per process) running a project in
``tmp_path`` with a real app package, ``blog``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import utilmeta

ROOT = Path(utilmeta.__file__).resolve().parents[1]
#: Django's first sentence, as the seed documentation quotes it
DJANGO_FIRST = "Requested setting INSTALLED_APPS, but settings are not configured"
IMPROPERLY = "django.core.exceptions.ImproperlyConfigured: "

BLOG = {
    "blog/__init__.py": "",
    "blog/models.py": """
        from django.db import models

        class Post(models.Model):
            title = models.CharField(max_length=20)
    """,
    "blog/api.py": """
        from blog.models import Post
    """,
}


def run(tmp_path: Path, server: str) -> subprocess.CompletedProcess[str]:
    for name, text in {**BLOG, "server.py": server}.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip())
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))
    return subprocess.run(
        [sys.executable, "server.py"], cwd=tmp_path, env=environ, capture_output=True, text=True, timeout=60
    )


def error_line(done: subprocess.CompletedProcess[str], kind: str = IMPROPERLY) -> str:
    """The exception's text: one line, the last of stderr, after the exception type."""
    assert done.returncode != 0, done.stdout
    lines = done.stderr.strip().splitlines()
    assert "During handling" not in done.stderr and "direct cause" not in done.stderr, done.stderr
    assert lines[-1].startswith(kind), done.stderr
    assert sum(line.startswith(kind) for line in lines) == 1, done.stderr
    return lines[-1][len(kind) :]


EXPECTED = (
    f"{DJANGO_FIRST}: blog.models was imported before service.setup() of the UtilMeta service 'blog'; "
    "call service.setup() before importing models"
)

SERVICES = {  # dedented below, to be continued by each test
    "DjangoSettings": """
        from utilmeta import UtilMeta
        from utilmeta.core.server.backends.django import DjangoSettings

        service = UtilMeta(__name__, name='blog')
        service.use(DjangoSettings(apps=['blog']))
    """,
    "django backend": """
        from utilmeta import UtilMeta

        service = UtilMeta(__name__, backend='django', name='blog')
    """,
    "DatabaseConnections": """
        from utilmeta import UtilMeta
        from utilmeta.core.orm import Database, DatabaseConnections

        service = UtilMeta(__name__, name='blog')
        service.use(DatabaseConnections({'default': Database(name=':memory:')}))
    """,
}
SERVICES = {k: textwrap.dedent(v).lstrip() for k, v in SERVICES.items()}


@pytest.mark.parametrize("declared", list(SERVICES))
@pytest.mark.parametrize("imported", ["blog.models", "blog.api"])
def test_a_model_imported_before_setup_names_the_module_and_the_service(
    tmp_path: Path, declared: str, imported: str
) -> None:
    done = run(tmp_path, SERVICES[declared] + f"import {imported}\nservice.setup()\n")
    assert error_line(done) == EXPECTED


def test_settings_configured_but_apps_not_loaded(tmp_path: Path) -> None:
    done = run(
        tmp_path,
        SERVICES["DjangoSettings"]
        + "from django.conf import settings\nsettings.configure(INSTALLED_APPS=['blog'])\nimport blog.models\n",
    )
    kind = "django.core.exceptions.AppRegistryNotReady: "
    assert error_line(done, kind) == EXPECTED.replace(DJANGO_FIRST, "Apps aren't loaded yet")


def test_a_django_module_imported_by_the_service_module_is_named(tmp_path: Path) -> None:
    done = run(tmp_path, SERVICES["DjangoSettings"] + "from django.contrib.auth.models import User\n")
    assert error_line(done) == EXPECTED.replace("blog.models", "django.contrib.auth.models")


@pytest.mark.parametrize("declared", list(SERVICES))
def test_models_imported_after_setup_load(tmp_path: Path, declared: str) -> None:
    # the service module's upper-case names are settings: the app for the services without DjangoSettings
    server = "INSTALLED_APPS = ['blog']\n" + SERVICES[declared]
    done = run(tmp_path, server + "service.setup()\nfrom blog.api import Post\nprint(Post._meta.label)\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["blog.Post"]


@pytest.mark.parametrize(
    "server",
    [
        "import blog.models\n",  # no service at all
        "from utilmeta import UtilMeta\nservice = UtilMeta(__name__, name='blog')\nimport blog.models\n",
    ],
    ids=["no service", "a service that does not set Django up"],
)
def test_without_a_service_setting_django_up_the_error_is_djangos(tmp_path: Path, server: str) -> None:
    text = error_line(run(tmp_path, server))
    assert text.startswith(DJANGO_FIRST + ". You must either define the environment variable DJANGO_SETTINGS_MODULE")
    assert "UtilMeta" not in text and "service.setup()" not in text
