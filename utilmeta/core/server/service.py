"""The service object: one per process, configuring it and producing the backend's application."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

from utilmeta.conf._access import ACCESS_LOG
from utilmeta.conf._lookup import current_service, provide, set_current_service
from utilmeta.conf.base import Config
from utilmeta.core.server.backends import ServerAdaptor, resolve
from utilmeta.core.server.backends.listen import listen_problem
from utilmeta.utils.exceptions import SetupError
from utilmeta.utils.text import did_you_mean

__all__ = ["UtilMeta", "get_service"]

F = TypeVar("F", bound=Callable[..., Any])
Obs = TypeVar("Obs")
C = TypeVar("C", bound=Config)

_lock = threading.Lock()
#: name -> (service) -> extra APIs served beside the root API, under the root route, where the
#: user's APIs leave the path free. The ``utilmeta`` package adds ``'docs'`` and ``'index'`` (from
#: ``ops``), so this layer never imports ``ops``
SIDE_MOUNTS: dict[str, Callable[[UtilMeta], list[Any]]] = {}
#: label -> (service) -> a path under the origin to show below the start banner, or None. The
#: package adds ``'API docs'`` (from ``ops``), so the banner says where the docs page is
BANNER_LINKS: dict[str, Callable[[UtilMeta], str | None]] = {}


def _embed(api: Any, backend: Any, route: str, asynchronous: bool | None, module_name: str) -> Any:
    from utilmeta.core.server.embed import embed

    return embed(api, backend, route, asynchronous, module_name)


provide("embed", _embed)  # API.__as__ (the API layer never imports this one)


def get_service() -> UtilMeta | None:
    """The process's service, or None before one is created (the slot is ``conf._lookup``'s,
    so configs find the service without importing this module)."""
    current: UtilMeta | None = current_service()
    return current


def _clear_service() -> None:
    """Forget the process's service (for test suites that build many)."""
    set_current_service(None)


def _same_module(a: UtilMeta, b: UtilMeta) -> bool:
    # `python server.py` creates the service in __main__; importing `server` later re-creates it
    if a.module_name == b.module_name:
        return True
    return bool(a.module_file and a.module_file == b.module_file)


def _is_recreation(current: UtilMeta, new: UtilMeta) -> bool:
    """Whether ``new`` is ``current``'s declaration made again: the same call run again (a
    factory function called twice), or the same code compiled anew (a reload, ``python server.py``
    then ``import server``). Another ``UtilMeta(...)`` call of the module is a second service."""
    if not _same_module(current, new):
        return False
    (code, line), (new_code, new_line) = current._created_by, new._created_by
    if code is new_code:
        return line == new_line
    return _qualname(code) == _qualname(new_code)


def _port_variable(module_name: str, port: int) -> str | None:
    """The environment variable that set the port, when an ``Env`` of the service's module gave
    it (``port=env.PORT`` in a project ``meta setup`` made, read from ``MYAPP_PORT``): the place a
    user changes it. None when no such ``Env`` is there."""
    from utilmeta.conf.env import Env

    module = sys.modules.get(module_name)
    for value in vars(module).values() if module is not None else ():
        if isinstance(value, Env):
            try:
                if value.PORT == port:
                    return value.env_name("PORT")
            except AttributeError:
                continue
    return None


def _qualname(code: Any) -> str:
    return str(getattr(code, "co_qualname", getattr(code, "co_name", "")))  # co_qualname: Python 3.11+


def _creator(module_name: str) -> tuple[Any, int]:
    """The code object and line of the ``UtilMeta(...)`` call: the nearest frame running in
    ``module_name``, else the nearest one outside this file."""
    frame: FrameType | None = sys._getframe(2)
    outside = None
    while frame is not None:
        if frame.f_globals.get("__name__") == module_name:
            return frame.f_code, frame.f_lineno
        if outside is None and frame.f_code.co_filename != __file__:
            outside = frame
        frame = frame.f_back
    return (outside.f_code, outside.f_lineno) if outside is not None else (None, 0)


def _module_file(module_name: str) -> str | None:
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    return os.path.realpath(file) if file else None


