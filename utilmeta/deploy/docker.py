"""A ``Dockerfile`` (and its ignore file) that runs the service on its recommended server.

The image is built from the project directory (the build context), whichever directory the
files are written to (``out``, relative to the project)::

    meta deploy docker --out deploy
    docker build -f deploy/Dockerfile -t myapp .

It installs ``requirements.txt`` plus this utilmeta build, from the wheel written beside the
Dockerfile (see :mod:`utilmeta.deploy.wheel`), and the server; copies the project to ``/app``,
runs as an unprivileged user and listens on ``0.0.0.0:<port>``. Gunicorn and uWSGI read a
config rendered for the container (``gunicorn.docker.py`` / ``uwsgi.docker.ini`` beside the
Dockerfile); the other servers take their options on the command line. The ignore file is
``.dockerignore`` when the files go to the project directory itself, else
``Dockerfile.dockerignore`` beside the Dockerfile, where BuildKit reads it. One server per
container: scale with replicas and put Nginx (or the platform's load balancer) in front — the
server config is rendered as behind a proxy (``0.0.0.0`` is the container's own), so publish
the port to the proxy only.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path, PurePosixPath
from typing import ClassVar

from utilmeta.core.server.backends import BACKEND_INFO
from utilmeta.deploy.base import DeployError, Renderer, ServiceInfo
from utilmeta.deploy.gunicorn import GunicornConfig
from utilmeta.deploy.uwsgi import UWSGIConfig
from utilmeta.deploy.wheel import WHEEL_DIR, current_wheel

__all__ = ["DockerImage"]

_DOCKERIGNORE = """\
.git
.venv
venv
**/__pycache__
**/*.pyc
*.pid
*.log
*.sock
*.ctl
logs
.env
"""

#: what each server needs on top of requirements.txt (the deploy extra's, less what a server
#: it does not run needs); Gunicorn's gevent worker imports ``packaging`` without declaring it
_SERVER_PACKAGES = {
    "gunicorn": {"wsgi": "gunicorn gevent packaging", "asgi": "gunicorn uvicorn-worker"},
    "uwsgi": {"wsgi": "pyuwsgi"},
    "daphne": {"asgi": "daphne"},
}


class DockerImage(Renderer):
    """``Dockerfile``, its ignore file, the utilmeta wheel (+ the server config the container uses).

    ``out`` is the directory the files are written to, relative to the project directory."""

    target = "docker"
    filename: ClassVar[str] = "Dockerfile"

    def __init__(
        self,
        info: ServiceInfo,
        *,
        base_image: str | None = None,
        workers: int | None = None,
        out: PurePosixPath | str = ".",
    ):
        super().__init__(info)
        self.out = PurePosixPath(out)
        if self.out.is_absolute() or ".." in self.out.parts:
            raise DeployError(
                f"out={str(out)!r}: the image is built from the project directory, "
                "so write the Docker files inside it (a path relative to the project)"
            )
        self.base_image = base_image or f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"
        self.workers = workers
        workdir = Path(PurePosixPath("/app"))
        self.container = info.replace(
            root=workdir,
            host="0.0.0.0",
            python=Path(PurePosixPath("/usr/local/bin/python")),
            venv=None,
            log_dir=None,
            pidfile=Path(PurePosixPath("/tmp")) / f"{info.name}.pid",
            instances=1,
            # its own network namespace: the port faces only where it is published (the proxy)
            behind_proxy=True,
        )

    @property
    def config_name(self) -> str | None:
        server = self.container.chosen_server
        if server == "gunicorn":
            return "gunicorn.docker.py"
        if server == "uwsgi":
            return "uwsgi.docker.ini"
        return None

    @property
    def ignore_name(self) -> str:
        """``.dockerignore`` at the root of the build context, else the Dockerfile's own."""
        return ".dockerignore" if self.out == PurePosixPath(".") else "Dockerfile.dockerignore"

    def _in_context(self, name: str) -> str:
        """A file written beside the Dockerfile, as a path in the build context."""
        return (self.out / name).as_posix()

    def _server_config(self) -> str | None:
        server = self.container.chosen_server
        if server == "gunicorn":
            return GunicornConfig(self.container, workers=self.workers).render()
        if server == "uwsgi":
            return UWSGIConfig(self.container, processes=self.workers).render()
        return None

    def _command(self) -> list[str]:
        info = self.container
        config = info.root / self._in_context(self.config_name) if self.config_name else None
        return [Path(arg).name if i == 0 else arg for i, arg in enumerate(info.command(config))]

    def render(self) -> str:
        info = self.container
        server = info.chosen_server
        packages = _SERVER_PACKAGES.get(server, {}).get(info.interface, "").split()
        wheel = current_wheel()
        utilmeta = wheel.requirement(BACKEND_INFO[info.backend].extra)
        install = shlex.join(
            [
                "pip",
                "install",
                "--no-cache-dir",
                "--find-links",
                WHEEL_DIR,
                "-r",
                "requirements.txt",
                utilmeta,
                *packages,
            ]
        )
        command = self._command()
        lines = [
            f"FROM {self.base_image}",
            "",
            "ENV PYTHONDONTWRITEBYTECODE=1 \\",
            "    PYTHONUNBUFFERED=1",
            f"WORKDIR {info.root}",
            "",
            "COPY requirements.txt .",
            f"COPY {self._in_context(wheel.filename)} {WHEEL_DIR}/",
            f"RUN {install}",
            "",
            "COPY . .",
            "RUN useradd --system --uid 10001 --no-create-home app",
            "USER app",
            "",
            f"EXPOSE {info.port}",
            "STOPSIGNAL SIGTERM",
            f"CMD {json.dumps(command)}",
        ]
        return "\n".join(lines) + "\n"

    def files(self) -> dict[str, str | bytes]:
        wheel = current_wheel()
        out: dict[str, str | bytes] = {
            "Dockerfile": self.render(),
            self.ignore_name: _DOCKERIGNORE,
            wheel.filename: wheel.data,
        }
        config = self._server_config()
        if config is not None and self.config_name:
            out[self.config_name] = config
        return out
