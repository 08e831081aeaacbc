"""``gunicorn.py``: a Gunicorn configuration file for the service.

WSGI services get gevent workers (``worker_class='sync'`` or ``'gthread'`` on request), ASGI
ones the uvicorn worker (the ``uvicorn-worker`` package). Sync and gthread workers bound to an
address other than loopback are refused (a few slow clients hold them all; see
:mod:`utilmeta.deploy.exposure`). Startup/shutdown hooks of a WSGI service are wired to
``post_worker_init`` / ``worker_exit``, so they run once in every worker as it boots and stops;
an ASGI service's hooks run through the lifespan protocol instead.
"""

from __future__ import annotations

from typing import ClassVar

from utilmeta.core.server.backends import WorkerClass
from utilmeta.deploy.base import DeployError, Renderer, ServiceInfo
from utilmeta.deploy.exposure import Exposure, front_of

__all__ = ["GunicornConfig", "UVICORN_WORKER"]

UVICORN_WORKER = "uvicorn_worker.UvicornWorker"

_HOOKS = '''

def post_worker_init(worker):
    """The service's startup hooks, once in each worker before it serves."""
    from utilmeta.deploy.hooks import worker_started

    worker_started()


def worker_exit(server, worker):
    """The service's shutdown hooks, when a worker stops."""
    from utilmeta.deploy.hooks import worker_stopped

    worker_stopped()
'''


class GunicornConfig(Renderer):
    """Gunicorn settings: bind, workers, worker class, timeouts, recycling, logs, proxies, hooks."""

    target = "gunicorn"
    filename: ClassVar[str] = "gunicorn.py"

    def __init__(
        self,
        info: ServiceInfo,
        *,
        workers: int | None = None,
        worker_class: WorkerClass | None = None,
        threads: int = 4,
        worker_connections: int = 1000,
        timeout: int = 30,
        graceful_timeout: int | None = None,
        keepalive: int = 5,
        max_requests: int = 1000,
        max_requests_jitter: int = 100,
        loglevel: str = "info",
    ):
        super().__init__(info)
        default_worker = info.serving.worker_class
        if default_worker is None:
            raise DeployError(
                f"a {info.backend} service runs on its own server, not on Gunicorn: "
                f"use `meta deploy supervisor` or `meta deploy systemd` and put Nginx in front"
            )
        if workers is not None and workers < 1:
            raise DeployError(f"workers must be at least 1, got {workers}")
        asgi = info.interface == "asgi"
        if worker_class is None:
            worker_class = default_worker
        if asgi and worker_class != "uvicorn":
            raise DeployError(f"an ASGI service needs the uvicorn worker on Gunicorn, not {worker_class!r}")
        if not asgi and worker_class == "uvicorn":
            raise DeployError("the uvicorn worker serves ASGI apps; this service is WSGI: use gevent, sync or gthread")
        self.workers = workers
        self.worker_class: WorkerClass = worker_class
        self.threads = threads
        self.worker_connections = worker_connections
        self.timeout = timeout
        self.graceful_timeout = info.graceful_timeout if graceful_timeout is None else graceful_timeout
        self.keepalive = keepalive
        self.max_requests = max_requests
        self.max_requests_jitter = max_requests_jitter
        self.loglevel = loglevel
        self.refuse_exposed()

    def exposures(self) -> list[Exposure]:
        return self.exposures_of(front_of("gunicorn", self.worker_class))

    @property
    def gunicorn_worker_class(self) -> str:
        return UVICORN_WORKER if self.worker_class == "uvicorn" else self.worker_class

    def _workers_line(self) -> str:
        if self.workers is not None:
            return f"workers = {self.workers}"
        if self.worker_class == "uvicorn":
            return "workers = multiprocessing.cpu_count()"
        return "workers = multiprocessing.cpu_count() * 2 + 1"

    def render(self) -> str:
        info = self.info
        access = info.log_file("access")
        error = info.log_file("error")
        lines = [
            f'"""Gunicorn configuration of {info.name}: gunicorn -c THIS_FILE (from the project root)"""',
            "",
            "import multiprocessing",
            "",
            f"wsgi_app = {info.app!r}",
            f"chdir = {str(info.root)!r}",
            *[f"# {note}" for note in self.proxy_note],
            f"bind = {info.addresses!r}",
            f"proc_name = {info.name!r}",
            f"pidfile = {str(info.default_pidfile)!r}",
            f"control_socket = {str(info.default_pidfile.with_suffix('.ctl'))!r}",
            "",
            "# each worker imports the app itself, so hooks and connections are per worker",
            "preload_app = False",
            self._workers_line(),
            f"worker_class = {self.gunicorn_worker_class!r}",
        ]
        if self.worker_class == "gthread":
            lines.append(f"threads = {self.threads}")
        if self.worker_class in ("gevent", "uvicorn"):
            lines.append(f"worker_connections = {self.worker_connections}")
        lines += [
            f"timeout = {self.timeout}",
            f"graceful_timeout = {self.graceful_timeout}",
            f"keepalive = {self.keepalive}",
            "",
            "# recycle workers now and then, at different times",
            f"max_requests = {self.max_requests}",
            f"max_requests_jitter = {self.max_requests_jitter}",
            "",
            "# X-Forwarded-* are believed only from these peers (the reverse proxy)",
            f"forwarded_allow_ips = {','.join(info.trusted_proxies)!r}",
            "",
            f"accesslog = {str(access) if access else '-'!r}",
            f"errorlog = {str(error) if error else '-'!r}",
            f"loglevel = {self.loglevel!r}",
            "access_log_format = "
            + repr('%({x-forwarded-for}i)s %(h)s "%(r)s" %(s)s %(b)s %(M)sms "%({x-request-id}o)s"'),
        ]
        text = "\n".join(lines) + "\n"
        if self.worker_class != "uvicorn":
            text += _HOOKS
        return text
