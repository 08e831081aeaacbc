"""The configs' tests share one ``service``: a framework-free one (``backend="wsgi"``), so it needs
nothing optional — failing to build it is a bug, never a reason to skip."""

from __future__ import annotations

import pytest

from utilmeta import UtilMeta


@pytest.fixture
def service() -> UtilMeta:
    """A fresh current service (the suite's ``fresh_service`` clears it again after the test)."""
    return UtilMeta("tests.conf", backend="wsgi")
