"""``service.mount()`` of the real Django-Ninja and Django REST framework routers on a django
service, beside the UtilMeta API (a subprocess: the routers need their own Django settings)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SERVER = """
from utilmeta import UtilMeta
from utilmeta.core import api
from utilmeta.core.server.backends.django import DjangoSettings
import django


class RootAPI(api.API):
    @api.get
    def hello(self):
        return "world"


service = UtilMeta(__name__, name="mounts", backend=django, api=RootAPI, route="/api", asynchronous=ASYNC)
service.use(DjangoSettings(apps=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"]))
service.setup()

from ninja import NinjaAPI
from rest_framework import routers, viewsets
from rest_framework.response import Response

ninja_api = NinjaAPI()


@ninja_api.get("/add")
def add(request, a: int, b: int):
    return {"result": a + b}


class PingViewSet(viewsets.ViewSet):
    authentication_classes: list = []
    permission_classes: list = []

    def list(self, request):
        return Response({"pong": True})


router = routers.SimpleRouter()
router.register("ping", PingViewSet, basename="ping")

service.mount(ninja_api, "/ninja")
service.mount(router, "/drf")
app = service.application()
"""

DRIVER = """
import asyncio
import json
import httpx
import server

PATHS = ["/ninja/add?a=1&b=2", "/drf/ping/", "/api/hello", "/ninja/add?a=x&b=2"]


async def over_asgi():
    transport = httpx.ASGITransport(app=server.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        return [await c.get(p) for p in PATHS]


if server.service.asynchronous:
    answers = asyncio.run(over_asgi())
else:
    with httpx.Client(transport=httpx.WSGITransport(app=server.app), base_url="http://testserver") as c:
        answers = [c.get(p) for p in PATHS]
print(json.dumps([[r.status_code, r.text] for r in answers]))
"""


@pytest.mark.parametrize("asynchronous", [False, True], ids=["wsgi", "asgi"])
def test_ninja_api_and_drf_router_beside_the_api(asynchronous: bool, tmp_path: Path) -> None:
    for module, package in (("ninja", "django-ninja"), ("rest_framework", "djangorestframework")):
        if importlib.util.find_spec(module) is None:
            pytest.fail(f"{package} is not installed: scripts/install installs the test extra")
    (tmp_path / "server.py").write_text(SERVER.replace("ASYNC", repr(asynchronous)))
    (tmp_path / "driver.py").write_text(textwrap.dedent(DRIVER))
    result = subprocess.run(
        [sys.executable, "-W", "error", "driver.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    (ninja, drf, ours, invalid) = json.loads(result.stdout.strip().splitlines()[-1])
    assert ninja[0] == 200 and json.loads(ninja[1]) == {"result": 3}
    assert drf[0] == 200 and json.loads(drf[1]) == {"pong": True}
    assert ours == [200, "world"]
    assert invalid[0] == 422  # Django-Ninja's own validation answers its own routes
