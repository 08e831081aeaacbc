"""Issue 13, items 5 and 9: environment mistakes a new user makes are reported, not ignored.

Each test runs the real ``meta`` command (or ``python server.py``) in a project made by
``meta setup myapp``, whose ``config/env.py`` reads ``MYAPP_*`` variables and the project's ``.env``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from netutil import free_port, serve_script, wait_for_port
from scaffolded import meta, setup_project


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return setup_project(tmp_path_factory.mktemp("scaffold"), "myapp")


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "myapp"))


def served_port(check_output: str) -> int:
    """The port in ``meta check``'s first line: ``myapp: flask (sync), ... at http://127.0.0.1:PORT/api``."""
    found = re.search(r"at http://[^:]+:(\d+)/", check_output)
    assert found, check_output
    return int(found.group(1))


# -- item 5: unknown and misspelt variables -------------------------------------------------------


def test_a_misspelt_prefixed_variable_is_a_warning_of_meta_check(project: Path) -> None:
    result = meta("check", cwd=project, env={"MYAPP_PROT": "8001"})
    assert result.returncode == 0, result.stderr  # a warning, not a failure
    assert "warning: MYAPP_PROT (in the environment) is not a variable of ServiceEnv: did you mean MYAPP_PORT?" in (
        result.stdout
    )
    assert "no problems found" not in result.stdout and "0 error(s), 1 warning(s)" in result.stdout


def test_an_unknown_prefixed_variable_with_no_close_name_is_reported_as_ignored(project: Path) -> None:
    result = meta("check", cwd=project, env={"MYAPP_SOMETHING_ELSE": "1"})
    assert "warning: MYAPP_SOMETHING_ELSE (in the environment) is not a variable of ServiceEnv: it is ignored" in (
        result.stdout
    )


def test_a_misspelt_variable_is_a_warning_when_the_service_starts(project: Path, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    with serve_script(project / "server.py", port, env={"MYAPP_PORT": str(port), "MYAPP_PROT": "8001"}, log=log):
        pass
    output = log.read_text()
    assert "EnvWarning: MYAPP_PROT (in the environment) is not a variable of ServiceEnv: did you mean MYAPP_PORT?" in (
        output
    )


def test_meta_run_shows_the_warning_once(project: Path, tmp_path: Path) -> None:
    """``meta run`` loads the service, then starts ``server.py``, which loads it again."""
    port = free_port()
    log = tmp_path / "run.log"
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "utilmeta", "run"],
            cwd=project,
            env={**os.environ, "MYAPP_PORT": str(port), "MYAPP_PROT": "8001"},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, server, output=log.read_text)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)
    assert log.read_text().count("did you mean MYAPP_PORT?") == 1, log.read_text()


def test_a_misspelt_variable_still_shows_when_loading_fails(project: Path) -> None:
    result = meta("check", cwd=project, env={"MYAPP_PROT": "1", "MYAPP_PORT": "eighty"})
    assert result.returncode == 1
    assert "did you mean MYAPP_PORT?" in result.stdout
    assert "MYAPP_PORT: expected int, got 'eighty' (from environment)" in result.stderr


# -- item 5: .env means what the environment means --------------------------------------------------


def test_a_dotenv_file_uses_the_prefixed_names_of_the_environment(project: Path) -> None:
    port = free_port()
    (project / ".env").write_text(f"MYAPP_PORT={port}\n")
    result = meta("check", cwd=project)
    assert result.returncode == 0, result.stderr
    assert served_port(result.stdout) == port


def test_a_dotenv_name_without_the_prefix_is_refused_saying_what_to_write(project: Path) -> None:
    (project / ".env").write_text("PORT=9000\n")
    result = meta("check", cwd=project)
    assert result.returncode == 1
    assert "PORT (in file " in result.stderr and "write MYAPP_PORT" in result.stderr


def test_a_misspelt_dotenv_name_is_a_warning_with_a_suggestion(project: Path) -> None:
    (project / ".env").write_text("MYAPP_PROT=9000\nPROT=9000\nTZ=UTC\n")
    result = meta("check", cwd=project)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2, result.stdout  # TZ is another program's variable
    assert all("did you mean MYAPP_PORT?" in line for line in warnings)
    assert any(line.startswith("warning: MYAPP_PROT (in file ") for line in warnings)
    assert any(line.startswith("warning: PROT (in file ") for line in warnings)


