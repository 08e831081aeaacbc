"""``meta check``: load the service and its application and report what is wrong.

``--deploy`` adds production readiness: debug off, a strong secret key where one is used,
allowed hosts, trusted proxies, public API docs, and what clients would reach without the
generated Nginx in front: the ``gunicorn.py`` / ``uwsgi.ini`` found in the project root or its
``deploy/`` folder (their ``bind``/``socket`` and worker class), else the backend's recommended
server on the service's host. A server on loopback is taken to be behind Nginx;
``--behind-proxy`` (or a config rendered with it) says a proxy elsewhere is its only client.
Each finding is one line, ``error:`` or ``warning:``, saying what to change; errors (or
warnings, with ``--fail-level warning``) make the exit status 1.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from utilmeta.bin.base import Command, CommandError, echo
from utilmeta.bin.project import Project
from utilmeta.conf.env import Env, EnvWarning
from utilmeta.deploy import serving_of
from utilmeta.deploy.exposure import exposures, front_of, read_config
from utilmeta.utils.text import counted

__all__ = ["CheckCommand", "Finding", "deploy_findings", "exposure_findings"]

#: where ``meta deploy gunicorn|uwsgi|docker`` writes the server config (``--out deploy`` or the root)
_SERVER_CONFIGS = tuple(
    f"{folder}{name}"
    for folder in ("", "deploy/")
    for name in ("gunicorn.py", "uwsgi.ini", "gunicorn.docker.py", "uwsgi.docker.ini")
)

Level = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    level: Level
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.message}"


def uses_django(service: Any) -> bool:
    """Whether the service runs on Django or configures it: ``DjangoSettings``, or databases
    (``DatabaseConnections``, served by the Django ORM on any backend)."""
    from utilmeta.core.orm.backends.django.settings import DjangoSettings
    from utilmeta.core.orm.databases import DatabaseConnections

    if type(service.adaptor).__module__.startswith("utilmeta.core.server.backends.django"):
        return True
    return any(isinstance(config, DjangoSettings | DatabaseConnections) for config in service.configs.values())


def _django_settings(service: Any) -> Any:
    """Django's settings when the service uses Django and has set it up, else None."""
    if not uses_django(service) or "django.conf" not in sys.modules:
        return None
    from django.conf import settings

    return settings if settings.configured else None


def _weak_secret(value: str, django: bool) -> str | None:
    """Why a secret key is weak, or None (Django's own rule for Django's key)."""
    if django and value.startswith("django-insecure-"):
        return "it is Django's generated development key ('django-insecure-...')"
    minimum = 50 if django else 32
    if len(value) < minimum:
        return f"it has {len(value)} characters (at least {minimum} expected)"
    if len(set(value)) < 5:
        return "it repeats too few characters"
    return None


def _secret_findings(service: Any, django: Any) -> list[Finding]:
    keys: list[tuple[str, str | None, bool]] = []
    for kind, config in service.configs.items():
        if hasattr(config, "secret_key"):
            keys.append((f"{kind.__name__}(secret_key=...)", getattr(config, "secret_key", None), False))
    if django is not None:
        keys = [k for k in keys if not k[0].startswith("DjangoSettings")]
        keys.append(("Django SECRET_KEY", getattr(django, "SECRET_KEY", None) or None, True))
    findings = []
    for where, value, is_django in keys:
        if not value:
            findings.append(Finding("error", f"{where} is not set: give a random key from an environment variable"))
            continue
        weak = _weak_secret(str(value), is_django)
        if weak:
            findings.append(
                Finding(
                    "error",
                    f"{where} is weak: {weak}; generate one with "
                    f"`python -c 'import secrets; print(secrets.token_urlsafe(50))'`",
                )
            )
    return findings


def _host_findings(service: Any, django: Any, project: Project | None = None) -> list[Finding]:
    from utilmeta.conf import Preference

    pref = service.get_config(Preference)
    hosts = None if pref is None else pref.allowed_hosts
    findings = []
    if hosts is None or "*" in hosts:
        found = _project_variable(project, "ALLOWED_HOSTS")
        what = (
            f"{found[0]}=api.example.com in the service's environment (read by {found[1]})"
            if found
            else "Preference(allowed_hosts=['api.example.com'])"
        )
        findings.append(
            Finding("warning", f"any Host header is accepted: set {what} to the names the service answers to")
        )
    if django is not None and (not django.ALLOWED_HOSTS or "*" in django.ALLOWED_HOSTS):
        findings.append(Finding("warning", "Django ALLOWED_HOSTS accepts any host: list the service's host names"))
    proxies = [] if pref is None else [str(p) for p in getattr(pref, "trusted_proxies", ()) or ()]
    for proxy in proxies:
        if proxy == "*":
            findings.append(
                Finding(
                    "error",
                    "trusted_proxies includes '*': any client can forge X-Forwarded-For and its IP; "
                    "list your reverse proxies' addresses",
                )
            )
            continue
        try:
            network = ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            continue
        if network.prefixlen == 0:
            findings.append(
                Finding("error", f"trusted_proxies includes {proxy} (every address): list your reverse proxies only")
            )
    return findings


def _docs_findings(service: Any) -> list[Finding]:
    try:
        from utilmeta.ops.docs import Docs
    except ImportError:
        return []
    config = service.get_config(Docs) or Docs()
    # Docs(enabled=None), the default, follows production: out of production, the "debug mode"
    # error is the one thing to fix, and production then hides the docs
    if config.enabled is not True:
        return []
    where = f"{service.route}/{config.openapi_path}"
    return [
        Finding(
            "warning",
            f"the API docs are public ({where}), in production too: Docs(enabled=True) serves them; "
            f"leave enabled unset so production hides them, or put them behind authentication",
        )
    ]


