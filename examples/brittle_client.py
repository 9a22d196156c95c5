"""A client with four habits that work against the docs' examples and break on some real author.

Each leans on something the contract does not promise:

1. it checks that a ``processingId`` is a UUID (the contract says it is a string);
2. it reads ``filter`` from every job (an author may leave optional keys out);
3. it pages the log by ``limit`` (``offset += limit``), as if every page were full (``limit`` is the
   most lines a page holds: a page may be shorter);
4. it reads every log line as ``<date> <time>: <LEVEL>: ...`` (a stack trace's frames are lines of
   their own, without a timestamp).

``test_tolerance.py`` shows the mock's ``vary`` setting catching each, and the sample client of
``bulk_client.py``, which has none of them, passing.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from bulk_client import BulkProcessingClient

LINE = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}:\d{3}): ([A-Z]+): (.*)$")


HABITS = ("uuid", "filter", "full pages", "timestamped lines")


class BrittleClient(BulkProcessingClient):
    def __init__(self, *args: Any, habits: tuple[str, ...] = HABITS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.habits = habits

    def start(self, path: str, excluded: list[str] | None = None, file_types: list[str] | None = None) -> str:
        processing_id = super().start(path, excluded, file_types)
        if "uuid" in self.habits:
            uuid.UUID(processing_id)  # habit 1: ValueError on an id of another shape
        return processing_id

    def status(self, processing_id: str) -> dict[str, Any]:
        job = super().status(processing_id)
        if "filter" in self.habits:
            job["fileTypes"] = job["filter"]["fileTypes"]  # habit 2: KeyError when filter is left out
        return job

    def logs(self, processing_id: str, page: int = 500) -> list[str]:
        if "full pages" not in self.habits:
            return super().logs(processing_id, page)
        lines: list[str] = []
        offset = 0
        while True:
            answer = self._call(f"/logs?processingId={processing_id}&offset={offset}&limit={page}")
            lines += answer["lines"]
            offset += page  # habit 3: skips lines when a page is cut short
            if not answer["hasMore"]:
                return lines

    def levels(self, processing_id: str) -> list[str]:
        """The level of every line of the log."""
        found = []
        for line in self.logs(processing_id, page=4):
            match = LINE.match(line)
            if "timestamped lines" in self.habits:
                assert match is not None, f"not a log line: {line!r}"  # habit 4
            found.append(match.group(3) if match else "")
        return found
