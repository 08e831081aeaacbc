"""``meta deploy TARGET``: write the deployment files made for this service and its backend.

Targets: gunicorn, uwsgi, nginx, systemd, supervisor, docker (see :mod:`utilmeta.deploy`).
Without ``--out`` the file is printed; with it, written into that directory (an existing file
is kept unless ``--force``).

A server that clients would reach directly (listening on an address other than loopback) is
refused when a few slow clients can hold all its workers (Gunicorn sync/gthread, uWSGI), and
warned about, on stderr, when its parser accepts requests a proxy refuses (uvicorn, Sanic,
Tornado); ``--behind-proxy`` says a buffering proxy is its only client (see
:mod:`utilmeta.deploy.exposure`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, get_args

from utilmeta.bin.base import Command, CommandError, echo
from utilmeta.bin.project import Project
from utilmeta.core.server.backends import WorkerClass
from utilmeta.deploy import TARGETS, DeployError, Renderer, ServiceInfo, load

__all__ = ["DeployCommand", "renderer_options"]

#: CLI option → renderer keyword, per target
_OPTIONS: dict[str, dict[str, str]] = {
    "gunicorn": {"workers": "workers", "worker_class": "worker_class", "timeout": "timeout"},
    "uwsgi": {
        "workers": "processes",
        "threads": "threads",
        "timeout": "harakiri",
        "stats": "stats",
        "user": "uid",
        "group": "gid",
    },
    "nginx": {"listen": "listen", "server_name": "server_name", "timeout": "timeout"},
    "systemd": {"config": "config", "user": "user", "group": "group"},
    "supervisor": {"config": "config", "user": "user"},
    "docker": {"workers": "workers", "base_image": "base_image"},
}


def renderer_options(target: str, args: argparse.Namespace) -> dict[str, Any]:
    """The renderer keywords given on the command line for ``target``; others given are an error."""
    options: dict[str, Any] = {}
    mapping = _OPTIONS[target]
    every = {name for names in _OPTIONS.values() for name in names}
    for name in sorted(every):
        value = getattr(args, name, None)
        if value is None:
            continue
        if name not in mapping:
            raise CommandError(f"--{name.replace('_', '-')} does not apply to `meta deploy {target}`")
        options[mapping[name]] = value
    return options


class DeployCommand(Command):
    name = "deploy"
    help = "write deployment files: " + ", ".join(TARGETS)
    examples = (
        ("meta deploy gunicorn", "print the Gunicorn config"),
        ("meta deploy nginx --out deploy --port 8000 --instances 2", "write the Nginx config into deploy/"),
        ("meta deploy systemd --out deploy --user www-data", "a systemd unit running as www-data"),
    )

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("target", choices=tuple(TARGETS), help="what to generate")
        parser.add_argument("--out", type=Path, help="directory to write into (default: print)")
        parser.add_argument("--force", action="store_true", help="overwrite existing files")
        parser.add_argument("--server", help="gunicorn, uwsgi, daphne (default: the backend's recommended)")
        parser.add_argument("--host", help="address the server listens on (default: the service's)")
        parser.add_argument(
            "--behind-proxy",
            action="store_true",
            help="a buffering proxy is the only client of --host, though it is not loopback",
        )
        parser.add_argument("--port", type=int, help="port of the (first) server instance")
        parser.add_argument("--instances", type=int, help="server instances on consecutive ports (nginx upstream)")
        parser.add_argument("--log-dir", type=Path, help="write logs here instead of stdout/stderr")
        parser.add_argument("--workers", type=int, help="worker processes (default: from the CPU count)")
        parser.add_argument("--worker-class", choices=get_args(WorkerClass))
        parser.add_argument("--threads", type=int, help="threads per uWSGI worker")
        parser.add_argument("--timeout", type=int, help="request timeout in seconds")
        parser.add_argument("--stats", help="uWSGI stats address (default 127.0.0.1:9191)")
        parser.add_argument("--listen", help="Nginx listen address/port (default 80)")
        parser.add_argument("--server-name", help="Nginx server_name (default _)")
        parser.add_argument("--config", type=Path, help="the gunicorn.py / uwsgi.ini the unit or program starts")
        parser.add_argument("--user", help="user the service runs as (systemd, supervisor, uWSGI's uid)")
        parser.add_argument("--group", help="group the service runs as (systemd, uWSGI's gid)")
        parser.add_argument("--base-image", help="Docker base image (default python:X.Y-slim)")

    def info(self, project: Project, args: argparse.Namespace) -> ServiceInfo:
        service = project.load_service()
        if not project.app_ref:
            raise CommandError(
                "meta.ini has no `app`: add `app = server:app` (the attribute holding service.application())"
            )
        root = project.root
        overrides = {
            "server": args.server,
            "host": args.host,
            "port": args.port,
            "instances": args.instances,
            "log_dir": args.log_dir.resolve() if args.log_dir else None,
            "pidfile": project.pidfile,
            "name": project.name,
            "behind_proxy": args.behind_proxy or None,
        }
        return ServiceInfo.from_service(service, app=project.app_ref, root=root, **overrides)

    def handle(self, args: argparse.Namespace) -> int:
        project: Project = args.project
        try:
            info = self.info(project, args)
            options = renderer_options(args.target, args)
            if args.target in ("systemd", "supervisor") and "config" not in options:
                folder = args.out.resolve() if args.out else project.root
                config = {"gunicorn": "gunicorn.py", "uwsgi": "uwsgi.ini"}.get(info.chosen_server)
                if config:
                    options["config"] = folder / config
            renderer: Renderer = load(args.target)(info, **options)
            files = renderer.files()
        except (DeployError, ValueError) as e:
            raise CommandError(str(e)) from None
        for exposure in renderer.exposures():  # the errors were refused above
            echo(f"meta: {exposure.level}: {exposure.message}", err=True)
        if args.out is None:
            for index, (name, text) in enumerate(files.items()):
                if len(files) > 1:
                    echo(("\n" if index else "") + f"# ==> {name} <==")
                echo(text.rstrip("\n"))
            return 0
        out: Path = args.out.resolve()
        existing = [name for name in files if (out / name).exists()]
        if existing and not args.force:
            raise CommandError(f"{out / existing[0]} exists: pass --force to overwrite it")
        for name, text in files.items():
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            echo(f"wrote {path}")
        return 0
