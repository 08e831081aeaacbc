"""The ``meta`` command (also ``python -m utilmeta``).

::

    meta setup NAME [--backend B]     create a project          meta init       write meta.ini
    meta run [-d]                      serve it                  meta down       stop it
    meta restart                       stop, then run -d         meta routes     list endpoints
    meta check [--deploy]              report problems           meta deploy T   gunicorn, uwsgi, nginx, ...
    meta gen_openapi [--to F]          the OpenAPI document

Every command but ``setup`` and ``init`` works on the project whose ``meta.ini`` is in the
working directory or a parent (``--ini`` to name one). When the service uses Django, other
commands go to Django's ``manage.py`` commands (``meta migrate``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from utilmeta import __version__
from utilmeta.bin.base import Command, CommandError, echo
from utilmeta.bin.check import CheckCommand, uses_django
from utilmeta.bin.deploy import DeployCommand
from utilmeta.bin.process import DownCommand, RestartCommand, RunCommand
from utilmeta.bin.project import Project
from utilmeta.bin.routes import OpenAPICommand, RoutesCommand
from utilmeta.bin.scaffold import InitCommand, SetupCommand

__all__ = ["COMMANDS", "main", "parser"]

COMMANDS: tuple[type[Command], ...] = (
    SetupCommand,
    InitCommand,
    RunCommand,
    DownCommand,
    RestartCommand,
    CheckCommand,
    RoutesCommand,
    OpenAPICommand,
    DeployCommand,
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="meta", description="Run, check and deploy a UtilMeta service.")
    root.add_argument("--version", action="version", version=f"utilmeta {__version__}")
    root.add_argument("--ini", help="the project's meta.ini (default: found from the working directory up)")
    root.add_argument("--service", help="module:attribute of the UtilMeta instance (instead of meta.ini's)")
    root.add_argument("--app", help="module:attribute of the application (instead of meta.ini's)")
    root.add_argument("--traceback", action="store_true", help="show the full traceback of a loading error")
    subparsers = root.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command_cls in COMMANDS:
        command = command_cls()
        sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
        command.arguments(sub)
        sub.set_defaults(handler=command)
    return root


def _django_command(argv: list[str], args: argparse.Namespace) -> int | None:
    """Run ``argv`` as a Django management command when the project's service uses Django."""
    try:
        project = _project(args)
    except CommandError:
        return None
    service = project.load_service()
    if not uses_django(service):
        return None
    project.call(service.setup, "the service cannot be set up")
    if "django.conf" not in sys.modules:
        return None
    from django.conf import settings

    if not settings.configured:
        return None
    from django.core.management import execute_from_command_line

    execute_from_command_line(["meta", *argv])
    return 0


def _project(args: argparse.Namespace) -> Project:
    """The project of meta.ini, with ``--service`` / ``--app`` overriding (or standing in for) it."""
    if args.service or args.app:
        try:
            project = Project.find(ini=args.ini)
        except CommandError:
            project = Project(root=Path.cwd().resolve())
        project.override(args.service, args.app)
    else:
        project = Project.find(ini=args.ini)
    project.show_traceback = args.traceback
    return project


def _split_global(argv: list[str]) -> tuple[list[str], list[str]]:
    """Global options (before the command) and the rest."""
    head: list[str] = []
    rest = list(argv)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        head.append(option)
        if option in ("--ini", "--service", "--app") and rest:
            head.append(rest.pop(0))
    return head, rest


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``meta`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    root = parser()
    known = {c.name for c in COMMANDS}
    head, rest = _split_global(argv)
    try:
        if rest and rest[0] not in known:
            args = root.parse_args(head)
            status = _django_command(rest, args)
            if status is not None:
                return status
            raise CommandError(f"unknown command {rest[0]!r}; the commands are: {', '.join(sorted(known))}", 2)
        args = root.parse_args(argv)
        handler: Command | None = getattr(args, "handler", None)
        if handler is None:
            root.print_help()
            return 0
        if handler.needs_project:
            args.project = _project(args)
        return handler.handle(args)
    except CommandError as e:
        echo(f"meta: error: {e}", err=True)
        return e.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `meta routes | head`: the reader is gone, nothing left to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
