"""A scenario from a tape: what a recorded author did, as a scenario a human can edit and serve.

A tape is ``DIR/tape.jsonl``: a header line, then one exchange per line (the recording proxy writes
it). The scenario keeps what the mock can replay: the repository (the paths started, the assets the
logs name, placeholders where the logs fall short), the pace (log timestamps, else status answers),
failures where they happened (job scripts), 5xx/401/429 answers (faults) and the settings the answers
show. What a scenario cannot say becomes a comment. Reading is bounded: a tape is an untrusted file.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs

from ..core.repository import ALL_TYPES, is_within, normalize_path
from ..core.settings import STATUSES
from .scenario_yaml import Item, comment_line, flow, listed
from .tape_reader import MAX_TAPE_BYTES, OPERATION_NAMES, Exchange, Tape, TapeError

__all__ = ["Generated", "scenario_from_tape"]

_ASSET_BYTES = 700_000  # of asset entries at most: a scenario holds 1 MiB; the rest become placeholders
_FAULTS = {401, 429, 500, 502, 503}  # what a fault can answer that a healthy author does not
_ID_OPERATIONS = ("status", "logs", "download", "cancel", "resume", "restart")
_SUFFIXES = {".dita": "DITATOPIC", ".xml": "DITATOPIC", ".ditamap": "DITAMAP", ".md": "MARKDOWN"}
_SUFFIXES |= {".html": "HTML/CSS", ".htm": "HTML/CSS", ".css": "HTML/CSS", ".ditaval": "DITAVAL"}
_LINE = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d):(\d{3}): \w+: \[[^\]]*\] (.*)")
_ASSET = re.compile(r"Processing asset \[(\d+)/(\d+)\] (.+) \[type=([^\]]+)\]")
_COUNTED = re.compile(r"Counting completed \[totalFiles=(\d+)\]")
_FAILED = "Bulk processing job failed: "
_STOPPED = ("FAILED", "CANCELLED")  # a job that stopped on the way


@dataclass(frozen=True, slots=True)
class Generated:
    """The scenario's YAML text, and how much went into it (for the CLI's summary)."""

    text: str
    jobs: int
    assets: int
    scripts: int
    faults: int

    def summary(self) -> str:
        scripts, faults = f"{self.scripts} job script(s)", f"{self.faults} fault(s)"
        return f"{self.jobs} job(s), {self.assets} asset(s), {scripts}, {faults}"


# --- what happened to each job -----------------------------------------------------------------------


@dataclass
class _Job:
    """One processingId: its start, the answers about it, and its log lines by position."""

    id: str
    nth: int = 0  # the nth accepted start of the tape (what a scenario's `match: nth` counts)
    path: str = ""
    start: dict[str, Any] = field(default_factory=dict)
    states: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    lines: dict[int, str] = field(default_factory=dict)
    cancelled_at: int | None = None


def _canonical(state: dict[str, Any]) -> str:
    """The mock's name for a job's status: its own name, else read from its flags (§3.17)."""
    name = str(state.get("status"))
    if name in STATUSES:
        return name
    if state.get("cancellable"):
        return "IN_PROGRESS" if state.get("startedAt") else "WAITING"
    if state.get("restartable") or not state.get("resumable"):
        return "SUCCESS"
    return "FAILED" if state.get("comments") else "CANCELLED"


def _pid(exchange: Exchange) -> tuple[dict[str, str], str | None]:
    """The query's parameters, and the processingId the request names (in its query or its body)."""
    query = {k: v[0] for k, v in parse_qs(str(exchange.request.get("query", ""))).items()}
    body = exchange.request.get("body")
    pid = query.get("processingId") or (body.get("processingId") if isinstance(body, dict) else None)
    return query, pid if isinstance(pid, str) else None


def _zip_lines(tape: Tape, exchange: Exchange) -> list[str]:
    """A downloaded log's lines, from the ZIP the tape keeps beside it (inside its directory only)."""
    base, name = tape.path.parent.resolve(), exchange.response.get("body_file")
    file = (base / str(name)).resolve()
    if not isinstance(name, str) or not file.is_relative_to(base) or not zipfile.is_zipfile(file):
        return []
    lines: list[str] = []
    try:
        with zipfile.ZipFile(file) as archive:  # a member yields no more than its declared size
            for info in [i for i in archive.infolist() if i.file_size <= MAX_TAPE_BYTES][:16]:
                lines += archive.read(info).decode("utf-8", "replace").splitlines()
    except (OSError, zipfile.BadZipFile, zlib.error) as error:
        raise TapeError(f"{tape.path}:{exchange.line}: body_file {name}: {error}") from None
    return lines


