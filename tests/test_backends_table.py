"""The tests' backend table (``tests/backends_table.py``) covers the registry: a backend added to
``utilmeta.core.server.backends.BACKENDS`` without a row there fails here, before it is left out
of every six-backend test."""

from __future__ import annotations

from backends_table import BACKENDS, CELLS, FRAMEWORKS, STYLES

from utilmeta.core.server.backends import BACKENDS as REGISTRY


def test_one_row_per_registered_backend() -> None:
    assert sorted(BACKENDS) == sorted(REGISTRY)


def test_every_framework_runs_with_sync_and_async_endpoints() -> None:
    assert [str(cell) for cell in CELLS] == [f"{b.name}-{style}" for b in FRAMEWORKS for style in STYLES]
    assert len(CELLS) == 12


def test_an_own_server_app_is_reached_through_its_server() -> None:
    for b in BACKENDS.values():
        if b.interface == "own":
            assert b.own_server and b.reach == "server", b
        else:
            assert b.reach == b.interface, b
