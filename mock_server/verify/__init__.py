"""``aem-guides-mock verify``: check a real AEM Guides author against the mock's contract.

The plan (:mod:`.plan`, with the log's steps in :mod:`.logs`) runs against the author (:mod:`.target`);
it starts jobs only on the sandbox :class:`Options` names (none by default: then only its GETs run),
and its findings (:mod:`.findings`) make the exit code: 0 clean, 1 a violation (or, with ``--strict``,
an undocumented finding), 3 a setup error (the plan could not run, or verify could not read an answer).

``--timeout`` bounds the whole run by the clock, every request included: the steps stop at the timeout
less :attr:`Options.cleanup_s` (a tenth of it, 5 s at most), and that last part goes to cancelling the
jobs the plan started and that have not ended; a job it could not cancel in time is a setup error that
names it. A cancellation (the command's, on SIGTERM or SIGINT) is a setup error naming the step it
stopped, and the clean-up then gets :attr:`Options.cleanup_s` from it. What verify reads of an answer
is capped too (:class:`Options`), and an answer's fields are read only from a JSON object
(:meth:`~.target.Answer.fields`): a list or a string where an object belongs is a violation, not a crash.
"""

from __future__ import annotations

import datetime as dt
import time

from ..scenarios.writing import scenario_yaml
from .findings import EXIT_CODES, Finding, Report
from .plan import PLAN, Options, run_plan
from .target import Credentials, Target

__all__ = [
    "EXIT_CODES",
    "PLAN",
    "Credentials",
    "Finding",
    "Options",
    "Report",
    "describe_plan",
    "pace_scenario",
    "verify",
]


async def verify(
    url: str,
    credentials: Credentials,
    options: Options,
    rate: float = 5.0,
    strict: bool = False,
    *,
    report: Report | None = None,
    began: float | None = None,
) -> Report:
    """Run the plan against the author at ``url`` within ``options.timeout_s``; the report's
    ``exit_code`` says how it went. Never raises but a cancellation: whatever goes wrong is a setup
    error in the report (``report``, when given, is filled as the run goes: an interrupted run keeps
    what it found). ``began``: the ``time.monotonic()`` the timeout counts from (now by default)."""
    began = time.monotonic() if began is None else began
    report = Report(url, options.profile, strict) if report is None else report
    try:
        target = Target(
            url, credentials, rate, timeout_s=min(30.0, options.timeout_s), max_answer=options.max_answer,
            max_download=options.max_download, json_caps=options.json,
        )  # fmt: skip
        async with target:
            await run_plan(target, report, options, began)
    except Exception as error:  # the URL, the HTTP client: a finding, not a traceback
        report.add("setup error", "plan", f"verify could not run: {type(error).__name__}: {error}")
    return report


def describe_plan(url: str, options: Options) -> str:
    """What ``--dry-run`` prints: every step, and whether this profile runs it; nothing is sent."""
    sandbox = options.sandbox or "none"
    lines = [f"verify {url}, profile {options.profile}, sandbox {sandbox} (dry run: nothing sent)"]
    skipped = "readonly" if options.profile == "readonly" else "no --sandbox"
    for number, (name, what, readonly) in enumerate(PLAN, 1):
        runs = readonly or options.readonly is None
        lines.append(f"  {number:2}. {name}: {what}" + ("" if runs else f"  [skipped: {skipped}]"))
    if options.readonly is not None and options.profile != "readonly":
        lines.append(f"  ({options.readonly})")
    lines.append(
        "  then: cancel every job the plan started that has not ended (in the last "
        f"{options.cleanup_s:g} s of --timeout {options.timeout_s:g} s)"
    )
    return "\n".join(lines)


def pace_scenario(report: Report) -> str:
    """The observed pace as a scenario (``--emit-settings``): the mock tuned to this author."""
    settings = {key.removesuffix("_ms"): f"{ms}ms" for key, ms in sorted(report.pace.items())}
    when = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    header = [f"The pace aem-guides-mock verify observed at {report.target} on {when}, from the log of "
              "the job it followed."]  # fmt: skip
    scenario = {
        "name": "observed-pace",
        "description": f"The default repository at the pace observed at {report.target}.",
        "repository": {"base": "default"},
        **({"settings": settings} if settings else {}),
    }
    return scenario_yaml(scenario, header)
