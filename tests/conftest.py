from __future__ import annotations

import pytest

from utilmeta.core.server.service import _clear_service


@pytest.fixture(autouse=True)
def fresh_service():
    """Each test may create its own UtilMeta service; only one may exist at a time."""
    _clear_service()
    yield
    _clear_service()