def exposure_findings(service: Any, root: Path | None = None, behind_proxy: bool = False) -> list[Finding]:
    """What clients would reach without a proxy in front: the server configs in ``root`` (or its
    ``deploy/``), else the backend's recommended server on the service's host."""
    if behind_proxy:
        return []
    paths = {name: root / name for name in _SERVER_CONFIGS} if root is not None else {}
    configs = {name: path for name, path in paths.items() if path.is_file()}
    fronts: list[tuple[str, str, list[str]]] = []
    unreadable = []
    for name, path in configs.items():
        try:
            fronts += [(f"{name}: ", front, hosts) for front, hosts in read_config(path)]
        except (OSError, SyntaxError, UnicodeDecodeError) as e:
            unreadable.append(
                Finding("error", f"{name} cannot be read ({e}): fix it or render it again with meta deploy")
            )
    if not configs:
        serving = serving_of(service.backend_name, service.asynchronous)
        fronts.append(("", front_of(serving.servers[0], serving.worker_class), [service.host]))
    return unreadable + [
        Finding(e.level, where + e.message) for where, front, hosts in fronts for e in exposures(front, hosts)
    ]


def _project_variable(project: Project | None, name: str) -> tuple[str, str] | None:
    """The environment variable that sets ``name`` on the project's ``Env`` while it is off (false
    or empty), and where it is read: ``("MYAPP_PRODUCTION", "ServiceEnv in config/env.py")``. The
    generated ``server.py`` passes ``env.PRODUCTION`` and ``env.ALLOWED_HOSTS`` to the service."""
    for module, env in [] if project is None else project.instances(Env):
        try:
            value = getattr(env, name)
        except AttributeError:
            continue
        variable = env.env_name(name)
        if variable and not value:
            return variable, f"{type(env).__name__} in {module}"
    return None


def deploy_findings(
    service: Any, root: Path | None = None, behind_proxy: bool = False, project: Project | None = None
) -> list[Finding]:
    """Production-readiness findings for a loaded service (``root``: its project directory)."""
    django = _django_settings(service)
    findings = []
    if not service.production:
        found = _project_variable(project, "PRODUCTION")
        what = (
            f"set {found[0]}=1 in the service's environment (read by {found[1]})"
            if found
            else "pass production=True to UtilMeta(...), e.g. production=env.PRODUCTION"
        )
        findings.append(Finding("error", f"debug mode: the service is not in production: {what}"))
    if django is not None and getattr(django, "DEBUG", False):
        findings.append(Finding("error", "Django DEBUG is on: it shows tracebacks and settings to clients"))
    findings += _secret_findings(service, django)
    findings += _host_findings(service, django, project)
    findings += _docs_findings(service)
    findings += exposure_findings(service, root, behind_proxy)
    return findings


@contextmanager
def env_warnings(findings: list[Finding]) -> Iterator[None]:
    """Add the :class:`EnvWarning` s raised inside (unknown or misspelt variables) to ``findings``,
    or show them if loading fails; other warnings pass through."""
    caught: list[warnings.WarningMessage] = []
    failed = True
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", EnvWarning)
            yield
        failed = False
    finally:
        for warning in caught:
            if not issubclass(warning.category, EnvWarning):
                warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
            elif failed:
                echo(f"warning: {warning.message}")
            else:
                findings.append(Finding("warning", str(warning.message)))


class CheckCommand(Command):
    name = "check"
    help = "load the service and report configuration problems (--deploy: production readiness)"
    examples = (
        ("meta check", "load the service, build its app, report problems"),
        ("meta check --deploy", "also production readiness: debug, secret key, hosts, proxies"),
        ("meta check --deploy --fail-level warning", "exit status 1 on warnings too (CI)"),
    )

    def arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--deploy", action="store_true", help="also check production readiness")
        parser.add_argument(
            "--fail-level",
            choices=("error", "warning"),
            default="error",
            help="the lowest finding level that makes the exit status 1 (default: error)",
        )
        parser.add_argument(
            "--behind-proxy",
            action="store_true",
            help="a buffering proxy is the only client of the service's address, though it is not loopback",
        )

    def handle(self, args: argparse.Namespace) -> int:
        project: Project = args.project
        findings: list[Finding] = []
        with env_warnings(findings):
            service = project.load_service()
            app = project.call(service.application, "the service cannot build its application")
        if project.app_ref:
            try:
                named = project.load_app()
            except CommandError as e:
                findings.append(Finding("error", str(e)))
            else:
                if type(named) is not type(app):
                    findings.append(
                        Finding(
                            "error",
                            f"{project.origin('app', project.app_ref)} is a {type(named).__name__}, not the service's "
                            f"application ({type(app).__name__}): point it at `app = service.application()`",
                        )
                    )
        router = service.router
        routes = [handler for _, _, handler in router.routes() if handler not in router.served_by]
        if not routes:
            findings.append(Finding("warning", "the service has no API endpoints (is `api=` given to UtilMeta?)"))
        if args.deploy:
            findings += deploy_findings(service, project.root, args.behind_proxy, project)
        mode = "async" if service.asynchronous else "sync"
        served = sorted(set(router.served_by.values()))
        besides = f" (besides utilmeta's {' and '.join(served)})" if served else ""
        endpoints = counted(len(routes), "endpoint")
        echo(f"{service.name}: {service.backend_name} ({mode}), {endpoints}{besides} at {service.base_url}")
        for finding in findings:
            echo(str(finding))
        errors = sum(f.level == "error" for f in findings)
        warnings = len(findings) - errors
        failing = errors if args.fail_level == "error" else errors + warnings
        if not findings:
            echo("no problems found" + (" (deploy checks included)" if args.deploy else ""))
        else:
            echo(f"{errors} error(s), {warnings} warning(s)")
        return 1 if failing else 0
