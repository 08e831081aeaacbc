"""The files that install a project elsewhere install this utilmeta build, not the package of the
same name on the public index (another project).

As a user would: ``meta setup`` a project, then ``pip install -r requirements.txt``; ``meta
deploy docker`` and the Dockerfile's ``pip install`` line, run where the build would run it.
Offline: pip gets ``--no-index --no-deps`` (so only the files the project holds can answer) and
installs into a throwaway ``--target``; a clean interpreter then imports utilmeta from there, and
its files must be those of the running package, byte for byte.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docker_context import Image, parse_build_command, replay

import utilmeta
from utilmeta.deploy.wheel import current_wheel, package_files

REPO = Path(__file__).resolve().parents[2]
README, DOCS = REPO / "README.md", REPO / "docs"
#: pip options that take a value
_VALUED = ("-r", "--requirement", "-f", "--find-links", "-c", "--constraint")


def meta(*argv: str, cwd: Path) -> str:
    """Run the real ``meta`` command; its output, or the test fails with what it said."""
    result = subprocess.run(
        [sys.executable, "-m", "utilmeta", *argv], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, f"meta {shlex.join(argv)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def pip_offline(args: list[str], *, cwd: Path, target: Path) -> None:
    """``pip install ARGS`` with nothing but local files, into ``target``."""
    command = [sys.executable, "-m", "pip", "install", *args, "--no-index", "--no-deps", "--target", str(target)]
    command += ["--disable-pip-version-check", "--no-cache-dir", "-q"]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{shlex.join(command)} (in {cwd}):\n{result.stdout}\n{result.stderr}"


def assert_this_build(target: Path) -> None:
    """A clean interpreter with only ``target`` finds utilmeta there: this build, file for file."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import utilmeta, importlib.metadata as m; "
        "print(utilmeta.__file__); print(m.version('utilmeta'))"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", script, str(target)], cwd=target, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    location, version = result.stdout.split()
    assert Path(location) == target / "utilmeta" / "__init__.py"
    assert version == current_wheel().version
    installed = {
        "utilmeta/" + path.relative_to(target / "utilmeta").as_posix(): path.read_bytes()
        for path in sorted((target / "utilmeta").rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert installed == package_files()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    meta("setup", "myapp", "--backend", "flask", cwd=tmp_path)
    return tmp_path / "myapp"


def test_setup_requirements_install_this_build(project: Path, tmp_path: Path) -> None:
    lines = [ln for ln in (project / "requirements.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    (utilmeta,) = [ln for ln in lines if ln.startswith("utilmeta")]
    assert utilmeta == f"utilmeta[flask]=={current_wheel().version}" and "+" in utilmeta  # no index holds it
    # pip run from elsewhere, as `pip install -r myapp/requirements.txt` (the note meta setup prints)
    target = tmp_path / "site"
    pip_offline(["-r", str(project / "requirements.txt")], cwd=tmp_path, target=target)
    assert_this_build(target)


def test_the_dockerfile_installs_this_build(project: Path, tmp_path: Path) -> None:
    out = meta("deploy", "docker", "--out", "deploy", cwd=project)
    (command,) = [line.split(": ", 1)[1] for line in out.splitlines() if "docker build" in line]
    build = parse_build_command(command, project)
    installs: list[str] = []

    def on_run(image: Image, command: str) -> None:
        """The image's ``pip install`` with what the image holds at that step, less the server packages
        (gunicorn ...), which come from the index."""
        if not command.startswith("pip install"):
            return
        args = shlex.split(command)[2:]
        kept = [a for i, a in enumerate(args) if a.startswith("-") or args[i - 1] in _VALUED or "utilmeta" in a]
        pip_offline(kept, cwd=image.path(image.workdir), target=tmp_path / "site")
        installs.append(command)

    replay(build, tmp_path / "image", on_run=on_run)
    assert len(installs) == 1, installs
    assert_this_build(tmp_path / "site")


def test_the_same_code_pins_the_same_wheel_and_changed_code_another(tmp_path: Path) -> None:
    """The version's local label follows the files: two projects of one build share the wheel, byte
    for byte; a build with one line changed is another version (pip never keeps an installed copy
    of an equal version in its place)."""
    copy = tmp_path / "src"
    shutil.copytree(Path(utilmeta.__file__).parent, copy / "utilmeta", ignore=shutil.ignore_patterns("__pycache__"))
    with open(copy / "utilmeta" / "deploy" / "wheel.py", "a") as f:
        f.write("# changed\n")
    wheels = []
    for name, path in (("one", None), ("two", None), ("changed", copy)):
        env = {**os.environ, "PYTHONPATH": str(path)} if path else None
        result = subprocess.run(
            [sys.executable, "-m", "utilmeta", "setup", name], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        (wheel,) = (tmp_path / name / "wheels").iterdir()
        wheels.append(wheel)
    one, two, changed = wheels
    assert one.name == two.name == current_wheel().filename and one.read_bytes() == two.read_bytes()
    assert changed.name != one.name and changed.name.startswith(f"utilmeta-{utilmeta.__version__}+")


def _install_lines(text: str) -> list[list[str]]:
    """The ``pip install ...`` command lines in a Markdown page (inline code and code blocks)."""
    found = re.findall(r"pip install ([^`\n]+)", text)
    return [shlex.split(line.split(" #")[0].split(")")[0]) for line in found]


@pytest.mark.parametrize("page", [README, *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_no_install_line_fetches_utilmeta_from_the_index(page: Path) -> None:
    """`pip install utilmeta` (or `'utilmeta[flask]'`) gets the index's other project: the pages
    install this one from a checkout (`-e '.[flask]'`) or from the files a project holds."""
    for args in _install_lines(page.read_text()):
        named = [a for a in args if not a.startswith("-") and re.match(r"utilmeta\b", a)]
        assert not named, f"{page.name}: pip install {shlex.join(args)} fetches the index's utilmeta"


def test_deploy_docker_warns_when_requirements_pin_another_build(project: Path) -> None:
    """After an upgrade, requirements.txt still pins the build that made the project: the image
    would fail on two pins of utilmeta; meta says so, and what to pin."""
    requirements = project / "requirements.txt"
    requirements.write_text(requirements.read_text().replace(current_wheel().version, "0.0.9+0123456789"))
    result = subprocess.run(
        [sys.executable, "-m", "utilmeta", "deploy", "docker", "--out", "deploy"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("meta: warning: requirements.txt pins utilmeta==0.0.9+0123456789")
    assert f"pin {current_wheel().version} there" in line
    requirements.unlink()
    result = subprocess.run(
        [sys.executable, "-m", "utilmeta", "deploy", "docker"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert "the Dockerfile installs requirements.txt, which" in result.stderr
