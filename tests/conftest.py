"""Fixtures for the whole suite: a fresh service per test, and the six-backend ``backend`` fixture.

``backend`` runs a test once per cell of ``backends_table.CELLS`` — each framework backend with
sync and with async endpoints — under ids like ``django-sync``. It is module-scoped so a module's
fixtures built on it (a served app, a client) live while that cell's tests run.
"""

from __future__ import annotations

import pytest
from backends_table import CELLS, Cell, installed

from utilmeta.core.server.service import _clear_service


@pytest.fixture(autouse=True)
def fresh_service():
    """Each test may create its own UtilMeta service; only one may exist at a time."""
    _clear_service()
    yield
    _clear_service()


@pytest.fixture(scope="module", params=CELLS, ids=str)
def backend(request: pytest.FixtureRequest) -> Cell:
    """One framework backend × one endpoint style. Every framework is part of the development
    install (``scripts/install``): a missing one fails, it does not skip."""
    cell: Cell = request.param
    if not installed(cell.backend):
        pytest.fail(f"{cell.backend.module} is not installed: scripts/install installs every backend")
    return cell
