"""``orm.Query`` on the Django ORM: the steps of a query class, compiled once per class, applied
to a QuerySet (filters, ordering, slice)."""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

import msgspec
from django.core.exceptions import FieldDoesNotExist
from django.db import connections
from django.db.models import F, Q, Value
from django.db.models.functions import StrIndex
from django.db.models.lookups import GreaterThan
from django.db.models.query import QuerySet

from utilmeta.conf._lookup import current_service

__all__ = ["get_queryset", "count", "acount", "QueryError"]

Step = Callable[[QuerySet, Any], QuerySet]


class QueryError(TypeError):
    """An ``orm.Query`` declaration that cannot be applied; names the field."""


class _Plan:
    def __init__(self, query_cls: Any) -> None:
        model = query_cls.__model__
        if model is None:
            raise QueryError(f"{query_cls.__name__} has no model: declare it as orm.Query[Model]")
        self.model = model
        self.filters: list[tuple[str, Step]] = []
        self.order: tuple[str, Any] | None = None
        self.offset: str | None = None
        self.limit: str | None = None
        self.page: str | None = None
        parts = query_cls.__query_parts__
        for name in query_cls.__struct_fields__:
            part = parts.get(name)
            where = f"{query_cls.__qualname__}.{name}"
            kind = getattr(part, "kind", "filter")
            if kind == "filter":
                self.filters.append((name, self._filter(where, name, part)))
            elif kind == "search":
                self.filters.append((name, self._search(where, name, part)))
            elif kind == "scope":
                continue  # selects the output's fields (get_context()), not rows
            elif kind == "order":
                if self.order is not None:
                    raise QueryError(f"{where}: a second orm.OrderBy in one query")
                self.order = (name, part)
            else:
                if getattr(self, kind) is not None:
                    raise QueryError(f"{where}: a second orm.{kind.title()} in one query")
                setattr(self, kind, name)
        if self.page is not None and self.limit is None:
            raise QueryError(f"{query_cls.__qualname__}: orm.Page() needs an orm.Limit() for the page size")
        if self.page is not None and self.offset is not None:
            raise QueryError(f"{query_cls.__qualname__}: orm.Page() and orm.Offset() both say where to start; keep one")
        distinct = query_cls.__distinct__
        if distinct is None:
            service = current_service()
            distinct = bool(getattr(service.preference if service else None, "orm_default_query_distinct", False))
        self.distinct = distinct

    def _filter(self, where: str, name: str, part: Any) -> Step:
        source = getattr(part, "field", None)
        query = getattr(part, "query", None)
        if query is not None:
            return lambda qs, value: qs.filter(query(value))
        if source is None:
            source = name
        if isinstance(source, str):
            lookup = source.replace(".", "__")
            self._check(where, lookup)
            return lambda qs, value: qs.filter(**{lookup: value})
        if hasattr(source, "resolve_expression"):
            alias = f"_um_filter_{name}"
            return lambda qs, value: qs.annotate(**{alias: source}).filter(**{alias: value})
        raise QueryError(f"{where}: orm.Filter({source!r}) is neither a lookup, an expression nor query=")

    def _search(self, where: str, name: str, part: Any) -> Step:
        lookups = [field.replace(".", "__") for field in part.fields]
        for lookup in lookups:
            self._check(where, lookup)
        if part.match_mode == part.FULL_TEXT:
            return _full_text(name, part, lookups)
        mode = part.match_mode
        sensitive = part.case_sensitive

        def step(queryset: QuerySet, value: str) -> QuerySet:
            keywords = part.keywords(value)
            if not keywords:
                return queryset
            # SQLite's LIKE ignores case: a case-sensitive match there is instr() > 0
            by_index = sensitive and connections[queryset.db].vendor == "sqlite"

            def match(lookup: str, keyword: str) -> Q:
                if by_index:
                    return Q(GreaterThan(StrIndex(lookup, Value(keyword)), 0))
                return Q(**{f"{lookup}__{'contains' if sensitive else 'icontains'}": keyword})

            if mode == "union_all":  # every keyword, each in some field
                groups, inner, outer = [[match(f, k) for f in lookups] for k in keywords], operator.or_, operator.and_
            elif mode == "any_all":  # some field with every keyword
                groups, inner, outer = [[match(f, k) for k in keywords] for f in lookups], operator.and_, operator.or_
            else:  # all_all: every pair; any_any: any pair
                join = operator.and_ if mode == "all_all" else operator.or_
                groups, inner, outer = [[match(f, k) for f in lookups for k in keywords]], join, join
            condition = functools.reduce(outer, (functools.reduce(inner, group) for group in groups))
            return queryset.filter(condition)

        return step

    def _check(self, where: str, lookup: str) -> None:
        """The first segments of ``lookup`` must be fields of the model (the rest may be lookups
        such as ``icontains``)."""
        current = self.model
        for segment in lookup.split("__"):
            try:
                field = current._meta.get_field(segment)
            except FieldDoesNotExist:
                if segment == "pk" or any(f.attname == segment for f in current._meta.concrete_fields):
                    return
                if current is self.model and segment == lookup.split("__")[0]:
                    raise QueryError(
                        f"{where}: {self.model.__name__} has no field {segment!r} "
                        f"(declare orm.Filter('<lookup>') or orm.Filter(query=...))"
                    ) from None
                return  # a lookup or transform after a field (icontains, year, ...)
            if not field.is_relation:
                return
            current = field.related_model

    def _ordering(self, query: Any, queryset: QuerySet) -> QuerySet:
        if self.order is None:
            return queryset
        name, part = self.order
        value = getattr(query, name)
        if value is msgspec.UNSET or not value:
            return queryset
        keys = []
        for option, desc in part.parse(value if isinstance(value, list) else [value]):
            order = part.options[option]
            source = order.field if order.field is not None else option
            if isinstance(source, str):
                expression = F(source.replace(".", "__"))
                target = source.replace(".", "__")
            else:
                target = f"_um_order_{option}"
                queryset = queryset.annotate(**{target: source})
                expression = F(target)
            if order.notnull:
                queryset = queryset.filter(**{f"{target}__isnull": False})
            nulls = {"nulls_first": True} if order.nulls_first else {"nulls_last": True} if order.nulls_last else {}
            keys.append(expression.desc(**nulls) if desc else expression.asc(**nulls))
        return queryset.order_by(*keys)

    def filtered(self, query: Any, base: QuerySet | None) -> QuerySet:
        queryset = base if base is not None else self.model._default_manager.all()
        for name, step in self.filters:
            value = getattr(query, name)
            if value is not msgspec.UNSET:
                queryset = step(queryset, value)
        return queryset.distinct() if self.distinct else queryset

    def queryset(self, query: Any, base: QuerySet | None) -> QuerySet:
        queryset = self._ordering(query, self.filtered(query, base))
        limit = _set(getattr(query, self.limit)) if self.limit else None
        start = _set(getattr(query, self.offset)) if self.offset else None
        if self.page is not None and limit is not None:
            start = (_set(getattr(query, self.page)) or 1) - 1
            start *= limit
        if start or limit is not None:
            start = start or 0
            queryset = queryset[start : start + limit] if limit is not None else queryset[start:]
        return queryset


