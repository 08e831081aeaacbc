"""``API.__as__(django, route)``: the API as one URL pattern of a Django project.

The project keeps its settings, middleware and server; the pattern's view (CSRF-exempt, as an
API is) hands the request to the core and Django's response carries the core's status, headers,
cookies and body unchanged. The view is a coroutine when the service is asynchronous.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, re_path
from django.views.decorators.csrf import csrf_exempt

from utilmeta.core.request import Request
from utilmeta.core.response import Response
from utilmeta.core.response.wire import framing
from utilmeta.core.server.backends.wsgi import request_from_environ

if TYPE_CHECKING:
    from utilmeta.core.server.service import UtilMeta

__all__ = ["url_pattern"]


def _core_request(request: HttpRequest) -> Request:
    # META is the WSGI environ (or, under ASGI, Django's copy of one); the body is read through
    # Django, which may have buffered it already
    path = request.path_info.encode("utf-8").decode("latin-1")
    return request_from_environ({**request.META, "PATH_INFO": path, "wsgi.input": request}, native=request)


def _django_response(response: Response) -> HttpResponse:
    headers, body = framing(response)
    answer = HttpResponse(body, status=response.status)
    answer.headers.pop("Content-Type", None)  # the core's, or none (a 204 has none)
    for name, value in headers:
        if name.lower() == "set-cookie":
            answer.cookies.load(value)
        else:
            answer.headers[name] = value
    return answer


def url_pattern(service: UtilMeta) -> URLPattern:
    router = service.router
    lifecycle = service.adaptor.lifecycle
    prefix = service.route.strip("/")
    regex = rf"^{re.escape(prefix)}(?:/.*)?\Z" if prefix else r"^.*\Z"

    if service.asynchronous:

        async def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not lifecycle.started:
                await lifecycle.astart()
            return _django_response(await router.acall(_core_request(request)))

    else:

        def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[misc]
            if not lifecycle.started:
                lifecycle.start()
            return _django_response(router(_core_request(request)))

    view.__name__ = view.__qualname__ = f"{service.name}_api"
    return re_path(regex, csrf_exempt(view), name=f"{service.name}_api")
