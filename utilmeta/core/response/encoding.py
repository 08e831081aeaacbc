"""JSON encoding of results: msgspec, with hooks for pydantic models and configured time formats."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

import msgspec

__all__ = ["enc_hook", "json_encoder"]


def enc_hook(obj: Any) -> Any:
    """Types msgspec does not know: pydantic models, objects with ``__json__`` or ``__dict__``."""
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(obj, pydantic.BaseModel):
        return obj.model_dump(mode="json")
    to_json = getattr(obj, "__json__", None)
    if callable(to_json):
        return to_json()
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    raise TypeError(f"cannot encode an object of type {type(obj).__name__} as JSON")


_encoder = msgspec.json.Encoder(enc_hook=enc_hook)


def json_encoder(transform: Callable[[Any], Any] | None = None) -> Callable[[Any], bytes]:
    """The encoder a service renders JSON with. ``transform`` (the ``Time`` config's) rewrites
    datetimes, dates and times after the value was reduced to builtins."""
    if transform is None:
        return _encoder.encode
    encode = _encoder.encode

    def encode_with_time(obj: Any) -> bytes:
        plain = msgspec.to_builtins(obj, builtin_types=(datetime, date, time), enc_hook=enc_hook)
        return encode(transform(plain))

    return encode_with_time