def _path(value: Any) -> str:
    """A path as the mock spells it; "" for none (nor the root: no job is started on it)."""
    try:
        path = normalize_path(value) if isinstance(value, str) else "/"
    except ValueError:  # above the root
        path = "/"
    return "" if path == "/" else path


def _jobs(tape: Tape) -> dict[str, _Job]:
    """Every job the tape shows, by processingId: what was asked, what was answered, its log."""
    jobs: dict[str, _Job] = {}
    starts = 0
    for ex in tape.exchanges:
        (query, pid), body, answer = _pid(ex), ex.request.get("body"), ex.response.get("body")
        if ex.response["status"] != 200 or not isinstance(answer, dict):
            continue
        if ex.operation in ("start", "restart") and isinstance(answer.get("processingId"), str):
            starts += 1
            job = jobs.setdefault(answer["processingId"], _Job(answer["processingId"], starts))
            if isinstance(body, dict) and ex.operation == "start":
                job.start, job.path = body, _path(body.get("path"))
            elif pid in jobs:
                job.path = jobs[pid].path
        states = answer.get("executionHistory", []) if ex.operation == "history" else [answer]
        for state in states if ex.operation in ("status", "cancel", "resume", "history") else ():
            if isinstance(state, dict) and isinstance(state.get("processingId"), str):
                job = jobs.setdefault(state["processingId"], _Job(state["processingId"]))
                job.states.append((ex.at_ms, state))
                job.path = job.path or _path(state.get("path"))
        if pid is None or pid not in jobs:
            continue
        if ex.operation == "cancel":
            jobs[pid].cancelled_at = ex.at_ms
        elif ex.operation == "logs" and isinstance(answer.get("lines"), list):
            offset = int(answer.get("offset", query.get("offset", 0)))
            jobs[pid].lines.update((offset + i, str(line)) for i, line in enumerate(answer["lines"]))
    for ex in tape.exchanges:  # a whole log, read last: it wins over the pages
        if ex.operation == "download" and ex.response["status"] == 200 and (pid := _pid(ex)[1]) in jobs:
            jobs[str(pid)].lines.update(enumerate(_zip_lines(tape, ex)))
    return jobs


@dataclass
class _Log:
    """What one job's log lines say: when it started and was counted, its assets, its failure."""

    started: int | None = None
    counted: int | None = None
    total: int = 0
    assets: dict[int, tuple[str, str]] = field(default_factory=dict)  # by 1-based index
    gaps: list[int] = field(default_factory=list)  # ms from an asset's line back to the line before
    failure: tuple[int, str] | None = None  # assets done before it, its text

    @classmethod
    def of(cls, lines: dict[int, str]) -> _Log:
        log, before = cls(), (0, "")
        for _, line in sorted(lines.items()):
            if not (m := _LINE.fullmatch(line)):
                continue  # a frame of a stack trace, or a line of another shape
            at = int(dt.datetime.fromisoformat(m[1]).replace(tzinfo=dt.UTC).timestamp()) * 1000 + int(m[2])
            text = m[3]
            if text.startswith("Bulk processing job started") and log.started is None:
                log.started = at
            elif (counted := _COUNTED.match(text)) and log.counted is None:
                log.counted, log.total = at, int(counted[1])
            elif asset := _ASSET.fullmatch(text):
                index, log.total = int(asset[1]), max(log.total, int(asset[2]))
                log.assets[index] = (asset[3], asset[4])
                previous = _ASSET.fullmatch(before[1])
                if (previous and int(previous[1]) == index - 1) or _COUNTED.match(before[1]):
                    log.gaps.append(at - before[0])
            elif text.startswith(_FAILED) and log.failure is None:
                log.failure = (max(log.assets, default=0), text.removeprefix(_FAILED))
            before = (at, text)
        return log


def _type(path: str, given: str | None = None) -> str:
    """The type the log gave, or one guessed from the file name (the mock knows only its seven)."""
    return given if given in ALL_TYPES else _SUFFIXES.get(PurePosixPath(path).suffix.lower(), "OTHERS")


def _stopped(state: tuple[int, dict[str, Any]]) -> bool:
    return _canonical(state[1]) in _STOPPED


def _median(values: Iterable[float]) -> int | None:
    listed = list(values)
    return round(statistics.median(listed)) if listed else None


# --- the scenario ------------------------------------------------------------------------------------

Setting = tuple[str, Any, str]  # a key, its value, where it came from


