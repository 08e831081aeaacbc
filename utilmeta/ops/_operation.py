"""One compiled handler to one OpenAPI operation: parameters, request body and responses.

Everything is read from what the core compiled — the handler's parser (and its before hooks'
parsers, whose parameters are request parameters too), its effective response template and
the endpoint's declared result type — so the document describes what the service does.
"""

from __future__ import annotations

import inspect
from http import HTTPStatus
from types import UnionType
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

from utilmeta.core.request.params import MISSING, PathParam
from utilmeta.core.request.parser import Field, Parser, raw_type, route_vars
from utilmeta.core.response import Response
from utilmeta.ops._schema import BINARY, Schemas, default_value

if TYPE_CHECKING:
    from utilmeta.core.api.decorators import RouteInfo
    from utilmeta.core.api.handler import Handler

__all__ = ["OperationBuilder"]

_LOCATIONS = ("path", "query", "header", "cookie")
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
#: headers OpenAPI does not let a parameter describe (they belong to the media types)
_RESERVED_HEADERS = ("accept", "content-type")
_REQUEST_ID = {"$ref": "#/components/headers/X-Request-ID"}

#: status -> (component name, description) of the errors the core itself answers with
_ERRORS = {
    400: ("BadRequest", "Bad request: a parameter or the body is invalid (each problem is named in `errors`)"),
    404: ("NotFound", "Not found: the path (or a path parameter's form) matches no resource"),
    413: ("PayloadTooLarge", "Payload too large: the body (or an uploaded file) is over its size limit"),
    415: ("UnsupportedMediaType", "Unsupported media type: the body's Content-Type is not accepted"),
    500: ("ServerError", "Server error"),
}

PROBLEM_ITEM = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "enum": ["path", "query", "header", "cookie", "body"]},
        "name": {"type": "string"},
        "message": {"type": "string"},
    },
    "required": ["location", "name", "message"],
}
PROBLEM = {
    "type": "object",
    "description": "An error, as RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ProblemItem"}},
        "request_id": {"type": "string"},
    },
    "required": ["type", "title", "status"],
}


def _docstring(func: Any) -> tuple[str | None, str | None]:
    doc = inspect.getdoc(func)
    if not doc:
        return None, None
    first, _, rest = doc.partition("\n\n")
    return " ".join(first.split()), rest.strip() or None


def _describe(schema: dict[str, Any], f: Field) -> dict[str, Any]:
    if not f.required:
        ok, value = default_value(f.default)
        if ok and value is not None:
            schema = {**schema, "default": value}
    return schema


