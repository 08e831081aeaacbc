"""``meta setup NAME`` (a new, runnable project) and ``meta init`` (``meta.ini`` for an existing one)."""

from __future__ import annotations

import argparse
import ast
import importlib.util
import keyword
import re
from importlib import resources
from pathlib import Path
from string import Template

from utilmeta.bin.base import Command, CommandError, echo
from utilmeta.bin.project import INI_NAMES, write_ini
from utilmeta.core.server.backends import BACKEND_INFO
from utilmeta.deploy import DeployError
from utilmeta.deploy.wheel import WHEEL_DIR, current_wheel

__all__ = ["InitCommand", "SetupCommand", "detect_service", "scaffold"]

#: the web frameworks a new project can start on (the framework-free backends need no template)
BACKENDS = tuple(name for name, row in BACKEND_INFO.items() if row.framework)
DEFAULT_BACKEND = "flask"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
#: template file (under templates/project) → path in the new project
_FILES = {
    "server.py.tmpl": "server.py",
    "api.py.tmpl": "api.py",
    "config/__init__.py.tmpl": "config/__init__.py",
    "config/env.py.tmpl": "config/env.py",
    "meta.ini.tmpl": "meta.ini",
    "requirements.txt.tmpl": "requirements.txt",
    "gitignore.tmpl": ".gitignore",
}


def _template(relative: str) -> Template:
    source = resources.files("utilmeta.bin").joinpath("templates").joinpath("project")
    for part in relative.split("/"):
        source = source.joinpath(part)
    return Template(source.read_text(encoding="utf-8"))


def scaffold(target: Path, name: str, backend: str) -> list[Path]:
    """Write a new project for ``backend`` into ``target``; return the files written.

    ``requirements.txt`` installs this utilmeta build from its wheel, written into ``wheels/``."""
    row = BACKEND_INFO[backend]
    prefix = re.sub(r"\W", "_", name).upper() + "_"
    wheel = current_wheel()
    values = {
        "name": name,
        "backend": backend,
        "utilmeta": wheel.requirement(row.extra),
        "wheel_dir": WHEEL_DIR,
        "port": str(row.default_port),
        "prefix": prefix,
    }
    written = []
    for source, destination in _FILES.items():
        path = target / destination
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_template(source).substitute(values), encoding="utf-8")
        written.append(path)
    path = target / WHEEL_DIR / wheel.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wheel.data)
    return [*written, path]


class SetupCommand(Command):
    name = "setup"
    help = "create a new project: service, config, APIs, meta.ini, requirements"
    examples = (
        ("meta setup demo", "a Flask project in ./demo"),
        ("meta setup shop --backend fastapi", "on FastAPI"),
        ("meta setup api --backend sanic --dir services/api", "in another directory"),
    )
    needs_project = False

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("project", metavar="NAME", help="the project (and directory) name")
        parser.add_argument(
            "--backend", choices=BACKENDS, default=DEFAULT_BACKEND, help=f"web framework (default {DEFAULT_BACKEND})"
        )
        parser.add_argument("--dir", type=Path, default=None, help="where to create it (default ./NAME)")

    def handle(self, args: argparse.Namespace) -> int:
        name: str = args.project
        if not _NAME.match(name) or keyword.iskeyword(name):
            raise CommandError(
                f"invalid project name {name!r}: use letters, digits, '_' and '-', starting with a letter"
            )
        target = (args.dir or Path.cwd() / name).resolve()
        if target.exists() and any(target.iterdir()):
            raise CommandError(f"{target} already exists and is not empty: choose another name or --dir")
        try:
            files = scaffold(target, name, args.backend)
        except DeployError as e:
            raise CommandError(str(e)) from None
        echo(f"created project {name!r} ({args.backend}) in {target}:")
        for path in files:
            echo(f"  {path.relative_to(target)}")
        framework = BACKEND_INFO[args.backend].framework
        if framework and importlib.util.find_spec(framework) is None:
            echo(f"note: {args.backend} is not installed here: pip install -r {target / 'requirements.txt'}")
        echo(f"next: cd {target} && meta run")
        return 0


