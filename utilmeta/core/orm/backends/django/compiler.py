"""The query plan of an ``orm.Schema`` on the Django ORM, compiled once per schema class.

The rules a plan follows (``tests/orm/test_statements.py`` counts the statements):

- **One root query** selects, as tuples (``values_list``), every column the schema needs: the
  model's own fields; foreign-key / one-to-one nested schemas and dotted forward lookups
  (``'author.username'``), JOINed in; query expressions, annotated — an aggregate as a correlated
  subquery, so that neither a second aggregate nor a filter of the caller's across a to-many
  relation can multiply it.
- **Exactly one query per to-many source**, whatever the number of rows: a reverse foreign key or
  a many-to-many relation (the related model filtered by its link back to the keys, the link
  selected with the related columns), a dotted to-many lookup (``'tags.name'``), a sliced
  queryset (``ROW_NUMBER()`` per owner, so ``[:3]`` means three per row), a function of ``*pks``
  (its own statements, plus one when its values are keys of a nested schema).
- Rows stay tuples until the output is built; the instances are built by a function generated
  once per plan from the column positions (one struct construction per object, no per-field
  Python loop).

Nested schemas follow the same rules recursively; ``Preference(orm_schema_query_max_depth)``
bounds the nesting, so a cycle of schemas is an error when the plan is compiled, not a hang.
"""

from __future__ import annotations

import asyncio
import inspect
import types
import typing
import warnings
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin, get_type_hints
from uuid import UUID

import msgspec
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connections, models
from django.db.models import Avg, Count, F, Max, Min, OuterRef, Q, Subquery, Sum, Window
from django.db.models.functions import Coalesce, RowNumber
from django.db.models.query import QuerySet
from django.db.models.sql.constants import INNER
from django.db.models.sql.datastructures import Join

from utilmeta.conf._lookup import current_service
from utilmeta.utils.exceptions import NotFound, ParseError

if TYPE_CHECKING:  # the schema layer calls this module, never the reverse
    from utilmeta.core.orm.fields import Field
    from utilmeta.core.orm.schema import Schema

__all__ = ["Plan", "compile_plan", "prepare", "Selection", "SchemaError", "SchemaWarning"]

_ROW_NUMBER = "_um_row"
_EMPTY: Mapping[str, Any] = types.MappingProxyType({})

#: the Python type each Django field gives in a row (checked in order: subclasses first)
_NATURAL: tuple[tuple[type[models.Field], type], ...] = (
    (models.BooleanField, bool),
    (models.IntegerField, int),
    (models.AutoField, int),
    (models.FloatField, float),
    (models.DecimalField, Decimal),
    (models.CharField, str),
    (models.TextField, str),
    (models.DateTimeField, datetime),
    (models.DateField, date),
    (models.TimeField, time),
    (models.DurationField, timedelta),
    (models.UUIDField, UUID),
)


class SchemaError(TypeError):
    """An ``orm.Schema`` declaration that cannot be queried; says which field and why."""


class SchemaWarning(UserWarning):
    """A schema field the plan leaves out (a required field that is not the model's)."""


def is_schema(tp: Any) -> bool:
    """``tp`` is an ``orm.Schema[Model]`` class (told by its attributes: this module is below the
    schema layer and does not import it)."""
    return isinstance(tp, type) and getattr(tp, "__model__", None) is not None and hasattr(tp, "__orm_fields__")


def _preference(name: str, default: Any) -> Any:
    """A ``Preference`` option of the current service (its default without one)."""
    service = current_service()
    preference = service.preference if service is not None else None
    return getattr(preference, name, default)


# -- annotations -------------------------------------------------------------------------------


def _shape(annotation: Any) -> tuple[bool, Any, bool]:
    """``(many, item, optional)`` of a field's annotation: ``List[X]`` is many of X,
    ``Optional[X]`` optional X; ``msgspec.UnsetType`` in a union is not a value."""
    optional = False
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        args = get_args(annotation)
        values = [a for a in args if a is not type(None) and a is not msgspec.UnsetType]
        optional = type(None) in args
        if len(values) == 1:
            annotation = values[0]
            origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple, set, frozenset):
        args = get_args(annotation)
        return True, (args[0] if args else Any), optional
    if origin is not None and isinstance(origin, type) and issubclass(origin, typing.Sequence) and origin is not str:
        args = get_args(annotation)
        return True, (args[0] if args else Any), optional
    return False, annotation, optional


def _converter(field: Any, annotation: Any) -> Callable[[Any], Any] | None:
    """A conversion from what the database gives for ``field`` to ``annotation``, or None when
    the value already has that type."""
    _, item, _ = _shape(annotation)
    if item is Any or item is object:
        return None
    natural = None
    if isinstance(field, models.Field):
        natural = next((py for cls, py in _NATURAL if isinstance(field, cls)), None)
        if isinstance(field, models.ForeignKey | models.OneToOneField):
            target = field.target_field
            natural = next((py for cls, py in _NATURAL if isinstance(target, cls)), None)
    elif field is int:
        natural = int
    if natural is not None and item is natural:
        return None
    if isinstance(field, models.JSONField) and item in (dict, list):
        return None

    def convert(value: Any, _type: Any = annotation) -> Any:
        return value if value is None else msgspec.convert(value, type=_type, strict=False)

    return convert


# -- relations: each is one query for all the rows ----------------------------------------------


class _ToMany:
    """A to-many source: :meth:`fetch` maps every owner key to its value (a list, or a value)."""

    key_index: int

    def fetch(self, keys: list[Any], using: str, context: Mapping[str, Any]) -> dict[Any, Any]:
        raise NotImplementedError

    async def afetch(self, keys: list[Any], using: str, context: Mapping[str, Any]) -> dict[Any, Any]:
        raise NotImplementedError


