"""Writing an ``orm.Schema`` with the Django ORM: ``save``, ``bulk_save``, ``commit``.

What is written: the schema's fields that are the model's own columns (a foreign key by its
key: ``author_id: int`` or ``author: int``) and set on the instance (an unset field is left
alone), and many-to-many keys (``tags: List[int]``), which *replace* the links. With
``with_relations=True``, nested schemas are saved too (a foreign key's first, then the row,
then the rows that point back at it), in one transaction. Fields that are read-only by nature
(lookups, expressions, functions) are never written.

Statements: ``save`` is one INSERT or UPDATE, plus, per many-to-many field, what Django's
``set()`` needs. ``bulk_save`` of N objects is, per batch: one SELECT of which keys exist (only
when keys are given), one bulk INSERT (keys returned where the database can), one bulk UPDATE,
and per many-to-many field one DELETE of the replaced links and one bulk INSERT of the new ones.

Errors: a unique value already taken is a 409 naming the field(s); a foreign key to a missing
row is a 400 naming the field; neither shows SQL or the database's message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import msgspec
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, models, router, transaction

from utilmeta.core.orm.backends.django.compiler import _shape, is_schema
from utilmeta.utils.exceptions import BadRequest, Conflict, NotFound

if TYPE_CHECKING:
    from utilmeta.core.orm.schema import Schema

__all__ = ["Writer", "writer_of"]

UNSET = msgspec.UNSET


class Writer:
    """How one schema class maps to its model's columns and relations (built once per class)."""

    def __init__(self, schema: type[Schema]):
        from typing import get_type_hints

        self.schema = schema
        self.model: type[models.Model] = schema.__model__
        opts = self.model._meta
        self.pk_attname = opts.pk.attname
        self.pk_field: str | None = None  # the schema field holding the key
        self.columns: list[tuple[str, str]] = []  # (schema field, model attname)
        self.many: list[tuple[str, Any]] = []  # (schema field, m2m field): keys
        self.forward: list[tuple[str, Any]] = []  # (schema field, fk field): nested schema
        self.nested_many: list[tuple[str, Any]] = []  # (schema field, relation): list of nested schemas
        hints = get_type_hints(schema)
        self.hints = hints  # resolved once: a nested save reads its children's schema here
        sources = schema.__orm_fields__
        for name in schema.__struct_fields__:
            source = sources.get(name)
            if source is not None and (source.field is not None or source.queryset is not None):
                continue  # read-only by nature
            if source is not None and source.drops_output(schema.__schema_mode__):
                continue  # no_output: the code writes it, if anything does
            field = self._field(name)
            if field is None:
                continue
            many, item, _ = _shape(hints[name])
            if getattr(field, "primary_key", False) or name == "pk":
                self.pk_field = name
                continue
            if field.many_to_many and field.concrete:
                (self.nested_many if is_schema(item) else self.many).append((name, field))
            elif field.one_to_many or (field.many_to_many and not field.concrete):
                if is_schema(item):
                    self.nested_many.append((name, field))
            elif field.is_relation and not field.concrete:  # a reverse one-to-one
                continue
            elif field.is_relation and is_schema(item):
                self.forward.append((name, field))
            elif field.concrete:
                self.columns.append((name, field.attname))

    def _field(self, name: str) -> Any:
        opts = self.model._meta
        if name == "pk":
            return opts.pk
        try:
            return opts.get_field(name)
        except FieldDoesNotExist:
            return next((f for f in opts.concrete_fields if f.attname == name), None)

    # -- values -----------------------------------------------------------------------------

    def key(self, obj: Any) -> Any:
        if self.pk_field is not None:
            value = getattr(obj, self.pk_field)
            return None if value is UNSET else value
        return obj.__dict__.get("_pk")

    def set_key(self, obj: Any, key: Any) -> None:
        if self.pk_field is not None:
            setattr(obj, self.pk_field, key)
        else:
            obj.__dict__["_pk"] = key

    def values(self, obj: Any) -> dict[str, Any]:
        values = {attname: value for name, attname in self.columns if (value := getattr(obj, name)) is not UNSET}
        link = obj.__dict__.get("_link")  # a nested child's key of its parent (see _with)
        if link is not None:
            values[link[0]] = link[1]
        return values

    def links(self, obj: Any) -> dict[Any, list[Any]]:
        """Many-to-many field → the keys to link (only the fields set on ``obj``)."""
        found = {}
        for name, field in self.many:
            value = getattr(obj, name)
            if value is not UNSET and value is not None:
                found[field] = [getattr(v, "pk", v) for v in value]
        return found

    def db(self, using: str | None) -> str:
        return using or router.db_for_write(self.model)

    # -- save -------------------------------------------------------------------------------

    def save(
        self,
        obj: Any,
        must_create: bool = False,
        must_update: bool = False,
        with_relations: bool = False,
        atomic: bool | str = False,
        using: str | None = None,
    ) -> Any:
        if must_create and must_update:
            raise ValueError("save(): must_create or must_update, not both")
        db = self.db(using if isinstance(atomic, bool) else using or atomic)
        trail: list[list[Any]] = []
        with _errors(trail, db), _atomic(db, bool(atomic) or with_relations):
            return self._save(obj, must_create, must_update, with_relations, db, trail)

    def _save(
        self, obj: Any, must_create: bool, must_update: bool, with_relations: bool, db: str, trail: list[Any]
    ) -> Any:
        entry = [self, obj, None]  # the key, once this call created the row
        trail.append(entry)
        manager = self.model._default_manager.db_manager(db)
        values = self.values(obj)
        if with_relations:
            for name, field in self.forward:
                nested = getattr(obj, name)
                if nested is not UNSET and nested is not None:
                    values[field.attname] = writer_of(type(nested))._save(nested, False, False, True, db, trail)
        key = self.key(obj)
        if key is None and must_update:
            raise BadRequest(f"{self.model.__name__}: no primary key to update")
        created = True
        if key is not None and not must_create:
            updated = manager.filter(pk=key).update(**values) if values else int(manager.filter(pk=key).exists())
            if updated:
                created = False
            elif must_update:
                raise NotFound(f"{self.model.__name__} not found ({self.model._meta.pk.name}={key!r})")
        if created:
            if key is not None:
                values[self.pk_attname] = key
            key = manager.create(**values).pk
            self.set_key(obj, key)
            entry[2] = key
        for field, keys in self.links(obj).items():
            getattr(self.stored(key, db), field.name).set(keys)
        if with_relations:
            self._save_children(obj, key, db, trail)
        return key

    def _save_children(self, obj: Any, key: Any, db: str, trail: list[Any]) -> None:
        for name, field in self.nested_many:
            children = getattr(obj, name)
            if children is UNSET or children is None:
                continue
            child_writer = writer_of(_shape(self.hints[name])[1])
            if field.many_to_many:
                keys = [child_writer._save(child, False, False, True, db, trail) for child in children]
                getattr(self.stored(key, db), field.name).set(keys)
            else:  # a reverse foreign key: the children point at this row
                link = field.field.attname
                for child in children:
                    child_writer._save(_with(child, link, key), False, False, True, db, trail)

    def stored(self, key: Any, db: str) -> models.Model:
        """A model instance standing for the stored row ``key`` of database ``db`` (no query), for
        its related managers."""
        instance = self.model(pk=key)
        instance._state.adding = False
        instance._state.db = db
        return instance

    # -- bulk ---------------------------------------------------------------------------------

    def bulk_save(
        self,
        items: Iterable[Any],
        must_create: bool = False,
        must_update: bool = False,
        atomic: bool | str = False,
        using: str | None = None,
        batch_size: int | None = None,
    ) -> list[Any]:
        if must_create and must_update:
            raise ValueError("bulk_save(): must_create or must_update, not both")
        objs = [self.coerce(item) for item in items]
        if not objs:
            return []
        db = self.db(using if isinstance(atomic, bool) else using or atomic)
        with _errors([[self, o, None] for o in objs], db), _atomic(db, bool(atomic)):
            self._bulk(objs, must_create, must_update, db, batch_size)
        return objs

    def coerce(self, item: Any) -> Any:
        if isinstance(item, self.schema):
            return item
        try:
            return msgspec.convert(item, self.schema)
        except msgspec.ValidationError as e:
            raise BadRequest(f"{self.schema.__name__}: {e}") from None

    def _bulk(self, objs: list[Any], must_create: bool, must_update: bool, db: str, batch_size: int | None) -> None:
        manager = self.model._default_manager.db_manager(db)
        keyed = [o for o in objs if self.key(o) is not None] if not must_create else []
        if must_update and len(keyed) != len(objs):
            raise BadRequest(f"{self.model.__name__}: must_update, and {len(objs) - len(keyed)} item(s) have no key")
        existing: set[Any] = set()
        if keyed:
            existing = set(manager.filter(pk__in=[self.key(o) for o in keyed]).values_list("pk", flat=True))
            missing = [self.key(o) for o in keyed if self.key(o) not in existing]
            if must_update and missing:
                raise NotFound(f"{self.model.__name__} not found ({self.model._meta.pk.name} in {missing!r})")
        to_update = [o for o in keyed if self.key(o) in existing]
        to_create = [o for o in objs if not (self.key(o) in existing and not must_create)]
        if to_create:
            rows = []
            for o in to_create:
                values = self.values(o)
                if self.key(o) is not None:
                    values[self.pk_attname] = self.key(o)
                rows.append(self.model(**values))
            created = manager.bulk_create(rows, batch_size=batch_size)
            for o, row in zip(to_create, created, strict=True):
                if row.pk is None:
                    raise IntegrityError("the database returned no keys for a bulk insert")  # pragma: no cover
                self.set_key(o, row.pk)
        for fields, group in _by_fields(to_update, self).items():
            rows = [self.model(**{self.pk_attname: self.key(o), **self.values(o)}) for o in group]
            manager.bulk_update(rows, list(fields), batch_size=batch_size)
        self._bulk_links(objs, [o for o in to_update], db, batch_size)

    def _bulk_links(self, objs: list[Any], updated: list[Any], db: str, batch_size: int | None) -> None:
        for name, field in self.many:
            through = field.remote_field.through
            source = field.m2m_field_name()  # the through model's fields: to this model, to the target
            target = field.m2m_reverse_field_name()
            with_value = [o for o in objs if getattr(o, name) not in (UNSET, None)]
            replaced = [self.key(o) for o in updated if getattr(o, name) not in (UNSET, None)]
            if replaced:
                through._default_manager.db_manager(db).filter(**{f"{source}__in": replaced}).delete()
            rows = [
                through(**{f"{source}_id": self.key(o), f"{target}_id": getattr(k, "pk", k)})
                for o in with_value
                for k in dict.fromkeys(getattr(o, name))
            ]
            if rows:
                through._default_manager.db_manager(db).bulk_create(rows, batch_size=batch_size)

    # -- commit -------------------------------------------------------------------------------

    # -- instances --------------------------------------------------------------------------

    def _fresh_key(self, obj: Any) -> Any:
        key = self.key(obj)
        if key is None:
            raise ValueError(f"{self.schema.__name__} has no key: save() it before get_instance(fresh=True)")
        return key

    def _gone(self, key: Any) -> NotFound:
        return NotFound(f"{self.model.__name__} not found ({self.model._meta.pk.name}={key!r})")

    def instance(self, obj: Any, fresh: bool, using: str | None) -> models.Model:
        """The model instance of ``obj``: from its set columns, or (``fresh``) the stored row."""
        if fresh:
            key = self._fresh_key(obj)
            try:
                return self.model._default_manager.db_manager(using).get(pk=key)
            except self.model.DoesNotExist:
                raise self._gone(key) from None
        instance = self.model(**self.values(obj))
        key = self.key(obj)
        if key is not None:
            instance.pk = key
            instance._state.adding = False
            instance._state.db = self.db(using)
        return instance

    async def ainstance(self, obj: Any, using: str | None) -> models.Model:
        key = self._fresh_key(obj)
        try:
            return await self.model._default_manager.db_manager(using).aget(pk=key)
        except self.model.DoesNotExist:
            raise self._gone(key) from None

    def commit(self, obj: Any, queryset: Any) -> int:
        values = self.values(obj)
        if not values:
            return 0
        with _errors([[self, obj, None]], queryset.db, updating=True):
            return int(queryset.update(**values))

    # -- errors -------------------------------------------------------------------------------

    def diagnose(self, obj: Any, db: str, created: set[tuple[Any, Any]], updating: bool = False) -> Exception | None:
        """Why ``obj`` could not be written, found by asking the database (after the failed
        statement, nothing is left of it): a foreign key to a missing row (400), a unique value
        taken (409), a key that exists (409); None when it is not this object."""
        model = self.model
        name = model.__name__
        values = self.values(obj)
        key = self.key(obj)
        manager = model._default_manager.db_manager(db)
        for field in model._meta.concrete_fields:
            value = values.get(field.attname)
            if field.is_relation and value is not None and (field.related_model, value) not in created:
                target = field.related_model._default_manager.db_manager(db)
                if not target.filter(pk=value).exists():
                    return BadRequest(f"{field.name}: no {field.related_model.__name__} with key {value!r}")
        if not updating and (model, key) not in created:
            for field in model._meta.concrete_fields:  # an insert without a value for a NOT NULL column
                if field.null or field.has_default() or field.primary_key or field.attname in values:
                    continue
                if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                    continue
                return BadRequest(f"{field.name}: a value is required for a new {name}")
        for group in _unique_groups(model):
            if all(a in values for a in group):
                others = manager.filter(**{a: values[a] for a in group})
                if key is not None:
                    others = others.exclude(pk=key)
                if others.exists():
                    shown = ", ".join(a.removesuffix("_id") for a in group)
                    return Conflict(f"{name}: {shown} already taken")
        if key is not None and not updating and (model, key) not in created and manager.filter(pk=key).exists():
            return Conflict(f"{name}: {model._meta.pk.name} {key!r} already exists")
        return None


