"""Deployment files made for a service: Gunicorn, uWSGI, Nginx, systemd, supervisor, Docker.

Each target is a :class:`Renderer` subclass in its own module, loaded only when chosen::

    from utilmeta.deploy import ServiceInfo, load

    info = ServiceInfo.from_service(service, app="server:app", root=".")
    text = load("gunicorn")(info, workers=4).render()

``meta deploy TARGET`` does the same from the command line.
"""

from __future__ import annotations

import importlib

from utilmeta.deploy.base import (
    DeployError,
    Renderer,
    ServiceInfo,
    interface_of,
    recommended_server,
    servers_for,
    serving_of,
)

__all__ = [
    "TARGETS",
    "DeployError",
    "Renderer",
    "ServiceInfo",
    "interface_of",
    "load",
    "recommended_server",
    "servers_for",
    "serving_of",
]

TARGETS: dict[str, str] = {
    "gunicorn": "utilmeta.deploy.gunicorn:GunicornConfig",
    "uwsgi": "utilmeta.deploy.uwsgi:UWSGIConfig",
    "nginx": "utilmeta.deploy.nginx:NginxConfig",
    "systemd": "utilmeta.deploy.systemd:SystemdUnit",
    "supervisor": "utilmeta.deploy.supervisor:SupervisorProgram",
    "docker": "utilmeta.deploy.docker:DockerImage",
}


def load(target: str) -> type[Renderer]:
    """The renderer class of a deploy target (``'gunicorn'``, ``'nginx'``, ...)."""
    try:
        ref = TARGETS[target]
    except KeyError:
        raise DeployError(f"unknown deploy target {target!r}; choose one of: {', '.join(TARGETS)}") from None
    module_name, attr = ref.split(":")
    renderer: type[Renderer] = getattr(importlib.import_module(module_name), attr)
    return renderer