class _Values(_ToMany):
    """``orm.Field('tags.name')`` / ``tags: List[int]``: values through a to-many path, from the
    owner's model (one query, the owner key selected beside the value)."""

    def __init__(self, model: type[models.Model], path: str, key_index: int, convert: Callable[[Any], Any] | None):
        self.model = model
        self.path = path
        self.key_index = key_index
        self.convert = convert

    def _query(self, keys: list[Any], using: str) -> QuerySet:
        return self.model._default_manager.db_manager(using).filter(pk__in=keys).values_list("pk", self.path)

    def _group(self, rows: Iterable[tuple[Any, Any]]) -> dict[Any, Any]:
        grouped: dict[Any, list[Any]] = {}
        convert = self.convert
        for key, value in rows:
            if value is not None:
                grouped.setdefault(key, []).append(value if convert is None else convert(value))
        return grouped

    def fetch(self, keys: list[Any], using: str, context: Mapping[str, Any]) -> dict[Any, Any]:
        return self._group(self._query(keys, using))

    async def afetch(self, keys: list[Any], using: str, context: Mapping[str, Any]) -> dict[Any, Any]:
        return self._group([row async for row in self._query(keys, using)])


class _Related(_ToMany):
    """``comments: List[CommentSchema]``: the related model's rows with the link back to the
    owner as their first column, grouped by it (one query; with ``limit``, ``ROW_NUMBER()`` over
    each owner's rows keeps ``offset < n ≤ limit``)."""

    def __init__(
        self,
        plan: Plan,
        link: str,
        key_index: int,
        queryset: QuerySet | None = None,
        window: tuple[int, int | None] | None = None,
    ):
        self.plan = plan
        self.link = link
        self.key_index = key_index
        self.queryset = queryset
        self.window = window
        if window is not None:  # the ranking of each owner's rows, built once
            base = queryset if queryset is not None else plan.model._default_manager.all()
            order = base.query.order_by or plan.model._meta.ordering or ("pk",)
            ranking = [_order(o) for o in order]
            self.rank = Window(RowNumber(), partition_by=F(link), order_by=ranking)
            # the rows in the window's own order (owner, then rank): one sort serves both
            self.order = [F(link).asc(), *ranking]

    def _query(self, keys: list[Any], using: str) -> QuerySet:
        base = self.queryset if self.queryset is not None else self.plan.model._default_manager.all()
        query = base.using(using).filter(**{f"{self.link}__in": keys})
        if self.window is not None:
            low, high = self.window
            query = query.annotate(**{_ROW_NUMBER: self.rank}).order_by(*self.order)
            if low:
                query = query.filter(**{f"{_ROW_NUMBER}__gt": low})
            if high is not None:
                query = query.filter(**{f"{_ROW_NUMBER}__lte": high})
        return self.plan.select(query)

    def fetch(self, keys: list[Any], using: str, context: Mapping[str, Any]) -> dict[Any, Any]:
        rows = list(self._query(keys, using))
        return _group(rows, self.plan.instances(rows, using, context))

    async def afetch(self, keys: list[Any], using: str, context: Mapping[str, Any]) -> dict[Any, Any]:
        rows = [row async for row in self._query(keys, using)]
        return _group(rows, await self.plan.ainstances(rows, using, context))


class _Function(_ToMany):
    """``orm.Field(func)`` with ``def func(*pks, **context) -> {pk: value}``: one call with every
    key; its keyword-only parameters are taken from ``serialize(..., context={...})``. A nested
    schema's keys are serialized in one more query."""

    def __init__(
        self, func: Callable[..., Any], key_index: int, plan: Plan | None, many: bool, params: tuple[str, ...]
    ):
        self.func = func
        self.key_index = key_index
        self.plan = plan
        self.many = many
        self.params = params  # the keyword-only parameters, taken from the context

    def _keys(self, mapping: dict[Any, Any]) -> list[Any]:
        if self.many:
            return list(dict.fromkeys(k for ks in mapping.values() for k in ks or ()))
        return list(dict.fromkeys(k for k in mapping.values() if k is not None))

    def _resolve(self, mapping: dict[Any, Any], objects: dict[Any, Any]) -> dict[Any, Any]:
        if self.many:
            return {owner: [objects[k] for k in ks or () if k in objects] for owner, ks in mapping.items()}
        return {owner: objects.get(k) for owner, k in mapping.items()}

    def _call(self, keys: list[Any], context: Mapping[str, Any]) -> Any:
        if not self.params:
            return self.func(*keys)
        return self.func(*keys, **{name: context[name] for name in self.params if name in context})

    def fetch(self, keys: list[Any], using: str, context: Mapping[str, Any]) -> dict[Any, Any]:
        mapping = dict(self._call(keys, context) or {})
        if self.plan is None:
            return mapping
        return self._resolve(mapping, self.plan.by_key(self._keys(mapping), using, context))

    async def afetch(self, keys: list[Any], using: str, context: Mapping[str, Any]) -> dict[Any, Any]:
        result = self._call(keys, context)
        mapping = dict((await result if inspect.isawaitable(result) else result) or {})
        if self.plan is None:
            return mapping
        return self._resolve(mapping, await self.plan.aby_key(self._keys(mapping), using, context))


class _ByKey(_ToMany):
    """A single related row whose key the root query selects (``orm.Field(qs.filter(x=OuterRef('pk'))[:1])``
    as a schema): the rows of all those keys, in one query."""

    def __init__(self, plan: Plan, key_index: int):
        self.plan = plan
        self.key_index = key_index

    def fetch(self, keys: list[Any], using: str, context: Mapping[str, Any]) -> dict[Any, Any]:
        return self.plan.by_key(keys, using, context)

    async def afetch(self, keys: list[Any], using: str, context: Mapping[str, Any]) -> dict[Any, Any]:
        return await self.plan.aby_key(keys, using, context)


