"""The results of a run, and the tables printed from them (plain text or Markdown)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.catalog import APPS, COMPETITORS, App, Row
from benchmarks.checks import ENDPOINTS
from benchmarks.load import WrkResult

__all__ = ["HTTPResult", "CallsResult", "http_tables", "calls_tables", "table"]

KEYS = tuple(probe.key for probe in ENDPOINTS)
TITLES = {"hello": "text", "items": "GET /items/{id}", "users": "POST /users"}


@dataclass
class HTTPResult:
    row: Row
    error: str | None = None
    rss_kib: int | None = None
    runs: dict[str, list[WrkResult]] = field(default_factory=dict)

    def rate(self, key: str) -> float | None:
        runs = self.runs.get(key)
        return statistics.median(r.requests_per_s for r in runs) if runs else None

    def p99_ms(self, key: str) -> float | None:
        values = [r.p99_ms for r in self.runs.get(key, []) if r.p99_ms is not None]
        return statistics.median(values) if values else None

    def faults(self) -> list[str]:
        """Non-2xx answers or socket errors seen under load (the cell is then suspect)."""
        found = []
        for key, runs in self.runs.items():
            bad = sum(r.non_2xx for r in runs)
            errors = sum(r.socket_errors for r in runs)
            if bad or errors:
                found.append(f"{self.row.label} {key}: {bad} non-2xx answers, {errors} socket errors")
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.row.server.key,
            "app": self.row.app.key,
            "error": self.error,
            "rss_kib": self.rss_kib,
            "requests_per_s": {key: self.rate(key) for key in KEYS},
            "runs": {key: [r.as_dict() for r in runs] for key, runs in self.runs.items()},
        }


@dataclass
class CallsResult:
    app: App
    error: str | None = None
    import_ms: list[float] = field(default_factory=list)
    rss_kib: int | None = None
    calls_per_s: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "app": self.app.key,
            "error": self.error,
            "import_ms": self.import_ms,
            "rss_kib": self.rss_kib,
            "calls_per_s": self.calls_per_s,
        }

    @property
    def imported(self) -> float | None:
        """The fastest import: other processes can only slow a fresh process down."""
        return min(self.import_ms) if self.import_ms else None


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or not b else f"{a / b:.2f}"


def _mib(kib: int | None) -> str:
    return "—" if kib is None else f"{kib / 1024:.1f}"


def _ms(ms: float | None) -> str:
    return "—" if ms is None else f"{ms:.1f}"


def _notes(title: str, notes: list[str], markdown: bool, numbered: bool = True) -> str:
    items = [f"({i}) {n}" if numbered else n for i, n in enumerate(notes, 1)]
    if markdown:
        return f"{title}:\n\n" + "\n".join(f"- {item}" for item in items)
    return f"{title}:\n" + "\n".join(f"  {item}" for item in items)


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], markdown: bool) -> str:
    """Columns after the first two are right-aligned (numbers)."""
    rows = [list(r) for r in rows]
    if markdown:
        lines = ["| " + " | ".join(headers) + " |"]
        lines.append("|" + "|".join("---" if i < 2 else "---:" for i in range(len(headers))) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(c) for c in col) for col in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        padded = (c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _comparisons(app: App) -> list[str]:
    """The apps a utilmeta app is divided by: its baseline, then FastAPI and Litestar for
    utilmeta on starlette / fastapi."""
    assert app.baseline is not None
    found = [app.baseline]
    if app.key in ("utilmeta-starlette", "utilmeta-fastapi"):
        found += [c for c in COMPETITORS if c not in found]
    return found


def http_tables(results: list[HTTPResult], markdown: bool) -> str:
    headers = ["server", "app", *(f"{TITLES[k]} req/s" for k in KEYS), "p99 ms (users)", "RSS MiB"]
    body = []
    notes = []
    for r in results:
        if r.error:
            notes.append(f"{r.row.label}: {r.error}")
            body.append([r.row.server.key, r.row.app.key, *(["—"] * len(KEYS)), "—", f"n/a ({len(notes)})"])
        else:
            p99 = r.p99_ms("users")
            cells = [_num(r.rate(k)) for k in KEYS]
            body.append([r.row.server.key, r.row.app.key, *cells, _ms(p99), _mib(r.rss_kib)])
    out = [table(headers, body, markdown)]
    if notes:
        out.append(_notes("unavailable", notes, markdown))
    faults = [f for r in results for f in r.faults()]
    if faults:
        out.append(_notes("suspect cells (errors under load)", faults, markdown, numbered=False))
    by_key = {(r.row.server.key, r.row.app.key): r for r in results if not r.error}
    ratios = []
    for r in results:
        if r.error or not r.row.app.is_utilmeta:
            continue
        for other in _comparisons(r.row.app):
            base = by_key.get((r.row.server.key, other))
            if base is not None:
                cells = [_ratio(r.rate(k), base.rate(k)) for k in KEYS]
                ratios.append([r.row.server.key, f"{r.row.app.key} ÷ {other}", *cells])
    if ratios:
        out.append(table(["server", "ratio", *(TITLES[k] for k in KEYS)], ratios, markdown))
    return "\n\n".join(out)


def calls_tables(results: list[CallsResult], markdown: bool) -> str:
    headers = ["app", "interface", *(f"{TITLES[k]} calls/s" for k in KEYS), "import ms", "RSS MiB"]
    body = []
    notes = []
    for r in results:
        if r.error:
            notes.append(f"{r.app.key}: {r.error}")
            body.append([r.app.key, r.app.interface, *(["—"] * len(KEYS)), "—", f"n/a ({len(notes)})"])
            continue
        cells = [_num(r.calls_per_s.get(k)) for k in KEYS]
        body.append([r.app.key, r.app.interface, *cells, _num(r.imported), _mib(r.rss_kib)])
    out = [table(headers, body, markdown)]
    if notes:
        out.append(_notes("unavailable", notes, markdown))
    by_key = {r.app.key: r for r in results if not r.error and r.calls_per_s}
    ratios = []
    for r in results:
        if r.app.key not in by_key or not r.app.is_utilmeta:
            continue
        for other in _comparisons(r.app):
            base = by_key.get(other)
            if base is not None:
                cells = [_ratio(r.calls_per_s.get(k), base.calls_per_s.get(k)) for k in KEYS]
                ratios.append(
                    [f"{r.app.key} ÷ {other}", APPS[other].interface, *cells, _ratio(r.imported, base.imported)]
                )
    if ratios:
        headers = ["ratio", "interface", *(TITLES[k] for k in KEYS), "import ms (lower is better)"]
        out.append(table(headers, ratios, markdown))
    return "\n\n".join(out)
