"""What a scenario asks for that will never happen: warnings, not errors (it loads and serves)."""

from __future__ import annotations

import re

from ..api.operations import OPERATION_NAMES, OPERATIONS
from ..contract.wording import field_name
from ..core.faults import Fault
from ..core.repository import Repository
from ..core.settings import Settings
from .scenario import Scenario

__all__ = ["LINE_KEYS", "scenario_warnings"]

#: The keys these warnings name: a loaded scenario keeps the lines of the key paths made of these
#: and of list indexes only (a 1 MiB scenario's every value would take 20 MB of line table).
LINE_KEYS = frozenset({"jobs", "faults", "match", "path", "endpoint", "auth", "settings", "system_job_path"})


# --- warnings ------------------------------------------------------------------------------------


def scenario_warnings(scenario: Scenario, settings: Settings, repository: Repository) -> list[str]:
    """What the scenario asks for that will never happen with ``settings`` and ``repository``:
    not errors (it loads and serves), but worth a word from ``check`` and ``serve``."""
    found: list[str] = []

    def at(*path: str | int) -> str:
        known = path
        while known and known not in scenario.lines:
            known = known[:-1]
        return f"{scenario.origin}:{scenario.lines.get(known, 1)}: warning: {field_name(path)}"

    faults: list[tuple[tuple[str | int, ...], Fault]] = []
    faults += [(("faults", i), f) for i, f in enumerate(scenario.faults)]
    for j, job in enumerate(scenario.jobs):
        faults += [(("jobs", j, "faults", i), f) for i, f in enumerate(job.faults)]
    every = frozenset(OPERATION_NAMES)
    unserved = [operation for operation in OPERATIONS if not operation.served(settings)]
    for where, fault in faults:
        for operation in unserved:
            if operation.name in fault.endpoints and fault.endpoints != every:
                found.append(f"{at(*where, 'endpoint')}: never fires on {operation.name}: {operation.name} "
                             f"is not served ({operation.how_to_serve})")  # fmt: skip
        if fault.auth == "bearer" and not settings.tokens:
            found.append(f"{at(*where, 'auth')}: never fires: no Bearer token is defined (settings.tokens)")
    for j, job in enumerate(scenario.jobs):
        earlier = next(
            (k for k, other in enumerate(scenario.jobs[:j]) if other.takes_every_start_of(job)), None
        )
        if earlier is not None:
            found.append(f"{at('jobs', j, 'match')}: never runs a job: jobs[{earlier}] takes every start "
                         "this one would (the first script that matches runs the job)")  # fmt: skip
        if job.path is not None and not re.search(r"[*?]", job.path) and not repository.exists(job.path):
            found.append(f"{at('jobs', j, 'match', 'path')}: {job.path} is not in the repository: "
                         "no start can match it")  # fmt: skip
    if settings.system_job and not repository.exists(settings.system_job_path):
        found.append(f"{at('settings', 'system_job_path')}: {settings.system_job_path} is not in the "
                     "repository: the system job never runs")  # fmt: skip
    return found
