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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from utilmeta.bin.base import CommandError

__all__ = ["INI_NAMES", "Project", "write_ini"]

INI_NAMES = ("meta.ini", "utilmeta.ini")
SECTION = "utilmeta"
KEYS = ("name", "service", "app", "main", "pidfile")


def write_ini(path: Path, values: dict[str, str]) -> None:
    """Write ``meta.ini`` with the given keys, in the documented order."""
    lines = [f"[{SECTION}]"] + [f"{key} = {values[key]}" for key in KEYS if values.get(key)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _split_ref(ref: str, key: str) -> tuple[str, str]:
    module, sep, attr = ref.partition(":")
    if not sep or not module or not attr:
        raise CommandError(f"{key} = {ref!r} in meta.ini: write it as module:attribute, like 'server:{key}'")
    return module, attr


def _user_frame(exc: BaseException, root: Path) -> str:
    """Where in the user's project an exception was raised: ``server.py, line 3``."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            relative = Path(frame.filename).resolve().relative_to(root)
        except ValueError:
            continue
        where = f"{relative}, line {frame.lineno}"
    return f" ({where})" if where else ""


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
            raise CommandError(f"main = {self.main} in meta.ini: {path} does not exist")
        return path

    # -- loading ---------------------------------------------------------------------------------

    def enter(self) -> None:
        """Work in the project root with it first on ``sys.path``, as the servers do."""
        root = str(self.root)
        if root not in sys.path:
            sys.path.insert(0, root)
        os.chdir(self.root)

    def import_attr(self, ref: str, key: str) -> Any:
        module_name, attr = _split_ref(ref, key)
        self.enter()
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and module_name.split(".")[0] == e.name.split(".")[0] and module_name.startswith(e.name):
                raise CommandError(
                    f"cannot find module {module_name!r} in {self.root}: check `{key} = {ref}` in meta.ini"
                ) from None
            raise self._load_error(e, module_name) from None
        except CommandError:
            raise
        except Exception as e:
            raise self._load_error(e, module_name) from None
        try:
            return getattr(module, attr)
        except AttributeError:
            raise CommandError(
                f"module {module_name!r} has no attribute {attr!r}: check `{key} = {ref}` in meta.ini"
            ) from None

    def _load_error(self, exc: Exception, module_name: str) -> CommandError:
        if self.show_traceback:
            traceback.print_exception(exc)
        kind = type(exc).__name__
        message = str(exc).strip() or kind
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
                    f"service = {self.service_ref} in meta.ini is a {type(service).__name__}, "
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

    def call(self, func: Any, what: str) -> Any:
        """Call ``func()`` and turn the service's own errors into one clear line."""
        from utilmeta.utils.exceptions import DeclarationError, SetupError

        try:
            return func()
        except (SetupError, DeclarationError) as e:
            if self.show_traceback:
                traceback.print_exception(e)
            raise CommandError(f"{what}: {e}") from None
