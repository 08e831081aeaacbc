"""What ``meta deploy TARGET --out DIR`` writes works wherever DIR is, and no two targets write
the same file.

As a user would: ``meta setup`` a project, then the real ``meta deploy`` commands. Every target
into one ``--out`` directory, in turn, for each backend; and the Docker image built the way
``meta deploy docker`` says (``docker build -f DIR/Dockerfile .`` in the project): its build
context replayed without Docker (``docker_context``), every path the Dockerfile and the server
config name must be in the image.
"""

from __future__ import annotations

import configparser
import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
from backends_table import FRAMEWORKS
from docker_context import Image, parse_build_command, replay
from optional import unavailable

from utilmeta.deploy import TARGETS, servers_for

DOCS = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def meta(*argv: str, cwd: Path) -> str:
    """Run the real ``meta`` command; its output, or the test fails with what it said."""
    result = subprocess.run(
        [sys.executable, "-m", "utilmeta", *argv], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"meta {shlex.join(argv)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def new_project(root: Path, backend: str) -> Path:
    if importlib.util.find_spec(backend) is None:
        unavailable(f"{backend} is not installed")
    meta("setup", "myapp", "--backend", backend, cwd=root)
    return root / "myapp"


@pytest.mark.parametrize("backend", [b.name for b in FRAMEWORKS])
def test_every_target_writes_its_own_files_into_one_out_dir(backend: str, tmp_path: Path) -> None:
    project = new_project(tmp_path, backend)
    servers = servers_for(backend, asynchronous=False)
    # a server's own config only for the servers that can run the backend (uWSGI: WSGI apps)
    targets = [t for t in TARGETS if t not in ("gunicorn", "uwsgi") or t in servers]
    written: dict[str, str] = {}
    for target in targets:
        out = meta("deploy", target, "--out", "deploy", cwd=project)
        for line in out.splitlines():
            if line.startswith("wrote "):
                path = line.removeprefix("wrote ")
                assert path not in written, f"{target} and {written.get(path)} both write {path}"
                written[path] = target
    assert set(written.values()) == set(targets)
    on_disk = {str(p) for p in (project / "deploy").rglob("*") if p.is_file()}
    assert on_disk == set(written)
    # the paths in the project that the unit and the program start the server with are there
    for name in ("myapp.service", "myapp@.service", "myapp.supervisor.conf"):
        path = project / "deploy" / name
        if path.is_file():
            named = re.findall(r"(?:ExecStart=|command=)(.*)", path.read_text())
            inside = [a for line in named for a in shlex.split(line) if a.startswith(str(project))]
            assert all(Path(a).exists() for a in inside), (name, inside)


def test_a_unit_written_before_its_server_config_says_so(tmp_path: Path) -> None:
    project = new_project(tmp_path, "flask")
    result = subprocess.run(
        [sys.executable, "-m", "utilmeta", "deploy", "systemd", "--out", "deploy"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert f"write it with `meta deploy gunicorn --out {project / 'deploy'}`" in result.stderr
    meta("deploy", "gunicorn", "--out", "deploy", cwd=project)
    result = subprocess.run(
        [sys.executable, "-m", "utilmeta", "deploy", "supervisor", "--out", "deploy"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (result.returncode, result.stderr) == (0, "")


def _config_paths(image: Image, config: Path) -> tuple[str, str]:
    """``(chdir, module)`` of a Gunicorn ``.py`` or uWSGI ``.ini`` config in the image."""
    text = config.read_text()
    if config.suffix == ".py":
        values = dict(re.findall(r"^(\w+) = '([^']*)'$", text, re.M))
        return values["chdir"], values["wsgi_app"].split(":")[0]
    ini = configparser.ConfigParser(interpolation=None)
    ini.read_string(text)
    return ini["uwsgi"]["chdir"], ini["uwsgi"]["module"].split(":")[0]


@pytest.mark.parametrize("out", ["deploy", ".", "ops/docker"])
@pytest.mark.parametrize(
    ("backend", "server"),
    [("flask", "gunicorn"), ("flask", "uwsgi"), ("tornado", None)],
    ids=["gunicorn", "uwsgi", "tornado"],
)
def test_the_image_holds_every_path_its_files_name(out: str, backend: str, server: str | None, tmp_path: Path) -> None:
    project = new_project(tmp_path, backend)
    printed = meta("deploy", "docker", "--out", out, *(["--server", server] if server else []), cwd=project)
    (command,) = [line.split(": ", 1)[1] for line in printed.splitlines() if "docker build" in line]
    if out == "deploy":  # the command docs/deploy.md shows is the one meta prints
        assert command in DOCS.read_text().splitlines()
    image = replay(parse_build_command(command, project), tmp_path / "image")
    assert image.cmd, "the Dockerfile has no CMD"
    workdir = image.path(image.workdir)
    app_module = "server"
    for arg in image.cmd:
        if arg.startswith("/"):
            assert image.path(arg).exists(), f"CMD names {arg}, which the image does not hold"
        if arg.startswith("/app/") and arg.endswith((".py", ".ini")):
            chdir, app_module = _config_paths(image, image.path(arg))
            assert image.path(chdir).is_dir(), f"{arg}: chdir {chdir} is not in the image"
            workdir = image.path(chdir)
    assert (workdir / f"{app_module}.py").is_file(), f"the app's module {app_module}.py is not in {workdir}"
    assert PurePosixPath(image.workdir) == PurePosixPath("/app")


def test_docker_files_outside_the_project_are_refused(tmp_path: Path) -> None:
    project = new_project(tmp_path, "flask")
    result = subprocess.run(
        [sys.executable, "-m", "utilmeta", "deploy", "docker", "--out", str(tmp_path / "elsewhere")],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1 and "write the Docker files inside it" in result.stderr
    assert not (tmp_path / "elsewhere").exists()