def _unique_groups(model: Any) -> list[tuple[str, ...]]:
    """The column groups a row must not share with another: unique fields, ``unique_together``,
    unconditional ``UniqueConstraint``s."""
    opts = model._meta
    groups: list[tuple[str, ...]] = [(f.attname,) for f in opts.concrete_fields if f.unique and not f.primary_key]
    groups += [tuple(opts.get_field(n).attname for n in fields) for fields in opts.unique_together]
    groups += [
        tuple(opts.get_field(n).attname for n in c.fields)
        for c in opts.constraints
        if isinstance(c, models.UniqueConstraint) and c.fields and c.condition is None
    ]
    return groups


@contextlib.contextmanager
def _errors(trail: list[list[Any]], db: str, updating: bool = False) -> Iterator[None]:
    """An IntegrityError as the client's error it is, never the database's own message. With a
    deferred constraint it surfaces at COMMIT, so every object written is examined, the rows
    created in the rolled-back transaction not counted as existing."""
    try:
        yield
    except IntegrityError:
        created = {(w.model, key) for w, _, key in trail if key is not None}
        for writer, obj, _ in trail:
            found = writer.diagnose(obj, db, created, updating)
            if found is not None:
                raise found from None
        names = sorted({w.model.__name__ for w, _, _ in trail})
        raise Conflict(f"the data violates a constraint of {', '.join(names)}") from None


def _by_fields(objs: list[Any], writer: Writer) -> dict[tuple[str, ...], list[Any]]:
    """Objects grouped by which columns they set (one bulk UPDATE per group)."""
    groups: dict[tuple[str, ...], list[Any]] = {}
    for o in objs:
        fields = tuple(writer.values(o))
        if fields:
            groups.setdefault(fields, []).append(o)
    return groups


def _with(obj: Any, attname: str, value: Any) -> Any:
    """A child schema with its link to the parent set (the schema may not declare it)."""
    if attname in type(obj).__struct_fields__:
        setattr(obj, attname, value)
    else:
        obj.__dict__["_link"] = (attname, value)
    return obj


def _atomic(db: str, enabled: bool) -> Any:
    return transaction.atomic(using=db) if enabled else contextlib.nullcontext()


def writer_of(schema: Any) -> Writer:
    """The writer of a schema class (built once, kept on the class)."""
    writer = schema.__dict__.get("__writer__")
    if writer is None:
        writer = Writer(schema)
        schema.__writer__ = writer
    return writer