def _full_text(name: str, part: Any, lookups: list[str]) -> Step:
    """``orm.Search(match_mode='full_text')``: PostgreSQL's full-text match of the fields,
    best-ranked first (an order the client sends comes after and replaces it)."""
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    vector = SearchVector(*lookups)
    rank, matched = f"_um_rank_{name}", f"_um_vector_{name}"

    def step(queryset: QuerySet, value: str) -> QuerySet:
        keywords = part.keywords(value)
        if not keywords:
            return queryset
        vendor = connections[queryset.db].vendor
        if vendor != "postgresql":
            raise QueryError(
                f"orm.Search(match_mode='full_text') needs PostgreSQL; the database {queryset.db!r} is {vendor}"
            )
        query = SearchQuery(keywords[0])
        queryset = queryset.annotate(**{matched: vector, rank: SearchRank(vector, query)}).filter(**{matched: query})
        if part.min_rank is not None:
            queryset = queryset.filter(**{f"{rank}__gte": part.min_rank})
        return queryset.order_by(f"-{rank}")

    return step


def _set(value: Any) -> Any:
    return None if value is msgspec.UNSET else value


def _plan(query: Any) -> _Plan:
    cls: Any = type(query)
    plan = cls.__dict__.get("__query_plan__")
    if plan is None:
        plan = _Plan(cls)
        cls.__query_plan__ = plan
    return plan


def get_queryset(query: Any, base: QuerySet | None = None) -> QuerySet:
    return _plan(query).queryset(query, base)


def count(query: Any, base: QuerySet | None = None) -> int:
    return _plan(query).filtered(query, base).count()


async def acount(query: Any, base: QuerySet | None = None) -> int:
    return await _plan(query).filtered(query, base).acount()
