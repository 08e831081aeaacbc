"""Form bodies without a web framework: ``application/x-www-form-urlencoded`` and
``multipart/form-data`` parsing, multipart encoding (for the in-process test client), and the
``parse_options_header`` helper used for ``Content-Type``.

Every problem with a client's body becomes an :class:`~utilmeta.utils.exceptions.HttpError`
that says what is wrong: 400 for malformed input, 413 for a broken limit, 415 for a body
that is not multipart at all. Errors of python-multipart never leave this module.
"""

from __future__ import annotations

import codecs
import logging
import mimetypes
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Union
from urllib.parse import unquote, unquote_to_bytes

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser

from utilmeta.core.file import File
from utilmeta.core.file._file import spool
from utilmeta.utils.exceptions import BadRequest, RequestEntityTooLarge, UnsupportedMediaType

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

# python-multipart logs a warning for each malformed body it sees and adds no handler, so
# without logging configured every bad client request would print to stderr. We answer those
# with a 400 instead; a NullHandler stops the stray output and leaves configured logging as is.
logging.getLogger("python_multipart.multipart").addHandler(logging.NullHandler())

__all__ = ["FileSpec", "parse_options_header", "parse_urlencoded", "parse_multipart", "encode_multipart"]

#: A file for :func:`encode_multipart`: content, ``(filename, content)`` or
#: ``(filename, content, content_type)``.
FileSpec = Union[bytes, tuple[str, bytes], tuple[str, bytes, str]]

_PARAM = re.compile(r';\s*([^\s;=]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;]*))?')
# Only \\ and \" are unescaped: browsers send backslashes in filenames unescaped.
_ESCAPED = re.compile(r'\\([\\"])')
_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
# RFC 2046 §5.1.1: 1-70 characters from this set, not ending in a space.
_BOUNDARY = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def parse_options_header(value: str) -> tuple[str, dict[str, str]]:
    """Split ``multipart/form-data; boundary="a b"; charset=utf-8`` into the lower-cased main
    value and its parameters (names lower-cased, quoted values unquoted).

    An RFC 8187 extended parameter (``filename*=UTF-8''na%C3%AFve.txt``) is decoded and, as
    RFC 6266 asks, wins over the plain one of the same name.
    """
    main, sep, rest = value.partition(";")
    params: dict[str, str] = {}
    extended: dict[str, str] = {}
    for m in _PARAM.finditer(sep + rest):
        key, raw = m.group(1).lower(), (m.group(2) or "").strip()
        if len(raw) >= 2 and raw[0] == raw[-1] == '"':
            raw = _ESCAPED.sub(r"\1", raw[1:-1])
        if key.endswith("*"):
            decoded = _decode_extended(raw)
            if decoded is not None:
                extended[key[:-1]] = decoded
        else:
            params[key] = raw
    params.update(extended)
    return main.strip().lower(), params


def _decode_extended(raw: str) -> str | None:
    charset, _, rest = raw.partition("'")
    _language, _, encoded = rest.partition("'")
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="strict")
    except (LookupError, UnicodeDecodeError):
        return None  # an undecodable extended value is ignored; the plain one still counts


def parse_urlencoded(body: bytes, charset: str = "utf-8") -> dict[str, list[str]]:
    """Parse an ``application/x-www-form-urlencoded`` body into lists of values per name.

    Blank values are kept (``a=&b`` gives ``{"a": [""], "b": [""]}``); ``+`` is a space.
    A broken ``%`` escape or text that is not valid ``charset`` is a 400 naming the problem.
    """
    try:
        codecs.lookup(charset)
    except LookupError:
        raise BadRequest(f"unknown charset {charset!r} for the form body") from None
    result: dict[str, list[str]] = {}
    for pair in body.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        name = _form_unquote(raw_name, charset, "a form field name")
        value = _form_unquote(raw_value, charset, f"form field {name!r}")
        result.setdefault(name, []).append(value)
    return result


def _form_unquote(raw: bytes, charset: str, what: str) -> str:
    bad = _BAD_PERCENT.search(raw)
    if bad is not None:
        snippet = raw[bad.start() : bad.start() + 3].decode("latin-1")
        raise BadRequest(f"malformed percent-encoding {snippet!r} in {what}")
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode(charset)
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not valid {charset} text") from None


