"""The newcomers' map (``utilmeta/core/README.md``) stays true: every path it names exists.

A path is a backticked name with a ``/`` in it or a file suffix (``.py``, ``.md``, ``.toml``).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "utilmeta" / "core" / "README.md"

_CODE = re.compile(r"`([^`\n]+)`")
_SUFFIXES = (".py", ".md", ".toml")


def named_paths(text: str) -> list[str]:
    """The paths a map names, in order, each once."""
    found = (m.group(1).strip() for m in _CODE.finditer(text))
    return list(dict.fromkeys(t for t in found if " " not in t and ("/" in t or t.endswith(_SUFFIXES))))


def missing(text: str, root: Path) -> list[str]:
    return [p for p in named_paths(text) if not (root / p).exists()]


def table_rows(text: str) -> list[list[str]]:
    """The map's table, one list of cells per row (the header and its rule left out)."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]


def test_every_path_on_the_map_exists() -> None:
    text = MAP.read_text()
    assert missing(text, ROOT) == []


def test_the_table_names_a_place_for_each_concept() -> None:
    rows = table_rows(MAP.read_text())
    assert len(rows) >= 20
    for row in rows:
        assert len(row) == 3, row
        assert named_paths(row[1]), f"row {row[0]!r} names no path"
    concepts = " ".join(row[0] for row in rows)
    for concept in ("a backend", "a parameter marker", "a service config", "a request observer", "a deploy target"):
        assert concept in concepts


def test_a_missing_path_is_reported(tmp_path: Path) -> None:
    (tmp_path / "utilmeta").mkdir()
    (tmp_path / "utilmeta" / "here.py").write_text("")
    text = "| x | `utilmeta/here.py` and `utilmeta/gone.py`, not `request.Query` | `pyproject.toml` |"
    assert named_paths(text) == ["utilmeta/here.py", "utilmeta/gone.py", "pyproject.toml"]
    assert missing(text, tmp_path) == ["utilmeta/gone.py", "pyproject.toml"]
