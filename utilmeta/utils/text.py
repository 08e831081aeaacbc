"""Showing a client's text (a path, a header value) in a message or a log line."""

from __future__ import annotations

__all__ = ["shown"]


def shown(text: str, limit: int = 200) -> str:
    """``text`` with control characters escaped (no log-line or terminal injection) and cut at
    ``limit`` characters; printable text of that length is returned as it is."""
    if text.isprintable() and len(text) <= limit:
        return text
    escaped = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return escaped if len(escaped) <= limit else escaped[:limit] + "..."
