"""``orm.Query[Model]``: the query parameters of a list endpoint, turned into a QuerySet.

::

    class ArticleQuery(orm.Query[Article]):
        author_id: int                                        # a model field: a filter
        author: str = orm.Filter('author.username')           # a lookup
        within_days: int = orm.Filter(query=lambda v: Q(created__gte=now() - timedelta(days=v)))
        order: List[str] = orm.OrderBy({'created': orm.Order(), 'comments_num': orm.Order(Count('comments'))},
                                       default=['-created'])
        offset: int = orm.Offset()
        limit: int = orm.Limit(default=20, le=100)

    class ArticleAPI(api.API):
        def get(self, query: ArticleQuery) -> List[ArticleSchema]:     # read from the query string
            return ArticleSchema.serialize(query)

A query class is a ``msgspec.Struct``: an endpoint parameter annotated with one takes the whole
query string (as ``request.Query`` would), so a bad value is a 400 naming the parameter, and the
OpenAPI document lists every field with its type and limits. A filter the client does not send
is not applied. Options this module does not know are refused when the class is created.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, TypeVar

import msgspec

from utilmeta.core.orm.fields import MISSING
from utilmeta.core.request.engines import InvalidField
from utilmeta.core.request.params import Query as QueryMarker

__all__ = ["Query", "QueryMeta", "Filter", "OrderBy", "Order", "Offset", "Limit", "Page", "Scope", "Search"]

Q = TypeVar("Q", bound="Query")

_CONSTRAINTS = ("gt", "ge", "lt", "le", "min_length", "max_length", "pattern")


class _Part:
    """A field of a query class other than a plain model-field filter."""

    kind = ""

    def __init__(
        self, default: Any = MISSING, alias: str | None = None, description: str | None = None, **constraints: Any
    ):
        unknown = set(constraints) - set(_CONSTRAINTS)
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unknown option(s) {', '.join(sorted(unknown))}")
        self.default = default
        self.alias = alias
        self.description = description
        self.constraints = {k: v for k, v in constraints.items() if v is not None}

    def meta(self) -> msgspec.Meta | None:
        if not self.constraints and not self.description:
            return None
        return msgspec.Meta(**self.constraints, description=self.description)


class Filter(_Part):
    """A filter: ``field`` is a model field or lookup (``'author.username'``,
    ``'title__icontains'``) or an expression (``Count('comments')``); ``query`` a function of the
    value returning a ``Q``. ``required=True`` makes the client send it."""

    kind = "filter"

    def __init__(
        self,
        field: Any = None,
        *,
        query: Callable[[Any], Any] | None = None,
        required: bool = False,
        default: Any = MISSING,
        alias: str | None = None,
        description: str | None = None,
        **constraints: Any,
    ):
        if field is not None and query is not None:
            raise TypeError("orm.Filter(): give a field or query=, not both")
        if required and default is not MISSING:
            raise TypeError("orm.Filter(): a required filter has no default")
        super().__init__(default, alias, description, **constraints)
        self.field = field
        self.query = query
        self.required = bool(required)


class Order:
    """One option of an :class:`OrderBy`: ``field`` (a model field or an expression; default: the
    option's name), whether ascending/descending are allowed, and where NULLs go."""

    def __init__(
        self,
        field: Any = None,
        *,
        asc: bool = True,
        desc: bool = True,
        notnull: bool = False,
        nulls_first: bool = False,
        nulls_last: bool = False,
        document: str | None = None,
    ):
        if not (asc or desc):
            raise TypeError("orm.Order(): allow asc, desc or both")
        if nulls_first and nulls_last:
            raise TypeError("orm.Order(): nulls_first or nulls_last, not both")
        self.field = field
        self.asc = asc
        self.desc = desc
        self.notnull = notnull
        self.nulls_first = nulls_first
        self.nulls_last = nulls_last
        self.document = document


class OrderBy(_Part):
    """The ordering the client may ask for: ``?order=-created,id`` (or repeated). Only declared
    options are accepted; ``-`` means descending."""

    kind = "order"

    def __init__(
        self,
        options: Mapping[Any, Order] | list[Any] | tuple[Any, ...],
        *,
        default: list[str] | None = None,
        alias: str | None = None,
        description: str | None = None,
        max_length: int | None = None,
    ):
        super().__init__(MISSING if default is None else list(default), alias, description, max_length=max_length)
        self.given_description = description
        if not isinstance(options, Mapping):
            options = {option: Order() for option in options}
        self.options: dict[str, Order] = {}
        for key, order in options.items():
            name = key if isinstance(key, str) else getattr(getattr(key, "field", None), "name", None)
            if not name:
                raise TypeError(f"orm.OrderBy(): an option is named by a string or a model field, not {key!r}")
            if not isinstance(order, Order):
                raise TypeError(f"orm.OrderBy(): the option {name!r} is configured by orm.Order(...), not {order!r}")
            self.options[name] = order

    def meta(self) -> msgspec.Meta | None:
        """The documented options (each ``Order(document=...)`` with its option) and limits."""
        shown = []
        for name, order in self.options.items():
            ways = "asc, desc" if order.asc and order.desc else "asc only" if order.asc else "desc only"
            shown.append(f"`{name}` ({ways})" + (f": {order.document}" if order.document else ""))
        lead = f"{self.given_description}. " if self.given_description else ""
        self.description = f"{lead}Order by, '-' for descending: " + "; ".join(shown)
        return super().meta()

    def parse(self, values: list[str]) -> list[tuple[str, bool]]:
        """``(option, descending)`` pairs; an unknown option or direction is a ValueError."""
        parsed = []
        for value in values:
            for item in value.split(","):
                item = item.strip()
                if not item:
                    continue
                desc = item.startswith("-")
                name = item.lstrip("+-")
                order = self.options.get(name)
                if order is None:
                    raise ValueError(f"unknown ordering {name!r}; one of: {', '.join(self.options)}")
                if desc and not order.desc or not desc and not order.asc:
                    raise ValueError(f"{name!r} cannot be ordered {'descending' if desc else 'ascending'}")
                parsed.append((name, desc))
        return parsed


class Offset(_Part):
    """How many rows to skip (≥ 0)."""

    kind = "offset"

    def __init__(
        self, default: int = 0, *, alias: str | None = None, description: str | None = None, le: int | None = None
    ):
        super().__init__(default, alias, description, ge=0, le=le)


class Limit(_Part):
    """How many rows at most (≥ 0; ``le`` caps what the client may ask)."""

    kind = "limit"

    def __init__(
        self,
        default: int | None = None,
        *,
        le: int | None = None,
        ge: int = 0,
        alias: str | None = None,
        description: str | None = None,
    ):
        super().__init__(MISSING if default is None else default, alias, description, ge=ge, le=le)


class Page(_Part):
    """The page number, from 1; the page size is the query's :class:`Limit`."""

    kind = "page"

    def __init__(
        self, default: int = 1, *, alias: str | None = None, description: str | None = None, le: int | None = None
    ):
        super().__init__(default, alias, description, ge=1, le=le)


class Scope(_Part):
    """The fields the client wants in the answer: ``?scope=id,title,author.username`` (or
    repeated); with ``excluded=True``, the fields to leave out. Only those are queried: a
    relation or expression left out costs nothing. A name the schema does not have is a 400
    naming this parameter (``ignore_invalids=True`` drops it instead); ``max_depth`` bounds the
    dotted paths. Give it to a serialize by passing the query itself, or ``context=query.get_context()``."""

    kind = "scope"

    def __init__(
        self,
        *,
        excluded: bool = False,
        max_depth: int | None = None,
        ignore_invalids: bool = False,
        default: list[str] | None = None,
        alias: str | None = None,
        description: str | None = None,
        max_length: int | None = None,
    ):
        if max_depth is not None and max_depth < 1:
            raise TypeError("orm.Scope(max_depth=...) is at least 1 (top-level fields only)")
        lead = f"{description}. " if description else ""
        way = "leave out" if excluded else "return (only those are queried)"
        shown = f"{lead}The fields to {way}, comma-separated or repeated; 'a.b' selects inside a relation"
        super().__init__(MISSING if default is None else list(default), alias, shown, max_length=max_length)
        self.excluded = bool(excluded)
        self.max_depth = max_depth
        self.ignore_invalids = bool(ignore_invalids)

    def paths(self, value: Any) -> list[str]:
        """The dotted paths sent; an empty segment or a path deeper than ``max_depth`` is a ValueError."""
        paths = []
        for item in value if isinstance(value, list) else [value]:
            for path in str(item).split(","):
                path = path.strip()
                if not path:
                    continue
                if not all(segment.strip() for segment in path.split(".")):
                    raise ValueError(f"{path!r} is not a field path (name or name.name)")
                if self.max_depth is not None and path.count(".") >= self.max_depth:
                    raise ValueError(f"{path!r} is deeper than {self.max_depth} level(s)")
                paths.append(path)
        return paths


class FieldPaths(list):
    """The paths of an ``orm.Scope`` as ``get_context()`` gives them: a list that also names
    its query parameter (for a 400) and whether unknown names are dropped."""

    def __init__(self, paths: list[str], param: str, ignore_invalid: bool = False):
        super().__init__(paths)
        self.param = param
        self.ignore_invalid = ignore_invalid


class Search(_Part):
    """A keyword search over ``fields`` (model fields or lookups, ``'author.username'``): the
    value is split into keywords at ``keyword_delimiters``; ``match_mode`` says how keywords and
    fields combine; ``case_sensitive`` (default: no) holds on every database. ``full_text``
    (PostgreSQL): a full-text match, best-ranked first unless the client orders, ``min_rank``
    drops weaker matches."""

    kind = "search"
    ALL_ALL = "all_all"  # every keyword in every field
    UNION_ALL = "union_all"  # every keyword in some field
    ANY_ALL = "any_all"  # some field holds every keyword
    ANY_ANY = "any_any"  # some keyword in some field
    FULL_TEXT = "full_text"  # PostgreSQL full-text search
    MODES = (ALL_ALL, UNION_ALL, ANY_ALL, ANY_ANY, FULL_TEXT)

    def __init__(
        self,
        *fields: Any,
        match_mode: str = ANY_ALL,
        case_sensitive: bool = False,
        keyword_delimiters: tuple[str, ...] | list[str] = (" ", ",", ";", "|"),
        max_keywords: int = 20,
        min_rank: float | None = None,
        default: str | None = None,
        alias: str | None = None,
        description: str | None = None,
        max_length: int | None = None,
    ):
        if not fields:
            raise TypeError("orm.Search() takes the fields to search: orm.Search('title', 'body')")
        names = []
        for field in fields:
            name = field if isinstance(field, str) else getattr(getattr(field, "field", None), "name", None)
            if not name:
                raise TypeError(f"orm.Search(): a field is named by a string or a model field, not {field!r}")
            names.append(name)
        if match_mode not in self.MODES:
            raise TypeError(f"orm.Search(match_mode={match_mode!r}): one of {', '.join(self.MODES)}")
        if min_rank is not None and match_mode != self.FULL_TEXT:
            raise TypeError("orm.Search(min_rank=...) applies to match_mode='full_text' only")
        if not keyword_delimiters or not all(isinstance(d, str) and d for d in keyword_delimiters):
            raise TypeError("orm.Search(keyword_delimiters=...) is a list of non-empty strings")
        if max_keywords < 1:
            raise TypeError("orm.Search(max_keywords=...) is at least 1")
        lead = f"{description}. " if description else ""
        shown = f"{lead}Search {', '.join(names)} ({match_mode.replace('_', ' ')})"
        super().__init__(MISSING if default is None else default, alias, shown, max_length=max_length)
        self.fields = names
        self.match_mode = match_mode
        self.case_sensitive = bool(case_sensitive)
        self.keyword_delimiters = tuple(keyword_delimiters)
        self.max_keywords = max_keywords
        self.min_rank = min_rank
        self.splitter = re.compile("|".join(re.escape(d) for d in self.keyword_delimiters))

    def keywords(self, value: str) -> list[str]:
        """The keywords of ``value``; more than ``max_keywords`` is a ValueError."""
        if self.match_mode == self.FULL_TEXT:
            return [value.strip()] if value.strip() else []
        found = list(dict.fromkeys(k for k in self.splitter.split(value) if k))
        if len(found) > self.max_keywords:
            raise ValueError(f"at most {self.max_keywords} keywords, not {len(found)}")
        return found


_SCOPE_TYPES = (list, dict, str, Any)


def _resolved(annotation: Any, namespace: dict[str, Any]) -> Any:
    """A string annotation (``from __future__ import annotations``) evaluated in the class's
    module, so that constraints can be attached to it."""
    if not isinstance(annotation, str):
        return annotation
    import builtins
    import sys
    import typing

    module = sys.modules.get(namespace.get("__module__", ""))
    scope = {**vars(typing), **vars(builtins), **(vars(module) if module else {}), **namespace}
    try:
        return eval(annotation, scope)
    except Exception as e:
        raise TypeError(f"cannot resolve the annotation {annotation!r} of a query field: {e}") from None


def _field(part: _Part) -> Any:
    """The msgspec field of a part: its wire name and default (a required filter has none)."""
    if isinstance(part, Filter) and part.required:
        return msgspec.field(name=part.alias)
    default = part.default
    if isinstance(default, list):
        return msgspec.field(name=part.alias, default_factory=lambda d=default: list(d))
    return msgspec.field(name=part.alias, default=msgspec.UNSET if default is MISSING else default)


class QueryMeta(msgspec.StructMeta):
    """Takes the query parts out of the class body (into ``__query_parts__``) and gives msgspec
    the constrained type and default of each; a field without a default is optional (unset)."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> Any:
        annotations = dict(namespace.get("__annotations__", {}))
        parts: dict[str, _Part] = {}
        for attr, annotation in list(annotations.items()):
            if attr.startswith("__") or getattr(annotation, "__origin__", None) is ClassVar:
                continue
            value = namespace.get(attr, MISSING)
            if isinstance(value, type) and issubclass(value, _Part):
                value = value()
            if isinstance(value, _Part):
                parts[attr] = value
                meta = value.meta()
                declared = _resolved(annotation, namespace)
                if isinstance(value, Scope):  # however declared (UtilMeta writes dict), a list of paths
                    if (typing.get_origin(declared) or declared) not in _SCOPE_TYPES:
                        raise TypeError(f"{name}.{attr}: an orm.Scope is declared List[str], not {annotation!r}")
                    declared = list[str]
                if meta is not None:
                    annotations[attr] = Annotated[declared, meta]
                elif declared is not annotation:
                    annotations[attr] = declared
                namespace[attr] = _field(value)
            elif attr not in namespace:
                namespace[attr] = msgspec.UNSET  # a plain filter: applied only when sent
        namespace["__annotations__"] = annotations
        kwargs.setdefault("kw_only", True)
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        inherited: dict[str, _Part] = {}
        for base in reversed(cls.__mro__[1:]):
            inherited.update(getattr(base, "__query_parts__", {}))
        all_parts = {**inherited, **parts}
        for excluded in (False, True):
            scopes = [n for n, p in all_parts.items() if isinstance(p, Scope) and p.excluded is excluded]
            if len(scopes) > 1:
                raise TypeError(f"{name}: {' and '.join(scopes)} are both orm.Scope(excluded={excluded}); keep one")
        setattr(cls, "__query_parts__", all_parts)
        setattr(cls, "__query_plan__", None)
        return cls


class Query(msgspec.Struct, metaclass=QueryMeta, kw_only=True):
    """Base of the ORM queries; ``Query[Model]`` binds one to a model."""

    __model__: ClassVar[Any] = None
    #: as an endpoint parameter without a marker, a query takes the whole query string
    __default_param__: ClassVar[Any] = QueryMarker
    #: apply ``.distinct()`` (default: ``Preference(orm_default_query_distinct)``)
    __distinct__: ClassVar[bool | None] = None
    __query_parts__: ClassVar[dict[str, _Part]]

    def __class_getitem__(cls, model: Any) -> type[Query]:
        if not isinstance(model, type):
            raise TypeError(f"orm.Query[...] takes a model class, not {model!r}")
        bound: type[Query] = QueryMeta(f"{cls.__name__}[{model.__name__}]", (cls,), {"__model__": model})
        return bound

    def __post_init__(self) -> None:
        for name, part in type(self).__query_parts__.items():
            value = getattr(self, name)
            if value is msgspec.UNSET or value is None:
                continue
            try:  # a ValueError is a 400 naming the parameter
                if isinstance(part, OrderBy):
                    part.parse(value if isinstance(value, list) else [value])
                elif isinstance(part, Scope):
                    part.paths(value)
                elif isinstance(part, Search):
                    part.keywords(value)
            except ValueError as e:
                raise InvalidField(part.alias or name, str(e)) from None

    def get_context(self) -> dict[str, Any]:
        """What a serialize needs from this query besides its queryset: the fields its
        ``orm.Scope`` parameters select (``includes``) or leave out (``excludes``)."""
        context: dict[str, Any] = {}
        for name, part in type(self).__query_parts__.items():
            if isinstance(part, Scope):
                value = getattr(self, name)
                if value is msgspec.UNSET or value is None:
                    continue
                key = "excludes" if part.excluded else "includes"
                context[key] = FieldPaths(part.paths(value), part.alias or name, part.ignore_invalids)
        return context

    def _engine(self) -> Any:
        from utilmeta.core.orm.backends.django import queries

        return queries

    def get_queryset(self, base: Any = None) -> Any:
        """The QuerySet this query selects: filters, ordering, then the slice (offset/limit/page);
        ``base`` narrows it (default: the model's default manager)."""
        return self._engine().get_queryset(self, base)

    def count(self, base: Any = None) -> int:
        """How many rows the filters select (ordering and slice ignored)."""
        return self._engine().count(self, base)

    async def acount(self, base: Any = None) -> int:
        return await self._engine().acount(self, base)
