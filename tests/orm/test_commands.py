"""`meta makemigrations` / `migrate` / `shell` run Django's commands with the service's settings,
for a service on another backend (flask) that uses the Django ORM."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SERVER = """
    import flask
    from utilmeta import UtilMeta
    from utilmeta.core import api
    from utilmeta.core.orm import Database, DatabaseConnections
    from utilmeta.core.server.backends.django import DjangoSettings


    class RootAPI(api.API):
        @api.get
        def ping(self) -> str:
            return "pong"


    service = UtilMeta(__name__, name="notes", backend=flask, api=RootAPI, route="/api")
    service.use(DjangoSettings(apps=["notes"]))
    service.use(DatabaseConnections({"default": Database(name="notes.sqlite3")}))
"""
MODELS = """
    from django.db import models


    class Note(models.Model):
        text = models.CharField(max_length=100)
"""


def meta(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "utilmeta", "--service", "server:service", *args]
    return subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=120)


def test_djangos_commands_with_the_services_settings(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "__init__.py").write_text("")
    (tmp_path / "notes" / "models.py").write_text(textwrap.dedent(MODELS))
    (tmp_path / "server.py").write_text(textwrap.dedent(SERVER))
    made = meta(tmp_path, "makemigrations", "notes")
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "notes" / "migrations" / "0001_initial.py").exists()
    migrated = meta(tmp_path, "migrate")
    assert migrated.returncode == 0 and "Applying notes.0001_initial... OK" in migrated.stdout, migrated.stderr
    shell = meta(tmp_path, "shell", stdin="from notes.models import Note; print('notes:', Note.objects.count())\n")
    assert "notes: 0" in shell.stdout, shell.stderr