def _finisher(
    names: tuple[str, ...], properties: dict[str, Callable[[Any], Any]], unset: tuple[str, ...] = ()
) -> Callable[..., Any]:
    """After an instance is built: its no_input fields set, then its ``@property`` outputs, then
    the fields a selection left out (queried only for a property) unset again."""

    def finish(obj: Any, *values: Any) -> Any:
        for name, value in zip(names, values, strict=True):
            setattr(obj, name, value)
        for name, getter in properties.items():
            setattr(obj, name, getter(obj))
        for name in unset:
            setattr(obj, name, msgspec.UNSET)
        return obj

    return finish


def _annotated_sources_taken(schema: type[Schema], sources: Mapping[str, Any]) -> None:
    """A source in ``Annotated[type, Count(...)]`` is taken when the class is made; one whose
    annotation could not be evaluated then (a name defined later) is an error here, never a
    field left to its default in silence."""
    for name, hint in get_type_hints(schema, include_extras=True).items():
        found = [m for m in getattr(hint, "__metadata__", ()) if hasattr(m, "resolve_expression") or _is_field(m)]
        if found and name not in sources:
            raise SchemaError(
                f"{schema.__qualname__}.{name}: the query source in its Annotated[...] ({found[0]!r}) could not "
                "be read when the class was made (a name in the annotation was not defined yet); declare it "
                "as the field's value instead: orm.Field(<source>, default=...)"
            )


def _is_field(value: Any) -> bool:
    """An ``orm.Field`` (recognised by its options: this module does not import the schema layer)."""
    return hasattr(value, "defer_default") and hasattr(value, "queryset")


def _drive_from_root(query: Any) -> None:
    """MySQL/MariaDB: the joins along foreign keys become LEFT OUTER JOINs, which the optimizer
    must read after the row that holds the key. On an INNER JOIN MariaDB may start from the
    small related table (200 users), join every article, sort them all and only then keep the
    page (``ORDER BY created DESC LIMIT 500``: 100 ms on 20,000 articles, against 4 ms walking
    the ``created`` index). A foreign key's row exists (the key is a constraint, and a NULL key
    is LEFT-joined already), so the rows are the same; a filter on the joined table still
    filters, its NULLs being false."""
    for alias, join in list(query.alias_map.items()):
        if (
            isinstance(join, Join)
            and join.join_type == INNER
            and isinstance(join.join_field, models.ForeignKey)
            and join.filtered_relation is None
        ):
            query.alias_map[alias] = join.promote()


def _group(rows: list[tuple[Any, ...]], objects: list[Any]) -> dict[Any, list[Any]]:
    grouped: dict[Any, list[Any]] = {}
    for row, obj in zip(rows, objects, strict=True):
        grouped.setdefault(row[0], []).append(obj)
    return grouped


def _order(spec: Any) -> Any:
    if isinstance(spec, str):
        return F(spec[1:]).desc() if spec.startswith("-") else F(spec).asc()
    return spec


def _keys(rows: list[tuple[Any, ...]], index: int) -> list[Any]:
    return list(dict.fromkeys(row[index] for row in rows if row[index] is not None))


# -- the plan ----------------------------------------------------------------------------------