class OperationBuilder:
    """Builds operation objects, sharing one :class:`Schemas` for the whole document."""

    def __init__(self, schemas: Schemas, *, host_check: bool = False):
        self.schemas = schemas
        self.host_check = host_check
        #: shared error responses, by name
        self.components: dict[str, dict[str, Any]] = {}
        self.schemas.add("ProblemItem", PROBLEM_ITEM)
        self.problem = self.schemas.add("Problem", PROBLEM)

    def build(self, handler: Handler, operation_id: str, infos: list[RouteInfo], tag: str | None) -> dict[str, Any]:
        endpoint = handler.endpoint
        info = endpoint.info
        op: dict[str, Any] = {}
        tags = list(info.tags) or next((list(i.tags) for i in reversed(infos) if i.tags), [])
        if not tags and tag:
            tags = [tag]
        if tags:
            op["tags"] = tags
        summary, rest = _docstring(endpoint.func)
        if info.summary:
            summary, rest = info.summary, inspect.getdoc(endpoint.func) or None
        if summary:
            op["summary"] = summary
        description = info.description or rest
        if description:
            op["description"] = description
        op["operationId"] = operation_id
        parameters = self.parameters(handler)
        if parameters:
            op["parameters"] = parameters
        body = self.request_body(handler.parser)
        if body is not None:
            op["requestBody"] = body
        responses = self.responses(handler, bool(parameters or body))
        declared = info.extra.get("responses")  # @api.get(responses={409: 'when ...'})
        if isinstance(declared, dict):
            for status, value in declared.items():
                responses.setdefault(str(status), value if isinstance(value, dict) else {"description": str(value)})
        op["responses"] = dict(sorted(responses.items()))
        if info.deprecated or any(i.deprecated for i in infos):
            op["deprecated"] = True
        op.update({k: v for k, v in info.extra.items() if k.startswith("x-")})
        return op

    # -- parameters --------------------------------------------------------------------------------

    def parameters(self, handler: Handler) -> list[dict[str, Any]]:
        # the API classes' own parameters and the before hooks' are the operation's too
        parsers = [p for _, p in handler.generals] + [p for _, _, p in handler.befores] + [handler.parser]
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for location in _LOCATIONS:
            for parser in parsers:
                for f in parser.fields[location]:
                    self._add(found, self._parameter(location, f, handler))
                container = parser.containers.get(location)
                if container is not None:
                    for param in self._expand(location, container):
                        self._add(found, param)
            if location == "path":
                for var in route_vars(handler.route):  # a parent's path variable no parameter reads
                    self._add(found, self._path_param(var, {"type": "string"}, handler.path_regex.get(var, "[^/]+")))
        return list(found.values())

    @staticmethod
    def _add(found: dict[tuple[str, str], dict[str, Any]], param: dict[str, Any] | None) -> None:
        if param is not None:
            found.setdefault((param["in"], param["name"].lower()), param)

    @staticmethod
    def _path_param(name: str, schema: dict[str, Any], regex: str = "[^/]+") -> dict[str, Any]:
        schema = dict(schema)
        if schema.get("type") == "string" and not {"pattern", "enum", "format"} & set(schema):
            schema["pattern"] = f"^(?:{regex})$"  # what the route segment matches
        return {"name": name, "in": "path", "required": True, "schema": schema}

    def _parameter(self, location: str, f: Field, handler: Handler) -> dict[str, Any] | None:
        marker = f.marker
        name = f.wire
        if location == "header":
            name = marker.alias or f.name.replace("_", "-")
            if name.lower() in _RESERVED_HEADERS:
                return None
        schema = _describe(self.schemas.of(f.type), f)
        if location == "path":
            regex = marker.segment_regex if isinstance(marker, PathParam) else "[^/]+"
            param = self._path_param(name, schema, handler.path_regex.get(name, regex))  # what the route matches
            if name in handler.path_defaults:
                # OpenAPI has no optional path parameter: say it in words
                param["description"] = "May be left out of the path (with the variables after it): its default applies"
        else:
            param = {"name": name, "in": location, "required": f.required, "schema": schema}
        if marker.description:
            param["description"] = marker.description
        if marker.deprecated:
            param["deprecated"] = True
        if marker.example is not MISSING:
            ok, value = default_value(marker.example)
            if ok:
                param["example"] = value
        return param

    def _expand(self, location: str, container: Field) -> list[dict[str, Any]]:
        """A whole-location parameter (``request.Query`` & co.) as one parameter per property."""
        schema = self.schemas.resolve(self.schemas.of(container.type))
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            if location == "query" and schema.get("type") == "object":
                return [{"name": container.name, "in": "query", "style": "form", "explode": True, "schema": schema}]
            return []  # e.g. any headers: nothing to name
        required = set(schema.get("required", ()))
        params = []
        for prop, prop_schema in properties.items():
            name = prop.replace("_", "-") if location == "header" else prop
            if location == "header" and name.lower() in _RESERVED_HEADERS:
                continue
            param: dict[str, Any] = {"name": name, "in": location, "required": prop in required}
            if "description" in prop_schema:
                param["description"] = prop_schema["description"]
            param["schema"] = prop_schema
            params.append(self._path_param(name, prop_schema) if location == "path" else param)
        return params

    # -- request body ------------------------------------------------------------------------------

    def request_body(self, parser: Parser) -> dict[str, Any] | None:
        if not parser.needs_body:
            return None
        container = parser.containers.get("body")
        content: dict[str, Any] = {}
        if container is not None and parser.raw_body:
            content = self._raw_body(parser, container)
        elif parser.bodies:
            parts = [self.schemas.of(f.type) for f, _ in parser.bodies]
            if parser.fields["body"]:
                parts.append(self._fields_object(parser.fields["body"]))
            schema = parts[0] if len(parts) == 1 else {"allOf": parts}
            if container is not None and container.marker.description:
                schema = {**schema, "description": container.marker.description}
            flat = all(self._flat(p) for p in parts)
            # a form has no way to nest objects: offer it only for bodies it can carry
            content = {ct: {"schema": schema} for ct in parser.content_types if flat or ct not in _FORMS}
        else:
            for ct in parser.content_types:
                schema = self._fields_object(parser.fields["body"])
                if ct not in _FORMS or self._flat(schema):
                    content[ct] = {"schema": schema}
        if not content:  # nothing fits: say what the endpoint accepts all the same
            content = {ct: {"schema": {"type": "object"}} for ct in parser.content_types}
        body: dict[str, Any] = {"content": content}
        if container is not None and container.marker.description:
            body["description"] = container.marker.description
        if container is not None and container.marker.example is not MISSING:
            ok, value = default_value(container.marker.example)
            if ok:
                for media in content.values():
                    media["example"] = value
        body["required"] = bool(parser.body_required)
        return body

    @staticmethod
    def _raw_body(parser: Parser, container: Field) -> dict[str, Any]:
        """A str, bytes or file body: under its declared content type, else what it takes."""
        kind = raw_type(container.type)
        schema: dict[str, Any] = {"type": "string"} if kind is str else dict(BINARY)
        if parser.content_types:
            return {parser.content_types[0]: {"schema": schema}}
        if kind is str:
            return {"text/plain": {"schema": schema}}
        media = getattr(kind, "media", None)
        return {f"{media}/*" if media else "application/octet-stream": {"schema": schema}}

    def _flat(self, schema: dict[str, Any], depth: int = 0) -> bool:
        """Whether a form can carry the object: no property is itself an object."""
        schema = self.schemas.resolve(schema)
        if depth == 0:
            properties = schema.get("properties")
            return isinstance(properties, dict) and all(self._flat(p, 1) for p in properties.values())
        if schema.get("type") == "object" or "properties" in schema or depth > 2:
            return False
        options = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
        items = schema.get("items")
        if isinstance(items, dict):
            options.append(items)
        return all(self._flat(o, depth + 1) for o in options)

    def _fields_object(self, fields: list[Field]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required = []
        for f in fields:
            schema = _describe(self.schemas.of(f.type), f)
            if f.marker.description:
                schema["description"] = f.marker.description
            if f.marker.deprecated:
                schema["deprecated"] = True
            if f.marker.example is not MISSING:
                ok, value = default_value(f.marker.example)
                if ok:
                    schema["examples"] = [value]
            properties[f.wire] = schema
            if f.required:
                required.append(f.wire)
        out: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            out["required"] = required
        return out

    # -- responses ---------------------------------------------------------------------------------

    def responses(self, handler: Handler, has_input: bool) -> dict[str, Any]:
        template = handler.template
        status = template.status if template is not None else 200
        responses: dict[str, Any] = {str(status): self._success(handler)}
        errors = [500]
        if has_input or self.host_check:
            errors.append(400)
        if route_vars(handler.route):
            errors.append(404)
        if handler.needs_body:
            errors.append(413)
            if handler.parser.content_types:
                errors.append(415)
        for code in sorted(errors):
            responses.setdefault(str(code), self._error(code, template))
        return responses

    def _success(self, handler: Handler) -> dict[str, Any]:
        template = handler.template
        result = handler.endpoint.result_type
        headers: dict[str, Any] = {"X-Request-ID": _REQUEST_ID}
        if template is not None and template.headers:
            for name in sorted(template.headers):
                headers.setdefault(name, {"schema": {"type": "string"}})
        out: dict[str, Any] = {"description": HTTPStatus(template.status if template else 200).phrase}
        out["headers"] = headers
        if template is not None and template.is_template():
            media = template.content_type or "application/json"
            out["content"] = {media: {"schema": self._envelope(template, self._result_schema(result))}}
            return out
        if result is None or result is type(None):
            return out  # an empty body
        media, schema = self._plain(result)
        if template is not None and template.content_type:
            media = template.content_type
        out["content"] = {media: {"schema": schema}}
        return out

    def _result_schema(self, result: Any) -> dict[str, Any]:
        if result is None or result is type(None):
            return {"type": "null"}
        return self.schemas.of(result, "serialization")

    def _plain(self, result: Any) -> tuple[str, dict[str, Any]]:
        """The media type and schema a result renders as without a template."""
        if result is Any:
            return "*/*", {}  # undeclared: whatever the endpoint returns
        if result is str:
            return "text/plain", {"type": "string"}
        if result in (bytes, bytearray):
            return "application/octet-stream", dict(BINARY)
        if get_origin(result) in (Union, UnionType):
            args = [a for a in get_args(result) if a is not type(None)]
            if args and all(a is str for a in args):
                return "text/plain", {"type": "string"}
        return "application/json", self.schemas.of(result, "serialization")

    @staticmethod
    def _envelope(template: type[Response], result: dict[str, Any]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required = []
        if template.result_key:
            properties[template.result_key] = result
            required.append(template.result_key)
        if template.message_key:
            properties[template.message_key] = {"type": "string"}
            required.append(template.message_key)
        if template.count_key:
            properties[template.count_key] = {"type": "integer"}
        if template.state_key:
            properties[template.state_key] = {"description": "the response status, unless the endpoint sets a state"}
            required.append(template.state_key)
        return {"type": "object", "properties": properties, "required": required}

    def _error(self, status: int, template: type[Response] | None) -> dict[str, Any]:
        """A reference to the shared error response (``components.responses``) for ``status``."""
        if template is not None and template.is_template():
            ref = self.schemas.add(f"{template.__name__}Error", self._envelope(template, {"type": "null"}))
            prefix = ref["$ref"].rsplit("/", 1)[-1].removesuffix("Error")
            media = "application/json"
        else:
            ref, prefix, media = dict(self.problem), "", "application/problem+json"
        suffix, description = _ERRORS[status]
        name = prefix + suffix
        if name not in self.components:
            self.components[name] = {
                "description": description,
                "headers": {"X-Request-ID": _REQUEST_ID},
                "content": {media: {"schema": ref}},
            }
        return {"$ref": f"#/components/responses/{name}"}
