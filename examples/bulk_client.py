"""A small sample client of AEM Guides' bulk asset processing API (standard library only).

Start a job, poll it to the end (retrying the 503s of a busy author), and fetch its logs. Its
tests in ``test_bulk_client.py`` run it against the mock through the ``aem_mock`` pytest fixture.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

BASE_PATH = "/bin/guides/v1/assets/process"
FINISHED = {"SUCCESS", "FAILED", "CANCELLED"}


class BulkProcessingClient:
    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        sleep: Callable[[float], Any] = time.sleep,
        poll_seconds: float = 1.0,
    ) -> None:
        self.url = url.rstrip("/") + BASE_PATH
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}"}
        self.sleep = sleep
        self.poll_seconds = poll_seconds

    def _call(self, path: str, body: dict[str, Any] | None = None, retries: int = 5) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self.headers, **({"Content-Type": "application/json"} if data else {})}
        for attempt in range(retries + 1):
            request = urllib.request.Request(self.url + path, data=data, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return json.load(response)
            except urllib.error.HTTPError as error:
                if error.code in (429, 500, 502, 503) and attempt < retries:  # wait as told, then retry
                    self.sleep(float(error.headers.get("Retry-After", self.poll_seconds)))
                    continue
                raise

    def start(self, path: str, excluded: list[str] | None = None, file_types: list[str] | None = None) -> str:
        body: dict[str, Any] = {"path": path, "type": "ASSET_PROCESSING"}
        if excluded:
            body["excludedPaths"] = excluded
        if file_types:
            body["filter"] = {"fileTypes": file_types}
        return str(self._call("", body)["processingId"])

    def status(self, processing_id: str) -> dict[str, Any]:
        return dict(self._call(f"/status?processingId={processing_id}"))

    def wait(self, processing_id: str, max_polls: int = 1000) -> dict[str, Any]:
        """Poll until the job has ended; return its last status."""
        for _ in range(max_polls):
            job = self.status(processing_id)
            if job["status"] in FINISHED:
                return job
            self.sleep(self.poll_seconds)
        raise TimeoutError(f"job {processing_id} still running after {max_polls} polls")

    def logs(self, processing_id: str, page: int = 500) -> list[str]:
        """The whole log, page by page."""
        lines: list[str] = []
        while True:
            answer = self._call(f"/logs?processingId={processing_id}&offset={len(lines)}&limit={page}")
            lines += answer["lines"]
            if not answer["hasMore"]:
                return lines
