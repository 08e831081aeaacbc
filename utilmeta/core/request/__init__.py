"""Requests and their parameters: ``from utilmeta.core import request``."""

from typing import TYPE_CHECKING, Any

from utilmeta.core.request.request import Request

if TYPE_CHECKING:
    # A marker is an endpoint parameter's default (``data: dict = request.Body``, ``page: int =
    # request.QueryParam(default=1)``) and stands for the value it produces; to a type checker
    # it is Any, so such signatures check cleanly.
    Body: Any
    BodyParam: Any
    CookieParam: Any
    Cookies: Any
    FilePathParam: Any
    Form: Any
    HeaderParam: Any
    Headers: Any
    Json: Any
    Param: Any
    PathParam: Any
    Query: Any
    QueryParam: Any
    SlugPathParam: Any
else:
    from utilmeta.core.request.params import (
        Body,
        BodyParam,
        CookieParam,
        Cookies,
        FilePathParam,
        Form,
        HeaderParam,
        Headers,
        Json,
        Param,
        PathParam,
        Query,
        QueryParam,
        SlugPathParam,
    )

__all__ = [
    "Request",
    "Param",
    "Query",
    "QueryParam",
    "PathParam",
    "SlugPathParam",
    "FilePathParam",
    "Body",
    "Json",
    "Form",
    "BodyParam",
    "Headers",
    "HeaderParam",
    "Cookies",
    "CookieParam",
]
