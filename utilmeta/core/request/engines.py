"""Validation engines: msgspec by default; pydantic models and utype schemas by their own libraries.

Each engine turns a Python type into a converter once; a converter takes builtins (``lax``:
strings from a query, path, header or form may become numbers, booleans, ...) or raw JSON bytes,
and returns the typed value or raises :class:`Invalid` with a path and a reason.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import msgspec

from utilmeta.core.file import File

__all__ = ["Invalid", "InvalidField", "Converter", "converter_for", "is_pydantic", "is_utype", "dec_hook"]


class Invalid(Exception):
    """A value failed validation. ``path`` is the place inside it (``tags[0]``), '' for the whole."""

    def __init__(self, message: str, path: str = ""):
        self.message = message
        self.path = path
        super().__init__(message)


class InvalidField(ValueError):
    """Raised by a struct's ``__post_init__`` for one of its fields: the error then names that
    field (``query parameter 'order': ...``) instead of the struct as a whole."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


_MSGSPEC_AT = re.compile(r"^(.*?)(?: - at `\$(.*)`)?$", re.S)
_MISSING_FIELD = re.compile(r"^Object missing required field `(.+)`$")


def from_msgspec(error: msgspec.ValidationError) -> Invalid:
    """Translate msgspec's message (``Expected `int`, got `str` - at `$.limit```) into a path
    and a reason a client can act on."""
    m = _MSGSPEC_AT.match(str(error))
    message, at = (m.group(1), m.group(2) or "") if m else (str(error), "")
    path = at[1:] if at.startswith(".") else at
    cause = error.__cause__
    if isinstance(cause, InvalidField):
        return Invalid(cause.message, f"{path}.{cause.field}" if path else cause.field)
    missing = _MISSING_FIELD.match(message)
    if missing:
        field = missing.group(1)
        path = f"{path}.{field}" if path else field
        message = "required, not given"
    return Invalid(message.replace("`", ""), path)


def _path(items: Any) -> str:
    """A place inside a value as msgspec writes it (``tags[0].name``), whichever engine found it."""
    return "".join(f"[{i}]" if isinstance(i, int) else f".{i}" for i in items).lstrip(".")


def _malformed(error: Exception) -> Invalid:
    text = str(error)
    return Invalid(text if text.startswith("JSON is malformed") else f"JSON is malformed: {text}")


def dec_hook(tp: type, obj: Any) -> Any:
    """Let already-built objects (uploaded ``File`` s) pass through msgspec conversion; an upload
    given to an ``Image``/``Audio``/``Video`` parameter is checked for its content type."""
    if isinstance(tp, type) and isinstance(obj, tp):
        return obj
    if isinstance(obj, File) and isinstance(tp, type) and issubclass(tp, File):
        return tp.accept(obj)
    name = getattr(tp, "__name__", str(tp))
    raise ValueError(f"expected {name}, got {type(obj).__name__}")


def is_pydantic(tp: Any) -> bool:
    mod = sys.modules.get("pydantic")
    if mod is None or not isinstance(tp, type):
        return False
    return issubclass(tp, mod.BaseModel)


def is_utype(tp: Any) -> bool:
    mod = sys.modules.get("utype")
    if mod is None or not isinstance(tp, type):
        return False
    schema = getattr(mod, "Schema", None)
    return schema is not None and issubclass(tp, schema)


