"""Responses and response templates: ``from utilmeta.core import response``."""

from utilmeta.core.response.response import Response

__all__ = ["Response"]