def scenario_from_tape(tape: Tape) -> Generated:
    """The scenario the tape shows, as YAML with a comment on where each part came from."""
    try:
        jobs = _jobs(tape)
        logs = {pid: _Log.of(job.lines) for pid, job in jobs.items()}
        names = {_canonical(s): s["status"] for j in jobs.values() for _, s in j.states}
        renames = {canonical: name for canonical, name in names.items() if canonical != name}
        notes: list[str] = []
        assets, scripts = _replayed(jobs, logs, {"SUCCESS", renames.get("SUCCESS", "")}, notes)
        folders, generate = _placeholders(jobs, logs, assets)
        settings = _pace(jobs, logs) + _settings_seen(tape, jobs, renames)
        faults = _faults(tape, notes)
    except (AttributeError, KeyError, TypeError, ValueError) as error:  # an answer of another shape
        raise TapeError(f"{tape.path}: an answer is not of the shape schemas/ gives ({error!r})") from None
    source = comment_line(f"{tape.upstream[:150]}, {len(tape.exchanges)} exchange(s)")
    out = [f"# Generated by `aem-guides-mock scenario-from` from {comment_line(str(tape.path))}",
           f"# ({source}). Edit freely: a comment above each part says where it came from.",
           f"description: {flow(f'Recorded from {source}.')}"]  # fmt: skip
    if settings:
        out += [
            "settings:",
            *(f"  # {comment_line(why)}\n  {key}: {flow(value)}" for key, value, why in settings),
        ]
    out += ["repository:", "  # only what the tape showed, not the embedded default DAM", "  base: empty"]
    out += listed("folders", [(folder, "") for folder in folders], "  ")
    out += listed("assets", [({"path": path, "type": kind}, "") for path, kind in assets], "  ")
    out += listed("generate", generate, "  ") + listed("jobs", scripts) + listed("faults", faults)
    if notes:
        out += ["", "# Not replayed (the client's doing, or what a scenario cannot say):"]
        out += [f"# - {comment_line(note)}" for note in notes]
    return Generated("\n".join(out) + "\n", len(jobs), len(assets), len(scripts), len(faults))


def _replayed(
    jobs: dict[str, _Job], logs: dict[str, _Log], success: set[str], notes: list[str]
) -> tuple[list[tuple[str, str]], list[Item]]:
    """The assets in the order the jobs processed them, and a script for each failure where it came."""
    assets: dict[str, str] = {}
    scripts: list[Item] = []
    on_path = Counter(job.path for job in jobs.values() if job.nth)
    for job in sorted(jobs.values(), key=lambda j: j.nth or 1 << 62):
        if not job.path:
            notes.append(f"job {job.id}: no answer named its path, so it is not replayed")
            continue
        log, seen, what = logs[job.id], dict(logs[job.id].assets), f"job {job.id} ({job.path})"
        failed, cancelled = (next((s for _, s in job.states if _canonical(s) == n), None) for n in _STOPPED)
        match = {"path": job.path, **({"nth": job.nth} if on_path[job.path] > 1 else {})}
        other = (not job.nth and on_path[job.path]) or any(script["match"] == match for script, _ in scripts)
        if (failed or log.failure) and other:  # started before the tape began, or like an earlier one
            notes.append(f"{what} FAILED, but another job's script takes the starts on its path")
        elif failed and failed["migrationSet"]["calculationStatus"] not in success:  # it failed counting
            counting = {"fail": str(failed["comments"] or "Counting failed")}
            scripts.append(({"match": match, "counting": counting}, f"{what} FAILED while counting"))
        elif failed or log.failure:
            done, text = (failed["triggeredCount"], failed["comments"]) if failed else log.failure or (0, "")
            head, _, tail = text.rpartition(": ")
            if head and tail.startswith("/"):  # the mock's shape: "COMMENT: /path/of/the/failed/asset"
                text = head
                seen.setdefault(done + 1, (tail, _type(tail)))
            processing = {"fail_at": done + 1, **({"comment": text} if text else {})}
            scripts.append(
                ({"match": match, "processing": processing}, f"{what} FAILED after {done} asset(s)")
            )
        if cancelled or job.cancelled_at is not None:
            by = "" if job.cancelled_at is None else f" by the client at +{job.cancelled_at / 1000:.1f}s"
            done = (cancelled or {}).get("triggeredCount", "some")
            notes.append(f"{what} was cancelled{by} after {done} asset(s): cancels are the client's doing")
        if {"startTime", "endTime"} & set(job.start.get("filter") or {}):
            notes.append(f"{what} filtered on creation times, which a tape does not show: set `created`")
        _fill_holes(seen, what, notes)
        for _, (path, kind) in sorted(seen.items()):
            assets.setdefault(path, _type(path, kind))
    listed: list[tuple[str, str]] = []
    size = 0
    for path, kind in assets.items():
        if (size := size + len(path) + 40) > _ASSET_BYTES:
            notes.append(f"{len(assets) - len(listed)} asset(s) seen are not listed: a scenario holds 1 MiB")
            break
        listed.append((path, kind))
    return listed, scripts