def _integral_floats(obj: Any) -> Any:
    """``obj`` with every float that holds a whole number turned into an int."""
    if isinstance(obj, float):
        return int(obj) if obj.is_integer() else obj
    if isinstance(obj, list):
        return [_integral_floats(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _integral_floats(v) for k, v in obj.items()}
    return obj


def _mentions(tp: Any, check: Callable[[Any], bool]) -> bool:
    if check(tp):
        return True
    return any(_mentions(a, check) for a in get_args(tp) if a is not None)


class Converter:
    """Converts to one type. ``convert(obj, lax)`` from builtins, ``decode_json(bytes)`` from JSON."""

    def __init__(self, tp: Any):
        self.type = tp
        self._json = msgspec.json.Decoder(tp, dec_hook=dec_hook)

    def convert(self, obj: Any, lax: bool) -> Any:
        try:
            return msgspec.convert(obj, self.type, strict=not lax, dec_hook=dec_hook)
        except msgspec.ValidationError as e:
            raise from_msgspec(e) from None

    def decode_json(self, data: bytes) -> Any:
        try:
            return self._json.decode(data)
        except msgspec.ValidationError as e:
            if "got `float`" not in str(e):
                raise from_msgspec(e) from None
        except msgspec.DecodeError as e:
            raise _malformed(e) from None
        # JSON has one number type: 115.0 is the integer 115 (JSON Schema agrees), 115.5 stays an error
        try:
            return msgspec.convert(_integral_floats(msgspec.json.decode(data)), self.type, dec_hook=dec_hook)
        except msgspec.ValidationError as e:
            raise from_msgspec(e) from None


class PydanticConverter(Converter):
    def __init__(self, tp: Any):
        from pydantic import TypeAdapter

        self.type = tp
        self._adapter = TypeAdapter(tp)

    @staticmethod
    def _invalid(error: Any) -> Invalid:
        first = error.errors()[0]
        return Invalid(first.get("msg", "invalid"), _path(first.get("loc", ())))

    def convert(self, obj: Any, lax: bool) -> Any:
        from pydantic import ValidationError

        try:
            return self._adapter.validate_python(obj, strict=False if lax else None)
        except ValidationError as e:
            raise self._invalid(e) from None

    def decode_json(self, data: bytes) -> Any:
        from pydantic import ValidationError

        try:
            return self._adapter.validate_json(data)
        except ValidationError as e:
            raise self._invalid(e) from None


class UtypeConverter(Converter):
    def __init__(self, tp: Any):
        import utype
        from utype.parser.rule import Rule

        from utilmeta.core.file import _file

        _file.register_with_utype()
        self.type = tp
        # a schema class parses itself; a generic around one (List[Schema]) needs a utype rule
        rule = Rule.parse_annotation(tp) if get_origin(tp) is not None else None
        if rule is not None and rule is not tp:
            self._parse: Callable[[Any, Any], Any] = lambda obj, _tp: rule.parse(obj)
        else:
            self._parse = utype.type_transform

    def convert(self, obj: Any, lax: bool) -> Any:
        try:
            return self._parse(obj, self.type)
        except Exception as e:  # utype raises its own ParseError family
            return self._fail(e)

    def _fail(self, e: Exception) -> Any:
        # utype's ParseError names the item and the reason, and wraps the error of a nested item
        # (List[Schema]: item 1, then its field); a missing item has no message
        items: list[Any] = []
        error: Any = e
        while True:
            item = getattr(error, "item", None)
            if item is not None:
                items.append(item)
            inner = getattr(error, "origin_exc", None)
            if inner is None or getattr(inner, "item", None) is None:
                break
            error = inner
        message = str(getattr(error, "msg", None) or ("required, not given" if items else error))
        # utype words an error raised by a converter as "ValueError: <what it said>"
        message = re.sub(r"^(?:ValueError|TypeError): ", "", message)
        raise Invalid(message, _path(getattr(e, "routes", None) or items)) from None

    def decode_json(self, data: bytes) -> Any:
        try:
            obj = msgspec.json.decode(data)
        except msgspec.DecodeError as e:
            raise _malformed(e) from None
        return self.convert(obj, lax=False)


def converter_for(tp: Any) -> Converter:
    """The converter of the engine that owns ``tp``."""
    if _mentions(tp, is_pydantic):
        return PydanticConverter(tp)
    if _mentions(tp, is_utype):
        return UtypeConverter(tp)
    return Converter(tp)


def is_list_type(tp: Any) -> bool:
    """Whether a query/form value of this type takes every repeated value (``?tag=a&tag=b``)."""
    if tp in (list, tuple, set, frozenset):
        return True
    origin = get_origin(tp)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin is Annotated:
        return is_list_type(get_args(tp)[0])
    if origin is Union or origin is UnionType:
        return any(is_list_type(a) for a in get_args(tp) if a is not type(None))
    return False