class Plan:
    """One query's columns and annotations, its to-many sources and the generated ``build(row,
    ctx)``; a plan for a to-many relation has the link to its owner as column 0."""

    def __init__(self, schema: type[Schema], model: type[models.Model]):
        self.schema = schema
        self.model = model
        self.pk_name = model._meta.pk.name
        self.columns: list[Any] = []
        self.annotations: dict[str, Any] = {}
        self.relations: list[_ToMany] = []
        self.namespace: dict[str, Any] = {}
        self.build: Callable[[tuple[Any, ...], list[dict[Any, Any]]], Any] = None  # type: ignore[assignment]
        self.pk_index = 0
        self.gather = False
        self.params: dict[str, bool] = {}  # context names its functions take → required

    # compile-time helpers

    def column(self, lookup: str) -> int:
        if lookup in self.columns:
            return self.columns.index(lookup)
        self.columns.append(lookup)
        return len(self.columns) - 1

    def alias(self, expression: Any) -> int:
        name = f"_um{len(self.annotations)}"
        self.annotations[name] = expression
        return self.column(name)

    def name(self, obj: Any) -> str:
        name = f"_n{len(self.namespace)}"
        self.namespace[name] = obj
        return name

    def finish(self, expression: str) -> None:
        source = f"def build(r, c):\n    return {expression}\n"
        exec(compile(source, f"<orm plan of {self.schema.__qualname__}>", "exec"), self.namespace)
        self.build = self.namespace["build"]

    # run time

    def select(self, queryset: QuerySet) -> QuerySet:
        """``queryset`` selecting this plan's columns (a slice of it is kept)."""
        query = queryset.query
        if query.is_sliced:
            low, high = query.low_mark, query.high_mark
            queryset = queryset._chain()
            queryset.query.clear_limits()
            selected = self.select(queryset)
            selected.query.set_limits(low, high)
            return selected
        if self.annotations:
            queryset = queryset.annotate(**self.annotations)
        selected = queryset.values_list(*self.columns)
        if connections[selected.db].vendor == "mysql":
            _drive_from_root(selected.query)
        return selected

    def instances(self, rows: list[tuple[Any, ...]], using: str, context: Mapping[str, Any] = _EMPTY) -> list[Any]:
        ctx = [r.fetch(_keys(rows, r.key_index), using, context) if rows else {} for r in self.relations]
        build = self.build
        return [build(row, ctx) for row in rows]

    async def ainstances(
        self, rows: list[tuple[Any, ...]], using: str, context: Mapping[str, Any] = _EMPTY
    ) -> list[Any]:
        ctx: list[dict[Any, Any]]
        if not rows:
            ctx = [{} for _ in self.relations]
        elif self.gather and len(self.relations) > 1:  # Preference(orm_default_gather_async_fields)
            fetches = (r.afetch(_keys(rows, r.key_index), using, context) for r in self.relations)
            ctx = list(await asyncio.gather(*fetches))
        else:
            ctx = [await r.afetch(_keys(rows, r.key_index), using, context) for r in self.relations]
        build = self.build
        return [build(row, ctx) for row in rows]

    def _queryset(self, source: Any, using: str | None) -> tuple[QuerySet, list[Any] | None]:
        """The queryset for a QuerySet, a model instance or a list of primary keys (whose order
        is kept)."""
        manager = self.model._default_manager.db_manager(using)
        if hasattr(type(source), "__query_parts__"):  # an orm.Query instance
            if not issubclass(self.model, type(source).__model__):
                raise TypeError(
                    f"{self.schema.__name__} serializes {self.model.__name__} rows, not {type(source).__name__}"
                )
            source = source.get_queryset()
        if isinstance(source, QuerySet):
            if not issubclass(source.model, self.model):
                raise TypeError(
                    f"{self.schema.__name__} serializes {self.model.__name__} rows, "
                    f"not a {source.model.__name__} QuerySet"
                )
            return (source if using is None else source.using(using)), None
        if isinstance(source, models.Model):
            return manager.filter(pk=source.pk), None
        if isinstance(source, str | bytes) or not isinstance(source, Iterable):
            raise TypeError(f"{self.schema.__name__}.serialize() takes a QuerySet or a list of keys, not {source!r}")
        keys = list(source)
        return manager.filter(pk__in=keys), keys

    def _ordered(self, rows: list[tuple[Any, ...]], objects: list[Any], keys: list[Any] | None) -> list[Any]:
        if keys is None:
            return objects
        by_key = {row[self.pk_index]: obj for row, obj in zip(rows, objects, strict=True)}
        return [by_key[k] for k in keys if k in by_key]

    def serialize(self, source: Any, using: str | None = None, context: Mapping[str, Any] = _EMPTY) -> list[Any]:
        queryset, keys = self._queryset(source, using)
        rows = list(self.select(queryset))
        return self._ordered(rows, self.instances(rows, queryset.db, context), keys)

    async def aserialize(self, source: Any, using: str | None = None, context: Mapping[str, Any] = _EMPTY) -> list[Any]:
        queryset, keys = self._queryset(source, using)
        rows = [row async for row in self.select(queryset)]
        return self._ordered(rows, await self.ainstances(rows, queryset.db, context), keys)

    def by_key(self, keys: list[Any], using: str, context: Mapping[str, Any] = _EMPTY) -> dict[Any, Any]:
        if not keys:
            return {}
        rows = list(self.select(self.model._default_manager.db_manager(using).filter(pk__in=keys)))
        objects = self.instances(rows, using, context)
        return {row[self.pk_index]: obj for row, obj in zip(rows, objects, strict=True)}

    async def aby_key(self, keys: list[Any], using: str, context: Mapping[str, Any] = _EMPTY) -> dict[Any, Any]:
        if not keys:
            return {}
        rows = [row async for row in self.select(self.model._default_manager.db_manager(using).filter(pk__in=keys))]
        objects = await self.ainstances(rows, using, context)
        return {row[self.pk_index]: obj for row, obj in zip(rows, objects, strict=True)}

    def _one(self, obj: Any, using: str | None) -> QuerySet:
        if isinstance(obj, QuerySet):
            queryset = obj if using is None else obj.using(using)
        else:
            key = obj.pk if isinstance(obj, models.Model) else obj
            queryset = self.model._default_manager.db_manager(using).filter(pk=key)
        return self.select(queryset)[:1]

    def _missing(self, obj: Any) -> NotFound:
        if isinstance(obj, QuerySet):
            return NotFound(f"{self.model.__name__} not found (the queryset has no rows)")
        key = obj.pk if isinstance(obj, models.Model) else obj
        return NotFound(f"{self.model.__name__} not found ({self.pk_name}={key!r})")

    def init(self, obj: Any, using: str | None = None, context: Mapping[str, Any] = _EMPTY) -> Any:
        try:
            query = self._one(obj, using)
            rows = list(query)
        except (ValueError, TypeError, ValidationError):  # a key of the wrong type matches no row
            rows = []
        if not rows:
            raise self._missing(obj)
        return self.instances(rows, query.db, context)[0]

    async def ainit(self, obj: Any, using: str | None = None, context: Mapping[str, Any] = _EMPTY) -> Any:
        try:
            query = self._one(obj, using)
            rows = [row async for row in query]
        except (ValueError, TypeError, ValidationError):
            rows = []
        if not rows:
            raise self._missing(obj)
        return (await self.ainstances(rows, query.db, context))[0]


# -- compiling ---------------------------------------------------------------------------------


def compile_plan(schema: type[Schema], selection: Selection | None = None) -> Plan:
    """The plan of ``schema`` (called once per schema class, on first use), or of the fields a
    :class:`Selection` keeps (once per schema class and selection)."""
    compiler = _Compiler(
        None,
        int(_preference("orm_schema_query_max_depth", 100)),
        bool(_preference("orm_raise_non_exists_required_field", False)),
        bool(_preference("orm_default_gather_async_fields", False)),
        {},
    )
    plan = compiler.root(schema, selection=selection)
    plan.params = compiler.params
    return plan


