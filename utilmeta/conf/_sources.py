"""Where :class:`~utilmeta.conf.Env` values come from: configuration files and the environment.

File format by extension: ``.json`` JSON, ``.yml``/``.yaml`` YAML (PyYAML), ``.ini``/``.cfg`` INI,
anything else ``.env``-style ``KEY=VALUE`` lines. Parse errors raise ``ValueError`` naming the
file and the line, never the line's text, since the line may hold a secret.
"""

from __future__ import annotations

import configparser
import errno
import json
import os
from collections.abc import Mapping
from pathlib import Path

from utilmeta.utils.deps import require

__all__ = ["read_file", "is_dotenv", "index_mapping", "index_environ"]

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def is_dotenv(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is read as ``KEY=VALUE`` lines: any name but ``.json``, ``.yml``/``.yaml``,
    ``.ini``/``.cfg``."""
    return Path(path).suffix.lower() not in (".json", ".yml", ".yaml", ".ini", ".cfg")


def read_file(path: str | os.PathLike[str]) -> dict[str, object]:
    """Read a configuration file into a flat ``{name: value}`` dict."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(errno.ENOENT, "env file not found", os.fspath(path))
    text = file.read_text(encoding="utf-8-sig")
    suffix = file.suffix.lower()
    if suffix == ".json":
        return _read_json(text, str(file))
    if suffix in (".yml", ".yaml"):
        return _read_yaml(text, str(file))
    if suffix in (".ini", ".cfg"):
        return dict(_read_ini(text, str(file)))
    return dict(parse_dotenv(text, str(file)))


def _top_level(data: object, origin: str) -> dict[str, object]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{origin}: expected a mapping of names to values at the top level")
    return {str(key): value for key, value in data.items()}


def _read_json(text: str, origin: str) -> dict[str, object]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{origin}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    return _top_level(data, origin)


def _read_yaml(text: str, origin: str) -> dict[str, object]:
    yaml = require("yaml", "yaml", package="PyYAML")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot parse"
        raise ValueError(f"{origin}: invalid YAML{where}: {problem}") from None
    return _top_level(data, origin)


class _CaseSensitiveParser(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr


def _read_ini(text: str, origin: str) -> dict[str, str]:
    """INI: the ``[env]`` section if there is one, else every section merged (later ones win).

    A file without any section header is read as if it started with ``[env]``.
    """
    # no interpolation: a password may well contain "%"
    parser = _CaseSensitiveParser(interpolation=None, strict=False)
    try:
        try:
            parser.read_string(text, source=origin)
        except configparser.MissingSectionHeaderError:
            parser = _CaseSensitiveParser(interpolation=None, strict=False)
            parser.read_string("[env]\n" + text, source=origin)
    except configparser.ParsingError as exc:
        lines = ", ".join(str(lineno) for lineno, _ in exc.errors)
        raise ValueError(f"{origin}: cannot parse INI line(s) {lines}") from None
    except configparser.Error as exc:
        raise ValueError(f"{origin}: cannot parse INI: {exc.message}") from None
    for section in parser.sections():
        if section.lower() == "env":
            return dict(parser[section])
    merged = dict(parser.defaults())
    for section in parser.sections():
        merged.update(parser[section])
    return merged


def parse_dotenv(text: str, origin: str = "<string>") -> dict[str, str]:
    """``KEY=VALUE`` lines: ``#`` comments, optional ``export``, single or double quotes.

    Only the first ``=`` splits, so values may contain ``=``. Unquoted values end at a ``#``
    preceded by whitespace; double-quoted values understand ``\\n``, ``\\t``, ``\\"``, ``\\\\``.
    """
    values: dict[str, str] = {}
    for lineno, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export ") or line.startswith("export\t"):
            line = line[len("export") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or any(ch.isspace() for ch in key):
            raise ValueError(f"{origin}, line {lineno}: expected KEY=VALUE")
        try:
            values[key] = _unquote(value.strip())
        except ValueError as exc:
            raise ValueError(f"{origin}, line {lineno}: {exc}") from None
    return values


def _unquote(value: str) -> str:
    if not value or value[0] not in "\"'":
        for i, ch in enumerate(value):
            if ch == "#" and i > 0 and value[i - 1].isspace():
                return value[:i].rstrip()
        return value
    quote, i = value[0], 1
    out: list[str] = []
    while i < len(value):
        ch = value[i]
        if ch == quote:
            rest = value[i + 1 :].strip()
            if rest and not rest.startswith("#"):
                raise ValueError("unexpected text after the closing quote")
            return "".join(out)
        if ch == "\\" and quote == '"' and i + 1 < len(value):
            nxt = value[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    raise ValueError("unterminated quoted value")


def index_mapping(data: Mapping[str, object]) -> dict[str, tuple[str, object]]:
    """``UPPER_NAME → (name as written, value)`` for case-insensitive lookup."""
    return {str(key).upper(): (str(key), value) for key, value in data.items()}


def index_environ(environ: Mapping[str, object], prefix: str) -> dict[str, tuple[str, object]]:
    """Variables starting with ``prefix`` (any case): ``UPPER_NAME_WITHOUT_PREFIX → (variable, value)``."""
    upper_prefix = prefix.upper()
    found: dict[str, tuple[str, object]] = {}
    for key, value in environ.items():
        upper = key.upper()
        if not upper.startswith(upper_prefix) or len(upper) == len(upper_prefix):
            continue
        name = upper[len(upper_prefix) :]
        # on case-sensitive systems both demo_x and DEMO_X may exist: the conventional spelling wins
        if name not in found or key == upper:
            found[name] = (key, value)
    return found
