"""``meta routes`` (the service's endpoints: method, path, endpoint, summary; then, apart, those
utilmeta serves itself: the docs, the index) and ``meta gen_openapi``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from utilmeta.bin.base import Command, CommandError, echo, table
from utilmeta.bin.project import Project
from utilmeta.utils.text import counted

__all__ = ["OpenAPICommand", "RoutesCommand"]


class RoutesCommand(Command):
    name = "routes"
    help = "list the service's endpoints (method, path, endpoint, summary), then the docs' and index's"

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="one JSON array instead of a table")

    def handle(self, args: argparse.Namespace) -> int:
        project: Project = args.project
        service = project.load_service()
        router = project.call(lambda: service.router, "the service's APIs cannot be compiled")
        own: list[tuple[str, str, str, str]] = []
        served: list[tuple[str, str, str, str]] = []  # by utilmeta itself: the docs, the index
        for method, path, handler in router.routes():
            endpoint = handler.endpoint
            feature = router.served_by.get(handler)
            if feature is None:
                own.append((method, path, endpoint.where, endpoint.info.summary or ""))
            else:
                served.append((method, path, feature, endpoint.info.summary or ""))
        own.sort(key=lambda row: (row[1], row[0]))
        served.sort(key=lambda row: (row[1], row[0]))
        if args.json:
            # one shape for every row: ``endpoint`` for the user's, ``feature`` for utilmeta's own
            rows = [{"method": m, "path": p, "endpoint": e, "feature": None, "summary": s} for m, p, e, s in own]
            rows += [{"method": m, "path": p, "endpoint": None, "feature": f, "summary": s} for m, p, f, s in served]
            echo(json.dumps(rows, indent=2))
            return 0
        echo(table(("METHOD", "PATH", "ENDPOINT", "SUMMARY"), own) if own else f"{service.name} has no endpoints")
        if served:
            echo(f"\nserved by utilmeta ({', '.join(sorted(set(row[2] for row in served)))}):")
            echo(table(("METHOD", "PATH", "FEATURE", "SUMMARY"), served))
        return 0


class OpenAPICommand(Command):
    name = "gen_openapi"
    help = "write the service's OpenAPI document (JSON, or YAML with PyYAML)"

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--to", metavar="FILE", type=Path, help="write it to FILE (default: print it)")
        parser.add_argument("--out", dest="to", type=Path, help=argparse.SUPPRESS)  # the earlier name
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
        echo(f"wrote {target.resolve()} ({counted(len(document.get('paths', {})), 'path')})")
        return 0
