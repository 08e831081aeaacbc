"""Python types to JSON Schema (2020-12, as OpenAPI 3.1 uses it), collecting reused schemas as
components.

Each engine describes its own types: msgspec for what msgspec validates (Structs, dataclasses,
TypedDict, Enum, Literal, datetime, UUID, ``Annotated`` constraints, ...), pydantic for pydantic
models, utype for utype schemas. Containers that mix them (``list[File]``, ``Optional[Model]``)
are taken apart here. Named schemas land in :attr:`Schemas.components`; a second, different
schema under a taken name gets a numbered name (``User2``) and its references are rewritten.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

from utilmeta.core.file import File
from utilmeta.core.request.engines import is_pydantic, is_utype

__all__ = ["Schemas", "REF_PREFIX", "BINARY", "default_value"]

REF_PREFIX = "#/components/schemas/"
#: an uploaded file or a raw binary body
BINARY: dict[str, Any] = {"type": "string", "format": "binary", "contentMediaType": "application/octet-stream"}


def _mentions(tp: Any, check: Callable[[Any], bool]) -> bool:
    if check(tp):
        return True
    return any(_mentions(a, check) for a in get_args(tp) if a is not None and not isinstance(a, msgspec.Meta))


def _foreign(tp: Any) -> bool:
    """Types msgspec cannot describe but another engine (or this module) can."""
    return tp is File or is_pydantic(tp) or is_utype(tp)


_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))


def _typed_enums(node: Any) -> Any:
    """Give ``enum`` schemas their ``type`` (msgspec leaves it out) when every value has the same one,
    so UIs show a string rather than "any"."""
    if isinstance(node, list):
        return [_typed_enums(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _typed_enums(v) for k, v in node.items()}
    values = out.get("enum")
    if isinstance(values, list) and values and "type" not in out:
        kinds = {next((name for t, name in _JSON_TYPES if isinstance(v, t)), None) for v in values}
        if len(kinds) == 1 and None not in kinds:
            out = {"type": kinds.pop(), **out}
    return out


def _rewrite_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith(REF_PREFIX) and v[len(REF_PREFIX) :] in renames:
                out[k] = REF_PREFIX + renames[v[len(REF_PREFIX) :]]
            else:
                out[k] = _rewrite_refs(v, renames)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(v, renames) for v in node]
    return node


class Schemas:
    """Builds schemas for types, keeping named ones in :attr:`components`."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {}
        self._cache: dict[tuple[Any, str], dict[str, Any]] = {}

    # -- public ------------------------------------------------------------------------------------

    def of(self, tp: Any, mode: str = "validation") -> dict[str, Any]:
        """The schema of ``tp`` (a ``$ref`` for named types). ``mode`` is ``'validation'`` for what a
        client sends, ``'serialization'`` for what it receives (they differ for pydantic models)."""
        try:
            key = (tp, mode)
            hash(key)
        except TypeError:
            return self._build(tp, mode)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._build(tp, mode)
        return dict(found)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow a ``$ref`` into the components (once per hop)."""
        seen = 0
        while "$ref" in schema and seen < 16:
            ref = schema["$ref"]
            if not ref.startswith(REF_PREFIX):
                break
            schema = self.components.get(ref[len(REF_PREFIX) :], {})
            seen += 1
        return schema

    def add(self, name: str, schema: dict[str, Any]) -> dict[str, Any]:
        """Register a named schema; returns the reference to it."""
        top = self._merge({name: schema}, {"$ref": REF_PREFIX + name})
        return top

    # -- building ----------------------------------------------------------------------------------

    def _build(self, tp: Any, mode: str) -> dict[str, Any]:
        if tp is Any or tp is object:
            return {}
        if tp is None or tp is type(None):
            return {"type": "null"}
        if tp is File:
            return dict(BINARY)
        if is_pydantic(tp):
            return self._pydantic(tp, mode)
        if is_utype(tp):
            return self._utype(tp, mode)
        if not _mentions(tp, _foreign):
            try:
                return self._msgspec(tp)
            except (TypeError, ValueError):
                pass
        return self._compose(tp, mode)

    def _compose(self, tp: Any, mode: str) -> dict[str, Any]:
        """Generic containers around types msgspec does not know."""
        origin = get_origin(tp)
        args = get_args(tp)
        if origin is Annotated:
            base = self.of(args[0], mode)
            for meta in args[1:]:
                if isinstance(meta, msgspec.Meta) and meta.description:
                    base["description"] = meta.description
            return base
        if origin is Union or origin is types.UnionType:
            return {"anyOf": [self.of(a, mode) for a in args]}
        if origin is Literal:
            return {"enum": list(args)}
        if origin in (list, set, frozenset) or tp in (list, set, frozenset):
            schema: dict[str, Any] = {"type": "array"}
            if args:
                schema["items"] = self.of(args[0], mode)
            return schema
        if origin is tuple:
            if len(args) == 2 and args[1] is Ellipsis:
                return {"type": "array", "items": self.of(args[0], mode)}
            items = [self.of(a, mode) for a in args]
            return {"type": "array", "prefixItems": items, "minItems": len(items), "maxItems": len(items)}
        if origin is dict or tp is dict:
            schema = {"type": "object"}
            if len(args) == 2:
                schema["additionalProperties"] = self.of(args[1], mode)
            return schema
        return {}  # a type no engine describes: anything goes

    def _msgspec(self, tp: Any) -> dict[str, Any]:
        (top,), components = msgspec.json.schema_components([tp], ref_template=REF_PREFIX + "{name}")
        return self._merge(_typed_enums(components), _typed_enums(top))

    def _pydantic(self, tp: Any, mode: str) -> dict[str, Any]:
        from pydantic import TypeAdapter

        schema = TypeAdapter(tp).json_schema(ref_template=REF_PREFIX + "{model}", mode=mode)  # type: ignore[arg-type]
        defs = schema.pop("$defs", {})
        name = schema.get("title") or tp.__name__
        return self._merge({**defs, name: schema}, {"$ref": REF_PREFIX + name})

    def _utype(self, tp: Any, mode: str) -> dict[str, Any]:
        try:
            from utype.specs.json_schema import JsonSchemaGenerator
        except ImportError:  # an older utype without JSON Schema support
            return {"type": "object"}
        defs: dict[Any, dict[str, Any]] = {}
        names: dict[str, Any] = {}
        top = JsonSchemaGenerator(tp, defs=defs, names=names, ref_prefix=REF_PREFIX, output=mode == "serialization")()
        by_type = {t: n for n, t in names.items()}
        named = {by_type.get(t, getattr(t, "__name__", "Schema")): s for t, s in defs.items()}
        return self._merge(named, dict(top))

    def _merge(self, new: dict[str, dict[str, Any]], top: dict[str, Any]) -> dict[str, Any]:
        """Add ``new`` components; a name taken by a different schema is renumbered everywhere."""
        renames: dict[str, str] = {}
        taken = set(self.components) | set(new)
        changed = True
        while changed:  # a rename can make a schema that referred to it differ too
            changed = False
            current = _rewrite_refs(new, renames)
            for name, schema in current.items():
                existing = self.components.get(name)
                if name in renames or existing is None or existing == schema:
                    continue
                n = 2
                while f"{name}{n}" in taken:
                    n += 1
                renames[name] = f"{name}{n}"
                taken.add(renames[name])
                changed = True
        new = _rewrite_refs(new, renames)
        for name, schema in new.items():
            self.components.setdefault(renames.get(name, name), schema)
        return _rewrite_refs(top, renames) if renames else top


def default_value(value: Any) -> tuple[bool, Any]:
    """``(True, json_value)`` when a default can be shown in the document."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    try:
        return True, msgspec.to_builtins(value)
    except (TypeError, ValueError):
        return False, None
