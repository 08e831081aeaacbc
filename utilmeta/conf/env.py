"""Typed environment variables: declare them once on an :class:`Env` subclass, read them at start-up."""

from __future__ import annotations

import copy
import difflib
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, get_origin, get_type_hints

import msgspec

from utilmeta.conf._convert import convert, text_format, type_name
from utilmeta.conf._sources import index_environ, index_mapping, is_dotenv, read_file

__all__ = ["Env", "EnvError", "EnvWarning", "MASK", "is_secret"]

#: What a secret value looks like in ``repr()``.
MASK = "******"
_SECRET_MARKERS = ("KEY", "SECRET", "PASSWORD", "PASSWD", "TOKEN", "CREDENTIAL", "PRIVATE")
_MISSING: Any = object()
_FIELDS_ATTR = "_utilmeta_env_fields"


def is_secret(name: str) -> bool:
    """Whether a variable name looks like it holds a secret (its value is never shown)."""
    upper = name.upper()
    return any(marker in upper for marker in _SECRET_MARKERS)


class EnvError(ValueError):
    """Environment variables that are missing or invalid; ``problems`` lists each one."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems: list[str] = list(problems or [])
        super().__init__(message + "".join(f"\n  - {problem}" for problem in self.problems))


class EnvWarning(UserWarning):
    """A variable that is set but read by no declared name (a typo, usually): it is ignored."""


@dataclass(frozen=True)
class _Field:
    name: str
    type: Any
    default: Any
    secret: bool


class Env:
    """Declare the environment variables of a service as typed class attributes.

    ::

        class ServiceEnvironment(Env):
            PRODUCTION: bool = False
            REDIS_PORT: int = 6379
            REDIS_PASSWORD: str          # no default: required

        env = ServiceEnvironment(sys_env='DEMO_')   # reads DEMO_PRODUCTION, DEMO_REDIS_PORT, ...
        env.REDIS_PORT                              # 6379, an int

    Sources, lowest precedence first (a later one overrides an earlier one):

    1. ``data``: a plain mapping, handy in tests;
    2. ``file``: ``.json``, ``.yml``/``.yaml`` (needs PyYAML), ``.ini``/``.cfg`` (the ``[env]``
       section if present, else all sections merged) or, for any other name, ``KEY=VALUE`` lines;
    3. the environment, when ``sys_env`` is given: ``sys_env='DEMO_'`` reads ``DEMO_<NAME>``,
       ``sys_env=True`` reads ``<NAME>``. ``environ`` replaces ``os.environ`` (and implies
       ``sys_env=True`` when ``sys_env`` is not given).

    A ``KEY=VALUE`` file (``.env``) holds environment variables, as systemd's ``EnvironmentFile``
    and ``docker run --env-file`` read it: with a prefix its names carry the prefix
    (``DEMO_REDIS_PORT=6380``), and a declared name without it (``REDIS_PORT=6380``) is refused.
    JSON, YAML and INI files name the variables without the prefix.

    A prefixed variable (or a ``.env`` name) that matches no declared name is ignored with an
    :class:`EnvWarning` that suggests the closest name (``DEMO_REDIS_PROT``: did you mean
    ``DEMO_REDIS_PORT``?); ``meta check`` lists these warnings.

    Names match case-insensitively, prefix included. Every annotated public class attribute is a
    variable; one without a default is required. Values are converted to the declared type with
    msgspec (lax mode): bools accept ``true/false/1/0/yes/no/on/off``; lists accept JSON or
    ``a,b,c``; dicts and structs accept JSON; ``Optional[...]`` turns an empty value into None.

    Every missing or invalid variable is reported at once by one :class:`EnvError`, naming each
    variable as the user must set it (``DEMO_REDIS_PASSWORD: required, not set``). Variables whose
    name looks secret (KEY, SECRET, PASSWORD, PASSWD, TOKEN, CREDENTIAL, PRIVATE) are shown as
    ``'******'`` by ``repr()`` and never echoed in errors; :meth:`to_dict` returns real values.
    Instances are read-only.
    """

    _utilmeta_env_fields: ClassVar[dict[str, _Field]]

    def __init__(
        self,
        data: Mapping[str, object] | None = None,
        *,
        sys_env: bool | str | None = None,
        file: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        cls_name = type(self).__name__
        prefix = _resolve_prefix(sys_env, environ)
        # (label, UPPER_NAME → (name as the user wrote it, raw value)), lowest precedence first
        layers: list[tuple[str, dict[str, tuple[str, object]]]] = []
        problems: list[str] = []
        unknown: list[str] = []  # set but never read: warnings
        if data is not None:
            if not isinstance(data, Mapping):
                raise TypeError(f"{cls_name}(data=...) must be a mapping, got {type(data).__name__}")
            layers.append(("data", index_mapping(data)))
        if file is not None:
            try:
                loaded = read_file(file)
            except ValueError as exc:
                raise EnvError(f"{cls_name}: {exc}") from None
            label = f"file {os.fspath(file)!r}"
            if is_dotenv(file):
                # the same names as the environment: systemd and docker load this file into it
                index = index_environ(loaded, prefix or "")
                refused, typos = self._bare_names(loaded, prefix or "", label)
                problems += refused
                unknown += typos + self._unknown_names(index, prefix or "", label)
            else:
                index = index_mapping(loaded)
            layers.append((label, index))
        if prefix is not None:
            index = index_environ(os.environ if environ is None else environ, prefix)
            layers.append(("environment", index))
            if prefix:  # without a prefix every variable of the process would be "unknown"
                unknown += self._unknown_names(index, prefix, "the environment")
        for note in unknown:
            warnings.warn(note, EnvWarning, stacklevel=2)

        values: dict[str, Any] = {}
        for field in self._fields().values():
            problem = _resolve(field, layers, prefix, values)
            if problem:
                problems.append(problem)
        if problems:
            count = f"{len(problems)} problem" + ("s" if len(problems) > 1 else "")
            raise EnvError(f"{cls_name}: {count} with environment variables:", problems)
        for name, value in values.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_utilmeta_prefix", prefix)

    def env_name(self, name: str) -> str | None:
        """The environment variable that sets ``name`` (``DEMO_PRODUCTION``), or None when this
        instance does not read the environment."""
        field = self._field(name)
        prefix: str | None = self.__dict__["_utilmeta_prefix"]
        return None if prefix is None else _prefixed(prefix, field.name)

    @classmethod
    def _field(cls, name: str) -> _Field:
        """The declared variable ``name`` names in any case; AttributeError (with the closest
        name) for no variable."""
        for field in cls._fields().values():
            if field.name.upper() == name.upper():
                return field
        guess = _closest(name, cls._fields())
        raise AttributeError(
            f"{cls.__name__!r} has no variable {name!r}" + (f": did you mean {guess}?" if guess else "")
        )

    @classmethod
    def _unknown_names(cls, index: Mapping[str, tuple[str, object]], prefix: str, where: str) -> list[str]:
        """A note for each name of ``index`` (prefix removed) that is no declared variable."""
        declared = {name.upper() for name in cls._fields()}
        notes = (
            cls._unknown_note(key, upper, prefix, where) for upper, (key, _) in index.items() if upper not in declared
        )
        return [note for note in notes if note]

    @classmethod
    def _bare_names(cls, loaded: Mapping[str, object], prefix: str, where: str) -> tuple[list[str], list[str]]:
        """A ``.env`` file's names that lack the prefix, as (problems, notes): a declared name is
        refused (the environment would not read it), one close to a declared name gets a note; the
        rest belong to other programs of the environment."""
        problems: list[str] = []
        notes: list[str] = []
        for key in loaded if prefix else ():
            if key.upper().startswith(prefix.upper()):
                continue
            try:
                field = cls._field(key)
            except AttributeError:
                note = cls._unknown_note(key, key, prefix, where, only_typos=True)
                notes += [note] if note else []
                continue
            problems.append(
                f"{key} (in {where}): a .env file holds environment variables, read with the prefix "
                f"{prefix!r}: write {_prefixed(prefix, field.name)}"
            )
        return problems, notes

    @classmethod
    def _unknown_note(cls, key: str, name: str, prefix: str, where: str, only_typos: bool = False) -> str | None:
        """Why ``key`` (read as ``name``) is ignored, suggesting the declared name it resembles."""
        guess = _closest(name, cls._fields())
        if guess is None and only_typos:
            return None
        hint = f"did you mean {_prefixed(prefix, guess)}?" if guess else "it is ignored"
        return f"{key} (in {where}) is not a variable of {cls.__name__}: {hint}"

    @classmethod
    def _fields(cls) -> dict[str, _Field]:
        """The declared variables, computed on first use (so annotations may refer to later names)."""
        cached: dict[str, _Field] | None = cls.__dict__.get(_FIELDS_ATTR)
        if cached is not None:
            return cached
        try:
            hints = get_type_hints(cls, include_extras=True)
        except NameError as exc:
            raise TypeError(f"{cls.__name__}: cannot resolve a type annotation: {exc}") from exc
        fields: dict[str, _Field] = {}
        by_upper: dict[str, str] = {}
        for name, tp in hints.items():
            if name.startswith("_") or tp is ClassVar or get_origin(tp) is ClassVar:
                continue
            if name.upper() in by_upper:
                raise TypeError(f"{cls.__name__}: {by_upper[name.upper()]} and {name} differ only in case")
            by_upper[name.upper()] = name
            default = next((k.__dict__[name] for k in cls.__mro__ if name in k.__dict__), _MISSING)
            fields[name] = _Field(name, tp, default, is_secret(name))
        setattr(cls, _FIELDS_ATTR, fields)
        return fields

    def to_dict(self) -> dict[str, Any]:
        """Every variable with its real (unmasked) value, in declaration order."""
        return {name: getattr(self, name) for name in self._fields()}

    def __getattr__(self, name: str) -> Any:
        # only reached when normal lookup fails: try the declared spelling of a differently-cased name
        if name.startswith("_"):
            raise AttributeError(f"{type(self).__name__!r} has no variable {name!r}")
        declared = self._field(name).name
        if declared == name:  # declared but not set: the instance failed half-way through __init__
            raise AttributeError(f"{type(self).__name__!r} has no value for {name!r}")
        return getattr(self, declared)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only; pass data= to override a variable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __repr__(self) -> str:
        items = ", ".join(
            f"{f.name}={MASK!r}" if f.secret else f"{f.name}={getattr(self, f.name)!r}" for f in self._fields().values()
        )
        return f"{type(self).__name__}({items})"


def _resolve_prefix(sys_env: bool | str | None, environ: Mapping[str, str] | None) -> str | None:
    """The variable-name prefix to read from the environment, or None not to read it."""
    if sys_env is None:
        return "" if environ is not None else None
    if sys_env is True:
        return ""
    if sys_env is False:
        return None
    if isinstance(sys_env, str):
        return sys_env
    raise TypeError(f"sys_env must be a prefix string or a bool, got {type(sys_env).__name__}")


def _resolve(
    field: _Field,
    layers: list[tuple[str, dict[str, tuple[str, object]]]],
    prefix: str | None,
    values: dict[str, Any],
) -> str | None:
    """Store the value of ``field`` in ``values``, or return the problem that prevents it."""
    for label, index in reversed(layers):
        hit = index.get(field.name.upper())
        if hit is None:
            continue
        key, raw = hit
        try:
            values[field.name] = convert(raw, field.type)
        except (msgspec.ValidationError, ValueError, TypeError):
            shown = "an invalid value (not shown: secret)" if field.secret else _short_repr(raw)
            written = text_format(field.type) if isinstance(raw, str) else ""
            expected = type_name(field.type) + (f" ({written})" if written else "")
            return f"{key}: expected {expected}, got {shown} (from {label})"
        return None
    if field.default is not _MISSING:
        default = field.default
        # a class-level [] or {} must not be shared by every instance
        values[field.name] = copy.copy(default) if isinstance(default, list | dict | set) else default
        return None
    looked = [label for label, _ in layers if label != "environment"]
    if prefix is not None:
        also = f" (also looked in {', '.join(looked)})" if looked else ""
        return f"{_prefixed(prefix, field.name)}: required, not set{also}"
    if looked:
        return f"{field.name}: required, not set (looked in {', '.join(looked)})"
    return f"{field.name}: required, not set (no source given: pass data=, file= or sys_env=)"


def _prefixed(prefix: str, name: str) -> str:
    """The environment variable of ``name``, in the user's casing: DEMO_ + REDIS_PASSWORD, not
    demo_REDIS_PASSWORD."""
    return (prefix.upper() if name.isupper() else prefix) + name


def _closest(name: str, declared: Iterable[str]) -> str | None:
    """The declared name ``name`` was most likely meant to be (a typo), or None."""
    by_upper = {d.upper(): d for d in declared}
    match = difflib.get_close_matches(name.upper(), by_upper, n=1, cutoff=0.7)
    return by_upper[match[0]] if match else None


def _short_repr(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