def _version_str(version: str | tuple[int, ...] | list[int] | None) -> str | None:
    if version is None or isinstance(version, str):
        return version
    if isinstance(version, (tuple, list)) and all(isinstance(v, int) for v in version):
        return ".".join(str(v) for v in version)
    raise SetupError(f"version must be a string like '1.0.2' or a tuple like (0, 1, 0), got {version!r}")


class UtilMeta:
    """The service.

    ``UtilMeta(__name__, backend='flask', name='demo', api=RootAPI, route='/api')`` — ``backend`` is a
    framework's name, module or application instance (none: the framework-free ``'wsgi'`` backend);
    ``api`` the root API class or a reference string (``'service.api.RootAPI'``) resolved when
    first needed. One service per process:
    ``from utilmeta import service`` returns it.
    """

    def __init__(
        self,
        module_name: str | None,
        backend: Any = None,
        *,
        name: str | None = None,
        description: str | None = None,
        production: bool | None = None,
        host: str | None = None,
        port: int | None = None,
        version: str | tuple[int, ...] | None = None,
        asynchronous: bool | None = None,
        api: Any = None,
        route: str = "/",
        title: str | None = None,
        origin: str | None = None,
        scheme: str | None = None,
        auto_reload: bool | None = None,
        background: bool = False,
        info: dict[str, Any] | None = None,
    ):
        self.module_name = module_name or "__main__"
        self.module_file = _module_file(self.module_name)
        if backend is None or backend is Ellipsis:
            # `UtilMeta(__name__, ...)`: no framework chosen — the core serves as a bare WSGI app
            backend = "wsgi"
        adaptor_cls, app = resolve(backend)
        self.backend_name = adaptor_cls.name
        self.name = name or self._default_name()
        self.title = title or self.name
        self.description = description or ""
        self.production = bool(production)
        self.host = host or "127.0.0.1"
        if port is not None and not (isinstance(port, int) and 0 <= port <= 65535):
            raise SetupError(f"port must be an integer from 0 to 65535, got {port!r}")
        facts = adaptor_cls.info
        self.port = port if port is not None else facts.default_port
        self.version = _version_str(version)
        self.asynchronous = facts.default_asynchronous if asynchronous is None else bool(asynchronous)
        facts.serving(self.asynchronous)  # SetupError for a mode the backend cannot serve
        self.scheme = scheme or "http"
        self.route = "/" + route.strip("/") if route and route.strip("/") else ""
        self._origin = origin
        self.auto_reload = auto_reload if auto_reload is not None else False
        self.background = background
        self.info = dict(info or {})
        self._api = api
        self._root_api: Any = None
        #: the root API given by ``service.mount(API, route)`` (on a service created without ``api=``)
        self._mounted_root: Any = None
        self.configs: dict[type[Config], Config] = {}
        self.startup_hooks: list[Callable[..., Any]] = []
        self.shutdown_hooks: list[Callable[..., Any]] = []
        self.mounts: list[tuple[Any, str]] = []
        #: request observers (``service.observe``), in registration order; the access line from
        #: the start (``Logging(access_log=False)`` takes it off)
        self.observers: list[Any] = [ACCESS_LOG]
        self.api_mounts: list[Any] = []
        self._setup_done = False
        self._router: Any = None
        self._started_pid = 0
        self._stopped_pid = 0
        self.adaptor: ServerAdaptor = adaptor_cls(self, app)
        #: the code object (kept alive, so its id is never reused) and line that created the service
        self._created_by = _creator(self.module_name)
        with _lock:
            current = get_service()
            if current is not None and not _is_recreation(current, self):
                line = current._created_by[1]
                raise SetupError(
                    f"a UtilMeta service ({current.name!r}, created in {current.module_name}"
                    f"{f' at line {line}' if line else ''}) already exists in this process; only one service "
                    f"can be created per process (import it with `from utilmeta import service`)"
                )
            set_current_service(self)

    def _default_name(self) -> str:
        if self.module_file:
            return os.path.basename(os.path.dirname(self.module_file)) or "service"
        return self.module_name.split(".")[-1]

    def __repr__(self) -> str:
        return f"UtilMeta({self.name!r}, backend={self.backend_name!r}, asynchronous={self.asynchronous})"

    # -- addressing ------------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        if self._origin:
            return self._origin.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        host = f"[{host}]" if ":" in host else host
        default = 443 if self.scheme == "https" else 80
        return f"{self.scheme}://{host}" + ("" if self.port == default else f":{self.port}")

    @property
    def base_url(self) -> str:
        return self.origin + self.route

    # -- configuration ---------------------------------------------------------------------------

    def use(self, config: Config) -> UtilMeta:
        """Add a configuration; each config class once."""
        if not isinstance(config, Config):
            raise SetupError(f"service.use() takes a config object (a utilmeta Config), got {config!r}")
        kind = type(config)
        if kind in self.configs:
            raise SetupError(f"{kind.__name__} is already used by this service; a config class can only be used once")
        if self._setup_done:
            raise SetupError(f"service.use({kind.__name__}(...)) after setup(): use configs before setup()")
        self.configs[kind] = config
        config.hook(self)
        return self

    @property
    def preference(self) -> Any:
        """The service's ``Preference``, or the defaults when it uses none."""
        from utilmeta.conf import Preference

        return self.get_config(Preference) or Preference.get_default()

    def get_config(self, kind: type[C]) -> C | None:
        found = self.configs.get(kind)
        if found is None:
            for k, v in self.configs.items():
                if issubclass(k, kind):
                    found = v
                    break
        return found  # type: ignore[return-value]

    def setup(self) -> None:
        """Install the configs (Django settings, then ``django.setup()``, ...). Idempotent. Models
        are imported after it (before it, Django's error names the module and this service)."""
        if self._setup_done:
            return
        for config in list(self.configs.values()):
            config.setup(self)
        self._setup_done = True

    # -- APIs ------------------------------------------------------------------------------------

    @property
    def root_api(self) -> Any:
        """The root API class, importing it now if it was given as a reference string."""
        if self._root_api is None:
            api = self._api
            if isinstance(api, str):
                try:
                    api = self._import_api(api)
                except SetupError as e:
                    code, line = self._created_by  # the api= argument is wrong where it is given
                    if code is not None and e.location is None:
                        e.location = (code.co_filename, line)
                    raise
            if api is None:
                from utilmeta.core.api import API

                api = type("RootAPI", (API,), {"__module__": self.module_name})
            self._root_api = api
        return self._root_api

    def _import_api(self, ref: str) -> Any:
        module_name, _, attr = ref.replace(":", ".").rpartition(".")
        if not module_name:
            raise SetupError(f"api={ref!r}: give a reference like 'service.api.RootAPI'")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            hint = self._module_hint(e.name) if isinstance(e, ModuleNotFoundError) and e.name else ""
            raise SetupError(f"api={ref!r}: cannot import {module_name!r}: {e}{hint}") from e
        try:
            return getattr(module, attr)
        except AttributeError:
            hint = did_you_mean(attr, [n for n in vars(module) if not n.startswith("_")])
            raise SetupError(f"api={ref!r}: module {module_name!r} has no attribute {attr!r}{hint}") from None

    def _module_hint(self, missing: str) -> str:
        """A "did you mean" for a module that is not found: its siblings in the parent package,
        or for a top-level name the modules beside the service's file."""
        import pkgutil

        parent = missing.rpartition(".")[0]
        if parent:
            package = sys.modules.get(parent)
            where = list(getattr(package, "__path__", []))
        else:
            where = [os.path.dirname(self.module_file)] if self.module_file else []
        siblings = [".".join(filter(None, (parent, m.name))) for m in pkgutil.iter_modules(where)]
        return did_you_mean(missing, siblings)

    def mount(self, target: Any = None, route: str = "") -> Any:
        """Mount an API class (or, on backends that support it, a foreign WSGI/ASGI app) at ``route``.

        On a service created without ``api=``, the API class is the root API and ``route`` the
        root route (as ``UtilMeta(api=..., route=...)``), and it is the only one; with ``api=``,
        API classes are served below the root route. Without a target it decorates the API class:
        ``@service.mount(route='/api')``. A foreign app this backend cannot serve is refused here;
        a WSGI app on an ASGI backend is wrapped."""
        from utilmeta.core.api import API

        if target is None:

            def decorator(api: F) -> F:
                self.mount(api, route)
                return api

            return decorator
        if self._router is not None:
            raise SetupError("service.mount() after the application was built: mount before application()")
        if isinstance(target, type) and issubclass(target, API):
            from utilmeta.core.api.base import SubAPI

            if self._mounted_root is not None:
                raise SetupError(
                    f"service.mount({target.__qualname__}): {self._mounted_root.__qualname__} is this service's "
                    f"root API (mounted first); a service has one: mount {target.__qualname__} on it as an "
                    f"attribute (name: {target.__qualname__})"
                )
            if self._api is None:
                self._api = self._mounted_root = target
                self._root_api = None  # an empty one made before this mount gives way
                self.route = "/" + route.strip("/") if route.strip("/") else ""
                return target
            path = route.strip("/")
            self.api_mounts.append(SubAPI(path, path, target, None))
            return target
        self.adaptor.check_mount(target, route)
        self.mounts.append((target, "/" + route.strip("/")))
        return target

    def observe(self, observer: Obs) -> Obs:
        """Report every request to ``observer`` (``started`` / ``failed`` / ``finished``, see
        ``utilmeta.core.api.observer``). Register observers before the application is built:
        the router compiles them once. Returns the observer."""
        from utilmeta.core.api.observer import Observers

        if self._router is not None:
            raise SetupError(
                f"service.observe({observer!r}) after the application was built: register observers "
                f"before application() (the router compiles them once)"
            )
        Observers((observer,))  # a wrong object fails here, not at the first request
        self.observers.append(observer)
        return observer

    @property
    def router(self) -> Any:
        """The compiled route table (built once, on first use)."""
        if self._router is None:
            self._router = self._build_router()
        return self._router

    def _build_router(self) -> Any:
        from utilmeta.conf import Time
        from utilmeta.core.api.handler import BuildContext
        from utilmeta.core.api.router import TrustedProxies, make_router
        from utilmeta.core.request.parser import Limits
        from utilmeta.core.response.encoding import json_encoder

        self.setup()
        pref = self.preference
        if (
            pref.max_header_size != pref.get_default().max_header_size
            and self.adaptor.info.serving(self.asynchronous).interface == "wsgi"
        ):
            # a WSGI server parses the header block itself and hands over no size to check
            raise SetupError(
                f"Preference(max_header_size={pref.max_header_size}) has no effect on the {self.backend_name} "
                "backend (WSGI): limit headers in its server instead (Gunicorn: limit_request_field_size and "
                "limit_request_fields; uWSGI: buffer-size)"
            )
        time_config = self.get_config(Time)
        ctx = BuildContext(
            limits=Limits(
                pref.max_body_size,
                pref.json_max_depth,
                pref.multipart_max_parts,
                pref.multipart_max_files,
                pref.max_header_size,
            ),
            encode=json_encoder(time_config.transform if time_config else None),
            debug=not self.production,
            strict_response=bool(pref.api_default_strict_response),
        )
        router = make_router(
            self.root_api,
            observers=self.observers,
            prefix=self.route,
            strict_root_route=pref.strict_root_route,
            ctx=ctx,
            trusted_proxies=TrustedProxies(pref.is_trusted_proxy),
            host_allowed=pref.is_allowed_host if pref.allowed_hosts is not None else None,
            mounts=self.api_mounts,
            side_mounts=self._side_mounts(),
            response_headers={"X-Content-Type-Options": "nosniff"} if pref.content_type_nosniff else None,
        )
        if not self.asynchronous:
            for handler in router.handlers:
                if handler.is_async:
                    raise SetupError(
                        f"{handler.endpoint.where} ({handler.endpoint.method} {handler.route}) or one of its hooks "
                        f"is async, but the service is synchronous: pass asynchronous=True to UtilMeta(...) "
                        f"or make it a plain def"
                    )
        return router

    def _side_mounts(self) -> list[Any]:
        return [mount for provide in SIDE_MOUNTS.values() for mount in provide(self)]

    # -- serving ---------------------------------------------------------------------------------

    def application(self) -> Any:
        """The backend's native application (see the backend table in the docs)."""
        self.setup()
        _ = self.router  # fail here, not at the first request, on a bad declaration
        self.adaptor.check()
        return self.adaptor.application()

    def run(self, **kwargs: Any) -> None:
        """Serve in the foreground with the backend's own runner (development). A ``host`` or
        ``port`` given here becomes the service's: the start banner names the address served. An
        address it cannot listen on (a port in use) ends the process with one line naming it,
        before the startup hooks run."""
        self.host = kwargs.get("host", self.host)
        self.port = kwargs.get("port", self.port)
        address = self.adaptor.listen_address(kwargs)
        if address is not None:
            variable = _port_variable(self.module_name, address[1])
            choose = (
                f"with {variable}=... in the environment"
                if variable
                else "with UtilMeta(host=..., port=...) or service.run(host=..., port=...)"
            )
            problem = listen_problem(*address, choose)
            if problem is not None:
                raise SystemExit(f"utilmeta: error: {problem}")
        self.application()
        self.adaptor.run(**kwargs)

    def banner(self) -> str:
        """The start-up lines: service, version, framework, mode and base URL; then the links
        below it (the docs page)."""
        mode = "async" if self.asynchronous else "sync"
        version = f" {self.version}" if self.version else ""
        framework = f"{self.backend_name} {self.adaptor.version}".strip()
        # port 0 until the server says which port the system picked (adaptor.announce); a server
        # that does not say gets no URL with port 0 in it, but where to read the port
        unbound = self.port == 0 and not self._origin
        where = (
            f"at {self.host}, path {self.route or '/'}, on a port the system picks "
            "(the server's own start line names it)"
            if unbound
            else f"at {self.base_url}"
        )
        lines = [f"UtilMeta service {self.name!r}{version} on {framework} ({mode}) {where}"]
        for label, link in BANNER_LINKS.items():
            path = link(self)
            if path is not None:
                lines.append(f"  {label}: {path} on that port" if unbound else f"  {label}: {self.origin}{path}")
        return "\n".join(lines)

    # -- lifecycle -------------------------------------------------------------------------------

    def on_startup(self, func: F) -> F:
        """Register a function run in each worker process before it serves. Returns it unchanged."""
        self._check_hook(func, "on_startup")
        self.startup_hooks.append(func)
        return func

    def on_shutdown(self, func: F) -> F:
        """Register a function run in each worker process when it stops. Returns it unchanged."""
        self._check_hook(func, "on_shutdown")
        self.shutdown_hooks.append(func)
        return func

    def _check_hook(self, func: Any, kind: str) -> None:
        if not callable(func):
            raise SetupError(f"@service.{kind} decorates a function, got {func!r}")
        if inspect.iscoroutinefunction(func) and not self.asynchronous:
            raise SetupError(
                f"@service.{kind} {func.__qualname__} is async but the service is synchronous: "
                f"make it a plain def or pass asynchronous=True"
            )

    def _run_hooks_sync(self, hooks: list[Callable[..., Any]], configs_method: str) -> None:
        for config in self.configs.values():
            getattr(config, configs_method)(self)
        for hook in hooks:
            result = hook()
            if inspect.isawaitable(result):
                import asyncio  # not at the top: a WSGI service may never load asyncio

                asyncio.run(_await(result))

    async def _run_hooks_async(self, hooks: list[Callable[..., Any]], configs_method: str) -> None:
        for config in self.configs.values():
            getattr(config, configs_method)(self)
        for hook in hooks:
            result = hook()
            if inspect.isawaitable(result):
                await result

    def startup(self) -> bool:
        """Run the startup hooks once in this process (sync). True when they ran now."""
        if self._started_pid == os.getpid():
            return False
        self._started_pid = os.getpid()
        self._run_hooks_sync(self.startup_hooks, "on_startup")
        return True

    def shutdown(self) -> bool:
        if self._started_pid != os.getpid() or self._stopped_pid == os.getpid():
            return False
        self._stopped_pid = os.getpid()
        self._run_hooks_sync(self.shutdown_hooks, "on_shutdown")
        return True

    async def astartup(self) -> bool:
        if self._started_pid == os.getpid():
            return False
        self._started_pid = os.getpid()
        await self._run_hooks_async(self.startup_hooks, "on_startup")
        return True

    async def ashutdown(self) -> bool:
        if self._started_pid != os.getpid() or self._stopped_pid == os.getpid():
            return False
        self._stopped_pid = os.getpid()
        await self._run_hooks_async(self.shutdown_hooks, "on_shutdown")
        return True


async def _await(awaitable: Any) -> Any:
    return await awaitable
