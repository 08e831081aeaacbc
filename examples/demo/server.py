"""The demo service: ``python server.py`` (or ``scripts/demo`` from the repository root).

Try:  curl 'http://127.0.0.1:8000/api/posts?tag=web&order=-comments_num'   (the blog: blog/api.py)
      curl http://127.0.0.1:8000/api/hello/you?excited=1
      curl -X POST http://127.0.0.1:8000/api/todos -H 'content-type: application/json' -d '{"title": "write docs"}'
      curl http://127.0.0.1:8000/api/todos
      open http://127.0.0.1:8000/api/docs           (interactive docs, served offline)

DEMO_BACKEND=flask (django, fastapi, sanic, tornado) runs the same APIs on another framework.
"""

from config import env

from utilmeta import UtilMeta
from utilmeta.conf import Preference, Time
from utilmeta.core.orm import Database, DatabaseConnections
from utilmeta.core.server.backends.django import DjangoSettings

service = UtilMeta(
    __name__,
    name="demo",
    description="A to-do service showing typed APIs on utilmeta",
    backend=env.BACKEND,
    api="api.RootAPI",
    route="/api",
    version=(0, 1, 0),
    production=env.PRODUCTION,
    host=env.HOST,
    port=env.PORT,
)
service.use(Time(time_zone="UTC", datetime_format="%Y-%m-%dT%H:%M:%SZ"))
service.use(Preference(max_body_size=64 * 1024))
service.use(DjangoSettings(apps=["blog"], secret_key=env.SECRET_KEY or None))
service.use(DatabaseConnections({"default": Database(name=env.DB)}))
service.setup()  # Django is configured: the blog's models may be imported from here on

from blog.setup import prepare  # noqa: E402

prepare()  # the SQLite file: created, migrated and given a few rows on first start

app = service.application()

if __name__ == "__main__":
    service.run()
