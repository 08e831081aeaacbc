"""OpenAPI 3.1 → 3.0, for code generators that only read 3.0.

3.1 schemas are JSON Schema 2020-12; 3.0 has its own dialect. The rewrite, schema by schema:
``type: [T, 'null']`` and a ``{type: 'null'}`` alternative → ``nullable: true``; ``const`` →
a one-value ``enum``; ``examples`` → ``example``; numeric ``exclusiveMinimum/Maximum`` → the
boolean form beside ``minimum/maximum``; ``contentMediaType``/``contentEncoding`` → ``format:
binary``/``byte``; ``prefixItems`` → ``items`` of their ``anyOf``; siblings of a ``$ref`` → an
``allOf``; keywords 3.0 does not know are dropped.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["downgrade"]

_SCHEMA_KEYS_30 = {
    "title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength",
    "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties",
    "required", "enum", "type", "allOf", "oneOf", "anyOf", "not", "items", "properties",
    "additionalProperties", "description", "format", "default", "nullable", "discriminator", "readOnly",
    "writeOnly", "xml", "externalDocs", "example", "deprecated", "$ref",
}  # fmt: skip


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, list):
        rest = [t for t in kind if t != "null"]
        if len(rest) < len(kind):
            schema["nullable"] = True
        if len(rest) == 1:
            schema["type"] = rest[0]
        elif rest:
            del schema["type"]
            schema.setdefault("anyOf", [{"type": t} for t in rest])
        else:
            del schema["type"]
    elif kind == "null":
        del schema["type"]
        schema["nullable"] = True
        schema["enum"] = [None]
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and any(isinstance(o, dict) and o.get("type") == "null" for o in options):
            kept = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            schema["nullable"] = True
            if len(kept) == 1:
                del schema[key]
                if "$ref" in kept[0]:
                    schema["allOf"] = [kept[0]]  # 3.0 ignores a $ref's siblings, nullable among them
                else:
                    schema.update({k: v for k, v in kept[0].items() if k not in schema})
            elif kept:
                schema[key] = kept
            else:
                del schema[key]
    return schema


def _schema(node: Any) -> Any:
    """One schema object, depth first."""
    if isinstance(node, bool):
        return {} if node else {"not": {}}
    if not isinstance(node, dict):
        return node
    s = _nullable(dict(node))  # before the alternatives are rewritten: it looks for their null
    for key in ("properties", "patternProperties", "$defs"):
        if isinstance(s.get(key), dict):
            s[key] = {k: _schema(v) for k, v in s[key].items()}
    for key in ("allOf", "anyOf", "oneOf", "prefixItems"):
        if isinstance(s.get(key), list):
            s[key] = [_schema(v) for v in s[key]]
    for key in ("items", "additionalProperties", "not"):
        if key in s and not (key == "additionalProperties" and isinstance(s[key], bool)):
            s[key] = _schema(s[key])
    if "const" in s:
        s["enum"] = [s.pop("const")]
    if "examples" in s:
        examples = s.pop("examples")
        if isinstance(examples, list) and examples:
            s.setdefault("example", examples[0])
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = s.get(bound)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            s[plain] = value
            s[bound] = True
    if "contentMediaType" in s or "contentEncoding" in s:
        encoding = s.pop("contentEncoding", None)
        s.pop("contentMediaType", None)
        s["type"] = "string"
        s["format"] = "byte" if encoding == "base64" else "binary"
    prefix = s.pop("prefixItems", None)
    if isinstance(prefix, list):
        if s.get("items") is False or "items" not in s:
            s["items"] = {"anyOf": prefix} if len(prefix) > 1 else (prefix[0] if prefix else {})
    if s.get("items") is False:
        s["items"] = {}
    if s.get("required") == []:
        del s["required"]  # 3.0 wants at least one name
    if "$ref" in s and len(s) > 1:
        ref = s.pop("$ref")
        s = {"allOf": [{"$ref": ref}], **s}
    return {k: v for k, v in s.items() if k in _SCHEMA_KEYS_30 or k.startswith("x-")}


def _media(content: dict[str, Any]) -> None:
    for media in content.values():
        if "schema" in media:
            media["schema"] = _schema(media["schema"])


def _operation(op: dict[str, Any]) -> None:
    for param in op.get("parameters", ()):
        if "schema" in param:
            param["schema"] = _schema(param["schema"])
        _media(param.get("content", {}))
    _media(op.get("requestBody", {}).get("content", {}))
    for response in op.get("responses", {}).values():
        _media(response.get("content", {}))
        for header in response.get("headers", {}).values():
            if "schema" in header:
                header["schema"] = _schema(header["schema"])


def downgrade(doc: dict[str, Any]) -> dict[str, Any]:
    """A 3.0.3 copy of a 3.1 document built by this package."""
    out = copy.deepcopy(doc)
    out["openapi"] = "3.0.3"
    out.pop("jsonSchemaDialect", None)
    out.pop("webhooks", None)
    info = out.get("info", {})
    info.pop("summary", None)
    if isinstance(info.get("license"), dict):
        info["license"].pop("identifier", None)
    for item in out.get("paths", {}).values():
        for key, op in item.items():
            if isinstance(op, dict) and key not in ("parameters", "servers"):
                _operation(op)
    components = out.get("components", {})
    components.pop("pathItems", None)
    for name, schema in list(components.get("schemas", {}).items()):
        components["schemas"][name] = _schema(schema)
    for header in components.get("headers", {}).values():
        if "schema" in header:
            header["schema"] = _schema(header["schema"])
    return out
