"""``meta gen_openapi`` through the real console entry, in a subprocess, in a project directory with
a ``meta.ini``: what it prints and writes (JSON, YAML, OpenAPI 3.0), and one clear line for every
user mistake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

from utilmeta.ops import generate, render

from .apis import make_service

REPO = Path(__file__).resolve().parents[2]
META = Path(sys.executable).with_name("meta")  # the console script pip installed


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose service is the representative one of ``apis.py``."""
    (tmp_path / "meta.ini").write_text("[utilmeta]\nservice = server:service\n")
    (tmp_path / "server.py").write_text(
        f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
        "from tests.ops.apis import make_service\n"
        "service = make_service('asgi')\n"
    )
    return tmp_path


def meta(cwd: Path, *args: str, script: bool = False) -> subprocess.CompletedProcess[bytes]:
    """``meta ARGS`` (the installed script) or ``python -m utilmeta ARGS`` in ``cwd``."""
    command = [str(META)] if script else [sys.executable, "-m", "utilmeta"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, timeout=60)


def test_prints_the_same_bytes_the_service_generates(project: Path) -> None:
    done = meta(project, "gen_openapi", script=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == render(generate(make_service("asgi")))
    OpenAPIV31SpecValidator(json.loads(done.stdout)).validate()


@pytest.mark.parametrize(
    ("args", "name", "fmt"),
    [
        (("--to", "out/api.json"), "out/api.json", "json"),
        (("--to", "api.yaml"), "api.yaml", "yaml"),
        (("--to", "api.txt", "--format", "yaml"), "api.txt", "yaml"),
        (("--format", "json", "--to", "api.yml"), "api.yml", "json"),
    ],
)
def test_writes_json_or_yaml_to_a_file(project: Path, args: tuple[str, ...], name: str, fmt: str) -> None:
    done = meta(project, "gen_openapi", *args)
    assert done.returncode == 0, done.stderr
    target = project / name
    assert done.stdout.decode().startswith(f"wrote {target.resolve()}")
    data = target.read_bytes()
    assert data == render(generate(make_service("asgi")), fmt)
    loaded = json.loads(data) if fmt == "json" else yaml.safe_load(data)
    OpenAPIV31SpecValidator(loaded).validate()


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_openapi_30_validates_as_30(project: Path, fmt: str) -> None:
    done = meta(project, "gen_openapi", "--openapi-version", "3.0", "--to", f"api30.{fmt}")
    assert done.returncode == 0, done.stderr
    text = (project / f"api30.{fmt}").read_text()
    document = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert document["openapi"] == "3.0.3"
    OpenAPIV30SpecValidator(document).validate()


def test_help(project: Path) -> None:
    done = meta(project, "gen_openapi", "--help")
    assert done.returncode == 0 and not done.stderr
    out = done.stdout.decode()
    assert out.startswith("usage: meta gen_openapi")
    for option in ("--to FILE", "--format {json,yaml}", "--openapi-version {3.1,3.0}"):
        assert option in out


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (("--format", "xml"), 2, "invalid choice: 'xml'"),
        (("--openapi-version", "2.0"), 2, "invalid choice: '2.0'"),
        (("--to",), 2, "expected one argument"),
        (("--to", "."), 1, "cannot write ."),
        (("--bogus",), 2, "unrecognized arguments: --bogus"),
    ],
)
def test_user_mistakes_are_one_line(project: Path, args: tuple[str, ...], status: int, says: str) -> None:
    done = meta(project, "gen_openapi", *args)
    err = done.stderr.decode()
    assert done.returncode == status and not done.stdout
    assert len(err.strip().splitlines()) == 1 and says in err and "Traceback" not in err, err


def test_project_mistakes_are_one_line(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("empty")
    (project / "server.py").write_text("service = object()\n")
    (project / "broken.py").write_text("raise RuntimeError('no database')\n")
    for cwd, args, says in [
        (elsewhere, (), "no meta.ini found"),
        (project, (), "not the UtilMeta(...) instance"),
        (project, ("--service", "broken:service"), "RuntimeError: no database"),
        (project, ("--service", "missing:service"), "cannot find module 'missing'"),
    ]:
        done = meta(cwd, *args, "gen_openapi")
        err = done.stderr.decode()
        assert done.returncode == 1 and not done.stdout, err
        assert len(err.strip().splitlines()) == 1 and says in err and "Traceback" not in err, err
