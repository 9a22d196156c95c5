"""What a tape's answers show besides its jobs, gathered one exchange at a time in bounded state: the
settings they imply (:class:`Seen`) and the faults they were (:class:`Faults`).

A fault keeps counts, not exchanges: where its answers came is kept as the trigger that fires at
exactly those calls (``from``, ``every``), else the first ten calls (``nth``), else how often.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..scenarios.writing import Item
from .tape_jobs import request_ids
from .tape_reader import OPERATION_NAMES, Exchange

__all__ = ["ID_OPERATIONS", "Faults", "Seen", "Setting"]

Setting = tuple[str, Any, str]  # a key, its value, where it came from
ID_OPERATIONS = ("status", "logs", "download", "cancel", "resume", "restart")
_FAULTS = {401, 429, 500, 502, 503}  # what a fault can answer that a healthy author does not
_NOTES = 100  # notes of one kind at most: the rest are counted
_USERS = 100  # Basic users kept at most: a tape of a client has one or a few
_PLACEHOLDER = re.compile(r"\[user:[0-9]+\]")


class Seen:
    """The settings the answers show: how unknown ids and conflicts are refused, and the modes; each
    by the line that first showed it, so that they are listed in the order the tape showed them."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[Any, str, int]] = {}  # key -> value, why, the line first seen
        self.users: dict[str, int] = {}
        """The Basic users the upstream let in (``request.user``), each with the line first seen."""
        self.masked: dict[str, int] = {}
        """The placeholders of users whose name is a secret (``[user:1]``: ``admin:admin``)."""

    def read(self, ex: Exchange) -> None:
        """The first pass: what does not depend on which ids are jobs."""
        status, answer, at = ex.response["status"], ex.response.get("body"), f"{ex.operation}, line {ex.line}"
        user = ex.request.get("user")
        if isinstance(user, str) and user and status != 401:  # a login the upstream refused: not replayed
            seen = self.masked if _PLACEHOLDER.fullmatch(user) else self.users
            if len(seen) < _USERS:
                seen.setdefault(user[:200], ex.line)
        if status == 409 and ex.operation in ("start", "cancel", "resume", "restart"):
            self._first("conflict_status", 409, f"the upstream answered 409 to a conflict ({at})", ex.line)
        if status != 200 or not isinstance(answer, dict):
            return
        accept = str((ex.request.get("headers") or {}).get("accept", ""))
        if ex.operation == "download" and "logFilePaths" in answer and "application/json" not in accept:
            why = f"logFilePaths without Accept: application/json ({at})"
            self._first("download", "json", why, ex.line)
        if ex.operation == "system-status" and answer.get("isDatabase") is True:
            self._first("backend", "database", f"the system status said isDatabase: true ({at})", ex.line)
        if ex.operation == "restart":
            self._first("restart_endpoint", True, f"the upstream served restart ({at})", ex.line)

    def read_unknown(self, ex: Exchange, jobs: dict[str, Any]) -> None:
        """The second pass: a 400 or 404 to an id no answer showed as a job (a 404 wins over a 400)."""
        status, pid = ex.response["status"], request_ids(ex)[1]
        if ex.operation not in ID_OPERATIONS or pid is None or pid in jobs or status not in (400, 404):
            return
        why = f"the upstream answered {status} to an unknown id ({ex.operation}, line {ex.line})"
        known = self._seen.get("unknown_id_status")
        if known is None or status == 404:  # listed where the first showed it, said as the last
            self._seen["unknown_id_status"] = (status, why, known[2] if known else ex.line)

    def _first(self, key: str, value: Any, why: str, line: int) -> None:
        self._seen.setdefault(key, (value, why, line))

    def settings(self, eta_units: set[str], renames: dict[str, Any]) -> list[Setting]:
        found = sorted(self._seen.items(), key=lambda item: item[1][2])
        settings = [(key, value, why) for key, (value, why, _) in found]
        if eta_units:
            settings.append(("eta_unit", min(eta_units), "the unit of eta in status answers"))
        if renames:
            why = "the status names answered, read from each job's flags (§3.17)"
            settings.append(("status_names", renames, why))
        if self.users:
            why = ("the Basic users the upstream let in (line " + ", ".join(map(str, self.users.values()))
                   + "); a tape keeps no password, so any password lets them in")  # fmt: skip
            settings.append(("any_password_users", list(self.users), why))
        return settings

    def user_notes(self) -> list[str]:
        """What the scenario says of the users whose names the tape kept as placeholders."""
        return [
            f"{placeholder} (line {line}) logged in with its user name as its password, so the tape keeps "
            "neither: the default users (admin:admin) let admin in; for another such login add "
            "`users: {NAME: PASSWORD}` or `any_password_users: [NAME]` to the settings"
            for placeholder, line in self.masked.items()
        ]


