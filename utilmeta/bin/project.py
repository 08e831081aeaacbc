"""Finding the project (``meta.ini`` / ``utilmeta.ini``) and loading its service.

::

    [utilmeta]
    name = demo                 ; the service name (defaults to the directory's)
    service = server:service    ; module:attribute of the UtilMeta instance
    app = server:app            ; module:attribute of the WSGI/ASGI application
    main = server.py            ; the script `meta run` starts (optional)
    pidfile = demo.pid          ; where `meta run -d` / the servers keep the process id

Relative paths are relative to the directory of the ini file, which is the project root:
``meta`` puts it first on ``sys.path`` and works in it, as the servers do (``chdir``).
"""

from __future__ import annotations

import configparser
import importlib
import os
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from utilmeta.bin.base import CommandError
from utilmeta.utils.exceptions import SetupError

__all__ = ["INI_NAMES", "Project", "write_ini"]

T = TypeVar("T")

INI_NAMES = ("meta.ini", "utilmeta.ini")
SECTION = "utilmeta"
KEYS = ("name", "service", "app", "main", "pidfile")


def write_ini(path: Path, values: dict[str, str]) -> None:
    """Write ``meta.ini`` with the given keys, in the documented order."""
    lines = [f"[{SECTION}]"] + [f"{key} = {values[key]}" for key in KEYS if values.get(key)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _split_ref(ref: str, key: str, origin: str) -> tuple[str, str]:
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise CommandError(f"{origin}: write it as module:attribute, like 'server:{key}'")
    return module, attr


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling, innermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return chain[::-1]


def _in_project(filename: str | None, root: Path) -> Path | None:
    """``filename`` relative to the project root, or None for a file elsewhere (a library, a
    virtualenv inside the project, Python's ``<frozen ...>`` modules)."""
    if not filename or filename.startswith("<"):
        return None
    path = Path(filename).resolve()
    if not path.is_relative_to(root):
        return None
    for prefix in {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}:
        if prefix.is_relative_to(root) and path.is_relative_to(prefix):
            return None  # the project's own virtualenv
    return path.relative_to(root)


def _user_frame(exc: BaseException, root: Path) -> str:
    """Where in the user's project an exception comes from: `` (api.py, line 3)``.

    The innermost exception of the chain that points into the project wins (an ImportError
    inside ``api.py`` is reported there, not at the line of ``server.py`` that imported it); a
    SyntaxError points at its own file and line, which no traceback frame shows, and so does a
    SetupError that knows its declaration (a wrong ``api=`` found when the service is set up).
    """
    for error in _exception_chain(exc):
        if isinstance(error, SyntaxError):
            relative = _in_project(error.filename, root)
            if relative is not None:
                return f" ({relative}, line {error.lineno})"
        if isinstance(error, SetupError) and error.location is not None:
            relative = _in_project(error.location[0], root)
            if relative is not None:
                return f" ({relative}, line {error.location[1]})"
        for frame in reversed(traceback.extract_tb(error.__traceback__)):
            relative = _in_project(frame.filename, root)
            if relative is not None:
                return f" ({relative}, line {frame.lineno})"
    return ""


@dataclass
class Project:
    """A project found on disk: its root directory and the keys of its ini file."""

    root: Path
    ini: Path | None = None
    name: str | None = None
    service_ref: str | None = None
    app_ref: str | None = None
    main: str | None = None
    pidfile_ref: str | None = None
    show_traceback: bool = False
    #: the keys given by a command-line flag instead of the ini file (``service`` → ``--service``)
    flags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def find(cls, start: Path | None = None, ini: Path | str | None = None) -> Project:
        """The project whose ini file is in ``start`` (default: the working directory) or a parent."""
        if ini is not None:
            path = Path(ini).resolve()
            if not path.is_file():
                raise CommandError(f"no such file: {ini}")
            return cls.read(path)
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            for name in INI_NAMES:
                path = folder / name
                if path.is_file():
                    return cls.read(path)
        raise CommandError(
            f"no meta.ini found in {here} or its parents: run `meta init` in your project "
            f"(or `meta setup NAME` to start a new one)"
        )

    @classmethod
    def read(cls, path: Path) -> Project:
        parser = configparser.ConfigParser(inline_comment_prefixes=(";", "#"), interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except configparser.Error as e:
            raise CommandError(f"{path.name} is not a valid ini file: {str(e).splitlines()[0]}") from None
        if not parser.has_section(SECTION):
            raise CommandError(f"{path} has no [{SECTION}] section: run `meta init --force` to rewrite it")
        values = dict(parser.items(SECTION))
        unknown = sorted(set(values) - set(KEYS))
        if unknown:
            raise CommandError(f"{path.name}: unknown key {unknown[0]!r}; the keys are: {', '.join(KEYS)}")
        if not values.get("service") and not values.get("app"):
            raise CommandError(f"{path.name} names neither `service` nor `app`: add `service = server:service`")
        return cls(
            root=path.parent,
            ini=path,
            name=values.get("name") or None,
            service_ref=values.get("service") or None,
            app_ref=values.get("app") or None,
            main=values.get("main") or None,
            pidfile_ref=values.get("pidfile") or None,
        )

    def override(self, service: str | None, app: str | None) -> None:
        """Use ``--service`` / ``--app`` instead of the ini file's keys; ``--app`` alone drops the
        ini file's ``service`` (the service is then the one the application's module creates)."""
        if service:
            self.flags["service"] = "--service"
        if app:
            self.flags["app"] = "--app"
        self.service_ref = service or (None if app else self.service_ref)
        self.app_ref = app or self.app_ref

    def origin(self, key: str, value: str) -> str:
        """Where a setting was given, to name it in a message: ``--service server:svc`` or
        ``service = server:service in meta.ini``."""
        if key in self.flags:
            return f"`{self.flags[key]} {value}`"
        return f"`{key} = {value}` in {self.ini.name if self.ini else 'meta.ini'}"

    # -- paths -----------------------------------------------------------------------------------

    @property
    def display_name(self) -> str:
        return self.name or self.root.name

    @property
    def pidfile(self) -> Path:
        return self.root / (self.pidfile_ref or f"{self.display_name}.pid")

    @property
    def logfile(self) -> Path:
        return self.pidfile.with_suffix(".log")

    @property
    def main_file(self) -> Path | None:
        if not self.main:
            return None
        main = self.main if self.main.endswith(".py") else self.main.replace(".", "/") + ".py"
        path = self.root / main
        if not path.is_file():
            raise CommandError(f"{self.origin('main', self.main)}: {path} does not exist")
        return path

    # -- loading ---------------------------------------------------------------------------------

    def enter(self) -> None:
        """Work in the project root with it first on ``sys.path``, as the servers do."""
        root = str(self.root)
        if root not in sys.path:
            sys.path.insert(0, root)
        os.chdir(self.root)

    def import_attr(self, ref: str, key: str) -> Any:
        origin = self.origin(key, ref)
        module_name, attr = _split_ref(ref, key, origin)
        self.enter()
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and module_name.split(".")[0] == e.name.split(".")[0] and module_name.startswith(e.name):
                raise CommandError(f"cannot find module {module_name!r} in {self.root}: check {origin}") from None
            raise self._load_error(e, module_name) from None
        except CommandError:
            raise
        except Exception as e:
            raise self._load_error(e, module_name) from None
        try:
            return getattr(module, attr)
        except AttributeError:
            raise CommandError(f"module {module_name!r} has no attribute {attr!r}: check {origin}") from None

    def _load_error(self, exc: Exception, module_name: str) -> CommandError:
        if self.show_traceback:
            traceback.print_exception(exc)
        kind = type(exc).__name__
        message = str(exc).strip() or kind
        if isinstance(exc, SyntaxError) and _in_project(exc.filename, self.root):
            message = exc.msg  # its str() repeats the file and line the message leads with
        if kind not in ("SetupError", "DeclarationError", "EnvError"):
            message = f"{kind}: {message}"
        hint = "" if self.show_traceback else " (run `meta --traceback ...` for the full traceback)"
        return CommandError(f"loading {module_name!r} failed{_user_frame(exc, self.root)}: {message}{hint}")

    def load_service(self) -> Any:
        """The project's UtilMeta instance (importing its module)."""
        from utilmeta.core.server.service import UtilMeta, get_service

        if self.service_ref:
            service = self.import_attr(self.service_ref, "service")
            if not isinstance(service, UtilMeta):
                raise CommandError(
                    f"{self.origin('service', self.service_ref)} is a {type(service).__name__}, "
                    f"not the UtilMeta(...) instance"
                )
            return service
        assert self.app_ref is not None
        self.import_attr(self.app_ref, "app")
        service = get_service()
        if service is None:
            raise CommandError(f"importing {self.app_ref} created no UtilMeta service: add `service = ...` to meta.ini")
        return service

    def load_app(self) -> Any:
        """The WSGI/ASGI application named by ``app``."""
        if not self.app_ref:
            raise CommandError(
                "meta.ini has no `app`: add `app = server:app` (the attribute holding service.application())"
            )
        return self.import_attr(self.app_ref, "app")

    def instances(self, kind: type[T]) -> list[tuple[Path, T]]:
        """The module-level instances of ``kind`` in the project's loaded modules (its ``Env``,
        say), each with its module's file relative to the root."""
        found = []
        for module in list(sys.modules.values()):
            relative = _in_project(getattr(module, "__file__", None), self.root)
            if relative is not None:
                found += [(relative, value) for value in vars(module).values() if isinstance(value, kind)]
        return found

    def call(self, func: Any, what: str) -> Any:
        """Call ``func()`` and turn the service's own errors into one clear line."""
        from utilmeta.utils.exceptions import DeclarationError, SetupError

        try:
            return func()
        except (SetupError, DeclarationError) as e:
            if self.show_traceback:
                traceback.print_exception(e)
            raise CommandError(f"{what}: {e}") from None
