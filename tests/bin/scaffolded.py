"""The real ``meta`` command in a project made by the real ``meta setup``, for the tests that do
what a new user does (issue 13)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from optional import optional_import

__all__ = ["meta", "setup_project"]


def meta(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``meta ARGV`` in ``cwd``, with the test's environment plus ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "utilmeta", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def setup_project(parent: Path, name: str, backend: str = "flask") -> Path:
    """``meta setup NAME --backend B`` in ``parent``; the project's root."""
    optional_import(backend, f"the {backend} extra (scripts/install installs every extra)")
    created = meta("setup", name, "--backend", backend, cwd=parent)
    assert created.returncode == 0, created.stderr
    return parent / name
