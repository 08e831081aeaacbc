"""The docs page in a real browser with no network: headless Chromium (Debian ``chromium``),
driven over the Chrome DevTools Protocol, loads Swagger UI from the service itself, renders the
operations, and a "Try it out" request reaches the running service and succeeds.

Chromium gets a dead proxy for everything but loopback and a resolver that finds no host, so
anything the page tried to fetch from elsewhere would fail; every request it made is checked.
Skipped when Chromium is absent, except under CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from optional import optional_import, unavailable

from .apis import running, wait_for
from .test_docs import needs_ui

DEADLINE = 30.0


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    unavailable("headless Chromium is not installed (apt-get install chromium)")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    needs_ui("swagger")
    with running("asgi", tmp_path) as base:
        yield base


class CDP:
    """A minimal Chrome DevTools Protocol client over one page's websocket."""

    def __init__(self, ws: Any):
        self.ws = ws
        self.ids = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.ids += 1
        ident = self.ids
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            message = json.loads(self.ws.recv(timeout=DEADLINE))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            if "method" in message:
                self.events.append(message)
        raise AssertionError(f"no answer to {method}")

    def js(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[CDP]:
    optional_import("websockets", "the CDP client needs it: uvicorn[standard] brings it")
    from websockets.sync.client import connect

    binary = _chromium()
    profile = tmp_path / "profile"
    args = [
        binary,
        "--headless=new",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-dev-shm-usage",
        # no network but loopback: a dead proxy for the rest (loopback is never proxied), and no DNS
        "--proxy-server=http://127.0.0.1:9",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--user-data-dir={profile}",
        "--remote-debugging-port=0",
        "about:blank",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium's sandbox refuses to run as root
    env = {**os.environ, "HOME": str(tmp_path)}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        port_file = profile / "DevToolsActivePort"
        port = wait_for("Chromium's DevTools port", lambda: port_file.read_text().split("\n")[0].strip())

        def page_target() -> str | None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as r:
                targets = json.load(r)
            return next((t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page"), None)

        with connect(wait_for("a page in Chromium", page_target), max_size=None, open_timeout=DEADLINE) as ws:
            yield CDP(ws)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_docs_page_renders_and_try_it_out_reaches_the_service(server: str, browser: CDP) -> None:
    browser.send("Network.enable")
    browser.send("Page.enable")
    browser.send("Page.navigate", url=f"{server}/api/docs")
    count = wait_for("the operations", lambda: browser.js("document.querySelectorAll('.opblock').length") >= 8)
    assert count
    paths = browser.js("[...document.querySelectorAll('.opblock-summary-path')].map(e => e.innerText.trim())")
    assert {"/hello", "/user/{id}", "/upload", "/whoami"} <= {p.replace("\u200b", "") for p in paths}

    # Try it out on GET /hello, with a query parameter typed into the form
    op = "document.querySelector('#operations-default-hello_get')"
    browser.js(f"{op}.querySelector('.opblock-summary-control').click()")
    wait_for("the Try it out button", lambda: browser.js(f"!!{op}.querySelector('.try-out__btn')"))
    browser.js(f"{op}.querySelector('.try-out__btn').click()")
    field = f"{op}.querySelector('tr[data-param-name=name] input')"
    wait_for("the default in the parameter's input", lambda: browser.js(f"{field}?.value") == "world")
    browser.js(f"{field}.focus(); {field}.select()")
    browser.send("Input.insertText", text="docs")  # typed, as a person would
    wait_for("the typed value", lambda: browser.js(f"{field}.value") == "docs")
    browser.js(f"{field}.blur()")  # Swagger UI debounces its inputs; leaving the field commits the value
    browser.js(f"{op}.querySelector('button.execute').click()")
    status = wait_for(
        "the live response",
        lambda: browser.js(f"{op}.querySelector('.live-responses-table .response .response-col_status')?.innerText"),
    )
    assert status.strip().startswith("200")
    body = browser.js(f"{op}.querySelector('.live-responses-table .response-col_description pre')?.innerText")
    assert body == "hello docs"

    # the request really went to the service, and nothing came from anywhere else
    browser.js("1")  # drain pending events
    requested = [e["params"]["request"]["url"] for e in browser.events if e["method"] == "Network.requestWillBeSent"]
    answered = {
        e["params"]["response"]["url"]: e["params"]["response"]["status"]
        for e in browser.events
        if e["method"] == "Network.responseReceived"
    }
    tried = [u for u in answered if u.startswith(f"{server}/api/hello?")]
    assert tried and "name=docs" in tried[0] and answered[tried[0]] == 200, tried
    assert answered.get(f"{server}/api/openapi.json") == 200
    outside = [u for u in requested if not u.startswith((f"{server}/", "data:", "blob:"))]
    assert not outside, f"the page reached outside the service: {outside}"
    failed = [e["params"] for e in browser.events if e["method"] == "Network.loadingFailed"]
    assert not failed, failed
