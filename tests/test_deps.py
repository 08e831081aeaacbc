"""require(): optional imports with an actionable error; auto-install only when opted in."""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from utilmeta.utils import deps
from utilmeta.utils.deps import require

MISSING = "utilmeta_test_surely_missing_module"


def test_returns_an_installed_module() -> None:
    assert require("json", "core") is json


def test_missing_module_names_the_extra() -> None:
    with pytest.raises(ImportError) as info:
        require(MISSING, "flask")
    assert str(info.value) == f"\"{MISSING}\" is not installed: pip install 'utilmeta[flask]'"
    assert info.value.name == MISSING
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_blocked_module_is_reported_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    with pytest.raises(ImportError, match=r"^\"yaml\" is not installed: pip install 'utilmeta\[yaml\]'$"):
        require("yaml", "yaml", package="PyYAML")


def test_missing_submodule_and_missing_parent() -> None:
    with pytest.raises(ImportError, match="json.no_such_submodule"):
        require("json.no_such_submodule", "x")
    with pytest.raises(ImportError, match=f'"{MISSING}.sub" is not installed'):
        require(f"{MISSING}.sub", "x")


def test_a_broken_installed_module_shows_its_own_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "utilmeta_test_broken.py").write_text(f"import {MISSING}\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as info:
        require("utilmeta_test_broken", "x")
    assert info.value.name == MISSING
    assert "is not installed: pip install" not in str(info.value)


@pytest.mark.parametrize(
    ("production", "disabled", "environ", "allowed"),
    [
        (False, False, {}, False),
        (False, False, {"UTILMETA_AUTO_INSTALL": "0"}, False),
        (False, False, {"UTILMETA_AUTO_INSTALL": "1"}, True),
        (True, False, {"UTILMETA_AUTO_INSTALL": "1"}, False),
        (False, True, {"UTILMETA_AUTO_INSTALL": "1"}, False),
    ],
)
def test_auto_install_is_opt_in_and_never_in_production(
    production: bool, disabled: bool, environ: dict[str, str], allowed: bool
) -> None:
    assert deps._auto_install_allowed(production=production, disabled=disabled, environ=environ) is allowed


def never_install(package: str) -> bool:
    raise AssertionError(f"tried to install {package}")


@pytest.mark.parametrize(("production", "disabled"), [(True, False), (False, True)])
def test_no_install_attempt_in_production_or_when_disabled(
    monkeypatch: pytest.MonkeyPatch, production: bool, disabled: bool
) -> None:
    monkeypatch.setattr(deps, "_pip_install", never_install)
    with pytest.raises(ImportError, match="is not installed"):
        require(MISSING, "x", production=production, auto_install_disabled=disabled)


def test_failed_install_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(deps, "_auto_install_allowed", lambda **_: True)

    def failing_install(package: str) -> bool:
        calls.append(package)
        return False

    monkeypatch.setattr(deps, "_pip_install", failing_install)
    with pytest.raises(ImportError, match=r"automatic install of 'the-dist' failed"):
        require(MISSING, "x", package="the-dist")
    assert calls == ["the-dist"]


def test_install_that_does_not_provide_the_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deps, "_auto_install_allowed", lambda **_: True)
    monkeypatch.setattr(deps, "_pip_install", lambda package: True)
    with pytest.raises(ImportError, match=f"installed '{MISSING}', still cannot import it"):
        require(f"{MISSING}.sub", "x")


def test_pip_install_runs_pip_of_this_interpreter_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    commands: list[list[str]] = []

    def fake_run(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        return subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(deps.subprocess, "run", fake_run)
    assert deps._pip_install("PyYAML") is False
    assert commands == [[sys.executable, "-m", "pip", "install", "PyYAML"]]
    assert "installing missing dependency 'PyYAML'" in capsys.readouterr().err
