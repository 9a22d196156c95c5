"""One run of the plan: its options and caps, and how a step sends a request and judges the answer.

A finding says whose doing it was. The author broke the contract (an answer of another shape, a status
that went back, JSON nested deeper than any answer of the contract): a **violation**. Verify could not
read the answer (a timeout, a cut connection, an answer over a cap of verify's own): a **setup error**,
which says nothing of the author's contract and makes the run exit 3.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..contract.lifecycle import check_step
from ..contract.rules import Contract
from ..core.settings import Settings
from ..recording.limits import JsonCaps, ZipCaps
from .findings import Kind, Report
from .target import MAX_ANSWER, MAX_DOWNLOAD, Answer, SetupError, Target

__all__ = ["NO_SANDBOX", "Options", "Run"]

#: Why only the readonly plan runs when no sandbox is named: verify starts no job anywhere else.
NO_SANDBOX = "no --sandbox given: verify starts jobs only in a sandbox folder you name"


@dataclass(frozen=True)
class Options:
    """How the plan runs, and what verify reads of an author (each cap a finding when passed)."""

    sandbox: str | None = None
    """The only folder the plan may start jobs on; None: it starts none (the readonly plan runs)."""
    profile: str = "safe"
    poll_s: float = 1.0
    page: int = 7  # small pages: several of them, and boundaries inside the log
    timeout_s: float = 600.0
    """The whole run, every request and the clean-up included (see :attr:`cleanup_s`)."""
    max_answer: int = MAX_ANSWER
    """Bytes of one answer held in memory."""
    max_download: int = MAX_DOWNLOAD
    """Bytes of the log's ZIP, written to a temporary file (in memory up to 1 MiB)."""
    json: JsonCaps = field(default_factory=JsonCaps)
    """How deep an answer's JSON may nest (64) and how many values it may hold (200,000)."""
    zip: ZipCaps = field(default_factory=lambda: ZipCaps(max_line=MAX_ANSWER))
    """Members (16), ratio (200 to 1), inflated bytes (64 MiB) and line length of the log's ZIP."""
    max_log_lines: int = 100_000
    """Lines of a job's log paged and kept: a job of 100,000 assets, more than a sandbox holds."""
    max_log_bytes: int = 16 * 1024 * 1024
    """Characters of a job's log paged and kept (some 20 MB as Python strings)."""

    @property
    def readonly(self) -> str | None:
        """Why only the readonly plan (GETs) runs: the profile, or no sandbox named; None: all of it."""
        if self.profile == "readonly":
            return "the readonly profile sends GETs only"
        return NO_SANDBOX if self.sandbox is None else None

    @property
    def cleanup_s(self) -> float:
        """The end of ``timeout_s`` kept for cancelling the jobs the plan started: a tenth, 5 s at most."""
        return min(5.0, self.timeout_s / 10)


class Run:
    """The state of one run: the author, the report, the jobs started, the step's deadline."""

    def __init__(self, target: Target, report: Report, options: Options, deadline: float | None = None):
        self.target, self.report, self.options = target, report, options
        self.contract = Contract(Settings())
        self.started: list[str] = []
        self.seen: dict[str, tuple[dict[str, Any], str]] = {}
        """Each job's last observation that showed a status, and where it was seen (:meth:`observe`)."""
        self.step = ""  # the step of the last request sent: where a stop is reported
        self.deadline = time.monotonic() + options.timeout_s if deadline is None else deadline

    async def call(self, step: str, schema: str | None, method: str, path: str, **kwargs: Any) -> Answer:
        self.step = step
        answer = await self.target.call(method, path, **kwargs)
        if answer.status in (401, 403):
            raise SetupError(f"{answer.request}: {answer.status}: the credentials were refused")
        if schema is not None and answer.status == 200:
            self.check(step, schema, answer)
        return answer

    def check(self, step: str, schema: str, answer: Answer) -> Any:
        payload = answer.json()
        if payload is None:
            limit = answer.limit()
            if limit is None:
                rule = f"the answer is not JSON ({answer.content_type})"
            elif limit.cap == "depth":  # no answer of the contract nests more than 4 levels
                rule = f"the answer is JSON nested too deeply for any answer of the contract: {limit}"
            else:  # a size: the contract sets none, verify could not read it
                rule = f"verify could not read the answer: {limit}"
            kind: Kind = "violation" if limit is None or limit.cap == "depth" else "setup error"
            self.report.add(kind, step, rule, answer.request, answer.excerpt(), answer.curl)
            return None
        for v in self.contract.check_response(schema, answer.body, None):
            undocumented = v.keyword == "additionalProperties" or (
                v.keyword == "enum" and "status" in v.where
            )
            kind = "undocumented" if undocumented else "violation"
            self.report.add(
                kind, step, f"{v.where}: {v.message}", answer.request, answer.excerpt(), answer.curl
            )
        return payload

    def expect(self, step: str, ok: bool, rule: str, answer: Answer) -> bool:
        if not ok:
            self.report.add("violation", step, rule, answer.request, answer.excerpt(), answer.curl)
        return ok

    def observe(
        self,
        step: str,
        pid: str,
        job: Mapping[str, Any],
        answer: Answer,
        acted: str | None = None,
        part: str = "",
    ) -> None:
        """Hold ``job``, an observation of the job ``pid`` (a status poll, a history item, a cancel or
        resume answer), to the lifecycle rules after the last observation of it, in the order
        observed; ``acted``: the client's action in between; ``part``: which part of the answer
        ``job`` is (a history item). A rule of two observations names both.
        One without a string ``status`` is no observation of a status (the schema check says so)."""
        if not isinstance(job.get("status"), str):
            return
        where = f"{step}: {answer.request}{part}"
        before, seen = self.seen.get(pid, (None, ""))
        alone = check_step(None, job)
        for rule in alone:
            self.expect(step, False, rule, answer)
        for rule in check_step(before, job, acted):
            if rule not in alone:
                self.expect(step, False, f"{rule} (seen in {where}, after {seen})", answer)
        self.seen[pid] = (dict(job), where)

    def skip(self, step: str, why: str) -> None:
        self.report.add("not exercised", step, why)
