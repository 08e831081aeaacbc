"""A ``Dockerfile`` (and ``.dockerignore``) that runs the service on its recommended server.

The image installs ``requirements.txt`` plus the server, copies the project to ``/app``, runs as
an unprivileged user and listens on ``0.0.0.0:<port>``. Gunicorn and uWSGI read a config
rendered for the container (``deploy/gunicorn.py`` / ``deploy/uwsgi.ini``); the other servers
take their options on the command line. One server per container: scale with replicas and
put Nginx (or the platform's load balancer) in front — the server config is rendered as behind a
proxy (``0.0.0.0`` is the container's own), so publish the port to the proxy only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path, PurePosixPath
from typing import ClassVar

from utilmeta.deploy.base import Renderer, ServiceInfo
from utilmeta.deploy.gunicorn import GunicornConfig
from utilmeta.deploy.uwsgi import UWSGIConfig

__all__ = ["DockerImage"]

_DOCKERIGNORE = """\
.git
.venv
venv
__pycache__
*.pyc
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
    """``Dockerfile`` + ``.dockerignore`` (+ the server config the container uses)."""

    target = "docker"
    filename: ClassVar[str] = "Dockerfile"

    def __init__(self, info: ServiceInfo, *, base_image: str | None = None, workers: int | None = None):
        super().__init__(info)
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
            return "deploy/gunicorn.py"
        if server == "uwsgi":
            return "deploy/uwsgi.ini"
        return None

    def _server_config(self) -> str | None:
        server = self.container.chosen_server
        if server == "gunicorn":
            return GunicornConfig(self.container, workers=self.workers).render()
        if server == "uwsgi":
            return UWSGIConfig(self.container, processes=self.workers).render()
        return None

    def _command(self) -> list[str]:
        info = self.container
        config = info.root / self.config_name if self.config_name else None
        return [Path(arg).name if i == 0 else arg for i, arg in enumerate(info.command(config))]

    def render(self) -> str:
        info = self.container
        server = info.chosen_server
        packages = _SERVER_PACKAGES.get(server, {}).get(info.interface, "")
        install = "pip install --no-cache-dir -r requirements.txt" + (f" {packages}" if packages else "")
        command = self._command()
        lines = [
            f"FROM {self.base_image}",
            "",
            "ENV PYTHONDONTWRITEBYTECODE=1 \\",
            "    PYTHONUNBUFFERED=1",
            f"WORKDIR {info.root}",
            "",
            "COPY requirements.txt .",
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

    def files(self) -> dict[str, str]:
        out = {"Dockerfile": self.render(), ".dockerignore": _DOCKERIGNORE}
        config = self._server_config()
        if config is not None and self.config_name:
            out[self.config_name] = config
        return out
