"""A systemd unit for the service.

Gunicorn and uWSGI manage their workers themselves: one ``<name>.service`` of ``Type=notify``
(both tell systemd when they are ready). Daphne, Sanic and Tornado run one process per
instance: a template unit ``<name>@.service`` whose instance name is the port
(``systemctl enable --now demo@8000 demo@8001``). Stopping sends SIGTERM and waits for
in-flight requests; a crashed process is restarted.

The project's ``.env`` is loaded as the environment (``EnvironmentFile=-<root>/.env``): its names
are the environment's (``DEMO_PORT=9000``), as :class:`~utilmeta.conf.Env` reads it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from utilmeta.deploy.base import Renderer, ServiceInfo
from utilmeta.deploy.exposure import Exposure

__all__ = ["SystemdUnit", "systemd_quote"]

_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=,+@%")


def systemd_quote(arg: str, *, specifiers: bool = False) -> str:
    """One command-line word for ``ExecStart=``: ``%`` and ``$`` escaped (unless ``specifiers``
    keeps ``%i``-style specifiers), quoted when it holds other characters."""
    if not specifiers:
        arg = arg.replace("%", "%%")
    arg = arg.replace("$", "$$")
    if arg and all(c in _PLAIN for c in arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SystemdUnit(Renderer):
    """``[Unit]``, ``[Service]`` (notify/exec, restart, graceful stop, hardening) and ``[Install]``."""

    target = "systemd"
    filename: ClassVar[str] = "{name}.service"

    def __init__(
        self,
        info: ServiceInfo,
        *,
        config: Path | str | None = None,
        user: str | None = None,
        group: str | None = None,
        environment_file: Path | str | None = None,
        stop_timeout: int | None = None,
        restart: str = "on-failure",
        hardening: bool = True,
    ):
        super().__init__(info)
        self.config = Path(config) if config else None
        self.user = user
        self.group = group
        self.environment_file = environment_file if environment_file is not None else info.root / ".env"
        self.stop_timeout = info.stop_timeout if stop_timeout is None else stop_timeout
        self.restart = restart
        self.hardening = hardening

    def exposures(self) -> list[Exposure]:
        return self.started_exposures()

    @property
    def templated(self) -> bool:
        """One process per instance: a template unit, the port as the instance name."""
        return self.info.chosen_server not in ("gunicorn", "uwsgi")

    @property
    def output_name(self) -> str:
        return f"{self.info.name}@.service" if self.templated else f"{self.info.name}.service"

    def _exec_start(self) -> str:
        if self.templated:
            args = self.info.command(self.config, port="%i")
            return " ".join(systemd_quote(a, specifiers=a == "%i") for a in args)
        return " ".join(systemd_quote(a) for a in self.info.command(self.config))

    def render(self) -> str:
        info = self.info
        server = info.chosen_server
        description = f"{info.name} (UtilMeta service on {server}" + (", port %i)" if self.templated else ")")
        unit = [
            "[Unit]",
            f"Description={description}",
            "After=network-online.target",
            "Wants=network-online.target",
            "",
            "[Service]",
        ]
        if server in ("gunicorn", "uwsgi"):
            unit += ["Type=notify", f"NotifyAccess={'all' if server == 'uwsgi' else 'main'}"]
        else:
            unit.append("Type=exec")
        if self.user:
            unit.append(f"User={self.user}")
        if self.group:
            unit.append(f"Group={self.group}")
        unit.append(f"WorkingDirectory={systemd_quote(str(info.root))}")
        for key, value in info.environment.items():
            unit.append(f"Environment={systemd_quote(f'{key}={value}')}")
        if self.environment_file:
            unit.append(f"EnvironmentFile=-{self.environment_file}")
        unit.append(f"ExecStart={self._exec_start()}")
        if server in ("gunicorn", "uwsgi"):
            unit.append("ExecReload=/bin/kill -s HUP $MAINPID")
        unit += [
            "KillMode=mixed",
            "KillSignal=SIGTERM",
            f"TimeoutStopSec={self.stop_timeout}",
            f"Restart={self.restart}",
            "RestartSec=2",
        ]
        if self.hardening:
            unit += ["NoNewPrivileges=true", "PrivateTmp=true", "ProtectSystem=full"]
        unit += ["", "[Install]", "WantedBy=multi-user.target"]
        return "\n".join(unit) + "\n"
