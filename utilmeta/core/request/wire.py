"""What a request's header block may carry (RFC 9110 §5, RFC 9112 §5), for servers that let
more through.

Most servers refuse a malformed header block themselves. Where one does not (Sanic accepts NUL
and bare CR in values, header lines that start with whitespace, and a space before the colon —
``Content-Length : 3`` is a request-smuggling desync waiting for a proxy that reads it
differently), the adaptor hands the raw block to :func:`screen_head` and the core refuses the
request with the error it returns (one pass of one compiled pattern: well under a microsecond);
an ASGI server's header pairs go to :func:`screen_size`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from utilmeta.utils.exceptions import BadRequest, HttpError, RequestHeaderFieldsTooLarge
from utilmeta.utils.text import shown

__all__ = ["screen_head", "screen_size"]

_TCHAR = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
#: a control character (but HTAB) anywhere, a CR or LF not in a CRLF pair, or a header line that
#: does not start with a field name and its colon (an empty name, a space before the colon, a
#: leading space: obs-fold, which RFC 9112 §5.2 lets a server refuse)
_MALFORMED = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n|\r\n(?![" + _TCHAR + rb"]+:)")
_WHAT = {0: "a control character", 13: "a bare CR", 10: "a bare LF"}


def screen_head(head: bytes, limit: int) -> HttpError | None:
    """The error to refuse a request with, given its raw head (the request line and header
    lines, CRLF-separated, without the blank line that ends them), or None when it is sound."""
    if len(head) > limit:
        return RequestHeaderFieldsTooLarge(f"the request's header block exceeds {limit} bytes")
    found = _MALFORMED.search(head)
    if found is None:
        return None
    char = found.group()
    if char == b"\r\n":
        # the field name only: the value may be a credential (``Authorization : Bearer ...``)
        name = head[found.end() :].split(b"\r\n", 1)[0].split(b":", 1)[0][:40]
        return BadRequest(f"malformed header line starting {shown(name.decode('latin-1'))!r}")
    return BadRequest(f"the request's header block has {_WHAT.get(char[0], 'a control character')}")


def screen_size(pairs: Iterable[tuple[bytes, bytes]], limit: int) -> HttpError | None:
    """The 431 for header pairs larger than ``limit`` bytes in all, from a server that passes any
    size on (uvicorn with httptools reads a header block of any size); None otherwise."""
    size = 0
    for name, value in pairs:  # a plain loop: no generator or sum() call per request
        size += len(name) + len(value)
    if size > limit:
        return RequestHeaderFieldsTooLarge(f"the request's header block exceeds {limit} bytes")
    return None