def _spell_out_empty_bodies(body: bytes, boundary: bytes) -> bytes:
    """Give every body-less part an empty body.

    RFC 2046 makes a part's body optional: its headers may end with a single CRLF followed by
    the next delimiter (werkzeug's test client sends an empty field so). python-multipart would
    read the next part as that body; an explicit empty body is the same message it parses right.
    """
    delimiter = b"--" + boundary
    if b"\r\n\r\n" + delimiter not in body:
        return body
    bare = re.compile(
        b"(?:^|(?<=\r\n))" + re.escape(delimiter) + b"\r\n(?:[^\r\n]+\r\n)+\r\n(?=" + re.escape(delimiter) + b")"
    )
    return bare.sub(lambda m: m.group(0) + b"\r\n", body)


def parse_multipart(
    body: bytes,
    content_type: str,
    *,
    max_parts: int = 1000,
    max_files: int = 100,
    max_file_size: int | None = None,
) -> tuple[dict[str, list[str]], dict[str, list[File]]]:
    """Parse a ``multipart/form-data`` body into text fields and uploaded files.

    ``content_type`` is the whole header value, boundary included. Parts with a filename
    become :class:`File` s (kept in memory up to 1 MiB, spooled to disk above); the rest are
    text decoded with the part's charset (UTF-8 by default). A browser's "no file chosen"
    part (empty filename, no content) is dropped, so an optional file stays absent.
    """
    mime, params = parse_options_header(content_type)
    if mime != "multipart/form-data":
        raise UnsupportedMediaType(f"expected a multipart/form-data body, got {mime or 'no content type'!r}")
    boundary = params.get("boundary", "")
    if not boundary:
        raise BadRequest("multipart body has no boundary in its Content-Type header")
    if not body.strip():
        raise BadRequest("multipart body is empty (not even a closing boundary)")
    collector = _Collector(max_parts, max_files, max_file_size)
    try:
        try:
            body = _spell_out_empty_bodies(body, boundary.encode("latin-1"))
            parser = MultipartParser(boundary.encode("latin-1"), callbacks=collector.callbacks())
            parser.write(body)
            parser.finalize()
        except (FormParserError, UnicodeEncodeError) as e:
            raise BadRequest(f"malformed multipart body: {e}") from None
        if not collector.done:
            raise BadRequest("malformed multipart body: it ends before the closing boundary")
    except BaseException:
        collector.discard()
        raise
    return collector.fields, collector.files


class _Part:
    """The part being received: its headers, then its content."""

    def __init__(self, name: str, headers: dict[str, str], filename: str | None) -> None:
        self.name = name
        self.headers = headers
        self.filename = filename
        mime, params = parse_options_header(headers.get("content-type", ""))
        self.content_type = mime or None
        self.charset = params.get("charset") or "utf-8"
        self.size = 0
        self.text = bytearray()
        self.buffer: IO[bytes] | None = spool() if filename is not None else None


