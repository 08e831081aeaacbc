"""The three endpoints written directly in Django as async views, served by Django's ASGI
handler. No middleware: an API-only project that measured what it pays for."""

from __future__ import annotations

import json

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="benchmark",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=[],
    USE_TZ=True,
)
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402  (settings first)
from django.http import HttpRequest, HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402

from benchmarks.apps import _common  # noqa: E402


@require_GET
async def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_common.HELLO, content_type=_common.TEXT_TYPE)


@require_GET
async def item(request: HttpRequest, id: str) -> HttpResponse:
    try:
        return JsonResponse(_common.item(id, request.GET.get("q"), request.GET.get("limit")))
    except _common.Invalid as e:
        return JsonResponse(_common.error_body(e), status=400)


@require_POST
async def users(request: HttpRequest) -> HttpResponse:
    try:
        try:
            data = json.loads(request.body)
        except ValueError as e:
            raise _common.Invalid(f"body: malformed JSON ({e})") from None
        return JsonResponse(_common.user(data))
    except _common.Invalid as e:
        return JsonResponse(_common.error_body(e), status=400)


urlpatterns = [path("hello", hello), path("items/<str:id>", item), path("users", users)]

app = get_asgi_application()