def test_the_systemd_unit_loads_the_dotenv_file_the_service_reads(project: Path, tmp_path: Path) -> None:
    """systemd puts the ``.env`` lines into the environment (``EnvironmentFile=``), docker does so
    with ``--env-file`` (the image leaves ``.env`` out): the service must read the same settings."""
    port = free_port()
    (project / ".env").write_text(f"MYAPP_PORT={port}\nMYAPP_HOST=127.0.0.2\n")
    rendered = meta("deploy", "systemd", "--out", str(tmp_path / "deploy"), cwd=project)
    assert rendered.returncode == 0, rendered.stderr
    (unit,) = (tmp_path / "deploy").glob("*.service")
    (environment_file,) = [line for line in unit.read_text().splitlines() if line.startswith("EnvironmentFile=")]
    dotenv = Path(environment_file.removeprefix("EnvironmentFile=").lstrip("-"))
    assert dotenv == project / ".env"
    as_environment = dict(line.split("=", 1) for line in dotenv.read_text().splitlines())
    from_file = meta("check", cwd=project)
    dotenv.unlink()
    from_environment = meta("check", cwd=project, env=as_environment)
    assert from_file.returncode == from_environment.returncode == 0, from_file.stderr + from_environment.stderr
    assert from_file.stdout == from_environment.stdout
    assert f"http://127.0.0.2:{port}/api" in from_file.stdout


def test_a_list_variable_that_does_not_parse_says_how_to_write_one(project: Path) -> None:
    result = meta("check", cwd=project, env={"MYAPP_ALLOWED_HOSTS": '["api.example.com"'})
    assert result.returncode == 1
    assert (
        "MYAPP_ALLOWED_HOSTS: expected list[str] "
        '(a JSON array like ["a", "b"] or comma-separated values like a,b)' in result.stderr
    )


# -- item 9: meta check --deploy says what to set -----------------------------------------------------


@pytest.mark.parametrize("name", ["myapp", "shop"])
def test_check_deploy_says_which_variables_to_set(name: str, tmp_path: Path) -> None:
    """The generated server.py passes env.PRODUCTION and env.ALLOWED_HOSTS: name their variables."""
    project = setup_project(tmp_path, name)
    prefix = f"{name.upper()}_"
    result = meta("check", "--deploy", cwd=project)
    assert result.returncode == 1
    read_by = "in the service's environment (read by ServiceEnv in config/env.py)"
    assert f"error: debug mode: the service is not in production: set {prefix}PRODUCTION=1 {read_by}" in result.stdout
    assert f"warning: any Host header is accepted: set {prefix}ALLOWED_HOSTS=api.example.com {read_by}" in result.stdout
    assert "production=True" not in result.stdout and "Preference(" not in result.stdout
    # the docs follow production (Docs is not configured): nothing to "keep" about them
    assert "API docs" not in result.stdout and "1 error(s), 1 warning(s)" in result.stdout
    fixed = meta(
        "check", "--deploy", cwd=project, env={f"{prefix}PRODUCTION": "1", f"{prefix}ALLOWED_HOSTS": "api.example.com"}
    )
    assert "debug mode" not in fixed.stdout and "any Host header" not in fixed.stdout, fixed.stdout


# -- the first hour again: a port in use names the variable that sets it ----------------------------


def test_python_server_py_on_a_port_in_use_names_the_variable_that_sets_it(project: Path) -> None:
    """The scaffold's ``server.py`` takes its port from ``MYAPP_PORT``: that is what to change,
    not ``UtilMeta(port=...)`` in code the user did not write."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "server.py"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "MYAPP_PORT": str(port)},
        )
    assert done.returncode == 1
    assert done.stderr == (
        f"utilmeta: error: 127.0.0.1:{port} is in use by another program: stop it, or choose another "
        "with MYAPP_PORT=... in the environment\n"
    )
