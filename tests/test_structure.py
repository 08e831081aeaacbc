"""The package's layers: every package imports on its own, and imports only run downwards.

The import graph is read with ``ast`` from every module of ``utilmeta/`` — module-level imports
and those inside functions alike; only ``if TYPE_CHECKING:`` blocks are left out (annotations,
never run). Modules are grouped into packages (:func:`package_of`):

- ``utilmeta`` (the package's ``__init__`` and ``testing``: the public face, above ``ops``,
  which it wires into the service; ``__main__`` counts as ``bin``);
- ``utilmeta.utils``, ``utilmeta.conf``, ``utilmeta.ops``, ``utilmeta.deploy``, ``utilmeta.bin``;
- ``utilmeta.core.<sub>`` for each sub-package of the core (``api``, ``request``, ...);
- ``utilmeta.core.<sub>.backends`` apart from its ``core.<sub>``: the cache backends build on
  the cache config and the ORM integration sits under the data configs that call it; the
  server adaptors sit under the service, which picks one (an adaptor reads the process's
  service from the slot in ``conf``, never from the service module).

No two packages may import each other, directly or around a longer circle, and nothing in
``utilmeta.core`` may import ``ops``, ``deploy`` or ``bin``. There is no allow-list.

Import *strings* are not imports here: the registries' ``'module:Class'`` tables and the lazy
``__getattr__`` tables name modules of their own package, and the Django settings name the
django adaptor's URLconf and WSGI application for Django to import when it serves.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "utilmeta"

#: the packages in dependency order: each may import only those before it
LAYERS = [
    "utilmeta.utils",
    "utilmeta.conf",
    "utilmeta.core.response",
    "utilmeta.core.file",
    "utilmeta.core.request",
    "utilmeta.core.api",
    "utilmeta.core.orm.backends",
    "utilmeta.core.orm",
    "utilmeta.core.cache",
    "utilmeta.core.cache.backends",
    "utilmeta.core.server.backends",
    "utilmeta.core.server",
    "utilmeta.ops",
    "utilmeta",
    "utilmeta.deploy",
    "utilmeta.bin",
]
FORBIDDEN_FOR_CORE = ("utilmeta.ops", "utilmeta.deploy", "utilmeta.bin")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(module: str) -> str:
    """The package (graph node) a ``utilmeta`` module belongs to."""
    parts = module.split(".")
    if module == "utilmeta.__main__":
        return "utilmeta.bin"  # `python -m utilmeta` is the meta command
    if module == "utilmeta.core":
        return module
    if len(parts) >= 3 and parts[1] == "core":
        if len(parts) >= 4 and parts[3] == "backends":
            return ".".join(parts[:4])
        return ".".join(parts[:3])
    if len(parts) >= 2 and parts[1] in ("utils", "conf", "ops", "deploy", "bin"):
        return ".".join(parts[:2])
    return "utilmeta"


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_modules(tree: ast.AST, current: str, known: set[str]) -> Iterable[tuple[str, int]]:
    """``(module, line)`` for every ``utilmeta`` import run by the module (not under
    ``if TYPE_CHECKING:``); ``from a import b`` counts as ``a.b`` when that is a module."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = current.split(".")
                anchor = parts[: len(parts) - node.level]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                yield (full if full in known else base), node.lineno
        stack.extend(ast.iter_child_nodes(node))


def import_graph(root: Path = PACKAGE) -> dict[tuple[str, str], list[str]]:
    """``(from package, to package)`` → where (``module:line``) for every import across packages."""
    files = {module_name(p, root): p for p in root.rglob("*.py")}
    known = set(files)
    edges: dict[tuple[str, str], list[str]] = {}
    for name, path in files.items():
        # a package's own __init__ is "current" as the package itself for relative imports
        current = name if path.name != "__init__.py" else name + ".__init__"
        tree = ast.parse(path.read_text(), str(path))
        for target, line in imported_modules(tree, current, known):
            if target != "utilmeta" and not target.startswith("utilmeta."):
                continue
            a, b = package_of(name), package_of(target)
            if a != b:
                edges.setdefault((a, b), []).append(f"{name}:{line}")
    return edges


