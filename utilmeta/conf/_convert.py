"""Turn raw configuration values (mostly strings) into the declared Python types.

Environment variables and ``.env``/INI files only carry text, so the text is first shaped into
what the type needs (a bool word, a JSON document, a comma-separated list) and then handed to
``msgspec.convert(..., strict=False)``, which does the real validation.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import json
import types
from typing import Annotated, Any, Union, get_args, get_origin, is_typeddict

import msgspec

__all__ = ["convert", "text_format", "type_name"]

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})

_SEQUENCES: tuple[Any, ...] = (
    list,
    tuple,
    set,
    frozenset,
    collections.abc.Sequence,
    collections.abc.MutableSequence,
    collections.abc.Set,
    collections.abc.MutableSet,
)
_MAPPINGS: tuple[Any, ...] = (dict, collections.abc.Mapping, collections.abc.MutableMapping)


def _strip_annotated(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        return get_args(tp)
    return None


def _is_structured(tp: Any) -> bool:
    """Types whose textual form is a JSON object."""
    origin = get_origin(tp) or tp
    if origin in _MAPPINGS:
        return True
    return isinstance(tp, type) and (issubclass(tp, msgspec.Struct) or dataclasses.is_dataclass(tp) or is_typeddict(tp))


def _parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("not a boolean")


def _shape_text(text: str, tp: Any) -> Any:
    """Give a textual value the shape ``msgspec.convert`` expects for ``tp``."""
    if tp is bool:
        return _parse_bool(text)
    origin = get_origin(tp) or tp
    if origin in _SEQUENCES:
        stripped = text.strip()
        if stripped.startswith("["):
            return json.loads(stripped)
        # "a, b, c" is how lists are usually written in a shell; an empty value is an empty list
        return [item.strip() for item in stripped.split(",")] if stripped else []
    if _is_structured(tp):
        return json.loads(text)
    return text


def convert(raw: object, tp: Any) -> Any:
    """Convert ``raw`` to ``tp``; raise ``ValueError`` / ``msgspec.ValidationError`` if it cannot."""
    base = _strip_annotated(tp)
    if base is Any or base is object:
        return raw
    members = _union_args(base)
    if members is not None and type(None) in members:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        rest = [m for m in members if m is not type(None)]
        if len(rest) == 1:
            return convert(raw, rest[0])
    if isinstance(raw, str):
        raw = _shape_text(raw, base)
    elif base is str and isinstance(raw, int | float) and not isinstance(raw, bool):
        # JSON and YAML files write numbers bare; a str-typed variable still wants "5432"
        raw = str(raw)
    return msgspec.convert(raw, tp, strict=False)


def type_name(tp: Any) -> str:
    """A short, readable name of a type for error messages: ``int``, ``list[int]``, ``str | None``."""
    base = _strip_annotated(tp)
    members = _union_args(base)
    if members is not None:
        return " | ".join(type_name(m) for m in members)
    if base is type(None):
        return "None"
    args = get_args(base)
    origin = get_origin(base)
    if origin is not None and args:
        return f"{type_name(origin)}[{', '.join('...' if a is Ellipsis else type_name(a) for a in args)}]"
    if isinstance(base, type):
        return base.__name__
    return repr(base).replace("typing.", "")


def text_format(tp: Any) -> str:
    """How a value of ``tp`` is written as text, for an error message (``''`` when it is plain)."""
    base = _strip_annotated(tp)
    members = _union_args(base)
    if members is not None:
        rest = [m for m in members if m is not type(None)]
        if len(rest) != 1:
            return ""
        base = _strip_annotated(rest[0])
    if base is bool:
        return "true/false, 1/0, yes/no or on/off"
    origin = get_origin(base) or base
    if origin in _SEQUENCES:
        args = get_args(base)
        if args and args[0] in (int, float):
            return "a JSON array like [1, 2] or comma-separated values like 1,2"
        return 'a JSON array like ["a", "b"] or comma-separated values like a,b'
    if _is_structured(base):
        return 'a JSON object like {"name": "value"}'
    return ""
