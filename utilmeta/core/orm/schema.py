"""``orm.Schema[Model]``: the shape of an answer, declared once, queried without N+1.

::

    class ArticleSchema(orm.Schema[Article]):
        id: int
        title: str
        author: UserSchema                       # a foreign key, JOINed into the same query
        tags: List[TagSchema]                    # many-to-many: one more query for all rows
        comments_num: int = models.Count('comments')

    ArticleSchema.serialize(Article.objects.order_by('-created')[:500])   # -> list[ArticleSchema]
    ArticleSchema.init(1)                                                  # -> ArticleSchema, or 404

A schema class is a ``msgspec.Struct`` (keyword-only): as a return annotation it is encoded and
documented like any other struct, as a request body it is validated like one. Its query plan is
compiled by the ORM integration on first use and kept on the class (``__plan__``), never rebuilt per
call; this module imports no framework.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import msgspec

from utilmeta.core.orm.fields import MISSING, MODES, WP, Field

__all__ = ["Schema", "SchemaMeta", "is_schema"]

S = TypeVar("S", bound="Schema")
_EMPTY: Mapping[str, Any] = types.MappingProxyType({})


def _is_source(value: Any) -> bool:
    """A value that says where a field comes from (not a plain default): ``orm.Field``, a query
    expression or a queryset (both have ``resolve_expression``)."""
    return isinstance(value, Field) or hasattr(value, "resolve_expression")


_INTERNAL = {
    "__module__", "__qualname__", "__doc__", "__annotations__", "__dict__", "__weakref__", "__slots__",
    "__orm_fields__", "__orm_properties__", "__no_input__", "__plan__", "__plans__", "__writer__",
    "__variants__", "__post_init__", "__match_args__", "__struct_config__", "__orm_hook__",
}  # fmt: skip


def _property_type(prop: property) -> Any:
    """The return annotation of a property's getter (a schema outputs such a property), or None."""
    annotations = getattr(prop.fget, "__annotations__", {})
    return annotations.get("return")


