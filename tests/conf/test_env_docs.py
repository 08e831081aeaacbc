"""``docs/env.md`` runs as written: its Python blocks, in order, in one fresh Python process.

A block whose info string has ``title="NAME"`` is a file written before anything runs; a ``text``
block right after a Python block is what that block prints.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "env.md"
_BLOCK = re.compile(r'^```(\w*)(?: title="([^"]+)")?\n(.*?)^```$', re.S | re.M)
_MARK = "----- docs/env.md block {} -----"


@dataclass
class Block:
    lang: str
    title: str | None
    text: str


def blocks() -> list[Block]:
    return [Block(lang, title or None, text) for lang, title, text in _BLOCK.findall(DOC.read_text())]


def test_the_page_has_runnable_examples_with_their_output() -> None:
    found = blocks()
    runnable = [b for b in found if b.lang == "python" and b.title is None]
    assert len(runnable) >= 6 and sum(b.lang == "text" for b in found) >= 6
    assert {b.title for b in found if b.title} >= {".env", "config.json", "config/env.py"}


def test_every_example_runs_and_prints_what_the_page_shows(tmp_path: Path) -> None:
    found = blocks()
    script: list[str] = []
    expected: dict[int, str] = {}
    for index, block in enumerate(found):
        if block.title:
            (tmp_path / block.title).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / block.title).write_text(block.text)
        elif block.lang == "python":
            script += [f"print({_MARK.format(index)!r})", block.text]
            following = found[index + 1] if index + 1 < len(found) else None
            if following is not None and following.lang == "text":
                expected[index] = following.text
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith(("MYAPP_", "APP_"))}
    result = subprocess.run(
        [sys.executable, "-c", "\n".join(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**environ, "PYTHONWARNINGS": "error"},
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr
    printed = dict(
        re.findall(
            r"^----- docs/env\.md block (\d+) -----\n(.*?)(?=^----- docs/env\.md block |\Z)", result.stdout, re.S | re.M
        )
    )
    for index, text in expected.items():
        assert printed[str(index)] == text, f"block {index} of docs/env.md:\n{found[index].text}"
