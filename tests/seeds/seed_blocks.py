"""The code blocks of a seed document.

The seeds are web pages saved as plain text: the code fences are gone, and two samples printed one
after the other (the tabs of a tabbed example) may touch without a blank line between them. A
block is recovered from what its lines are:

- Python: a run of paragraphs that parse as Python with at least one statement that is more than
  a bare name or expression (``Tip`` and ``nginx -t`` parse too; they are prose). An indented
  paragraph that does not parse alone continues the block before it (a blank line in a class
  body). A top-level import after a statement that is not one starts a new sample — that is
  where one printed sample ends and the next begins.
- JSON: a paragraph or statement that is a JSON object.
- INI: from a ``[section]`` line to the end of its paragraph.
- dotenv: ``KEY=value`` lines (they parse as Python, but no sample writes Python that way).

Everything else is prose and ends the block before it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

_INI_HEADER = re.compile(r"\[[\w.-]+\]\s*")
_DOTENV = re.compile(r"[A-Z][A-Z0-9_]*=\S.*")


@dataclass(frozen=True)
class Block:
    kind: str  # python | json | ini | dotenv
    text: str
    line: int  # where it starts in the seed, 1-based

    @property
    def fingerprint(self) -> str:
        normal = "\n".join(line.rstrip() for line in self.text.strip("\n").splitlines())
        return hashlib.sha256(normal.encode()).hexdigest()[:12]


def _is_json(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _imports_only(nodes: list[ast.stmt]) -> bool:
    return all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in nodes)


def _segments(lines: list[str]) -> list[tuple[str, int, int]] | None:
    """(kind, first, end) line ranges of one paragraph, or None for prose."""
    text = "\n".join(lines)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        if _INI_HEADER.fullmatch(lines[0]):
            return [("ini", 0, len(lines))]
        return [("json", 0, len(lines))] if _is_json(text) else None
    out: list[tuple[str, int, int]] = []
    start = 0
    for node in tree.body:
        end = node.end_lineno or node.lineno
        chunk = "\n".join(lines[start:end])
        if isinstance(node, ast.Expr) and _INI_HEADER.fullmatch(lines[node.lineno - 1]):
            out.append(("ini", node.lineno - 1, len(lines)))
            break
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Dict) and _is_json(chunk):
            kind = "json"
        elif all(_DOTENV.fullmatch(line) for line in lines[start:end]):
            kind = "dotenv"
        elif isinstance(node, ast.Expr) and not isinstance(node.value, ast.Call):
            kind = "prose"
        else:
            kind = "python"
        out.append((kind, start, end))
        start = end
    if all(kind == "prose" for kind, _, _ in out):
        return None
    return out


def extract(text: str) -> list[Block]:
    """Every code/config block of a seed, in order."""
    lines = text.splitlines()
    paragraphs: list[tuple[int, list[str]]] = []
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        if paragraphs and number > 0 and lines[number - 1].strip():
            paragraphs[-1][1].append(line)
        else:
            paragraphs.append((number, [line]))

    blocks: list[list[object]] = []  # [kind, lines, first line, has a non-import statement]
    current: list[object] | None = None
    for first, para in paragraphs:
        segments = _segments(para)
        if segments is None:
            indented = para[0][:1] in (" ", "\t") and not para[0].lstrip().startswith("•")
            if current is not None and current[0] == "python" and indented:
                joined = "\n".join([*current[1], "", *para])  # type: ignore[misc]
                try:
                    ast.parse(joined)
                except SyntaxError:
                    pass
                else:
                    current[1] = joined.splitlines()
                    continue
            current = None
            continue
        for kind, start, end in segments:
            chunk = para[start:end]
            if kind == "prose":
                current = None
                continue
            if kind == "python":
                body = ast.parse("\n".join(chunk)).body
                starts_sample = bool(body) and isinstance(body[0], (ast.Import, ast.ImportFrom))
                glue = current is not None and current[0] == "python" and not (starts_sample and current[3])
                if glue and current is not None:
                    sep = [""] if start == 0 else []
                    current[1] = [*current[1], *sep, *chunk]  # type: ignore[misc]
                    current[3] = current[3] or not _imports_only(body)
                    continue
                current = ["python", list(chunk), first + start + 1, not _imports_only(body)]
            elif kind == "dotenv" and current is not None and current[0] == "dotenv":
                current[1] = [*current[1], *chunk]  # type: ignore[misc]
                continue
            else:
                current = [kind, list(chunk), first + start + 1, False]
            blocks.append(current)
        if segments[-1][0] in ("ini", "json"):
            current = None
    return [Block(str(k), "\n".join(ls) + "\n", int(n)) for k, ls, n, _ in blocks]  # type: ignore[call-overload]


def extract_file(path: Path) -> list[Block]:
    return extract(path.read_text(encoding="utf-8"))
