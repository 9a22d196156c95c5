"""What a journal's findings read as when a test fails: the report the pytest plugin's strict mode
and :meth:`MockServer.assert_no_violations <mock_server.MockServer.assert_no_violations>` raise.

Each request, each field, what the schema wanted and what came, then how to allow it: that last
line depends on where the check runs (:class:`OptOut`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .errors import RequestViolation, Violation
from .journal import Exchange

__all__ = [
    "SERVER_OPT_OUT",
    "OptOut",
    "describe_violations",
    "describe_warnings",
    "no_violations",
]


class OptOut(NamedTuple):
    """How to allow what a report names: violations, and warnings."""

    violations: str
    warnings: str


#: The opt-out of a bare :class:`~mock_server.MockServer` (the pytest plugin has its markers).
SERVER_OPT_OUT = OptOut(
    "To allow this (say, in a test of your client's error handling), do not call "
    "assert_no_violations() in that test; server.violations lists what was broken.",
    "An author serves these, but the documented contract does not promise them. To allow them, "
    "call assert_no_violations() without warnings=True.",
)


def no_violations(
    violations: Sequence[Exchange], warnings: Sequence[Exchange], opt_out: OptOut = SERVER_OPT_OUT
) -> None:
    """Raise :class:`~.errors.RequestViolation` (an AssertionError) naming every exchange of
    ``violations``, or if there are none, every one of ``warnings``; pass when both are empty."""
    __tracebackhide__ = True
    if violations:
        found = [v for e in violations for v in e.request_violations]
        raise RequestViolation(describe_violations(violations, opt_out.violations), found)
    if warnings:
        found = [v for e in warnings for v in e.warnings]
        raise RequestViolation(describe_warnings(warnings, opt_out.warnings), found)


def describe_violations(exchanges: Sequence[Exchange], opt_out: str = SERVER_OPT_OUT.violations) -> str:
    """The strict-mode failure: each request, each field, what the schema wanted and what came."""

    def found(violation: Violation) -> list[str]:
        wanted = violation.expected + (f"  {violation.schema}" if violation.schema else "")
        return [f"the schema wants: {wanted}", f"the request had:  {_shown(violation.got)}"]

    return _describe(
        exchanges, "broke the API contract", "violation", lambda e: e.request_violations, found, opt_out
    )


def describe_warnings(exchanges: Sequence[Exchange], opt_out: str = SERVER_OPT_OUT.warnings) -> str:
    """The failure of ``strict="warnings"``: each request, and what in it the contract does not promise."""
    return _describe(
        exchanges,
        "sent what the documented contract does not promise",
        "warning",
        lambda e: e.warnings,
        lambda warning: [f"the contract has: {warning.expected}"],
        opt_out,
    )


def _describe(
    exchanges: Sequence[Exchange],
    what: str,
    noun: str,
    findings: Callable[[Exchange], tuple[Violation, ...]],
    details: Callable[[Violation], list[str]],
    opt_out: str,
) -> str:
    count = sum(len(findings(e)) for e in exchanges)
    requests = len(exchanges)
    lines = [
        f"aem-guides-mock: the client under test {what} "
        f"({count} {noun}{'s' * (count != 1)} in {requests} request{'s' * (requests != 1)}):"
    ]
    for number, exchange in enumerate(exchanges, 1):
        query = f"?{exchange.query}" if exchange.query else ""
        lines.append(f"  {number}. {exchange.method} {exchange.path}{query} -> {exchange.status}")
        for finding in findings(exchange):
            lines.append(f"     {finding.where}: {finding.message}")
            lines.extend(f"       {line}" for line in details(finding))
    lines.append(opt_out)
    return "\n".join(lines)


def _shown(value: Any) -> str:
    text = "(nothing)" if value is None else json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