def _fill_holes(seen: dict[int, tuple[str, str]], what: str, notes: list[str]) -> None:
    """Placeholders for the places before the last asset named (by a log or a failure's comment),
    each in the folder of the named one after it, so that every named asset keeps its place."""
    holes = max(seen, default=0) - len(seen)
    if holes > _ASSET_BYTES // 100:
        notes.append(f"{what}: {holes} unnamed asset(s) before named ones: too many to keep their places")
        return
    for index in range(max(seen, default=0) - 1, 0, -1):
        if index not in seen:  # the mock walks a folder's assets in the order they were added
            path, kind = seen[index + 1]
            seen[index] = (f"{path.rpartition('/')[0]}/unrecorded-{index}", kind)


def _pace(jobs: dict[str, _Job], logs: dict[str, _Log]) -> list[Setting]:
    """Per-asset and counting times: from log timestamps where logs were read, else status answers."""
    per_asset = _median(gap for log in logs.values() for gap in log.gaps)
    found = [("per_asset", per_asset, "the median time from an asset's log line back to the line before")]
    if per_asset is None:
        slopes = []
        for job in jobs.values():
            points = [(at, s["triggeredCount"]) for at, s in job.states if _canonical(s) == "IN_PROGRESS"]
            if len(points) > 1 and points[-1][1] > points[0][1]:
                slopes.append((points[-1][0] - points[0][0]) / (points[-1][1] - points[0][1]))
        per_asset = _median(slopes)
        found = [("per_asset", per_asset, "triggeredCount over time in status answers (approximate)")]
    counting = _median(log.counted - log.started for log in logs.values() if log.counted and log.started)
    found.append(("counting", counting, "the median time from a job-started to a Counting completed line"))
    if counting is None and per_asset is not None:  # jobs that ran without a stop (a resume moves startedAt)
        ran = [j.states[-1][1] for j in jobs.values() if j.states and not any(map(_stopped, j.states))]
        spans = [s["completedAt"] - s["startedAt"] - s["migrationSet"]["totalFiles"] * per_asset
                 for s in ran if _canonical(s) == "SUCCESS" and s["startedAt"]]  # fmt: skip
        found[-1] = ("counting", _median(max(0, t) for t in spans), "completedAt - startedAt - assets' time")
    return [(key, f"{max(int(key == 'per_asset'), ms)}ms", why) for key, ms, why in found if ms is not None]


def _settings_seen(tape: Tape, jobs: dict[str, _Job], renames: dict[str, Any]) -> list[Setting]:
    """The settings the answers show: how unknown ids and conflicts are refused, eta, names, modes."""
    seen: dict[str, tuple[Any, str]] = {}
    for ex in tape.exchanges:
        status, answer, at = ex.response["status"], ex.response.get("body"), f"{ex.operation}, line {ex.line}"
        pid = _pid(ex)[1]
        unknown = (
            ex.operation in _ID_OPERATIONS and pid is not None and pid not in jobs and status in (400, 404)
        )
        if unknown and (status == 404 or "unknown_id_status" not in seen):
            seen["unknown_id_status"] = (status, f"the upstream answered {status} to an unknown id ({at})")
        if status == 409 and ex.operation in ("start", "cancel", "resume", "restart"):
            seen.setdefault("conflict_status", (409, f"the upstream answered 409 to a conflict ({at})"))
        if status != 200 or not isinstance(answer, dict):
            continue
        accept = str(ex.request.get("headers", {}).get("accept", ""))
        if ex.operation == "download" and "logFilePaths" in answer and "application/json" not in accept:
            seen.setdefault("download", ("json", f"logFilePaths without Accept: application/json ({at})"))
        if ex.operation == "system-status" and answer.get("isDatabase") is True:
            seen.setdefault("backend", ("database", f"the system status said isDatabase: true ({at})"))
        if ex.operation == "restart":
            seen.setdefault("restart_endpoint", (True, f"the upstream served restart ({at})"))
    units = {s.get("eta", {}).get("unit") for j in jobs.values() for _, s in j.states} & {"MINUTES", "HOURS"}
    if units:
        seen["eta_unit"] = (min(units), "the unit of eta in status answers")
    if renames:
        seen["status_names"] = (renames, "the status names answered, read from each job's flags (§3.17)")
    return [(key, value, source) for key, (value, source) in seen.items()]