class Selection:
    """The fields a client asked for (``orm.Scope``): ``includes`` maps a field name to the
    selection inside it (None: all of it; ``includes=None``: every field), ``excludes`` names
    what to leave out the same way. ``params`` name the query parameters in a 400;
    ``ignore_invalid`` drops unknown names instead."""

    __slots__ = ("includes", "excludes", "params", "ignore_invalid", "key")

    def __init__(
        self,
        includes: dict[str, Any] | None,
        excludes: dict[str, Any] | None = None,
        params: tuple[str, str] = ("includes", "excludes"),
        ignore_invalid: bool = False,
    ):
        self.includes = includes
        self.excludes = excludes or None
        self.params = params
        self.ignore_invalid = ignore_invalid
        frozen = (None if includes is None else _frozen(includes), _frozen(excludes or {}))
        self.key = (*frozen, ignore_invalid)

    @staticmethod
    def tree(paths: Any, param: str) -> dict[str, Any]:
        """Dotted paths (``'author.username'``; a comma-separated string is split) as a tree."""
        tree: dict[str, Any] = {}
        for value in [paths] if isinstance(paths, str) else paths:
            for path in str(value).split(","):
                names = [n.strip() for n in path.split(".")]
                if not all(names):
                    if path.strip():
                        raise _bad_selection(param, f"{path.strip()!r} is not a field path (name.name...)")
                    continue
                node = tree
                for name in names[:-1]:
                    if name in node and node[name] is None:
                        break  # the whole field is already named
                    node = node.setdefault(name, {})
                else:
                    node[names[-1]] = None
        return tree

    def choose(self, schema: type[Schema]) -> dict[str, Selection | None]:
        """The fields of ``schema`` to output, each with its own selection (None: all of it)."""
        fields = schema.__struct_fields__
        wire = schema.__struct_encode_fields__  # a field's name in JSON: its alias, if it has one
        names = dict(zip(wire, fields, strict=True))  # a client names a field as the JSON does (or by attribute)
        includes = None if self.includes is None else {names.get(k, k): v for k, v in self.includes.items()}
        excludes = {names.get(k, k): v for k, v in (self.excludes or {}).items()}
        for tree, param in ((includes, self.params[0]), (excludes, self.params[1])):
            unknown = [name for name in tree or () if name not in fields]
            if unknown and not self.ignore_invalid:
                shown = ", ".join(map(repr, unknown))
                raise _bad_selection(param, f"{schema.__name__} has no field {shown}; its fields: {', '.join(wire)}")
        chosen: dict[str, Selection | None] = {}
        for name in fields:
            included = None if includes is None else includes.get(name, MISSING)
            excluded = excludes.get(name, MISSING)
            if included is MISSING or excluded is None:
                continue
            if included is None and excluded is MISSING:
                chosen[name] = None
            else:
                inner_excludes = None if excluded is MISSING else excluded
                chosen[name] = Selection(included, inner_excludes, self.params, self.ignore_invalid)
        return chosen


MISSING: Any = object()


def _frozen(tree: dict[str, Any]) -> Any:
    return tuple(sorted((k, None if v is None else _frozen(v)) for k, v in tree.items()))


def _bad_selection(param: str, message: str) -> ParseError:
    return ParseError([{"location": "query", "name": param, "message": message}])


#: plans kept per schema class for the selections clients ask for; past it, the oldest go
MAX_SELECTION_PLANS = 256


def prepare(schema: type[Schema], plan: Plan, source: Any, context: Mapping[str, Any] | None) -> tuple[Plan, Any]:
    """The plan and context of one ``serialize``/``init`` call: an ``orm.Query``'s selection
    (``get_context()``) and ``context`` (``includes``/``excludes``: dotted field paths; any
    other key: a keyword-only parameter of the schema's relational functions) checked against
    what the schema's functions take."""
    values: dict[str, Any] = {}
    if hasattr(type(source), "__query_parts__"):  # an orm.Query instance
        values.update(source.get_context())
    if context:
        values.update(context)
    includes = values.pop("includes", None)
    excludes = values.pop("excludes", None)
    unknown = [name for name in values if name not in plan.params]
    if unknown:
        taken = ", ".join(plan.params) or "none"
        raise TypeError(
            f"{schema.__name__}: context {', '.join(map(repr, unknown))} is taken by none of its relational "
            f"functions (their keyword-only parameters: {taken})"
        )
    missing = [name for name, required in plan.params.items() if required and name not in values]
    if missing:
        raise TypeError(
            f"{schema.__name__}: its relational functions need {', '.join(map(repr, missing))}: "
            f"serialize(..., context={{{missing[0]!r}: ...}})"
        )
    if includes is None and excludes is None:
        return plan, values
    params = (getattr(includes, "param", "includes"), getattr(excludes, "param", "excludes"))
    ignore = bool(getattr(includes, "ignore_invalid", False) or getattr(excludes, "ignore_invalid", False))
    selection = Selection(
        None if includes is None else includes if isinstance(includes, dict) else Selection.tree(includes, params[0]),
        None if excludes is None else excludes if isinstance(excludes, dict) else Selection.tree(excludes, params[1]),
        params,
        ignore,
    )
    plans = schema.__dict__["__plans__"]
    selected = plans.get(selection.key)
    if selected is None:
        selected = compile_plan(schema, selection)
        if len(plans) >= MAX_SELECTION_PLANS:
            del plans[next(iter(plans))]
        plans[selection.key] = selected
    return selected, values


def _walk(model: type[models.Model], path: str) -> list[Any]:
    """The model fields along a ``__`` path (a foreign key's ``attname`` is accepted)."""
    chain: list[Any] = []
    current = model
    for segment in path.split("__"):
        try:
            field = current._meta.get_field(segment)
        except FieldDoesNotExist:
            if segment == "pk":
                field = current._meta.pk
            else:
                matches = [f for f in current._meta.concrete_fields if f.attname == segment]
                if not matches:
                    raise
                field = matches[0]
        chain.append(field)
        if not field.is_relation:
            break
        current = field.related_model
    return chain


def _link(field: Any) -> str:
    """The lookup from a to-many relation's related model back to the owner."""
    if field.concrete:  # a forward many-to-many
        return str(field.related_query_name())
    return str(field.field.name)  # a reverse foreign key or many-to-many


