"""Requests and their parameters: ``from utilmeta.core import request``."""

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
from utilmeta.core.request.request import Request

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
