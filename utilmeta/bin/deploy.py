"""``meta deploy TARGET``: write the deployment files made for this service and its backend.

Targets: gunicorn, uwsgi, nginx, systemd, supervisor, docker (see :mod:`utilmeta.deploy`).
Without ``--out`` the file is printed; with it, written into that directory (an existing file
is kept unless ``--force``). Every target names its files apart, so all of them can share one
``--out`` directory. The Docker files go inside the project (the image's build context): their
paths in the image follow ``--out``.

A server that clients would reach directly (listening on an address other than loopback) is
refused when a few slow clients can hold all its workers (Gunicorn sync/gthread, uWSGI), and
warned about, on stderr, when its parser accepts requests a proxy refuses (uvicorn, Sanic,
Tornado); ``--behind-proxy`` says a buffering proxy is its only client (see
:mod:`utilmeta.deploy.exposure`).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path, PurePosixPath
from typing import Any, get_args

from utilmeta.bin.base import Command, CommandError, echo
from utilmeta.bin.project import Project
from utilmeta.core.server.backends import WorkerClass
from utilmeta.deploy import TARGETS, DeployError, Renderer, ServiceInfo, load
from utilmeta.deploy.wheel import WHEEL_DIR, current_wheel

__all__ = ["DeployCommand", "renderer_options"]

#: a requirements line pinning utilmeta to one version (``utilmeta[flask]==0.1.0+3f9c2a7be1``)
_UTILMETA_PIN = re.compile(r"\s*utilmeta\s*(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)")

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
            if args.target == "docker":
                options["out"] = _in_project(project, args.out)
            renderer: Renderer = load(args.target)(info, **options)
            files = renderer.files()
        except (DeployError, ValueError) as e:
            raise CommandError(str(e)) from None
        for exposure in renderer.exposures():  # the errors were refused above
            echo(f"meta: {exposure.level}: {exposure.message}", err=True)
        if args.target == "docker":
            for warning in _requirements_warnings(project.root / "requirements.txt"):
                echo(f"meta: warning: {warning}", err=True)
        config_path = options.get("config")
        if config_path is not None and not Path(config_path).exists():
            server = info.chosen_server
            echo(
                f"meta: warning: the {args.target} file starts {server} with {config_path}, which does not exist "
                f"yet: write it with `meta deploy {server} --out {Path(config_path).parent}`",
                err=True,
            )
        if args.out is None:
            for index, (name, content) in enumerate(files.items()):
                if len(files) > 1:
                    echo(("\n" if index else "") + f"# ==> {name} <==")
                if isinstance(content, bytes):
                    echo(f"# ({len(content)} bytes: written with --out)")
                else:
                    echo(content.rstrip("\n"))
            return 0
        out: Path = args.out.resolve()
        existing = [name for name in files if (out / name).exists()]
        if existing and not args.force:
            raise CommandError(f"{out / existing[0]} exists: pass --force to overwrite it")
        for name, content in files.items():
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            echo(f"wrote {path}")
        if args.target == "docker":
            dockerfile = (out / "Dockerfile").relative_to(project.root.resolve())
            echo(f"build the image in {project.root}: docker build -f {dockerfile} -t {info.name} .")
        return 0


def _requirements_warnings(path: Path) -> list[str]:
    """Why the image's ``pip install -r requirements.txt`` would fail beside its pin of this build."""
    if not path.is_file():
        return [
            f"the Dockerfile installs {path.name}, which {path.parent} lacks: list the project's dependencies there"
        ]
    wheel = current_wheel()
    warnings = []
    for line in path.read_text(encoding="utf-8").splitlines():
        pinned = _UTILMETA_PIN.match(line)
        if pinned and pinned.group(1) != wheel.version:
            warnings.append(
                f"{path.name} pins utilmeta=={pinned.group(1)}, but the image installs this build, "
                f"{wheel.version}, and pip refuses the two: pin {wheel.version} there "
                f"(its wheel is {wheel.filename}, beside the Dockerfile; keep a copy in {WHEEL_DIR}/)"
            )
    return warnings


def _in_project(project: Project, out: Path | None) -> PurePosixPath:
    """``--out`` of the Docker files relative to the project directory, the image's build context."""
    if out is None:
        return PurePosixPath(".")
    try:
        return PurePosixPath(out.resolve().relative_to(project.root.resolve()).as_posix())
    except ValueError:
        raise CommandError(
            f"--out {out}: the image is built from the project directory {project.root} "
            f"(docker build -f DIR/Dockerfile .), so write the Docker files inside it"
        ) from None
