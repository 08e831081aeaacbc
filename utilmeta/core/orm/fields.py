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

__all__ = ["Field", "MISSING", "R", "W", "WP", "A", "MODES"]

#: the modes of ``Schema[orm.A]`` (a variant of a schema for one use) and of ``Field(mode=...)``
R = "r"  # read: the answer of a query
W = "w"  # write: an update (every field as declared)
WP = "wp"  # partial write: an update of the fields sent (every field optional)
A = "a"  # add: a create
MODES = (R, W, WP, A)


def check_mode(value: Any, option: str) -> str:
    """A field's ``mode``/``no_input``/``no_output`` letters (any of ``r``, ``w``, ``a``)."""
    if not isinstance(value, str) or not value or set(value) - set("rwa"):
        raise ValueError(f"orm.Field({option}={value!r}): a mode is made of the letters r, w and a (e.g. 'ra')")
    return value


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """A schema field's source (``field``: a lookup, an expression, a queryset or a function of
    ``*pks``) and options (``queryset``, ``no_output``, ``default``/``default_factory``).

    ``no_output=True`` (or the modes where it applies, ``'aw'``): a read queries the field for the
    schema's properties and hooks, then leaves it out of the answer (unset); a save does not
    write it.
    ``no_input=True`` (or the modes where it applies, ``'aw'``): a value given to the constructor
    (a request body) is dropped; the code sets it (``article.author_id = user.pk``).
    ``mode='ra'``: the field exists only in those variants of the schema (``Schema[orm.A]``).
    ``defer_default=True``: the default is documented but not filled in; a field the input
    leaves out stays unset, so ``save()`` leaves its column to the database (or as it is).
    ``alias='tagList'``: the field's name in JSON (input, output, the OpenAPI document, and what
    ``orm.Scope`` takes besides the attribute's name); the code keeps the attribute's name.
    """

    __slots__ = (
        "field", "queryset", "no_output", "no_input", "mode", "default", "default_factory", "defer_default", "alias",
    )  # fmt: skip

    def __init__(
        self,
        field: str | Callable[..., Any] | Any = None,
        *,
        queryset: Any = None,
        no_output: bool | str = False,
        no_input: bool | str = False,
        mode: str | None = None,
        default: Any = MISSING,
        default_factory: Callable[[], Any] | None = None,
        defer_default: bool = False,
        alias: str | None = None,
    ) -> None:
        if default is not MISSING and default_factory is not None:
            raise ValueError("orm.Field(): give default or default_factory, not both")
        if defer_default and default is MISSING and default_factory is None:
            raise ValueError("orm.Field(defer_default=True) defers a default: give default= or default_factory=")
        self.field = field
        self.queryset = queryset
        if alias is not None and (not isinstance(alias, str) or not alias):
            raise ValueError(f"orm.Field(alias={alias!r}): the name on the wire is a non-empty string")
        self.no_output = no_output if isinstance(no_output, bool) else check_mode(no_output, "no_output")
        self.no_input = no_input if isinstance(no_input, bool) else check_mode(no_input, "no_input")
        self.mode = None if mode is None else check_mode(mode, "mode")
        self.default = default
        self.default_factory = default_factory
        self.defer_default = bool(defer_default)
        self.alias = alias

    def in_mode(self, mode: str | None) -> bool:
        """Whether the field exists in the schema's variant for ``mode`` (None: the schema itself)."""
        return mode is None or self.mode is None or mode[0] in self.mode

    def drops_input(self, mode: str | None) -> bool:
        """Whether a value given to the constructor is dropped in the variant for ``mode``."""
        if isinstance(self.no_input, bool):
            return self.no_input
        return mode is not None and mode[0] in self.no_input

    def drops_output(self, mode: str | None) -> bool:
        """Whether the field is left out in the variant for ``mode``: not queried in a read, not
        written by a save (it stays unset unless the code sets it)."""
        if isinstance(self.no_output, bool):
            return self.no_output
        return mode is not None and mode[0] in self.no_output

    @property
    def has_default(self) -> bool:
        return self.default is not MISSING or self.default_factory is not None

    def __repr__(self) -> str:
        shown = [repr(self.field)] if self.field is not None else []
        shown += [f"queryset={self.queryset!r}"] if self.queryset is not None else []
        return f"orm.Field({', '.join(shown)})"
