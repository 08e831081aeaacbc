"""Schemathesis against the served document, on each of the six framework backends and the
framework-free ASGI/WSGI ones: every phase (examples, coverage, fuzzing, stateful) and every
check. A response that is a server error, has an undocumented status or content type, or does not
match its schema fails the test.

Bounded (a few examples per operation, a fixed seed, no example database) so it stays fast.
Each backend is reached as ``Backend.reach`` (``tests/backends_table.py``) says: in-process through
its ASGI or WSGI app, or (``'server'``: for an app that is neither, like tornado's) through
``service.run()`` in a subprocess on a loopback port; ``asgi-server`` is the framework-free ASGI
backend through ``service.run()`` too.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backends_table import BACKENDS as TABLE
from optional import optional_import

schemathesis = optional_import("schemathesis", "pip install 'utilmeta[test]'")

from schemathesis.engine import events, from_schema  # noqa: E402

from .apis import application, running  # noqa: E402

#: backend name -> how schemathesis reaches it: 'asgi' / 'wsgi' (in-process) or 'server' (a real one)
BACKENDS = {**{name: b.reach for name, b in TABLE.items()}, "asgi-server": "server"}

CONFIG = {
    "seed": 7,
    "checks": {"enabled": True},
    "generation": {"max-examples": 6, "deterministic": True, "database": "none"},
}

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

# Failures that are the tool's, not the service's: each says what Schemathesis sends that is not
# what it meant to send. Never a place for a bug of the service or the document: fix those.
KNOWN: dict[str, str] = {
    "unsendable-cookie": "Schemathesis: a cookie value with ';' cannot be sent in a Cookie header (it ends the "
    "value), so what arrives is a different, valid value",
    "form-type-mutation": "Schemathesis: a number sent in a form or multipart field arrives as text, "
    "which a string field rightly accepts",
    "raw-multipart-name": "Schemathesis (through werkzeug's and httpx's encoders): an extra multipart field whose "
    "name holds CR or LF is written raw into the part's Content-Disposition header instead of escaped "
    "(as browsers write %0D/%0A), so the body sent is malformed and rightly answered 400",
}


def _known(check: str, case: Any, body: bytes, message: str) -> str | None:
    """The KNOWN entry that explains a failure, if one does."""
    if check == "negative_data_rejection":
        if "in cookie" in message and any(";" in str(v) for v in (case.cookies or {}).values()):
            return "unsendable-cookie"
        if case.media_type in _FORMS and "(was " in message and "became" in message:
            return "form-type-mutation"
    if check == "positive_data_acceptance" and case.media_type == "multipart/form-data":
        names = case.body if isinstance(case.body, dict) else {}
        if b"malformed multipart body" in body and any("\r" in k or "\n" in k for k in names):
            return "raw-multipart-name"
    return None


def _failures(stream: Iterator[Any]) -> tuple[list[str], set[str], int]:
    found: list[str] = []
    known: set[str] = set()
    scenarios = 0
    for event in stream:
        if isinstance(event, (events.NonFatalError, events.FatalError)):
            found.append(f"schemathesis error: {getattr(event, 'value', None) or getattr(event, 'exception', '')}")
        recorder = getattr(event, "recorder", None)
        if not isinstance(event, (events.ScenarioFinished, events.FuzzScenarioFinished)) or recorder is None:
            continue
        scenarios += 1
        for case_id, checks in recorder.checks.items():
            for check in checks:
                if check.failure_info is None:
                    continue
                case = recorder.cases[case_id].value
                interaction = recorder.interactions.get(case_id)
                body = interaction.response.content or b"" if interaction and interaction.response else b""
                message = str(check.failure_info.failure)
                reason = _known(check.name, case, body, message)
                if reason is not None:
                    known.add(reason)
                    continue
                status = interaction.response.status_code if interaction and interaction.response else None
                found.append(
                    f"{check.name} on {case.method} {case.formatted_path} -> {status} {body[:300]!r}\n"
                    f"  {message[:500]}\n  query={case.query} headers={case.headers} cookies={case.cookies} "
                    f"body={case.body!r:.300}"
                )
    return found, known, scenarios


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_schemathesis_finds_no_undocumented_behaviour(backend: str, tmp_path: Path) -> None:
    config = schemathesis.Config.from_dict(CONFIG)
    kind = BACKENDS[backend]
    with contextlib.ExitStack() as stack:
        if kind == "server":
            base = stack.enter_context(running(backend.removesuffix("-server"), tmp_path))
            schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json", config=config)
        else:
            app = application(backend)
            load = schemathesis.openapi.from_asgi if kind == "asgi" else schemathesis.openapi.from_wsgi
            schema = load("/api/openapi.json", app, config=config)
        found, known, scenarios = _failures(from_schema(schema).execute())
    assert scenarios >= 8, "schemathesis ran fewer scenarios than the service has operations"
    assert not found, f"{len(found)} failure(s) on {backend}:\n" + "\n".join(dict.fromkeys(found))
