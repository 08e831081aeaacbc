"""``optional``: a missing optional module skips, except under ``CI=true``; a broken one fails."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from optional import optional_import

MISSING = "utilmeta_test_no_such_module"


def test_a_missing_module_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"{MISSING} is not installed \\(pip install x\\)"):
        optional_import(MISSING, "pip install x")


def test_a_missing_module_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=f"CI=true: {MISSING}.sub is not installed"):
        optional_import(f"{MISSING}.sub")


def test_an_installed_module_that_fails_to_import_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CI", raising=False)
    (tmp_path / "utilmeta_test_broken.py").write_text(f"import {MISSING}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "utilmeta_test_broken", raising=False)
    with pytest.raises(ModuleNotFoundError, match=MISSING):
        optional_import("utilmeta_test_broken")
    assert optional_import("json") is sys.modules["json"]