class SchemaMeta(msgspec.StructMeta):
    """Takes the ``orm.Field`` / expression defaults out of the class body (into ``__orm_fields__``)
    before msgspec builds the struct: such a field is not input, and stays unset unless queried. A
    ``@property`` with a return annotation becomes an output field, computed when a query builds
    the instance. A field whose input is dropped (``no_input``) is reset after construction."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> Any:
        annotations = dict(namespace.get("__annotations__", {}))
        mode = namespace.get("__schema_mode__") or next((getattr(b, "__schema_mode__", None) for b in bases), None)
        sources: dict[str, Field] = {}
        properties: dict[str, Callable[[Any], Any]] = {}
        for attr, value in list(namespace.items()):
            if isinstance(value, property) and attr != "pk" and _property_type(value) is not None:
                properties[attr] = value.fget  # type: ignore[assignment]
                annotations[attr] = _property_type(value)
                namespace[attr] = msgspec.UNSET
        for attr, annotation in annotations.items():
            inner = _annotated_source(annotation, namespace)
            if inner is not None:  # UtilMeta's form: `views: Annotated[int, Sum('...')] = 0`
                if attr in namespace and _is_source(namespace[attr]):
                    raise TypeError(f"{name}.{attr}: a source in Annotated[...] and another as the value; keep one")
                given = namespace.get(attr, MISSING)
                if isinstance(inner, Field):
                    if given is not MISSING:
                        raise TypeError(f"{name}.{attr}: give the default to the orm.Field in Annotated[...]")
                    namespace[attr] = inner
                else:
                    namespace[attr] = Field(inner, default=given)
        for attr in annotations:
            if attr not in namespace or not _is_source(namespace[attr]):
                continue
            value = namespace[attr]
            source = value if isinstance(value, Field) else Field(value)
            sources[attr] = source
            if source.defer_default:  # unset unless given; the default is only documented
                namespace[attr] = msgspec.field(default=msgspec.UNSET, name=source.alias)
                annotations[attr] = _documented_default(annotations[attr], source, namespace)
            elif source.default_factory is not None:
                namespace[attr] = msgspec.field(default_factory=source.default_factory, name=source.alias)
            else:
                default = msgspec.UNSET if source.default is MISSING else source.default
                namespace[attr] = msgspec.field(default=default, name=source.alias)
        namespace["__annotations__"] = annotations
        inherited: dict[str, Field] = {}
        inherited_properties: dict[str, Callable[[Any], Any]] = {}
        for base in reversed([k for b in bases for k in b.__mro__]):
            inherited.update(getattr(base, "__orm_fields__", {}))
            inherited_properties.update(getattr(base, "__orm_properties__", {}))
        all_sources = {**inherited, **sources}
        dropped = {n: s for n, s in all_sources.items() if s.drops_input(mode)}
        # the user's own __post_init__ (declared here or inherited) and UtilMeta's __validate__
        # hook run after the no_input fields are reset: none of them is replaced or skipped
        hook = namespace.get("__post_init__")
        if hook is None:
            inherited_hooks = (getattr(base, "__orm_hook__", None) for base in bases)
            hook = next((h for h in inherited_hooks if h is not None), None)
        validates = "__validate__" in namespace or any(hasattr(b, "__validate__") for b in bases)
        namespace["__orm_hook__"] = hook
        if dropped or hook is not None or validates:
            namespace["__post_init__"] = _post_init(dropped, hook, validates)
        kwargs.setdefault("kw_only", True)
        if "__options__" in namespace:
            generator = _alias_generator(name, namespace.pop("__options__"))
            if generator is not None:
                kwargs.setdefault("rename", generator)
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        setattr(cls, "__orm_fields__", all_sources)
        setattr(cls, "__orm_properties__", {**inherited_properties, **properties})
        setattr(cls, "__no_input__", tuple(dropped))
        setattr(cls, "__plan__", None)
        setattr(cls, "__plans__", {})
        setattr(cls, "__writer__", None)
        setattr(cls, "__variants__", {})
        return cls


def _annotated_source(annotation: Any, namespace: dict[str, Any]) -> Any:
    """The ``orm.Field``, expression or queryset in ``Annotated[type, ...]``'s metadata, or None. A
    string annotation is evaluated in the class's module when it names ``Annotated``; one that
    cannot be evaluated yet (a name defined later) is checked again when the plan compiles."""
    if isinstance(annotation, str):
        if "Annotated" not in annotation:
            return None
        from utilmeta.core.orm.query import _resolved

        try:
            annotation = _resolved(annotation, namespace)
        except TypeError:
            return None
    return next((m for m in getattr(annotation, "__metadata__", ()) if _is_source(m)), None)


def _alias_generator(name: str, options: Any) -> Callable[[str], str] | None:
    """What a schema's ``__options__`` (UtilMeta's ``utype.Options(alias_generator=...)``) asks
    that ``orm.Schema`` does: every field's JSON name made by the generator (a field's own
    ``alias=`` wins). Any other option is refused, naming it, rather than left without effect."""
    given = dict(options) if isinstance(options, Mapping) else dict(getattr(options, "_options", None) or {})
    if not given and not isinstance(options, Mapping) and not hasattr(options, "_options"):
        raise TypeError(f"{name}.__options__ = {options!r}: expected utype.Options(...) or a dict of options")
    generator = given.pop("alias_generator", None)
    if given:
        raise TypeError(
            f"{name}.__options__: {', '.join(sorted(given))} "
            f"{'is' if len(given) == 1 else 'are'} not supported by orm.Schema (alias_generator is); "
            "remove the option, or declare per field (orm.Field(alias=...))"
        )
    if generator is not None and not callable(generator):
        raise TypeError(f"{name}.__options__: alias_generator={generator!r} is not a function of the field name")
    return generator


def _documented_default(annotation: Any, source: Field, namespace: dict[str, Any]) -> Any:
    """``annotation`` carrying the deferred default into the JSON schema (OpenAPI)."""
    from typing import Annotated

    from utilmeta.core.orm.query import _resolved

    default = source.default if source.default_factory is None else source.default_factory()
    try:
        shown = msgspec.to_builtins(default)
    except TypeError:
        return annotation
    return Annotated[_resolved(annotation, namespace), msgspec.Meta(extra_json_schema={"default": shown})]


def _post_init(fields: dict[str, Field], hook: Callable[[Any], None] | None, validates: bool) -> Callable[[Any], None]:
    """A ``__post_init__`` that drops what the constructor was given for ``no_input`` fields, then
    runs the class's own ``__post_init__`` and ``__validate__`` (a ``TypeError``/``ValueError`` of
    theirs is a validation error: a 400 for a request body)."""
    defaults = {
        name: (msgspec.UNSET if f.default is MISSING or f.defer_default else f.default) for name, f in fields.items()
    }

    def __post_init__(self: Any) -> None:
        for name, default in defaults.items():
            setattr(self, name, default)
        if hook is not None:
            hook(self)
        if validates:
            self.__validate__()

    return __post_init__


def is_schema(tp: Any) -> bool:
    """``tp`` is an ``orm.Schema[Model]`` subclass with a model."""
    return isinstance(tp, type) and issubclass(tp, Schema) and tp.__model__ is not None


class Schema(msgspec.Struct, metaclass=SchemaMeta, kw_only=True, dict=True):
    """Base of the ORM schemas; ``Schema[Model]`` binds one to a model. (``dict=True``: an
    instance keeps the key it was saved under even when the schema declares no key field.)"""

    __model__: ClassVar[Any] = None
    __schema_mode__: ClassVar[str | None] = None
    __orm_fields__: ClassVar[dict[str, Field]]
    __orm_properties__: ClassVar[dict[str, Callable[[Any], Any]]]
    __no_input__: ClassVar[tuple[str, ...]]
    __orm_hook__: ClassVar[Callable[[Any], None] | None]  # the class's own __post_init__
    __plan__: ClassVar[Any]
    __plans__: ClassVar[dict[frozenset[str], Any]]
    __writer__: ClassVar[Any]
    __variants__: ClassVar[dict[str, type[Schema]]]

    def __class_getitem__(cls, model: Any) -> type[Schema]:
        if isinstance(model, str):
            return cls._variant(model)
        if not inspect.isclass(model):
            raise TypeError(
                f"orm.Schema[...] takes a model class or a mode (orm.R, orm.W, orm.WP, orm.A), not {model!r}"
            )
        bound: type[Schema] = SchemaMeta(f"{cls.__name__}[{model.__name__}]", (cls,), {"__model__": model})
        return bound

    @classmethod
    def _variant(cls, mode: str) -> type[Schema]:
        """``Schema[orm.A]``: the schema for one use. Fields declared ``mode=`` without it are left
        out; ``no_input`` for it drops the constructor's value; in ``orm.WP`` every field is
        optional (an update of what is sent)."""
        if mode not in MODES:
            raise TypeError(f"{cls.__name__}[{mode!r}]: a mode is one of orm.R, orm.W, orm.WP, orm.A")
        found = cls.__dict__.get("__variants__", {}).get(mode)
        if found is not None:
            return found
        from typing import get_type_hints

        hints = get_type_hints(cls)
        properties = cls.__orm_properties__
        namespace: dict[str, Any] = {"__module__": cls.__module__, "__schema_mode__": mode, "__model__": cls.__model__}
        if cls.__orm_hook__ is not None:  # the user's __post_init__ runs in every variant too
            namespace["__post_init__"] = cls.__orm_hook__
        for klass in reversed(cls.__mro__):
            if isinstance(klass, SchemaMeta) and klass is not Schema:
                namespace.update({k: v for k, v in klass.__dict__.items() if k not in _INTERNAL and k not in hints})
        annotations: dict[str, Any] = {}
        for info in msgspec.structs.fields(cls):
            source = cls.__orm_fields__.get(info.name)
            if info.name in properties:
                namespace[info.name] = property(properties[info.name])
                continue
            if source is not None and not source.in_mode(mode):
                continue
            annotations[info.name] = hints[info.name]
            if source is not None:
                namespace[info.name] = source
            elif info.default is not msgspec.NODEFAULT:
                namespace[info.name] = info.default
            elif info.default_factory is not msgspec.NODEFAULT:
                namespace[info.name] = msgspec.field(default_factory=info.default_factory)
            elif mode == WP:
                namespace[info.name] = msgspec.UNSET
        namespace["__annotations__"] = annotations
        namespace["__qualname__"] = f"{cls.__qualname__}[{mode!r}]"
        # every field keeps its JSON name (an alias, an alias generator's, or a msgspec.field name)
        renamed = {info.name: info.encode_name for info in msgspec.structs.fields(cls)}
        variant: type[Schema] = SchemaMeta(f"{cls.__name__}[{mode!r}]", (Schema,), namespace, rename=renamed)
        cls.__variants__[mode] = variant
        return variant

    @classmethod
    def _plan(cls) -> Any:
        plan = cls.__dict__.get("__plan__")
        if plan is None:
            if cls.__model__ is None:
                raise TypeError(f"{cls.__name__} has no model: declare it as orm.Schema[Model]")
            from utilmeta.core.orm.backends.django.compiler import compile_plan

            plan = compile_plan(cls)
            cls.__plan__ = plan
        return plan

    @classmethod
    def _prepare(cls, source: Any, context: Mapping[str, Any] | None) -> tuple[Any, Mapping[str, Any]]:
        plan = cls._plan()
        if context is None and not plan.params and not hasattr(type(source), "__query_parts__"):
            return plan, _EMPTY
        from utilmeta.core.orm.backends.django.compiler import prepare

        return prepare(cls, plan, source, context)

    @classmethod
    def serialize(
        cls: type[S], queryset: Any, using: str | None = None, context: Mapping[str, Any] | None = None
    ) -> list[S]:
        """The rows of ``queryset`` (a QuerySet, an ``orm.Query`` instance, or a list of primary
        keys, whose order is kept) as instances; ``using``: the database alias (default: the
        queryset's). ``context``: ``includes``/``excludes`` (dotted field paths: only those
        fields, or all but those, are queried and output; an ``orm.Query``'s ``orm.Scope``
        fields give them) and the values of the relational functions' keyword-only parameters."""
        plan, values = cls._prepare(queryset, context)
        return plan.serialize(queryset, using, values)

    @classmethod
    async def aserialize(
        cls: type[S], queryset: Any, using: str | None = None, context: Mapping[str, Any] | None = None
    ) -> list[S]:
        """:meth:`serialize` on Django's async ORM API: the same statements."""
        plan, values = cls._prepare(queryset, context)
        return await plan.aserialize(queryset, using, values)

    @classmethod
    def init(cls: type[S], obj: Any, using: str | None = None, context: Mapping[str, Any] | None = None) -> S:
        """One instance from a primary key, a model instance or a QuerySet (its first row); a
        missing row is a 404 naming the model and the key. ``context``: as :meth:`serialize`."""
        plan, values = cls._prepare(obj, context)
        return plan.init(obj, using, values)

    @classmethod
    async def ainit(cls: type[S], obj: Any, using: str | None = None, context: Mapping[str, Any] | None = None) -> S:
        """:meth:`init` on Django's async ORM API."""
        plan, values = cls._prepare(obj, context)
        return await plan.ainit(obj, using, values)

    @classmethod
    def _writer(cls) -> Any:
        if cls.__model__ is None:
            raise TypeError(f"{cls.__name__} has no model: declare it as orm.Schema[Model]")
        from utilmeta.core.orm.backends.django.writer import writer_of

        return writer_of(cls)

    @property
    def pk(self) -> Any:
        """The primary key: the schema's key field, or the key this instance was saved under."""
        return type(self)._writer().key(self)

    def save(
        self,
        must_create: bool = False,
        must_update: bool = False,
        with_relations: bool = False,
        transaction: bool | str = False,
        using: str | None = None,
    ) -> Any:
        """Insert (no key, or ``must_create``) or update (a key) this instance's row; return the
        key. Many-to-many keys replace the links; ``with_relations`` saves nested schemas too, in
        one transaction. A unique value taken is a 409, a missing related row a 400."""
        return type(self)._writer().save(self, must_create, must_update, with_relations, transaction, using)

    async def asave(
        self,
        must_create: bool = False,
        must_update: bool = False,
        with_relations: bool = False,
        transaction: bool | str = False,
        using: str | None = None,
    ) -> Any:
        """:meth:`save` through Django's async bridge (its statements in one thread, so a
        transaction holds)."""
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.save)(must_create, must_update, with_relations, transaction, using)

    @classmethod
    def bulk_save(
        cls: type[S],
        data: Any,
        must_create: bool = False,
        must_update: bool = False,
        transaction: bool | str = False,
        using: str | None = None,
        batch_size: int | None = None,
    ) -> list[S]:
        """Save many (instances or dicts, validated) in bulk: per batch one INSERT, one UPDATE
        and, per many-to-many field, one DELETE and one INSERT of links. Returns the instances,
        keys set."""
        return cls._writer().bulk_save(data, must_create, must_update, transaction, using, batch_size)

    @classmethod
    async def abulk_save(
        cls: type[S],
        data: Any,
        must_create: bool = False,
        must_update: bool = False,
        transaction: bool | str = False,
        using: str | None = None,
        batch_size: int | None = None,
    ) -> list[S]:
        from asgiref.sync import sync_to_async

        return await sync_to_async(cls.bulk_save)(data, must_create, must_update, transaction, using, batch_size)

    def get_instance(self, fresh: bool = False, using: str | None = None) -> Any:
        """The model instance of this schema: built from its set fields (no query), or with
        ``fresh=True`` the row as the database has it now (a 404 when it is gone)."""
        return type(self)._writer().instance(self, fresh, using)

    async def aget_instance(self, fresh: bool = False, using: str | None = None) -> Any:
        if not fresh:
            return self.get_instance(False, using)
        return await type(self)._writer().ainstance(self, using)

    def commit(self, queryset: Any) -> int:
        """Update every row of ``queryset`` with this instance's set fields; the rows updated."""
        return type(self)._writer().commit(self, queryset)

    async def acommit(self, queryset: Any) -> int:
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.commit)(queryset)
