"""Worker lifecycle hooks the generated server configs call.

Gunicorn's ``post_worker_init`` / ``worker_exit`` call :func:`worker_started` /
:func:`worker_stopped`. Under uWSGI, the generated ini imports this module
(``import = utilmeta.deploy.hooks``): it then registers the same two functions as uWSGI's
post-fork hook and worker ``atexit``. Both run the service's hooks at most once per process
(the service remembers the pid it started in), so a lazy start before the first request
cannot run them twice.
"""

from __future__ import annotations

from typing import Any

__all__ = ["worker_started", "worker_stopped"]


def _service() -> Any:
    from utilmeta.core.server.service import get_service

    return get_service()


def worker_started() -> None:
    """Run the service's startup hooks in this worker, if not done yet."""
    service = _service()
    if service is not None:
        service.adaptor.lifecycle.startup()


def worker_stopped() -> None:
    """Run the service's shutdown hooks in this worker, if it started."""
    service = _service()
    if service is not None:
        service.adaptor.lifecycle.shutdown()


def _install_uwsgi() -> None:
    try:
        import uwsgi
    except ImportError:
        return  # not inside uWSGI: gunicorn imports this module for the functions above
    previous_fork = getattr(uwsgi, "post_fork_hook", None)
    previous_exit = getattr(uwsgi, "atexit", None)

    def post_fork() -> None:
        if previous_fork is not None:
            previous_fork()
        worker_started()

    def at_exit() -> None:
        worker_stopped()
        if previous_exit is not None:
            previous_exit()

    uwsgi.post_fork_hook = post_fork
    uwsgi.atexit = at_exit


_install_uwsgi()