@dataclass
class _Hits:
    """The calls of one endpoint a fault's status answered, as counts (and the first twenty)."""

    retry_after: int | None
    body: dict[str, Any] | None
    calls: list[int] = field(default_factory=list)  # the first twenty
    count: int = 0
    last: int = 0
    steady: bool = True  # each call one after the one before
    stepped: bool = True  # each call `first` after the one before

    def add(self, call: int) -> None:
        if self.count:
            self.steady = self.steady and call == self.last + 1
            self.stepped = self.stepped and call == self.last + self.calls[0]
        if len(self.calls) < 20:
            self.calls.append(call)
        self.count, self.last = self.count + 1, call

    def when(self, calls: int) -> list[dict[str, Any]]:
        """The trigger that fires at exactly these calls, else one per call, else as often as they came."""
        first = self.calls[0]
        if self.count > 1 and self.steady and self.last == calls:
            return [{"from": first}]
        if self.count > 1 and self.stepped and self.last == calls - calls % first:
            return [{"every": first}]
        if self.count <= 10:
            return [{"nth": i} for i in self.calls]
        return [{"probability": round(self.count / calls, 3)}]


class Faults:
    """5xx, 401 and 429 answers as faults, counted as the mock counts them: per endpoint (401: all)."""

    def __init__(self) -> None:
        self._calls: Counter[str] = Counter()
        self._hits: dict[tuple[str, int], _Hits] = {}
        self.notes: list[str] = []
        self._unsaid = 0

    def read(self, ex: Exchange) -> None:
        operation, status = ex.operation, ex.response["status"]
        if operation is None or operation not in OPERATION_NAMES.values():
            return
        self._calls.update((operation, "*"))
        if status in _FAULTS:
            key = ("*", status) if status == 401 else (operation, status)
            if key not in self._hits:
                self._hits[key] = _first_hit(ex)
            self._hits[key].add(self._calls[key[0]])
        elif status >= 500 and len(self.notes) < _NOTES:
            said = f"{operation} answered {status} (line {ex.line})"
            self.notes.append(f"{said}; a fault cannot answer {status}")
        elif status >= 500:
            self._unsaid += 1

    def faults(self) -> tuple[list[Item], list[str]]:
        """The faults, and the notes on the answers no fault can give."""
        faults = []
        for (endpoint, status), hits in self._hits.items():
            fault: dict[str, Any] = {"endpoint": endpoint, "status": status}
            fault |= {"retry_after": hits.retry_after} if hits.retry_after is not None else {}
            fault |= {"body": hits.body} if hits.body is not None else {}
            at = f"call(s) {str(hits.calls)[1:-1]} of {self._calls[endpoint]}"
            why = f"{'every endpoint' if endpoint == '*' else endpoint} answered {status} at {at}"
            for when in hits.when(self._calls[endpoint]):
                often = " (as often, not where)" * ("probability" in when)
                faults.append(({**fault, "when": when}, why + often))
        more = [f"{self._unsaid} more 5xx answer(s) a fault cannot give"] if self._unsaid else []
        return faults, self.notes + more


def _first_hit(ex: Exchange) -> _Hits:
    retry = str((ex.response.get("headers") or {}).get("retry-after"))
    body = ex.response.get("body")
    small = isinstance(body, dict) and len(json.dumps(body)) <= 2000
    seconds = int(retry) if retry.isascii() and retry.isdigit() and len(retry) < 10 else None
    retry_after = seconds if seconds is not None and seconds <= 86400 else None
    return _Hits(retry_after, body if small else None)
