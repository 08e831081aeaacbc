"""What ``meta routes``, ``meta check`` and ``meta gen_openapi`` say about a new project, run as
a user runs them (``meta setup``, then the commands in the project): the user's endpoints by
their own names, the ones utilmeta serves itself (docs, index) apart and labelled, counts with
the right noun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def meta(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))}
    return subprocess.run(
        [sys.executable, "-m", "utilmeta", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project as ``meta setup`` makes it: one endpoint, ``GET /api/hello``."""
    where = tmp_path_factory.mktemp("listings")
    done = meta("setup", "myapp", "--backend", "flask", cwd=where)
    assert done.returncode == 0, done.stderr
    return where / "myapp"


def test_routes_lists_the_users_endpoints_then_utilmetas_apart(project: Path) -> None:
    done = meta("routes", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "<locals>" not in done.stdout and "DocsPageAPI" not in done.stdout
    own, _, served = done.stdout.partition("\nserved by utilmeta (docs, index):\n")
    assert [line.split()[:3] for line in own.splitlines()[2:]] == [["GET", "/api/hello", "RootAPI.hello"]]
    rows = [line.split()[:3] for line in served.splitlines()[2:]]
    assert rows == [
        ["GET", "/api", "index"],
        ["GET", "/api/docs", "docs"],
        ["GET", "/api/docs/assets/{name}", "docs"],
        ["GET", "/api/openapi.json", "docs"],
    ]
    listed = json.loads(meta("routes", "--json", cwd=project).stdout)
    assert [(r["path"], r["endpoint"], r["feature"]) for r in listed][:2] == [
        ("/api/hello", "RootAPI.hello", None),
        ("/api", None, "index"),
    ]


def test_check_counts_the_users_endpoints(project: Path) -> None:
    done = meta("check", cwd=project)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first == "myapp: flask (sync), 1 endpoint (besides utilmeta's docs and index) at http://127.0.0.1:5000/api"


def test_check_warns_of_a_service_without_endpoints_even_with_the_docs(project: Path, tmp_path: Path) -> None:
    # the docs' routes used to hide it: a project whose API has no endpoint is worth a warning
    (tmp_path / "server.py").write_text(
        "from utilmeta import UtilMeta\nservice = UtilMeta(__name__, name='bare', backend='wsgi', route='/api')\n"
    )
    (tmp_path / "meta.ini").write_text("[utilmeta]\nservice = server:service\n")
    done = meta("check", cwd=tmp_path)
    assert "bare: wsgi (sync), 0 endpoints (besides utilmeta's docs and index)" in done.stdout
    assert "warning: the service has no API endpoints" in done.stdout


def test_gen_openapi_counts_paths_with_the_right_noun(project: Path) -> None:
    done = meta("gen_openapi", "--to", "openapi.json", cwd=project)
    assert done.returncode == 0 and done.stdout.strip().endswith("openapi.json (1 path)"), done.stdout
