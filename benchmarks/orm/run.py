"""The ORM benchmark: the same read and write tasks by hand and by each library, side by side, in one run.

    python -m benchmarks.orm.run [--engines sqlite,postgresql,mariadb] [--seconds 2] [--quick]

Data: ``benchmarks/orm/data.py`` (2,000 articles and 20,000 comments per engine, plus a scaled
copy with 20,000 articles for the time-per-row section); the tasks: ``benchmarks/orm/impls.py``.

- reads: the 500 newest articles with author, tags, comment count and latest 3 comments, as JSON
  bytes, sync and async, per contender: the time per call (best of ``--repeat`` rounds, each as
  many calls as fit in its share of ``--seconds``; the contenders take their rounds in turn), its
  ratio to hand-written, the SQL statements of one call and the peak Python memory of one call
  (tracemalloc, in a separate call so that it slows no timing). Every answer is checked equal to
  the hand-written one before timing.
- writes: ``--writes`` new articles with 5 existing tags each, every call from the same state
  (its rows deleted after it, untimed); the best call of as many as fit in ``--seconds`` (at least
  ``--repeat``, the contenders in turn; a call over a second, DRF's, once), statements and peak
  memory as above.
- scale: hand-written and utilmeta reads of 500, 2,000, 5,000 and 20,000 rows of the scaled data;
  the time per row and per-row(20,000) ÷ per-row(500).

The end is a Markdown report (the tables of docs/orm.md) with the issue's goals marked met or not.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.orm import data  # noqa: E402

SCALE_ROWS = (500, 2_000, 5_000, 20_000)
SLOW = 1.0  # seconds: a write call this slow is timed once (DRF's, 20-40x the others)
GOALS = {"read": 1.2, "async": 1.25, "per_row": 1.2, "write": 1.5}


@dataclass
class Cell:
    seconds: float
    statements: int
    peak: int = 0  # bytes


def _normal(payload: bytes) -> Any:
    import msgspec

    items = msgspec.json.decode(payload)
    for item in items:
        item["tags"].sort(key=lambda t: t["id"])
    return items


def _race(calls: dict[str, Callable[[], Any]], seconds: float, repeat: int) -> dict[str, float]:
    """Best mean seconds per call of each, over ``repeat`` rounds of ``seconds / repeat`` each. The
    contenders take their rounds in turn, so that a burst of load from elsewhere on the machine
    falls on all of them rather than on the one being timed at that moment."""
    for call in calls.values():
        call()  # warm up (plans compiled, connections open)
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(repeat):
        for name, call in calls.items():
            n, start = 0, time.perf_counter()
            while True:
                call()
                n += 1
                elapsed = time.perf_counter() - start
                if elapsed >= seconds / repeat:
                    break
            best[name] = min(best[name], elapsed / n)
    return best


async def _arace(funcs: dict[str, Callable[[], Any]], seconds: float, repeat: int) -> dict[str, float]:
    """``_race`` for coroutine functions, all calls in one event loop (as under an ASGI server)."""
    for func in funcs.values():
        await func()
    best = dict.fromkeys(funcs, float("inf"))
    for _ in range(repeat):
        for name, func in funcs.items():
            n, start = 0, time.perf_counter()
            while True:
                await func()
                n += 1
                elapsed = time.perf_counter() - start
                if elapsed >= seconds / repeat:
                    break
            best[name] = min(best[name], elapsed / n)
    return best


def _statements(alias: str, call: Callable[[], Any]) -> int:
    """The SQL statements ``call`` sends (an executemany counts once)."""
    from django.db import connections

    count = 0

    def counter(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connections[alias].execute_wrapper(counter):
        call()
    return count


def _peak(call: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _line(*cells: Any) -> None:
    print("  ".join(str(c) for c in cells), flush=True)


# -- the sections ----------------------------------------------------------------------------------


def _checked(engine: str, label: str, calls: dict[str, Callable[[], Any]], expected: Any) -> list[str]:
    """The contenders whose answer equals the hand-written one; the others printed and left out."""
    kept = []
    for name, call in calls.items():
        try:
            got = _normal(call())
        except ImportError as e:
            _line(engine, name, label, f"unavailable: {e}")
            continue
        if got != expected:
            _line(engine, name, label, "WRONG ANSWER (differs from hand-written)")
            continue
        kept.append(name)
    return kept


def reads(target: data.Target, args: argparse.Namespace, out: dict[tuple[str, str], Cell]) -> None:
    from asgiref.sync import async_to_sync

    from benchmarks.orm import impls

    alias = target.alias
    expected = _normal(impls.hand(alias, args.rows))
    for mode, table in (("sync", impls.READS), ("async", impls.AREADS)):
        funcs = {name: functools.partial(f, alias, args.rows) for name, f in table.items() if name in args.contenders}
        calls = funcs if mode == "sync" else {name: async_to_sync(f) for name, f in funcs.items()}
        kept = _checked(target.engine, mode, calls, expected)
        if mode == "sync":
            times = _race({name: calls[name] for name in kept}, args.seconds, args.repeat)
        else:
            times = async_to_sync(_arace)({name: funcs[name] for name in kept}, args.seconds, args.repeat)
        for name in kept:
            cell = out[name, mode] = Cell(times[name], _statements(alias, calls[name]), _peak(calls[name]))
            _line(
                f"{target.engine:<11}",
                f"read  {name:<12}",
                f"{mode:<5}",
                f"{cell.seconds * 1000:8.2f} ms",
                f"{cell.statements:5d} stmts",
                f"{cell.peak / 2**20:6.2f} MiB",
            )


def writes(target: data.Target, args: argparse.Namespace, out: dict[str, Cell]) -> None:
    """Each call from the same state (the rows it wrote deleted after it, untimed); one call per
    round, the contenders in turn, as many rounds as fit in ``--seconds`` per contender but at
    least ``--repeat``; a contender whose call takes over ``SLOW`` (DRF's) is timed once."""
    from benchmarks.orm import impls
    from benchmarks.orm.benchapp.models import Article, Tag, User

    alias = target.alias
    users = list(User.objects.using(alias).order_by("pk").values_list("pk", flat=True)[:50])
    tags = list(Tag.objects.using(alias).order_by("pk").values_list("pk", flat=True))
    items = impls.write_items(args.writes, users, tags)
    calls = {name: functools.partial(f, alias, items) for name, f in impls.WRITES.items() if name in args.contenders}
    best: dict[str, float] = {}
    statements: dict[str, int] = {}
    for name, call in calls.items():  # the answer checked, the statements counted, a first time
        impls.cleanup(alias)
        start = time.perf_counter()
        statements[name] = _statements(alias, call)
        best[name] = time.perf_counter() - start
        written = Article.objects.using(alias).filter(title=impls.WRITE_TITLE)
        assert written.count() == args.writes, f"{name} wrote {written.count()} articles"
        assert Article.tags.through.objects.using(alias).filter(article__in=written).count() == 5 * args.writes
    fast = [name for name in calls if best[name] <= SLOW]
    rounds, spent = 0, 0.0
    while fast and (rounds < args.repeat or spent < args.seconds * len(fast)):
        for name in fast:
            impls.cleanup(alias)
            start = time.perf_counter()
            calls[name]()
            elapsed = time.perf_counter() - start
            best[name], spent = min(best[name], elapsed), spent + elapsed
        rounds += 1
    for name, call in calls.items():
        impls.cleanup(alias)
        cell = out[name] = Cell(best[name], statements[name], _peak(call))
        _line(
            f"{target.engine:<11}",
            f"write {name:<12}",
            "sync ",
            f"{cell.seconds * 1000:8.1f} ms",
            f"{cell.statements:5d} stmts",
            f"{cell.peak / 2**20:6.2f} MiB",
        )
    impls.cleanup(alias)
    data.analyze(alias)  # the deleted rows vacuumed now rather than by autovacuum during the next section


def scale(target: data.Target, args: argparse.Namespace, out: dict[tuple[str, int], Cell]) -> None:
    from benchmarks.orm import impls

    assert target.scale is not None
    alias = target.scale
    for rows in SCALE_ROWS:
        calls = {
            name: functools.partial(f, alias, rows)
            for name, f in (("hand-written", impls.hand), ("utilmeta", impls.utilmeta))
            if name in args.contenders
        }
        kept = _checked(target.engine, str(rows), calls, _normal(calls["hand-written"]()))
        times = _race({name: calls[name] for name in kept}, args.seconds, args.repeat)
        for name in kept:
            cell = out[name, rows] = Cell(times[name], _statements(alias, calls[name]))
            _line(
                f"{target.engine:<11}",
                f"scale {name:<12}",
                f"{rows:6d}",
                f"{cell.seconds * 1000:8.1f} ms",
                f"{cell.seconds / rows * 1e6:6.2f} µs/row",
                f"{cell.statements:5d} stmts",
            )


# -- the report ------------------------------------------------------------------------------------

NAMES = {
    "hand-written": "hand-written (`values_list` + grouping)",
    "utilmeta": "**utilmeta** `Schema.serialize`",
    "DRF": "DRF nested serializers",
    "Ninja": "Django Ninja `ModelSchema`",
    "pydantic": "pydantic `from_attributes`",
}
WRITE_NAMES = {
    "hand-written": "hand-written `bulk_create` (articles, then tag links)",
    "utilmeta": "**utilmeta** `Schema.bulk_save`",
    "DRF": "DRF `ModelSerializer(many=True).save()`",
}
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mariadb": "MariaDB"}


def _ms(cell: Cell | None) -> str:
    if cell is None:
        return ""
    return f"{cell.seconds * 1000:,.0f}" if cell.seconds >= 1 else f"{cell.seconds * 1000:,.1f}"


def _ratio(cell: Cell | None, base: Cell | None) -> str:
    return "" if cell is None or base is None else f"{cell.seconds / base.seconds:.2f}"


def _mark(value: float | None, goal: float, extra: bool = True) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f} {'met' if value <= goal and extra else '**not met**'}"


