"""The client journey with requests: start, poll, page the log and tail it, the ZIP and its JSON form,
cancel and resume from the checkpoint, history, and one refused request.

    python journey_requests.py http://127.0.0.1:4502

Run it against ``aem-guides-mock serve --clock per-poll:100ms``: each status poll moves the mock's
clock, so the journey is the same on every run. Credentials: AEM_USER and AEM_PASSWORD (admin/admin).
Exits 1 naming the first thing that differed from what the contract promises.
"""

from __future__ import annotations

import io
import os
import sys
import time
import zipfile
from typing import Any

import requests

BASE = "/bin/guides/v1/assets/process"
DONE = {"SUCCESS", "FAILED", "CANCELLED"}


class Mismatch(Exception):
    """What the client read differs from what it expected."""


def expect(what: str, got: object, wanted: object) -> None:
    if got != wanted:
        raise Mismatch(f"{what}: expected {wanted!r}, got {got!r}")


def check(what: str, condition: bool, got: object) -> None:
    if not condition:
        raise Mismatch(f"{what}: got {got!r}")


class Journey:
    def __init__(self, url: str) -> None:
        self.api = url.rstrip("/") + BASE
        self.http = requests.Session()
        self.http.auth = (os.environ.get("AEM_USER", "admin"), os.environ.get("AEM_PASSWORD", "admin"))

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(self.api + path, params=params, timeout=10)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.http.post(self.api + path, json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def poll(self, job_id: str, until: Any = lambda job: job["status"] in DONE) -> dict[str, Any]:
        for _ in range(200):
            job: dict[str, Any] = self.get("/status", processingId=job_id)
            if until(job):
                return job
            time.sleep(0.01)
        raise Mismatch(f"job {job_id} did not get there in 200 polls: {job}")

    def run(self) -> None:
        self.refused()
        job_id = self.post("", {"path": "/content/dam/22858", "type": "ASSET_PROCESSING"})["processingId"]
        job = self.poll(job_id)
        expect("the job's status", job["status"], "SUCCESS")
        expect("triggeredCount", job["triggeredCount"], 6)
        lines = self.pages(job_id)
        self.zip(job_id, lines)
        self.json_form(job_id)
        second = self.cancel_and_resume()
        history = [item["processingId"] for item in self.get("/history")["executionHistory"]]
        check("history lists both jobs, newest first", history[:2] == [second, job_id], history)

    def refused(self) -> None:
        response = self.http.post(self.api, json={"type": "ASSET_PROCESSING"}, timeout=10)
        expect("a start without path: status", response.status_code, 400)
        expect("its content type", response.headers["Content-Type"].split(";")[0], "application/json")
        error = response.json()
        expect("the error's status", error["status"], 400)
        check("the error's message names `path`", "`path`" in error["message"], error["message"])
        expect("the violation's place", error["violations"][0]["where"], "body:/path")

    def pages(self, job_id: str) -> list[str]:
        lines: list[str] = []
        while True:
            page = self.get("/logs", processingId=job_id, offset=len(lines), limit=4)
            expect("the page's offset", page["offset"], len(lines))
            lines += page["lines"]
            if not page["hasMore"]:
                break
        expect("the log's length", len(lines), 10)
        check("the last line ends the job", "completed [status=SUCCESS]" in lines[-1], lines[-1])
        tail = self.get("/logs", processingId=job_id, tail=3)
        expect("tail=3", tail["lines"], lines[-3:])
        expect("tail's offset", tail["offset"], len(lines) - 3)
        expect("tail's hasMore", tail["hasMore"], False)
        return lines

    def zip(self, job_id: str, lines: list[str]) -> None:
        with self.http.get(
            self.api + "/logs/download", params={"processingId": job_id}, stream=True, timeout=10
        ) as response:
            response.raise_for_status()
            expect("the download's type", response.headers["Content-Type"], "application/zip")
            disposition = response.headers["Content-Disposition"]
            check("it is named after the job", f'filename="{job_id}.zip"' in disposition, disposition)
            data = io.BytesIO()
            for chunk in response.iter_content(chunk_size=64 * 1024):
                data.write(chunk)
        try:
            with zipfile.ZipFile(data) as archive:
                expect("the ZIP's entries", archive.namelist(), [f"{job_id}.log"])
                text = archive.read(f"{job_id}.log").decode("utf-8")
        except zipfile.BadZipFile as problem:
            raise Mismatch(f"zipfile on the download: {problem}") from None
        expect("the ZIP's lines", text.splitlines(), lines)

    def json_form(self, job_id: str) -> None:
        response = self.http.get(
            self.api + "/logs/download",
            params={"processingId": job_id},
            headers={"Accept": "application/json"},
            timeout=10,
        )
        response.raise_for_status()
        paths = response.json()["logFilePaths"]
        check(
            "logFilePaths names the job's log", len(paths) == 1 and paths[0].endswith(f"{job_id}.log"), paths
        )

    def cancel_and_resume(self) -> str:
        start = {"path": "/content/dam/status-fetch1", "type": "ASSET_PROCESSING"}
        job_id = self.post("", start)["processingId"]
        self.poll(job_id, until=lambda job: job["triggeredCount"] >= 2 or job["status"] in DONE)
        cancelled = self.post("/cancel", {"processingId": job_id})
        expect("cancel: status", cancelled["status"], "CANCELLED")
        expect("cancel: resumable", cancelled["resumable"], True)
        done, total = cancelled["triggeredCount"], cancelled["migrationSet"]["totalFiles"]
        check("cancelled part-way", 0 < done < total, (done, total))
        job = self.get("/status", processingId=job_id)
        expect("a cancelled job stays", (job["status"], job["triggeredCount"]), ("CANCELLED", done))
        resumed = self.post("/resume", {"processingId": job_id})
        check("resume: running again", resumed["status"] in {"WAITING", "IN_PROGRESS"}, resumed["status"])
        expect("resume keeps the checkpoint", resumed["triggeredCount"], done)
        job = self.poll(job_id)
        expect("the resumed job", (job["status"], job["triggeredCount"]), ("SUCCESS", total))
        log = self.get("/logs", processingId=job_id)["lines"]
        processed = [line.split("] ", 2)[2] for line in log if "Processing asset [" in line]
        expect("assets processed (each once)", len(set(processed)), total)
        expect("asset lines", len(processed), total)
        check("the log says it resumed", any("resumed from checkpoint" in line for line in log), log)
        return str(job_id)


def main() -> int:
    url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:4502"
    try:
        Journey(url).run()
    except (Mismatch, requests.RequestException, KeyError, ValueError) as problem:
        print(f"journey_requests: {type(problem).__name__}: {problem}", file=sys.stderr)
        return 1
    print("journey_requests: every step kept the contract")
    return 0


if __name__ == "__main__":
    sys.exit(main())