def detect_service(root: Path) -> tuple[str, str | None, str | None]:
    """``(service_ref, app_ref, name)`` found in the top-level modules of ``root``: the module-level
    ``x = UtilMeta(...)`` and ``y = x.application()`` assignments, and the call's ``name="..."``
    when it is a literal (the name ``meta run -d`` and ``meta down`` then both show)."""
    found: list[tuple[str, str | None, str | None]] = []
    for path in sorted(root.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        except (SyntaxError, UnicodeDecodeError):
            continue
        service_var = app_var = service_name = None
        for node in tree.body:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                continue
            value = node.value
            if not isinstance(value, ast.Call):
                continue
            func = value.func
            named = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if named == "UtilMeta":
                service_var = node.targets[0].id
                given = next((k.value for k in value.keywords if k.arg == "name"), None)
                service_name = given.value if isinstance(given, ast.Constant) and isinstance(given.value, str) else None
            elif (
                isinstance(func, ast.Attribute)
                and func.attr == "application"
                and isinstance(func.value, ast.Name)
                and func.value.id == service_var
            ):
                app_var = node.targets[0].id
        if service_var:
            module = path.stem
            found.append((f"{module}:{service_var}", f"{module}:{app_var}" if app_var else None, service_name))
    if not found:
        raise CommandError(
            f"no module in {root} creates a UtilMeta service at top level: pass --service module:attribute"
        )
    if len(found) > 1:
        refs = ", ".join(ref for ref, _, _ in found)
        raise CommandError(f"several services found ({refs}): pass --service module:attribute")
    return found[0]


class InitCommand(Command):
    name = "init"
    help = "write meta.ini for an existing project"
    examples = (
        ("meta init", "find the service and its app in the modules here"),
        ("meta init --service server:service --app server:app", "name them"),
        ("meta init --main server.py --force", "replace meta.ini, with the script `meta run` starts"),
    )
    needs_project = False

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--service", help="module:attribute of the UtilMeta instance (found if omitted)")
        parser.add_argument("--app", help="module:attribute of the WSGI/ASGI application (found if omitted)")
        parser.add_argument(
            "--name", help="service name (default: the UtilMeta(name=...) found, else the directory name)"
        )
        parser.add_argument("--main", help="the script `meta run` starts, like server.py")
        parser.add_argument("--dir", type=Path, default=None, help="project directory (default: here)")
        parser.add_argument("--force", action="store_true", help="replace an existing meta.ini")

    def handle(self, args: argparse.Namespace) -> int:
        root = (args.dir or Path.cwd()).resolve()
        if not root.is_dir():
            raise CommandError(f"no such directory: {root}")
        existing = [root / n for n in INI_NAMES if (root / n).exists()]
        if existing and not args.force:
            raise CommandError(f"{existing[0]} already exists: edit it, or pass --force to replace it")
        service_ref, app_ref, detected_name = args.service, args.app, None
        if not service_ref:
            service_ref, detected_app, detected_name = detect_service(root)
            app_ref = app_ref or detected_app
        for key, ref in (("--service", service_ref), ("--app", app_ref)):
            if ref and ref.count(":") != 1:
                raise CommandError(f"{key} {ref!r}: write it as module:attribute, like server:service")
        module = service_ref.split(":")[0]
        main = args.main or (f"{module}.py" if (root / f"{module}.py").is_file() else None)
        name = args.name or detected_name or root.name
        path = root / "meta.ini"
        write_ini(path, {"name": name, "service": service_ref, "app": app_ref or "", "main": main or ""})
        echo(f"wrote {path}: service = {service_ref}" + (f", app = {app_ref}" if app_ref else ""))
        if not app_ref:
            echo("note: no `app = service.application()` found; add `app = module:attribute` before `meta deploy`")
        return 0
