"""A supervisor program for the service (``<name>.supervisor.conf``, for ``/etc/supervisor/conf.d/``).

Gunicorn and uWSGI: one ``[program:<name>]`` (their master manages the workers). Daphne,
Sanic and Tornado: one program per instance port, ``<name>-<port>``, in ``[group:<name>]``
(``supervisorctl restart <name>:*``). Programs restart when they die; stopping sends SIGTERM
and gives in-flight requests ``stopwaitsecs`` to finish before the group is killed.
Supervisor loads no ``.env``: the service reads its own, in the project directory it starts in.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import ClassVar

from utilmeta.deploy.base import Renderer, ServiceInfo
from utilmeta.deploy.exposure import Exposure

__all__ = ["SupervisorProgram"]


def _escape(value: str) -> str:
    return value.replace("%", "%%")


class SupervisorProgram(Renderer):
    """``[program:...]`` sections (and a ``[group:...]`` for several instances)."""

    target = "supervisor"
    filename: ClassVar[str] = "{name}.supervisor.conf"

    def __init__(
        self,
        info: ServiceInfo,
        *,
        config: Path | str | None = None,
        user: str | None = None,
        stop_timeout: int | None = None,
        start_seconds: int = 2,
    ):
        super().__init__(info)
        self.config = Path(config) if config else None
        self.user = user
        self.stop_timeout = info.stop_timeout if stop_timeout is None else stop_timeout
        self.start_seconds = start_seconds

    def exposures(self) -> list[Exposure]:
        return self.started_exposures()

    @property
    def per_instance(self) -> bool:
        return self.info.chosen_server not in ("gunicorn", "uwsgi")

    def program_names(self) -> list[str]:
        """The program name of each process supervisor runs."""
        if not self.per_instance:
            return [self.info.name]
        return [f"{self.info.name}-{port}" for port in self.info.ports]

    def _program(self, name: str, port: int | None) -> list[str]:
        info = self.info
        command = info.command(self.config, port=port)
        environment = ",".join(f'{key}="{_escape(value)}"' for key, value in info.environment.items())
        lines = [
            f"[program:{name}]",
            f"command={_escape(shlex.join(command))}",
            f"directory={_escape(str(info.root))}",
            f"environment={environment}",
            "autostart=true",
            "autorestart=true",
            f"startsecs={self.start_seconds}",
            "startretries=3",
            "stopsignal=TERM",
            f"stopwaitsecs={self.stop_timeout}",
            "killasgroup=true",
        ]
        if self.user:
            lines.append(f"user={self.user}")
        log = info.log_file(name)
        if log is not None:
            lines += ["redirect_stderr=true", f"stdout_logfile={_escape(str(log))}"]
        return lines

    def render(self) -> str:
        info = self.info
        names = self.program_names()
        ports: list[int | None] = list(info.ports) if self.per_instance else [None]
        sections: list[str] = []
        for name, port in zip(names, ports, strict=True):
            sections += [*self._program(name, port), ""]
        if self.per_instance:
            sections += [f"[group:{info.name}]", f"programs={','.join(names)}", ""]
        return "\n".join(sections).rstrip("\n") + "\n"
