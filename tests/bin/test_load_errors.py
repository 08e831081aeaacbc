"""Issue 13, item 6: a project that fails to load is reported where the mistake is.

Each test runs the real ``meta`` command in a subprocess on a project scaffolded by ``meta setup``,
as a user would, then breaks it the way a user does.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from scaffolded import meta, setup_project


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scaffolded project; each test works on a copy."""
    return setup_project(tmp_path_factory.mktemp("scaffold"), "myapp")


@pytest.fixture
def project(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "myapp"))


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("meta: error: ") and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_an_import_error_inside_api_py_is_reported_in_api_py(project: Path) -> None:
    api = project / "api.py"
    api.write_text('"""APIs."""\n\nimport no_such_module_here\n' + api.read_text())
    err = one_error(meta("check", cwd=project))
    assert "(api.py, line 3)" in err and "no_such_module_here" in err
    assert "server.py" not in err


def test_a_syntax_error_is_reported_at_its_own_file_and_line(project: Path) -> None:
    api = project / "api.py"
    api.write_text(api.read_text() + "\n\ndef broken(:\n    pass\n")
    lines = api.read_text().count("\n")
    err = one_error(meta("check", cwd=project))
    assert f"(api.py, line {lines - 1}): SyntaxError: invalid syntax" in err
    assert "frozen" not in err and "importlib" not in err


@pytest.mark.parametrize(
    ("wrong", "says"),
    [
        ("api.RootApi", "module 'api' has no attribute 'RootApi' (did you mean 'RootAPI'?)"),
        ("apis.RootAPI", "cannot import 'apis': No module named 'apis' (did you mean 'api'?)"),
    ],
)
def test_a_wrong_api_reference_is_reported_at_the_utilmeta_call(project: Path, wrong: str, says: str) -> None:
    """``api=`` is imported when the service is set up (``app = service.application()``, further
    down): the error points at the ``UtilMeta(...)`` call that gives it, as for a wrong backend."""
    server = project / "server.py"
    source = server.read_text()
    call_line = source[: source.index("service = UtilMeta(")].count("\n") + 1
    server.write_text(source.replace('api="api.RootAPI"', f'api="{wrong}"'))
    err = one_error(meta("check", cwd=project))
    assert f"(server.py, line {call_line}): api='{wrong}': {says}" in err


def test_a_syntax_error_in_the_service_module_itself(project: Path) -> None:
    server = project / "server.py"
    server.write_text(server.read_text() + "\nsettings = (\n")
    lines = server.read_text().count("\n")
    err = one_error(meta("routes", cwd=project))
    assert f"(server.py, line {lines}): SyntaxError: '(' was never closed" in err


@pytest.mark.parametrize(
    ("argv", "blamed"),
    [
        (["--service", "server:svc", "check"], "check `--service server:svc`"),
        (["--service", "server", "check"], "`--service server`: write it as module:attribute"),
        (["--service", "server:app", "check"], "`--service server:app` is a Flask"),
        (["--app", "server:nope", "check"], "check `--app server:nope`"),
        (["--service", "nowhere:service", "check"], "check `--service nowhere:service`"),
    ],
)
def test_a_value_from_a_flag_is_blamed_on_the_flag(project: Path, argv: list[str], blamed: str) -> None:
    err = one_error(meta(*argv, cwd=project))
    assert blamed in err and "meta.ini" not in err


def test_a_value_from_meta_ini_is_blamed_on_meta_ini(project: Path) -> None:
    ini = project / "meta.ini"
    ini.write_text(ini.read_text().replace("service = server:service", "service = server:svc"))
    err = one_error(meta("check", cwd=project))
    assert "check `service = server:svc` in meta.ini" in err
