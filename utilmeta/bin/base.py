"""What every ``meta`` subcommand shares: the error type, output helpers and the command contract.

A subcommand module defines a :class:`Command` subclass per command: ``name``, ``help``, a few
``examples`` (shown under ``--help``), :meth:`Command.arguments` to declare its options and
:meth:`Command.handle` to do the work, returning the exit status. A user's mistake is raised
as :class:`CommandError`; ``meta`` prints it as one line (``meta: error: ...``) — never a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, ClassVar, TextIO

__all__ = ["Command", "CommandError", "echo", "table"]


class CommandError(Exception):
    """A problem the user can fix; the message says what happened and what to do."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def echo(message: str = "", *, err: bool = False, file: TextIO | None = None) -> None:
    stream = file or (sys.stderr if err else sys.stdout)
    print(message, file=stream, flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Rows as left-aligned text columns under a header line (the last column is not padded)."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        padded = [value.ljust(widths[i]) if i < len(row) - 1 else value for i, value in enumerate(row)]
        lines.append("  ".join(padded).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Command:
    """One ``meta`` subcommand."""

    name: ClassVar[str]
    help: ClassVar[str]
    #: command lines shown under ``meta NAME --help``, each with what it does
    examples: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: whether the command needs the project (``meta.ini``) found before it runs
    needs_project: ClassVar[bool] = True

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare the command's options on its sub-parser."""

    def handle(self, args: argparse.Namespace) -> int:
        """Run the command; return the process exit status."""
        raise NotImplementedError
