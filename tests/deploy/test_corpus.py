"""The raw-request corpus (:mod:`corpus`) against every backend on its production server, directly
and behind the generated Nginx: a valid request reaches the endpoint exactly as sent, an invalid
one gets a 4xx or a closed connection, and nothing gets a 5xx or a hang. The service's own log
must hold no ERROR (a client's bad request is no server error, and floods no alert).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest
from corpus import CASES, send_raw, verdict
from test_deploy_e2e import Deployment, Row, deployed

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="deployment tests run on Linux")

#: the servers the docs recommend for each backend
ROWS = [
    Row("flask", "gunicorn", "sync"),
    Row("flask", "gunicorn", "gevent"),
    Row("django", "gunicorn", "sync"),
    Row("django", "gunicorn", "gevent"),
    Row("starlette", "gunicorn", "uvicorn", asynchronous=True),
    Row("fastapi", "gunicorn", "uvicorn", asynchronous=True),
    Row("sanic", "sanic", asynchronous=True),
    Row("tornado", "tornado", asynchronous=True),
]


@pytest.fixture(scope="module", params=ROWS, ids=lambda row: row.id)
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with deployed(request.param, tmp_path_factory.mktemp(f"corpus-{request.param.id}")) as d:
        yield d


def _run(port: int, server: str | None = None) -> tuple[list[str], dict[str, int]]:
    wrong = []
    # known: wrong by the strict rule, in a way the server is documented to get wrong (docs/security.md)
    counts = {"tried": 0, "correct": 0, "known": 0, "5xx": 0, "hang": 0}
    for case in CASES:
        outcome = send_raw(port, case)
        problem = verdict(case, outcome, server)
        counts["tried"] += 1
        lenient = problem is None and server is not None and verdict(case, outcome) is not None
        counts["correct"] += problem is None and not lenient
        counts["known"] += lenient
        counts["5xx"] += bool(outcome.status and outcome.status >= 500 and outcome.status not in (501, 505))
        counts["hang"] += outcome.hung
        if problem is not None:
            wrong.append(f"{case.name}: {problem}")
    return wrong, counts


@pytest.mark.parametrize("via", ["direct", "nginx"])
def test_corpus(deployment: Deployment, via: str) -> None:
    port = deployment.nginx_port if via == "nginx" else deployment.info.ports[0]
    row = deployment.row
    # the server facing the client: uvicorn for a uvicorn worker, else the row's server
    wrong, counts = _run(
        port, None if via == "nginx" else (row.worker_class if row.worker_class == "uvicorn" else row.server)
    )
    print(f"{deployment.row.id} {via}: {counts}")
    assert not wrong, f"{deployment.row.id} {via}: {counts}\n" + "\n".join(wrong) + f"\n{deployment.logs()}"


def test_no_error_in_the_service_log(deployment: Deployment) -> None:
    _run(deployment.info.ports[0])
    log = deployment.service_log
    records = (
        [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")] if log.exists() else []
    )
    errors = [r for r in records if r.get("level") in ("ERROR", "CRITICAL") or "exc" in r]
    assert not errors, json.dumps(errors[:3], indent=1)
