"""Showing text in a message: a client's text (a path, a header value) in a log line, the
closest valid choice to a mistyped name, a count with its noun."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["closest", "counted", "did_you_mean", "shown"]


def shown(text: str, limit: int = 200) -> str:
    """``text`` with control characters escaped (no log-line or terminal injection) and cut at
    ``limit`` characters; printable text of that length is returned as it is."""
    if text.isprintable() and len(text) <= limit:
        return text
    escaped = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return escaped if len(escaped) <= limit else escaped[:limit] + "..."


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice ``word`` most likely meant: the same name in another case, else the nearest
    spelling (``'flaks'`` → ``'flask'``, ``'RootApi'`` → ``'RootAPI'``); None when none is close."""
    import difflib  # only on the way to an error message

    options = [c for c in dict.fromkeys(choices) if c != word]
    folded = {c.lower(): c for c in options}
    if word.lower() in folded:
        return folded[word.lower()]
    found = difflib.get_close_matches(word.lower(), list(folded), n=1, cutoff=0.7)
    return folded[found[0]] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest choice, or ``""`` when none is close."""
    match = closest(word, choices)
    return f" (did you mean {match!r}?)" if match is not None else ""


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """``'1 endpoint'``, ``'3 endpoints'`` (``plural``: when adding an s is wrong)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
