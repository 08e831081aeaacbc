"""The demo's settings, from DEMO_* environment variables."""

from utilmeta.conf import Env


class DemoEnv(Env):
    PRODUCTION: bool = False
    HOST: str = "127.0.0.1"
    PORT: int = 8000
    BACKEND: str = "wsgi"
    #: when set, creating/changing to-dos needs the X-API-Key header
    API_KEY: str = ""


env = DemoEnv(sys_env="DEMO_")