def _queryset_link(owner: type[models.Model], queryset: QuerySet, relation: str | None) -> str:
    """The lookup from ``queryset``'s model back to ``owner``: through the named relation, or the
    one foreign key/many-to-many of that model that points at ``owner``."""
    if relation:
        field = owner._meta.get_field(relation)
        if not (field.one_to_many or field.many_to_many):
            raise SchemaError(f"{relation!r} is not a to-many relation of {owner.__name__}")
        if field.related_model is not queryset.model:
            raise SchemaError(
                f"{relation!r} relates {owner.__name__} to {field.related_model.__name__}, "
                f"not {queryset.model.__name__}"
            )
        return _link(field)
    links = [
        f.name
        for f in queryset.model._meta.get_fields()
        if f.is_relation
        and f.concrete
        and f.related_model is owner
        and (f.many_to_one or f.one_to_one or f.many_to_many)
    ]
    if len(links) != 1:
        raise SchemaError(
            f"{queryset.model.__name__} has {len(links) or 'no'} relations to {owner.__name__}: "
            f"name the one to use, orm.Field('<relation>', queryset=...)"
        )
    return links[0]


_PLAIN_AGGREGATES = (Count, Sum, Max, Min, Avg)


def _strip(lookup: str, relation: str) -> str | None:
    """``comments__author`` seen from a comment: ``author``; ``comments``: ``pk``; None when the
    lookup does not go through ``relation``."""
    if lookup == relation:
        return "pk"
    return lookup[len(relation) + 2 :] if lookup.startswith(relation + "__") else None


def _strip_q(q: Q, relation: str) -> Q | None:
    """A filter on the relation's lookups rewritten from its rows' side; None when some term
    looks elsewhere or compares with an expression (which would be read on the wrong model)."""
    children: list[Any] = []
    for child in q.children:
        if isinstance(child, Q):
            inner = _strip_q(child, relation)
            if inner is None:
                return None
            children.append(inner)
            continue
        lookup, value = child
        stripped = _strip(lookup, relation)
        if stripped is None or hasattr(value, "resolve_expression"):
            return None
        children.append((stripped, value))
    return Q(*children, _connector=q.connector, _negated=q.negated)


def _related_aggregate(model: type[models.Model], expression: Any, outer: OuterRef) -> Any:
    """``Count('comments')`` (also Sum/Max/Min/Avg, with ``filter=``/``distinct=``) over one
    to-many relation, as a subquery on the related table alone, filtered by its key to the
    outer row: ``SELECT COUNT(*) FROM comment WHERE article_id = outer.id`` instead of joining
    the owner table again. None when the aggregate is of another shape."""
    if type(expression) not in _PLAIN_AGGREGATES or set(vars(expression).get("extra", {})) - {"output_field"}:
        return None
    sources = expression.source_expressions
    if len(sources) != 1 or not isinstance(sources[0], F):
        return None
    relation = sources[0].name.split("__", 1)[0]
    try:
        field = model._meta.get_field(relation)
    except FieldDoesNotExist:
        return None
    if not (field.is_relation and (field.one_to_many or field.many_to_many)):
        return None
    source = _strip(sources[0].name, relation)
    condition = None if expression.filter is None else _strip_q(expression.filter, relation)
    if source is None or (expression.filter is not None and condition is None):
        return None
    options: dict[str, Any] = {"filter": condition}
    if expression.distinct:
        options["distinct"] = True
    if expression.default is not None:
        options["default"] = expression.default
    if "output_field" in vars(expression):
        options["output_field"] = expression.output_field
    link = _link(field)
    rows = field.related_model._default_manager.filter(**{link: outer}).order_by().values(link)
    value = Subquery(rows.annotate(_um_value=type(expression)(source, **options)).values("_um_value")[:1])
    if type(expression) is Count:  # no related row: no group, and a count of 0
        return Coalesce(value, 0)
    return value