def find_cycle(edges: Iterable[tuple[str, str]]) -> list[str] | None:
    """A cycle of packages (first node repeated at the end), or None."""
    graph: dict[str, list[str]] = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def describe(cycle: list[str], edges: dict[tuple[str, str], list[str]]) -> str:
    steps = [f"  {a} -> {b}  ({', '.join(edges[(a, b)][:3])})" for a, b in zip(cycle, cycle[1:], strict=False)]
    return "import cycle between packages:\n" + "\n".join(steps)


def check(edges: dict[tuple[str, str], list[str]]) -> list[str]:
    """What is wrong with an import graph: the core importing upwards, and a cycle."""
    problems = [
        f"{a} imports {b} ({', '.join(where)})"
        for (a, b), where in sorted(edges.items())
        if a.startswith("utilmeta.core") and b.startswith(FORBIDDEN_FOR_CORE)
    ]
    cycle = find_cycle(edges)
    if cycle:
        problems.append(describe(cycle, edges))
    return problems


# -- the package as it is --------------------------------------------------------------------------


def test_no_package_imports_in_a_circle_and_the_core_never_imports_ops_deploy_or_bin() -> None:
    edges = import_graph()
    assert edges, "the graph found no imports at all: the walker is broken"
    problems = check(edges)
    assert not problems, "\n".join(problems)


def test_every_package_is_a_layer_and_imports_only_lower_layers() -> None:
    """The order in :data:`LAYERS` is the one the graph allows (a new package gets a place)."""
    edges = import_graph()
    packages = {p for edge in edges for p in edge}
    assert packages <= set(LAYERS), f"packages missing from LAYERS: {sorted(packages - set(LAYERS))}"
    upward = [
        f"{a} -> {b} ({', '.join(where[:3])})"
        for (a, b), where in sorted(edges.items())
        if LAYERS.index(b) > LAYERS.index(a)
    ]
    assert not upward, "imports of a higher layer:\n" + "\n".join(upward)


@pytest.mark.parametrize("package", LAYERS)
def test_each_package_imports_alone_in_a_fresh_interpreter(package: str) -> None:
    """Every module of the package, imported first thing in a new interpreter."""
    folder = PACKAGE.joinpath(*package.split(".")[1:])
    if package == "utilmeta":
        modules = ["utilmeta", "utilmeta.testing"]
    else:
        modules = sorted(
            module_name(p, PACKAGE) for p in folder.rglob("*.py") if package_of(module_name(p, PACKAGE)) == package
        )
    script = f"import importlib\nfor name in {modules!r}:\n    importlib.import_module(name)\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"importing {package} alone failed:\n{done.stderr[-3000:]}"


# -- the checks can fail -----------------------------------------------------------------------------


def _tree(tmp: Path, files: dict[str, str]) -> Path:
    root = tmp / "utilmeta"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_a_cycle_is_found_and_printed(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "conf/__init__.py": "",
            "conf/base.py": "def f():\n    from utilmeta.core.server.service import get_service\n",
            "core/__init__.py": "",
            "core/server/__init__.py": "",
            "core/server/service.py": "from utilmeta.conf.base import f\n",
        },
    )
    problems = check(import_graph(root))
    assert len(problems) == 1
    assert "utilmeta.conf -> utilmeta.core.server" in problems[0]
    assert "utilmeta.core.server -> utilmeta.conf" in problems[0]
    assert "utilmeta.conf.base:2" in problems[0]


def test_the_core_importing_ops_is_found_and_type_checking_imports_are_not(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "core/__init__.py": "",
            "core/api/__init__.py": "",
            "core/api/router.py": """
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from utilmeta.deploy import base
                from utilmeta.ops import log
            """,
            "ops/__init__.py": "",
            "ops/log.py": "",
        },
    )
    problems = check(import_graph(root))
    assert problems == ["utilmeta.core.api imports utilmeta.ops (utilmeta.core.api.router:5)"]


def test_from_package_import_module_counts_the_module(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "core/__init__.py": "",
            "core/api/__init__.py": "from utilmeta.core import request\n",
            "core/request/__init__.py": "",
        },
    )
    assert import_graph(root) == {("utilmeta.core.api", "utilmeta.core.request"): ["utilmeta.core.api:1"]}
