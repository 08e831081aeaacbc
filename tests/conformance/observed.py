"""A request observer that writes down what it sees, for the observer tests: in memory, or as
JSON lines in a file when the service runs in a server process (``UTILMETA_TEST_OBSERVE_FILE``,
read by ``app.make_service``)."""

from __future__ import annotations

import json
import threading
from typing import Any

from utilmeta.core.api.observer import Observer, request_size, response_size


class Recorder(Observer):
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # sync endpoints run on several threads

    def record(self, event: dict[str, Any]) -> None:
        with self._lock:
            self.events.append(event)

    def started(self, request: Any) -> None:
        self.record({"event": "started", "id": request.request_id, "method": request.method, "path": request.path})

    def failed(self, request: Any, error: BaseException) -> None:
        self.record({"event": "failed", "id": request.request_id, "error": type(error).__name__, "text": str(error)})

    def finished(self, request: Any, response: Any, duration: float) -> None:
        self.record(
            {
                "event": "finished",
                "id": request.request_id,
                "route": request.route,
                "status": response.status,
                "duration": duration,
                "response_size": response_size(response),
                "request_size": request_size(request),
            }
        )


class FileRecorder(Recorder):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def record(self, event: dict[str, Any]) -> None:
        with self._lock, open(self.path, "a") as f:
            f.write(json.dumps(event) + "\n")


def read(path: str) -> list[dict[str, Any]]:
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []
