"""``meta deploy`` and ``meta check --deploy`` on servers that clients would reach without Nginx.

``meta deploy`` refuses a Gunicorn sync worker bound beyond loopback (one line, exit 1) unless
``--behind-proxy``, and warns on stderr for uvicorn; ``meta check --deploy`` reports the same
from the server configs in the project, or from the service's host when there are none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_meta_cli import isolated, run_meta, write_project

from utilmeta.deploy.exposure import BEHIND_PROXY

__all__ = ["isolated"]  # the fixture, shared with test_meta_cli

SYNC_HELD = "gunicorn sync workers are held by slow clients"


def exposed_project(root: Path, backend: str = "wsgi") -> Path:
    write_project(root, backend=backend, production=True, preference="allowed_hosts=['api.example.com']")
    server = root / "server.py"
    server.write_text(server.read_text().replace('route="/api",', 'route="/api", host="0.0.0.0",'))
    return root


def test_deploy_refuses_sync_workers_facing_clients(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated)
    status, out, err = run_meta(capsys, "deploy", "gunicorn", "--worker-class", "sync", "--host", "0.0.0.0")
    assert status == 1 and out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"meta: error: {SYNC_HELD}") and "use the gevent worker" in line
    # on loopback (behind the generated Nginx), with gevent, or declared behind a proxy: written
    assert run_meta(capsys, "deploy", "gunicorn", "--worker-class", "sync")[0] == 0
    assert run_meta(capsys, "deploy", "gunicorn", "--host", "0.0.0.0")[0:3:2] == (0, "")
    status, out, err = run_meta(
        capsys, "deploy", "gunicorn", "--worker-class", "sync", "--host", "0.0.0.0", "--behind-proxy"
    )
    assert (status, err) == (0, "") and f"# {BEHIND_PROXY}" in out


def test_deploy_warns_for_uvicorn_facing_clients(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated, backend="asgi")
    status, out, err = run_meta(capsys, "deploy", "gunicorn", "--host", "0.0.0.0")
    assert status == 0 and "uvicorn_worker.UvicornWorker" in out
    (line,) = err.splitlines()
    assert line.startswith("meta: warning: uvicorn accepts requests a proxy refuses")


def test_check_deploy_reads_the_projects_server_config(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated, production=True, preference="allowed_hosts=['api.example.com']")
    assert run_meta(capsys, "deploy", "gunicorn", "--out", "deploy", "--worker-class", "sync")[0] == 0
    assert run_meta(capsys, "check", "--deploy")[0] == 0  # on loopback: behind Nginx
    config = isolated / "deploy" / "gunicorn.py"
    config.write_text(config.read_text().replace("127.0.0.1", "0.0.0.0"))  # edited by hand
    status, out, _ = run_meta(capsys, "check", "--deploy")
    assert status == 1
    (line,) = [line for line in out.splitlines() if line.startswith("error: ")]
    assert line.startswith(f"error: deploy/gunicorn.py: {SYNC_HELD}")
    assert run_meta(capsys, "check", "--deploy", "--behind-proxy")[0] == 0


def test_check_deploy_without_a_config_reads_the_services_host(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exposed_project(isolated, backend="asgi")
    status, out, _ = run_meta(capsys, "check", "--deploy", "--fail-level", "warning")
    assert status == 1
    assert (
        [line for line in out.splitlines() if "uvicorn" in line]
        == [line for line in out.splitlines() if line.startswith("warning: uvicorn accepts requests a proxy refuses")]
        != []
    )
    exposed_project(isolated, backend="wsgi")  # the recommended gevent worker may face clients
    assert "slow clients" not in run_meta(capsys, "check", "--deploy")[1]


def test_check_deploy_accepts_a_docker_image_config(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated, production=True, preference="allowed_hosts=['api.example.com']")
    assert run_meta(capsys, "deploy", "docker", "--server", "uwsgi", "--out", ".")[0] == 0
    assert "socket = 0.0.0.0" in (isolated / "uwsgi.docker.ini").read_text()
    status, out, _ = run_meta(capsys, "check", "--deploy")
    assert status == 0, out


def test_check_deploy_reports_an_unreadable_server_config(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_project(isolated, production=True, preference="allowed_hosts=['api.example.com']")
    (isolated / "gunicorn.py").write_text("bind = [\n")
    status, out, _ = run_meta(capsys, "check", "--deploy")
    assert status == 1
    (line,) = [line for line in out.splitlines() if line.startswith("error: ")]
    assert line.startswith("error: gunicorn.py cannot be read (")
