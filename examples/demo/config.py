"""The demo's settings, from DEMO_* environment variables."""

from utilmeta.conf import Env


class DemoEnv(Env):
    PRODUCTION: bool = False
    HOST: str = "127.0.0.1"
    PORT: int = 8000
    #: any of django, flask, starlette, fastapi, sanic, tornado (or wsgi/asgi: no framework)
    BACKEND: str = "starlette"
    #: when set, creating/changing to-dos needs the X-API-Key header
    API_KEY: str = ""
    #: the SQLite file of the blog's data (created and migrated on first start)
    DB: str = "demo.sqlite3"
    #: Django's secret key (needed in production; a random one is made for development)
    SECRET_KEY: str = ""


env = DemoEnv(sys_env="DEMO_")
