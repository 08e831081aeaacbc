"""A user's API module type-checks cleanly: markers used as defaults stand for their values."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from optional import optional_import

optional_import("mypy", "pip install 'utilmeta[dev]'")

USER_MODULE = """
from utilmeta.core import api, request, response
from utilmeta.core.request import QueryParam


class WrapResponse(response.Response):
    result_key = "data"


class UserAPI(api.API):
    response = WrapResponse

    @api.get("{user_id}")
    def get_user(self, user_id: int, page: int = QueryParam(default=1, ge=1)) -> dict:
        return {"id": user_id, "page": page}

    @api.post
    def create(self, data: dict = request.Body, token: str = request.HeaderParam("X-Token")) -> dict:
        return {"data": data, "token": token, "path": self.request.path}

    def get(self, q: str = request.QueryParam(max_length=10), tags: list[str] = request.QueryParam(default=[])) -> list:
        return [q, *tags]
"""


def test_user_code_type_checks(tmp_path: Path) -> None:
    module = tmp_path / "user_api.py"
    module.write_text(textwrap.dedent(USER_MODULE))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict-optional", "--cache-dir", str(tmp_path / ".mypy"), str(module)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_default_is_still_caught(tmp_path: Path) -> None:
    # the check above can fail: a plain wrong default is an error
    module = tmp_path / "wrong.py"
    module.write_text("def f(page: int = 'one') -> int:\n    return page\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / ".mypy"), str(module)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1 and "Incompatible default" in result.stdout
