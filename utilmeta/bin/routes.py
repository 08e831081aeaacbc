"""``meta routes`` (every endpoint: method, path, endpoint, summary) and ``meta gen_openapi``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from utilmeta.bin.base import Command, CommandError, echo, table
from utilmeta.bin.project import Project

__all__ = ["OpenAPICommand", "RoutesCommand"]


class RoutesCommand(Command):
    name = "routes"
    help = "list the service's endpoints (method, path, endpoint, summary)"
    examples = (
        ("meta routes", "a table"),
        ("meta routes --json", "one JSON array, for scripts"),
    )

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="one JSON array instead of a table")

    def handle(self, args: argparse.Namespace) -> int:
        project: Project = args.project
        service = project.load_service()
        router = project.call(lambda: service.router, "the service's APIs cannot be compiled")
        rows = []
        for method, path, handler in router.routes():
            endpoint = handler.endpoint
            rows.append((method, path, endpoint.where, endpoint.info.summary or ""))
        rows.sort(key=lambda row: (row[1], row[0]))
        if args.json:
            keys = ("method", "path", "endpoint", "summary")
            echo(json.dumps([dict(zip(keys, row, strict=True)) for row in rows], indent=2))
        elif rows:
            echo(table(("METHOD", "PATH", "ENDPOINT", "SUMMARY"), rows))
        else:
            echo(f"{service.name} has no endpoints")
        return 0


class OpenAPICommand(Command):
    name = "gen_openapi"
    help = "write the service's OpenAPI document (JSON, or YAML with PyYAML)"
    examples = (
        ("meta gen_openapi", "print it (JSON)"),
        ("meta gen_openapi --out openapi.yaml", "write it as YAML (from the suffix)"),
        ("meta gen_openapi --openapi-version 3.0 --out openapi.json", "for tools that only read 3.0"),
    )

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        # --out, as for `meta deploy`; --to is the same option (its earlier name)
        parser.add_argument(
            "--out", "--to", dest="to", metavar="FILE", type=Path, help="write it to FILE (default: print it)"
        )
        parser.add_argument("--format", choices=("json", "yaml"), help="default: from FILE's suffix, else json")
        parser.add_argument("--openapi-version", choices=("3.1", "3.0"), default="3.1", help="default: 3.1")

    def handle(self, args: argparse.Namespace) -> int:
        from utilmeta.ops.openapi import generate, render

        project: Project = args.project
        service = project.load_service()
        target: Path | None = args.to
        fmt = args.format or ("yaml" if target and target.suffix in (".yml", ".yaml") else "json")
        try:
            document = project.call(lambda: generate(service, openapi_version=args.openapi_version), "OpenAPI")
            data = render(document, fmt)
        except (RuntimeError, ValueError) as e:
            raise CommandError(str(e)) from None
        if target is None:
            sys.stdout.flush()
            buffer = getattr(sys.stdout, "buffer", None)  # bytes: the same document on every platform
            if buffer is None:
                sys.stdout.write(data.decode())
            else:
                buffer.write(data)
                buffer.flush()
            return 0
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except OSError as e:
            raise CommandError(f"cannot write {target}: {e.strerror or e}") from None
        echo(f"wrote {target.resolve()} ({len(document.get('paths', {}))} paths)")
        return 0