class _Compiler:
    """Compiles one plan; a to-many relation's plan is compiled by another (:meth:`root`), with
    the same options."""

    def __init__(self, plan: Plan | None, max_depth: int, strict: bool, gather: bool, params: dict[str, bool]):
        self.plan: Plan = plan  # type: ignore[assignment]  # None only to call root()
        self.max_depth = max_depth
        self.strict = strict  # orm_raise_non_exists_required_field
        self.gather = gather  # orm_default_gather_async_fields
        self.params = params  # the context names the plan's functions take → whether required

    def root(
        self, schema: type[Schema], link: str | None = None, depth: int = 0, selection: Selection | None = None
    ) -> Plan:
        """The plan of ``schema`` queried on its own (``link``: the lookup back to the owner,
        selected first, for a to-many relation's plan)."""
        plan = Plan(schema, schema.__model__)
        plan.gather = self.gather
        if link is not None:
            plan.column(link)
        compiler = _Compiler(plan, self.max_depth, self.strict, self.gather, self.params)
        plan.finish(compiler.schema(schema, "", depth, selection))
        return plan

    def where(self, schema: type[Schema], name: str) -> str:
        return f"{schema.__qualname__}.{name}"

    def schema(self, schema: type[Schema], prefix: str, depth: int, selection: Selection | None = None) -> str:
        """The expression that builds ``schema`` from a row; its columns are added to the plan
        under ``prefix`` (``'author__'`` for a nested foreign key). A field the selection leaves
        out is neither queried nor output (unset); a selected ``@property`` may read any field,
        so then every field is queried and the others unset after it is computed."""
        if depth > self.max_depth:
            raise SchemaError(
                f"{schema.__qualname__}: schemas nest deeper than orm_schema_query_max_depth "
                f"({self.max_depth}); a cycle of nested schemas needs a shallower declaration"
            )
        plan = self.plan
        pk_index = plan.column(prefix + schema.__model__._meta.pk.name)  # never "pk": one column, one name
        if not prefix:
            plan.pk_index = pk_index
        hints = get_type_hints(schema)
        sources = schema.__orm_fields__
        _annotated_sources_taken(schema, sources)
        defaults = {f.name for f in msgspec.structs.fields(schema) if f.required is False}
        parts = []
        later = []  # no_input fields: set after construction (the constructor drops them)
        properties = schema.__orm_properties__
        chosen: dict[str, Selection | None] = dict.fromkeys(schema.__struct_fields__)
        unset: tuple[str, ...] = ()
        if selection is not None:
            chosen = selection.choose(schema)
            if any(name in properties for name in chosen):
                unset = tuple(name for name in schema.__struct_fields__ if name not in chosen)
                chosen = {name: chosen.get(name) for name in schema.__struct_fields__}
            properties = {name: getter for name, getter in properties.items() if name in chosen}
        hidden = []  # no_output: queried (a property may read it), then left out of the answer
        for name in schema.__struct_fields__:
            source = sources.get(name)
            if name not in chosen:
                expression: str | None = plan.name(msgspec.UNSET)
            elif name in properties:
                continue
            else:
                expression = self.field(
                    schema, name, hints[name], source, prefix, pk_index, depth, name in defaults, chosen[name]
                )
                if source is not None and source.drops_output(schema.__schema_mode__):
                    hidden.append(name)
            if expression is None:
                continue
            if name in schema.__no_input__:
                later.append((name, expression))
            else:
                parts.append(f"{name}={expression}")
        built = f"{plan.name(schema)}({', '.join(parts)})"
        unset += tuple(hidden)
        if not later and not properties and not unset:
            return built
        finish = plan.name(_finisher(tuple(n for n, _ in later), properties, unset))
        return f"{finish}({', '.join([built, *(e for _, e in later)])})"

    def field(
        self,
        schema: type[Schema],
        name: str,
        annotation: Any,
        source: Field | None,
        prefix: str,
        pk_index: int,
        depth: int,
        has_default: bool,
        selection: Selection | None = None,
    ) -> str | None:
        model = schema.__model__
        where = self.where(schema, name)
        if selection is not None and not is_schema(_shape(annotation)[1]):
            param = selection.params[0] if selection.includes is not None else selection.params[1]
            raise _bad_selection(param, f"{schema.__name__}.{name} is not a schema: it has no fields to select")
        if source is None or source.field is None and source.queryset is None:
            return self.lookup(
                schema,
                name,
                name,
                annotation,
                prefix,
                pk_index,
                depth,
                # not a model field, with a declared default (plain, or orm.Field(default=...)): that is its value
                has_default=source.has_default if source is not None else has_default,
                selection=selection,
            )
        value = source.field
        if source.queryset is not None:
            return self.queryset(schema, name, annotation, source.queryset, value, pk_index, depth, selection)
        if isinstance(value, str):
            path = value.replace(".", "__")
            return self.lookup(schema, name, path, annotation, prefix, pk_index, depth, selection=selection)
        if isinstance(value, QuerySet):
            return self.single(schema, name, annotation, value, prefix, depth, selection)
        if hasattr(value, "resolve_expression"):
            return self.expression(model, value, annotation, prefix)
        if isinstance(value, classmethod | staticmethod):  # declared in the schema's body
            value = value.__get__(None, schema)
        if callable(value):
            return self.function(schema, name, annotation, value, pk_index, depth, selection)
        raise SchemaError(
            f"{where}: orm.Field({value!r}) is neither a lookup, an expression, a queryset nor a function"
        )

    def lookup(
        self,
        schema: type[Schema],
        name: str,
        path: str,
        annotation: Any,
        prefix: str,
        pk_index: int,
        depth: int,
        has_default: bool = False,
        selection: Selection | None = None,
    ) -> str | None:
        model = schema.__model__
        where = self.where(schema, name)
        try:
            chain = _walk(model, path)
        except FieldDoesNotExist:
            if has_default:
                return None  # not a model field: the declared default is the value
            message = f"{where}: {model.__name__} has no field {path.replace('__', '.')!r}"
            if self.strict:
                raise SchemaError(message) from None
            warnings.warn(
                f"{message}; it is left unset in the output "
                f"(Preference(orm_raise_non_exists_required_field=True) makes this an error)",
                SchemaWarning,
                stacklevel=2,
            )
            return self.plan.name(msgspec.UNSET)
        many, item, optional = _shape(annotation)
        to_many = [f for f in chain if f.is_relation and (f.one_to_many or f.many_to_many)]
        last = chain[-1]
        plan = self.plan
        if to_many:
            if not many:
                raise SchemaError(
                    f"{where}: {path.replace('__', '.')!r} has many values per row: annotate it as List[...]"
                )
            if is_schema(item):
                if len(chain) != 1:
                    raise SchemaError(
                        f"{where}: a list of {item.__name__} through {path.replace('__', '.')!r} is not supported; "
                        f"declare it on the schema of the related model"
                    )
                self.check_model(where, item, last.related_model)
                related = self.root(item, _link(last), depth + 1, selection)
                return self.relation(_Related(related, _link(last), pk_index), pk_index, many=True)
            target = last if not last.is_relation else last.related_model._meta.pk
            if last.is_relation:
                path = f"{path}__pk"
            relation = _Values(model, path, pk_index, _converter(target, item))
            return self.relation(relation, pk_index, many=True)
        if many:
            raise SchemaError(f"{where}: {path.replace('__', '.')!r} has one value per row, annotated as a list")
        if last.is_relation and is_schema(item):
            self.check_model(where, item, last.related_model)
            nested = prefix + path + "__"
            expression = self.schema(item, nested, depth + 1, selection)
            key = plan.column(nested + last.related_model._meta.pk.name)
            return f"({expression} if r[{key}] is not None else None)"
        if last.is_relation and (last.one_to_many or last.many_to_many):
            raise SchemaError(f"{where}: unexpected relation {path!r}")  # pragma: no cover - to_many above
        index = plan.column(prefix + path)
        target = last.target_field if isinstance(last, models.ForeignKey) else last
        if last.is_relation and not last.concrete:  # a reverse one-to-one: its key
            target = last.related_model._meta.pk
        convert = _converter(target, annotation)
        return f"r[{index}]" if convert is None else f"{plan.name(convert)}(r[{index}])"

    def check_model(self, where: str, schema: type[Schema], model: type[models.Model]) -> None:
        if not issubclass(model, schema.__model__):
            raise SchemaError(
                f"{where}: {schema.__name__} is a schema of {schema.__model__.__name__}, "
                f"the field holds {model.__name__}"
            )

    def relation(self, relation: _ToMany, pk_index: int, many: bool) -> str:
        plan = self.plan
        plan.relations.append(relation)
        index = len(plan.relations) - 1
        return f"(c[{index}].get(r[{pk_index}]) or [])" if many else f"c[{index}].get(r[{pk_index}])"

    def annotate(self, model: type[models.Model], expression: Any, prefix: str) -> int:
        """The column of an expression annotated onto the query: an aggregate, or any expression
        of a nested model, through a correlated subquery on that model's primary key."""
        if getattr(expression, "contains_aggregate", False):
            direct = _related_aggregate(model, expression, OuterRef(prefix + "pk"))
            if direct is not None:
                return self.plan.alias(direct)
        if prefix or getattr(expression, "contains_aggregate", False):
            inner = model._default_manager.filter(pk=OuterRef(prefix + "pk")).annotate(_um_value=expression)
            expression = Subquery(inner.values("_um_value")[:1])
        return self.plan.alias(expression)

    def expression(self, model: type[models.Model], expression: Any, annotation: Any, prefix: str) -> str:
        plan = self.plan
        index = self.annotate(model, expression, prefix)
        many, item, _ = _shape(annotation)
        convert = None if item in (int, bool, float, str, Any) and not many else _converter(None, annotation)
        return f"r[{index}]" if convert is None else f"{plan.name(convert)}(r[{index}])"

    def single(
        self,
        schema: type[Schema],
        name: str,
        annotation: Any,
        queryset: QuerySet,
        prefix: str,
        depth: int,
        selection: Selection | None,
    ) -> str:
        """``orm.Field(Article.objects.filter(author=OuterRef('pk')).order_by(...)[:1])``: the
        first row of a queryset correlated with each row, as a subquery of the root query; as a
        schema, its key is selected and the rows of all those keys fetched in one more query."""
        model = schema.__model__
        where = self.where(schema, name)
        many, item, _ = _shape(annotation)
        if many:
            raise SchemaError(
                f"{where}: a queryset as the field gives one value per row (its first); "
                f"for a list per row declare orm.Field(queryset=...)"
            )
        query = queryset.query
        if query.is_sliced and (query.low_mark, query.high_mark) != (0, 1):
            raise SchemaError(f"{where}: a queryset as the field is its first row: slice it [:1], not more")
        first = queryset if query.is_sliced else queryset[:1]
        if is_schema(item):
            self.check_model(where, item, queryset.model)
            index = self.annotate(model, Subquery(first.values("pk")), prefix)
            related = self.root(item, None, depth + 1, selection)
            plan = self.plan
            plan.relations.append(_ByKey(related, index))
            return f"c[{len(plan.relations) - 1}].get(r[{index}])"
        selected = list(query.values_select) + list(query.annotation_select if query.values_select else ())
        if len(selected) > 1:
            raise SchemaError(f"{where}: a queryset as a value selects one column, not {', '.join(selected)}")
        if not query.values_select:
            first = first.values("pk")
        return self.expression(model, Subquery(first), annotation, prefix)

    def queryset(
        self,
        schema: type[Schema],
        name: str,
        annotation: Any,
        queryset: QuerySet,
        relation: Any,
        pk_index: int,
        depth: int,
        selection: Selection | None = None,
    ) -> str:
        model = schema.__model__
        where = self.where(schema, name)
        many, item, _ = _shape(annotation)
        if not isinstance(queryset, QuerySet):
            raise SchemaError(f"{where}: orm.Field(queryset=...) takes a QuerySet, not {queryset!r}")
        if not many or not is_schema(item):
            raise SchemaError(f"{where}: a queryset field is annotated List[SomeSchema], not {annotation!r}")
        self.check_model(where, item, queryset.model)
        name_given = relation if isinstance(relation, str) else None
        if name_given is None:
            try:
                field = model._meta.get_field(name)
                name_given = name if (field.one_to_many or field.many_to_many) else None
            except FieldDoesNotExist:
                pass
        link = _queryset_link(model, queryset, name_given)
        window = None
        if queryset.query.is_sliced:
            window = (queryset.query.low_mark, queryset.query.high_mark)
            queryset = queryset._chain()
            queryset.query.clear_limits()
        related = self.root(item, link, depth + 1, selection)
        return self.relation(_Related(related, link, pk_index, queryset, window), pk_index, many=True)

    def function(
        self,
        schema: type[Schema],
        name: str,
        annotation: Any,
        func: Callable[..., Any],
        pk_index: int,
        depth: int,
        selection: Selection | None = None,
    ) -> str:
        """``def func(*pks, user_id) -> {pk: value}``: called once with every key; its keyword-only
        parameters are values of ``serialize(..., context=...)``."""
        where = self.where(schema, name)
        try:
            parameters = list(inspect.signature(func).parameters.values())
        except (TypeError, ValueError):
            parameters = []
        if not any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
            raise SchemaError(
                f"{where}: a relational query function takes the keys of all the rows at once, "
                f"def {getattr(func, '__name__', 'func')}(*pks) -> {{pk: value}} (one call, not one per row)"
            )
        others = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_KEYWORD)]
        if others:
            raise SchemaError(
                f"{where}: {getattr(func, '__name__', 'func')}() takes the keys as *pks and context values as "
                f"keyword-only parameters (after *pks), not {', '.join(others)}"
            )
        params = tuple(p.name for p in parameters if p.kind is p.KEYWORD_ONLY)
        for p in parameters:
            if p.kind is p.KEYWORD_ONLY:
                self.params[p.name] = self.params.get(p.name, False) or p.default is p.empty
        many, item, _ = _shape(annotation)
        plan = self.root(item, None, depth + 1, selection) if is_schema(item) else None
        return self.relation(_Function(func, pk_index, plan, many, params), pk_index, many=many)