def _takes(job: _Job, path: str, kind: str) -> bool:
    """Whether ``job`` processes the asset: within its path, not excluded, of a type it filters on."""
    types = (job.start.get("filter") or {}).get("fileTypes") or ()
    excluded = [str(p).rstrip("/") for p in job.start.get("excludedPaths", ())]
    inside = is_within(path, job.path) and not any(is_within(path, p) for p in excluded)
    return inside and kind != "CONTENT_FRAGMENT" and (not types or kind in types)


def _placeholders(
    jobs: dict[str, _Job], logs: dict[str, _Log], listed: list[tuple[str, str]]
) -> tuple[list[str], list[Item]]:
    """The folders started on, and placeholders where a job counted more assets than its logs named
    (deepest paths first, so that a job on a parent folder counts its subfolders' placeholders)."""
    folders: list[str] = []
    generate: list[Item] = []
    for job in sorted((j for j in jobs.values() if j.path), key=lambda j: -j.path.count("/")):
        if any(path == job.path for path, _ in listed):
            continue
        total = max([logs[job.id].total, *(s["migrationSet"]["totalFiles"] for _, s in job.states)])
        made = [(block["folder"], *block["per_folder"].items()) for block, _ in generate]
        known = sum(_takes(job, p, t) for p, t in listed) + sum(n for f, (t, n) in made if _takes(job, f, t))
        if total == 1 and not known and PurePosixPath(job.path).suffix:  # a job on one asset
            listed.append((job.path, _type(job.path)))
            continue
        folders += [job.path] if job.path not in folders else []
        if total > known:
            taken = (job.start.get("filter") or {}).get("fileTypes") or [
                t for p, t in listed if _takes(job, p, t)
            ]
            kind = Counter(taken).most_common(1)[0][0] if taken else "OTHERS"  # the type the job takes most
            block = {"folder": f"{job.path.rstrip('/')}/~unrecorded", "per_folder": {kind: total - known}}
            generate.append((block, f"job {job.id} counted {total} asset(s), its logs named {known}"))
    return folders, generate


def _faults(tape: Tape, notes: list[str]) -> list[Item]:
    """5xx, 401 and 429 answers as faults, counted as the mock counts them: per endpoint (401: all)."""
    calls: Counter[str] = Counter()
    hits: dict[tuple[str, int], list[tuple[int, Exchange]]] = {}
    for ex in tape.exchanges:
        operation, status = ex.operation, ex.response["status"]
        if operation is None or operation not in OPERATION_NAMES.values():
            continue
        calls.update((operation, "*"))
        if status in _FAULTS:
            key = ("*", status) if status == 401 else (operation, status)
            hits.setdefault(key, []).append((calls[key[0]], ex))
        elif status >= 500:
            notes.append(f"{operation} answered {status} (line {ex.line}); a fault cannot answer {status}")
    faults = []
    for (endpoint, status), seen in hits.items():
        first, indices = seen[0][1], [i for i, _ in seen]
        fault: dict[str, Any] = {"endpoint": endpoint, "status": status}
        retry = first.response.get("headers", {}).get("retry-after")
        if isinstance(retry, str) and retry.isdigit() and int(retry) <= 86400:
            fault["retry_after"] = int(retry)
        if isinstance(body := first.response.get("body"), dict) and len(json.dumps(body)) <= 2000:
            fault["body"] = body
        at = f"call(s) {str(indices[:20])[1:-1]} of {calls[endpoint]}"
        why = f"{'every endpoint' if endpoint == '*' else endpoint} answered {status} at {at}"
        for when in _when(indices, calls[endpoint]):
            faults.append(({**fault, "when": when}, why + " (as often, not where)" * ("probability" in when)))
    return faults


def _when(indices: list[int], calls: int) -> list[dict[str, Any]]:
    """The trigger that fires at exactly these calls, else one per call, else as often as they came."""
    first = indices[0]
    if len(indices) > 1 and indices == list(range(first, calls + 1)):
        return [{"from": first}]
    if len(indices) > 1 and indices == list(range(first, calls + 1, first)):
        return [{"every": first}]
    if len(indices) <= 10:
        return [{"nth": i} for i in indices]
    return [{"probability": round(len(indices) / calls, 3)}]
