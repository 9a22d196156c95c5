"""``aem-guides-mock verify``: check a real AEM Guides author against the mock's contract.

The plan (:mod:`.plan`) runs against the author (:mod:`.target`) and its findings (:mod:`.findings`)
make the exit code: 0 clean, 1 a violation (or, with ``--strict``, an undocumented finding), 3 a
setup error (the plan could not run).
"""

from __future__ import annotations

import datetime as dt

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
    url: str, credentials: Credentials, options: Options, rate: float = 5.0, strict: bool = False
) -> Report:
    """Run the plan against the author at ``url``; the report's ``exit_code`` says how it went."""
    report = Report(url, options.profile, strict)
    async with Target(url, credentials, rate, timeout_s=min(30.0, options.timeout_s)) as target:
        await run_plan(target, report, options)
    return report


def describe_plan(url: str, options: Options) -> str:
    """What ``--dry-run`` prints: every step, and whether this profile runs it; nothing is sent."""
    lines = [f"verify {url}, profile {options.profile}, sandbox {options.sandbox} (dry run: nothing sent)"]
    for number, (name, what, readonly) in enumerate(PLAN, 1):
        runs = readonly or options.profile != "readonly"
        lines.append(f"  {number:2}. {name}: {what}" + ("" if runs else "  [skipped: readonly]"))
    lines.append("  then: cancel every job the plan started that has not ended")
    return "\n".join(lines)


def pace_scenario(report: Report) -> str:
    """The observed pace as a scenario (``--emit-settings``): the mock tuned to this author."""
    pace = report.pace
    settings = "".join(f"  {key.removesuffix('_ms')}: {value}ms\n" for key, value in sorted(pace.items()))
    return (
        f"# The pace aem-guides-mock verify observed at {report.target} on "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, from the log of the job it followed.\n"
        "name: observed-pace\n"
        f'description: "The default repository at the pace observed at {report.target}."\n'
        "repository:\n  base: default\n" + (f"settings:\n{settings}" if settings else "")
    )
