"""Logging per environment: ``service.use(Logging())``.

Three setups, chosen by ``environment`` (default: ``production`` when the service is, else
``development``):

- ``development``: readable lines on the console, from INFO;
- ``testing``: the same lines in a file, from INFO, and warnings on the console;
- ``production``: one JSON object per line on stdout, from INFO; ERROR records also mailed
  (``smtp=SMTP(...)``) and/or posted to a webhook (``webhook='https://...'``), from a
  background thread so no request waits for them.

Every setup logs one access line per request (``access_log=False`` turns it off). The records
go to the root logger's handlers, so framework and library logs end up in the same place.

The access line is a request observer (``utilmeta/conf/_access.py``). Every service observes
it from the start, so a ``utilmeta.access`` logger enabled by your own ``logging`` setup gets
its lines without a ``Logging`` config; ``Logging(access_log=False)`` takes it off the service,
which then, observing nothing else, runs the router's plain, unobserved path.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from utilmeta.conf._access import ACCESS_LOG, ACCESS_LOGGER
from utilmeta.conf.base import Config

if TYPE_CHECKING:
    from utilmeta.core.server.service import UtilMeta

__all__ = ["ENVIRONMENTS", "Logging", "SMTP"]

Environment = Literal["development", "testing", "production"]
ENVIRONMENTS: tuple[Environment, ...] = ("development", "testing", "production")
#: the line format of development and testing logs
READABLE = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}


def _level(name: str, value: str | int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.upper() in _LEVELS:
        level: int = logging.getLevelName(value.upper())
        return level
    raise ValueError(f"Logging({name}=...): a level like 'INFO' or logging.INFO, got {value!r}")


@dataclass
class SMTP:
    """Where production errors are mailed (seed 003's ``SMTPHandler``): ``SMTP('mail.example.com',
    sender='api@example.com', recipients=['ops@example.com'], username=..., password=..., tls=True)``."""

    host: str
    sender: str
    recipients: list[str]
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    subject: str = "{service}: application error"
    timeout: float = 10.0

    def handler(self, service_name: str) -> logging.Handler:
        import logging.handlers

        credentials = (self.username, self.password or "") if self.username else None
        return logging.handlers.SMTPHandler(
            mailhost=(self.host, self.port),
            fromaddr=self.sender,
            toaddrs=list(self.recipients),
            subject=self.subject.format(service=service_name),
            credentials=credentials,
            secure=() if self.tls else None,
            timeout=self.timeout,
        )


class Logging(Config):
    """Configure Python logging for the service's environment (see the module docs).

    ``level``: the root level (default INFO); ``file``: the log file (testing:
    ``<service name>.log``; production: JSON lines there too when given); ``json``: JSON lines
    instead of readable ones (default: production only); ``loggers``: levels of named loggers,
    like ``{'sqlalchemy.engine': 'WARNING'}``; ``error_level``: what is mailed/posted.
    """

    def __init__(
        self,
        environment: Environment | None = None,
        *,
        level: str | int | None = None,
        access_log: bool = True,
        file: str | Path | None = None,
        json: bool | None = None,
        smtp: SMTP | None = None,
        webhook: str | None = None,
        error_level: str | int = "ERROR",
        loggers: Mapping[str, str | int] | None = None,
    ):
        if environment is not None and environment not in ENVIRONMENTS:
            raise ValueError(f"Logging(environment=...) is one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
        self.environment = environment
        self.level = None if level is None else _level("level", level)
        self.access_log = bool(access_log)
        self.file = Path(file) if file is not None else None
        self.json = json
        self.smtp = smtp
        if webhook is not None and not webhook.startswith(("http://", "https://")):
            raise ValueError(f"Logging(webhook=...) is an http(s):// URL, got {webhook!r}")
        self.webhook = webhook
        self.error_level = _level("error_level", error_level)
        self.loggers = {name: _level(f"loggers[{name!r}]", v) for name, v in (loggers or {}).items()}
        self._installed: list[logging.Handler] = []

    def resolve_environment(self, service: UtilMeta | None) -> Environment:
        if self.environment is not None:
            return self.environment
        return "production" if service is not None and service.production else "development"

    def handlers(self, service_name: str, environment: Environment) -> list[logging.Handler]:
        """The root logger's handlers for ``environment`` (built, not yet installed)."""
        from utilmeta.utils.log import BackgroundHandler, JsonFormatter, WebhookHandler

        as_json = self.json if self.json is not None else environment == "production"
        formatter: logging.Formatter = (
            JsonFormatter({"service": service_name}) if as_json else logging.Formatter(READABLE)
        )
        out: list[logging.Handler] = []
        if environment == "testing":
            path = self.file or Path(f"{service_name}.log")
            path.parent.mkdir(parents=True, exist_ok=True)
            to_file = logging.FileHandler(path, encoding="utf-8", delay=True)
            to_file.setLevel(logging.INFO)
            console = logging.StreamHandler(sys.stderr)
            console.setLevel(logging.WARNING)
            out += [to_file, console]
        else:
            out.append(logging.StreamHandler(sys.stdout if environment == "production" else sys.stderr))
            if self.file is not None:
                self.file.parent.mkdir(parents=True, exist_ok=True)
                out.append(logging.FileHandler(self.file, encoding="utf-8", delay=True))
        for handler in out:
            handler.setFormatter(formatter)
        if environment == "production":
            alerts: list[logging.Handler] = []
            if self.smtp is not None:
                alerts.append(self.smtp.handler(service_name))
            if self.webhook is not None:
                alerts.append(WebhookHandler(self.webhook))
            for target in alerts:
                background = BackgroundHandler(target)
                background.setLevel(self.error_level)
                background.setFormatter(logging.Formatter(READABLE))
                out.append(background)
        return out

    def apply(self, service_name: str, environment: Environment) -> None:
        """Install the handlers on the root logger (replacing the ones a previous apply installed)."""
        root = logging.getLogger()
        for handler in self._installed:
            root.removeHandler(handler)
            handler.close()
        self._installed = self.handlers(service_name, environment)
        for handler in self._installed:
            root.addHandler(handler)
        root.setLevel(self.level if self.level is not None else logging.INFO)
        logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO if self.access_log else logging.WARNING)
        for name, level in self.loggers.items():
            logging.getLogger(name).setLevel(level)

    def hook(self, service: UtilMeta) -> None:
        observed = ACCESS_LOG in service.observers
        if self.access_log and not observed:
            service.observe(ACCESS_LOG)
        elif not self.access_log and observed:
            service.observers.remove(ACCESS_LOG)

    def setup(self, service: UtilMeta) -> None:
        self.apply(service.name, self.resolve_environment(service))

    def _repr_items(self) -> list[tuple[str, object]]:
        return [(k, v) for k, v in super()._repr_items() if v is not None and v != {}]
