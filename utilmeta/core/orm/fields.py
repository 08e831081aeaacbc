"""``orm.Field``: where a schema field's value comes from, and how it is used.

::

    class ArticleSchema(orm.Schema[Article]):
        author_name: str = orm.Field('author.username')          # a lookup through relations
        tag_names: List[str] = orm.Field('tags.name')            # ... through a to-many one
        comments_num: int = orm.Field(models.Count('comments'))  # an expression (also bare)
        latest: List[CommentSchema] = orm.Field(queryset=Comment.objects.order_by('-created')[:3])
        liked: List[int] = orm.Field(liked_pks)                  # a function of *pks → {pk: value}

Framework-free: an expression or a queryset is stored as given and read by the ORM integration
when the schema's query plan is compiled. A keyword this class does not know is refused when the
schema class is created, by Python itself (no ``**kwargs`` here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Field", "MISSING"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """A schema field's source (``field``: a lookup, an expression, a queryset or a function of
    ``*pks``) and options (``queryset``, ``no_output``, ``default``/``default_factory``).

    ``no_output=True``: the field is neither queried nor output (it stays unset).
    """

    __slots__ = ("field", "queryset", "no_output", "default", "default_factory")

    def __init__(
        self,
        field: str | Callable[..., Any] | Any = None,
        *,
        queryset: Any = None,
        no_output: bool = False,
        default: Any = MISSING,
        default_factory: Callable[[], Any] | None = None,
    ) -> None:
        if default is not MISSING and default_factory is not None:
            raise ValueError("orm.Field(): give default or default_factory, not both")
        self.field = field
        self.queryset = queryset
        self.no_output = bool(no_output)
        self.default = default
        self.default_factory = default_factory

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING or self.default_factory is not None

    def __repr__(self) -> str:
        shown = [repr(self.field)] if self.field is not None else []
        shown += [f"queryset={self.queryset!r}"] if self.queryset is not None else []
        return f"orm.Field({', '.join(shown)})"
