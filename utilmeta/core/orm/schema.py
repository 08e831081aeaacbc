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
from typing import Any, ClassVar, TypeVar

import msgspec

from utilmeta.core.orm.fields import MISSING, Field

__all__ = ["Schema", "SchemaMeta", "is_schema"]

S = TypeVar("S", bound="Schema")


def _is_source(value: Any) -> bool:
    """A value that says where a field comes from (not a plain default): ``orm.Field``, a query
    expression or a queryset (both have ``resolve_expression``)."""
    return isinstance(value, Field) or hasattr(value, "resolve_expression")


class SchemaMeta(msgspec.StructMeta):
    """Takes the ``orm.Field`` / expression defaults out of the class body (into ``__orm_fields__``)
    before msgspec builds the struct: such a field is not input, and stays unset unless queried."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> Any:
        annotations = namespace.get("__annotations__", {})
        sources: dict[str, Field] = {}
        for attr in annotations:
            if attr not in namespace or not _is_source(namespace[attr]):
                continue
            value = namespace[attr]
            source = value if isinstance(value, Field) else Field(value)
            sources[attr] = source
            if source.default_factory is not None:
                namespace[attr] = msgspec.field(default_factory=source.default_factory)
            else:
                namespace[attr] = msgspec.UNSET if source.default is MISSING else source.default
        kwargs.setdefault("kw_only", True)
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        inherited: dict[str, Field] = {}
        for base in reversed(cls.__mro__[1:]):
            inherited.update(getattr(base, "__orm_fields__", {}))
        setattr(cls, "__orm_fields__", {**inherited, **sources})
        setattr(cls, "__plan__", None)
        setattr(cls, "__writer__", None)
        return cls


def is_schema(tp: Any) -> bool:
    """``tp`` is an ``orm.Schema[Model]`` subclass with a model."""
    return isinstance(tp, type) and issubclass(tp, Schema) and tp.__model__ is not None


class Schema(msgspec.Struct, metaclass=SchemaMeta, kw_only=True, dict=True):
    """Base of the ORM schemas; ``Schema[Model]`` binds one to a model. (``dict=True``: an
    instance keeps the key it was saved under even when the schema declares no key field.)"""

    __model__: ClassVar[Any] = None
    __orm_fields__: ClassVar[dict[str, Field]]
    __plan__: ClassVar[Any]
    __writer__: ClassVar[Any]

    def __class_getitem__(cls, model: Any) -> type[Schema]:
        if not inspect.isclass(model):
            raise TypeError(f"orm.Schema[...] takes a model class, not {model!r}")
        bound: type[Schema] = SchemaMeta(f"{cls.__name__}[{model.__name__}]", (cls,), {"__model__": model})
        return bound

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
    def serialize(cls: type[S], queryset: Any, using: str | None = None) -> list[S]:
        """The rows of ``queryset`` (a QuerySet, or a list of primary keys, whose order is kept)
        as instances; ``using``: the database alias (default: the queryset's)."""
        return cls._plan().serialize(queryset, using)

    @classmethod
    async def aserialize(cls: type[S], queryset: Any, using: str | None = None) -> list[S]:
        """:meth:`serialize` on Django's async ORM API: the same statements."""
        return await cls._plan().aserialize(queryset, using)

    @classmethod
    def init(cls: type[S], obj: Any, using: str | None = None) -> S:
        """One instance from a primary key, a model instance or a QuerySet (its first row); a
        missing row is a 404 naming the model and the key."""
        return cls._plan().init(obj, using)

    @classmethod
    async def ainit(cls: type[S], obj: Any, using: str | None = None) -> S:
        """:meth:`init` on Django's async ORM API."""
        return await cls._plan().ainit(obj, using)

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

    def commit(self, queryset: Any) -> int:
        """Update every row of ``queryset`` with this instance's set fields; the rows updated."""
        return type(self)._writer().commit(self, queryset)

    async def acommit(self, queryset: Any) -> int:
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.commit)(queryset)