class _Collector:
    """The callbacks given to python-multipart's streaming parser, and what they collect."""

    def __init__(self, max_parts: int, max_files: int, max_file_size: int | None) -> None:
        self.max_parts = max_parts
        self.max_files = max_files
        self.max_file_size = max_file_size
        self.fields: dict[str, list[str]] = {}
        self.files: dict[str, list[File]] = {}
        self.done = False
        self._parts = 0
        self._file_count = 0
        self._headers: dict[str, str] = {}
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._part: _Part | None = None

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": lambda data, start, end: self._header_field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > self.max_parts:
            raise RequestEntityTooLarge(f"multipart body has more than {self.max_parts} parts (the limit)")
        self._headers = {}

    def on_header_end(self) -> None:
        name = _header_text(self._header_field).strip().lower()
        self._headers[name] = _header_text(self._header_value).strip()
        self._header_field.clear()
        self._header_value.clear()

    def on_headers_finished(self) -> None:
        _kind, params = parse_options_header(self._headers.get("content-disposition", ""))
        name = params.get("name")
        if name is None:  # name="" is a legal (empty) field name
            raise BadRequest("a multipart part has no name in its Content-Disposition header")
        filename = params.get("filename")
        if filename is not None:
            self._file_count += 1
            if self._file_count > self.max_files:
                raise RequestEntityTooLarge(f"multipart body has more than {self.max_files} files (the limit)")
        self._part = _Part(name, self._headers, filename)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        assert part is not None  # python-multipart only sends data after the headers
        part.size += end - start
        if part.buffer is None:
            part.text.extend(data[start:end])
            return
        if self.max_file_size is not None and part.size > self.max_file_size:
            raise RequestEntityTooLarge(f"file {part.name!r} is larger than the limit of {self.max_file_size} bytes")
        part.buffer.write(data[start:end])

    def on_part_end(self) -> None:
        part, self._part = self._part, None
        if part is None:
            raise BadRequest("a multipart part has no headers")
        if part.buffer is None:
            self.fields.setdefault(part.name, []).append(_field_text(part))
            return
        if not part.filename and not part.size:
            part.buffer.close()
            return
        # Keep only the last path component: some clients send a full local path, and a
        # filename must never steer save() outside the directory the application chose.
        filename: str | None = re.split(r"[/\\]", part.filename or "")[-1]
        if filename in ("", ".", ".."):
            filename = None
        upload = File._from_spool(
            part.buffer,
            filename=filename,
            content_type=part.content_type,
            name=part.name,
            headers=part.headers,
        )
        self.files.setdefault(part.name, []).append(upload)

    def on_end(self) -> None:
        self.done = True

    def discard(self) -> None:
        """Close what was received when the body turns out to be bad."""
        if self._part is not None and self._part.buffer is not None:
            self._part.buffer.close()
        for uploads in self.files.values():
            for upload in uploads:
                upload.close()


def _header_text(raw: bytearray) -> str:
    # Browsers send non-ASCII filenames as raw UTF-8; anything else is read as Latin-1.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _field_text(part: _Part) -> str:
    try:
        return part.text.decode(part.charset)
    except LookupError:
        raise BadRequest(f"form field {part.name!r} has an unknown charset {part.charset!r}") from None
    except UnicodeDecodeError:
        raise BadRequest(f"form field {part.name!r} is not valid {part.charset} text") from None


def encode_multipart(
    fields: Mapping[str, str | Sequence[str]] | None = None,
    files: Mapping[str, FileSpec | Sequence[FileSpec]] | None = None,
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """Encode fields and files as a ``multipart/form-data`` body, as a browser would.

    Returns ``(body, content_type_header)``. A file given as bare bytes is named after its
    field; a missing content type is guessed from the filename.
    """
    if boundary is None:
        boundary = f"utilmeta-{secrets.token_hex(16)}"
    elif not _BOUNDARY.fullmatch(boundary):
        raise ValueError(f"invalid multipart boundary {boundary!r} (RFC 2046: 1-70 safe characters)")
    parts: list[tuple[str, bytes]] = []
    for name, value in (fields or {}).items():
        for text in [value] if isinstance(value, str) else value:
            parts.append((f"Content-Disposition: form-data; name={_quote(name)}\r\n", text.encode()))
    for name, spec in (files or {}).items():
        single = isinstance(spec, bytes) or (isinstance(spec, tuple) and bool(spec) and isinstance(spec[0], str))
        specs: Sequence[FileSpec] = [spec] if single else spec  # type: ignore[list-item,assignment]
        for item in specs:
            filename, content, ctype = _file_spec(name, item)
            head = (
                f"Content-Disposition: form-data; name={_quote(name)}; filename={_quote(filename)}\r\n"
                f"Content-Type: {ctype}\r\n"
            )
            parts.append((head, content))
    delimiter = b"--" + boundary.encode("ascii")
    chunks: list[bytes] = []
    for head, content in parts:
        if delimiter in content:
            raise ValueError(f"the multipart boundary {boundary!r} occurs in the content; choose another")
        chunks += [delimiter, b"\r\n", head.encode(), b"\r\n", content, b"\r\n"]
    chunks += [delimiter, b"--\r\n"]
    shown = boundary if _TOKEN.fullmatch(boundary) else _quote(boundary)
    return b"".join(chunks), f"multipart/form-data; boundary={shown}"


def _file_spec(name: str, spec: FileSpec) -> tuple[str, bytes, str]:
    if isinstance(spec, bytes):
        filename, content, ctype = name, spec, None
    else:
        filename, content, ctype = spec[0], spec[1], spec[2] if len(spec) > 2 else None
    return filename, content, ctype or mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _quote(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"a multipart name or filename cannot contain a line break: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