def _versions(targets: list[data.Target]) -> str:
    import django
    from django.db import connections

    parts = [f"Python {platform.python_version()}", f"Django {django.__version__}"]
    for target in targets:
        if target.engine == "sqlite":
            parts.append(f"SQLite {sqlite3.sqlite_version}")
            continue
        with connections[target.alias].cursor() as cursor:
            cursor.execute("SELECT version()")
            version = str(cursor.fetchone()[0])
        parts.append(f"{LABELS[target.engine]} {version.split(' on ')[0].split(',')[0]}")
    return ", ".join(parts)


def _table_head(title: str, columns: list[str], numbers: bool = True) -> None:
    """A Markdown table's title and head; with ``numbers``, every column after the first two is
    right-aligned."""
    print()
    print(title)
    print()
    print("| " + " | ".join(columns) + " |")
    print("|" + "".join("---:|" if numbers and i >= 2 else "---|" for i in range(len(columns))))


def report(targets: list[data.Target], args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> None:
    cores = os.cpu_count()
    print()
    print(
        f"Run {datetime.now():%Y-%m-%d %H:%M}, {cores} cores, load average {os.getloadavg()[0]:.2f} at the end; "
        f"{_versions(targets)}."
    )
    print(f"Command: `python -m benchmarks.orm.run {' '.join(args.argv)}`".rstrip() + "")
    _table_head(
        f"Reads, {args.rows} rows (ms per call, best of {args.repeat} rounds; peak = tracemalloc peak of one call):",
        ["engine", "contender", "sync ms", "× hand", "async ms", "× hand", "async ÷ sync", "statements", "peak MiB"],
    )
    for target in targets:
        cells = results[target.engine]["reads"]
        for name in NAMES:
            sync, asy = cells.get((name, "sync")), cells.get((name, "async"))
            if sync is None and asy is None:
                continue
            statements = "/".join(sorted({str(c.statements) for c in (sync, asy) if c is not None}))
            peak = max(c.peak for c in (sync, asy) if c is not None) / 2**20
            hand_sync, hand_async = cells.get(("hand-written", "sync")), cells.get(("hand-written", "async"))
            print(
                f"| {LABELS[target.engine]} | {NAMES[name]} | {_ms(sync)} | {_ratio(sync, hand_sync)} "
                f"| {_ms(asy)} | {_ratio(asy, hand_async)} | {_ratio(asy, sync)} "
                f"| {statements} | {peak:.2f} |"
            )
    _table_head(
        f"Writes, {args.writes:,} articles with 5 tags each (ms, the best call; DRF's timed once):",
        ["engine", "contender", "ms", "× hand", "statements", "peak MiB"],
    )
    for target in targets:
        cells = results[target.engine]["writes"]
        for name in WRITE_NAMES:
            if name in cells:
                cell = cells[name]
                print(
                    f"| {LABELS[target.engine]} | {WRITE_NAMES[name]} | {_ms(cell)} "
                    f"| {_ratio(cell, cells.get('hand-written'))} | {cell.statements:,} | {cell.peak / 2**20:.2f} |"
                )
    _table_head(
        f"Time per row (µs), {data.SCALE_ARTICLES:,} articles and {data.SCALE_ARTICLES * 10:,} comments:",
        ["engine", "contender", *(f"{r:,} rows" for r in SCALE_ROWS), "per-row 20,000 ÷ 500", "statements"],
    )
    for target in targets:
        cells = results[target.engine]["scale"]
        for name in ("hand-written", "utilmeta"):
            row = [cells.get((name, r)) for r in SCALE_ROWS]
            if not any(row):
                continue
            first, last = row[0], row[-1]
            growth = (
                ""
                if first is None or last is None
                else f"{(last.seconds / SCALE_ROWS[-1]) / (first.seconds / SCALE_ROWS[0]):.2f}"
            )
            statements = "/".join(sorted({str(c.statements) for c in row if c is not None}))
            print(
                f"| {LABELS[target.engine]} | {name} | "
                + " | ".join(
                    "" if c is None else f"{c.seconds / r * 1e6:.1f}" for c, r in zip(row, SCALE_ROWS, strict=True)
                )
                + f" | {growth} | {statements} |"
            )
    _table_head(
        "Goals (utilmeta):",
        [
            "engine",
            f"read ≤ {GOALS['read']}× hand, 3 statements (sync / async)",
            f"async ≤ {GOALS['async']}× sync",
            f"per row flat: 20,000 ÷ 500 within {1 / GOALS['per_row']:.2f}–{GOALS['per_row']}",
            f"bulk_save ≤ {GOALS['write']}× bulk_create",
        ],
        numbers=False,
    )
    for target in targets:
        r = results[target.engine]
        reads_, writes_, scale_ = r["reads"], r["writes"], r["scale"]

        def ratio(a: Cell | None, b: Cell | None) -> float | None:
            return None if a is None or b is None else a.seconds / b.seconds

        us, ua = reads_.get(("utilmeta", "sync")), reads_.get(("utilmeta", "async"))
        read_cell = " / ".join(
            _mark(ratio(c, reads_.get(("hand-written", mode))), GOALS["read"], c is not None and c.statements == 3)
            for c, mode in ((us, "sync"), (ua, "async"))
        )
        first, last = scale_.get(("utilmeta", SCALE_ROWS[0])), scale_.get(("utilmeta", SCALE_ROWS[-1]))
        growth = (
            None if first is None or last is None else (last.seconds / SCALE_ROWS[-1]) / (first.seconds / SCALE_ROWS[0])
        )
        print(
            f"| {LABELS[target.engine]} | {read_cell} | {_mark(ratio(ua, us), GOALS['async'])} "
            f"| {_mark(growth, GOALS['per_row'], growth is not None and growth >= 1 / GOALS['per_row'])} "
            f"| {_mark(ratio(writes_.get('utilmeta'), writes_.get('hand-written')), GOALS['write'])} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql,mariadb")
    parser.add_argument("--sections", default="reads,writes,scale", help="any of reads, writes, scale")
    parser.add_argument("--contenders", default=",".join(NAMES), help="hand-written always runs")
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per contender, mode and size")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best one counts")
    parser.add_argument("--quick", action="store_true", help="a smoke run: --seconds 0.4 --repeat 2")
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument(
        "--data",
        default=os.path.join(tempfile.gettempdir(), "utilmeta-orm-bench.sqlite3"),
        help="the SQLite file (the scaled data beside it, '-scale' added)",
    )
    args = parser.parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else argv
    if args.quick:
        args.seconds, args.repeat = 0.4, 2
    args.contenders = {"hand-written", *args.contenders.split(",")}
    sections = set(args.sections.split(","))
    targets = data.setup(args.engines.split(","), args.data)
    results: dict[str, dict[str, Any]] = {}
    for target in targets:
        print(f"{target.engine}: {target.note}", flush=True)
        data.fill(target.alias, data.ARTICLES)
        r = results[target.engine] = {"reads": {}, "writes": {}, "scale": {}}
        if "reads" in sections:
            reads(target, args, r["reads"])
        if "writes" in sections:
            writes(target, args, r["writes"])
        if "scale" in sections:
            if target.scale is None:
                print(f"{target.engine}: no database for the scaled data, time per row left out")
            else:
                data.fill(target.scale, data.SCALE_ARTICLES)
                scale(target, args, r["scale"])
    report(targets, args, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
