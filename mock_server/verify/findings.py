"""What ``verify`` found, in four classes, and the reports it writes (text, JSON, JUnit XML).

- **violation**: the author broke the contract (a required key missing, a wrong type, a status
  that went back, a log page that skipped a line…). Exit 1.
- **undocumented**: the author sent what the contract lacks (a key, a status or an enum value).
  A warning; exit 1 with ``--strict``.
- **not exercised**: a step of the plan that did not run (the profile forbids it, or the author
  did not allow it), reported so that a green run says what it did not check.
- **setup error**: the plan could not run (unreachable, credentials refused, the sandbox refused,
  the job did not end in time, an answer verify could not read whole or within its caps). Exit 3,
  whatever else was found: never 0 for a plan that did not run.

Whatever an author answers, the reports can be written: a finding's text keeps no lone surrogate (it
becomes ``\\udXXX``), and the JUnit XML no character XML 1.0 forbids (it becomes ``\\xNN``).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["EXIT_CODES", "Finding", "Kind", "Report"]

Kind = Literal["violation", "undocumented", "not exercised", "setup error"]
#: The exit codes: clean, a violation (or, with --strict, an undocumented finding), a setup error.
EXIT_CODES = {"ok": 0, "violation": 1, "setup error": 3}
_MAX_FINDINGS = 200
_MAX_EXCERPT = 300
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # what XML 1.0 cannot hold


@dataclass(frozen=True)
class Finding:
    """One finding: where (the step and the request), what rule, an excerpt of the answer, and a
    curl line that repeats the request (credentials as environment variables, never their values)."""

    kind: Kind
    step: str
    rule: str
    request: str = ""
    excerpt: str = ""
    curl: str = ""

    def line(self) -> str:
        where = f" {self.request}" if self.request else ""
        return f"[{self.kind}] {self.step}{where}: {self.rule}"


@dataclass
class Report:
    """The findings of one run, the steps it ran, and the exit code they make."""

    target: str
    profile: str
    strict: bool = False
    steps: dict[str, str] = field(default_factory=dict)  # step -> "passed" | "failed" | "not exercised"
    findings: list[Finding] = field(default_factory=list)
    dropped: int = 0
    pace: dict[str, int] = field(default_factory=dict)
    stopped: str = ""
    """The signal that stopped the run before its end (``SIGTERM``, ``SIGINT``), if one did."""

    def add(
        self, kind: Kind, step: str, rule: str, request: str = "", excerpt: str = "", curl: str = ""
    ) -> None:
        if len(self.findings) >= _MAX_FINDINGS:
            self.dropped += 1
            return
        self.findings.append(
            Finding(kind, step, _text(rule), _text(request), _cut(_text(excerpt)), _text(curl))
        )
        if kind in ("violation", "setup error") or (kind == "undocumented" and self.strict):
            self.steps[step] = "failed"
        elif kind == "not exercised" and self.steps.get(step) != "failed":
            self.steps[step] = "not exercised"

    def ran(self, step: str) -> None:
        """``step`` ran; it passed unless a finding failed it or said it was not exercised."""
        if self.steps.get(step, "pending") == "pending":
            self.steps[step] = "passed"

    def kinds(self) -> set[str]:
        return {f.kind for f in self.findings}

    @property
    def exit_code(self) -> int:
        kinds = self.kinds()
        if "setup error" in kinds:
            return EXIT_CODES["setup error"]
        if "violation" in kinds or (self.strict and "undocumented" in kinds):
            return EXIT_CODES["violation"]
        return EXIT_CODES["ok"]

    def summary(self) -> str:
        counts = {
            k: sum(f.kind == k for f in self.findings)
            for k in ("violation", "undocumented", "not exercised", "setup error")
        }
        ran = sum(outcome != "not exercised" for outcome in self.steps.values())
        lines = [
            f"verify {self.target} (profile {self.profile}): {ran} of {len(self.steps)} steps run; "
            + ", ".join(f"{n} {k}" for k, n in counts.items())
        ]
        for finding in self.findings:
            lines.append("  " + finding.line())
            if finding.excerpt:
                lines.append(f"      answer: {_xml(finding.excerpt)}")  # no terminal escapes either
            if finding.curl:
                lines.append(f"      repeat: {finding.curl}")
        if self.dropped:
            lines.append(f"  … and {self.dropped} more findings")
        lines.append(f"exit {self.exit_code}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "profile": self.profile,
            "exitCode": self.exit_code,
            "steps": self.steps,
            "findings": [asdict(f) for f in self.findings],
            "moreFindings": self.dropped,
            "pace": self.pace,
            "stopped": self.stopped or None,
        }

    def to_junit(self) -> bytes:
        """One test case per step; a violation or setup error fails it, not exercised skips it."""
        suite = ET.Element(
            "testsuite", name=_xml(f"aem-guides-mock verify {self.target}"), tests=str(len(self.steps))
        )
        failures = skipped = 0
        for step, outcome in self.steps.items():
            case = ET.SubElement(suite, "testcase", classname="verify", name=step)
            mine = [f for f in self.findings if f.step == step]
            if outcome == "failed":
                failures += 1
                failure = ET.SubElement(case, "failure", message=_xml(mine[0].rule) if mine else "failed")
                failure.text = _xml("\n".join(f"{f.line()}\n  {f.excerpt}\n  {f.curl}" for f in mine))
            elif outcome == "not exercised":
                skipped += 1
                ET.SubElement(case, "skipped", message=_xml(mine[0].rule) if mine else "not exercised")
            elif mine:  # undocumented, not strict
                ET.SubElement(case, "system-out").text = _xml("\n".join(f.line() for f in mine))
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
        return bytes(ET.tostring(suite, encoding="utf-8", xml_declaration=True))

    def write(self, spec: str) -> None:
        """Write the report ``json=FILE`` or ``junit=FILE``; an OSError says why it could not be."""
        kind, _, path = spec.partition("=")
        data = json.dumps(self.to_json(), indent=2).encode() if kind == "json" else self.to_junit()
        with open(path, "wb") as out:
            out.write(data)


def _text(text: str) -> str:
    """``text`` as UTF-8 can hold it: a lone surrogate (from an answer's JSON) as its escape."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _xml(text: str) -> str:
    """``text`` as XML 1.0 can hold it: a control character (from a ZIP's excerpt) as its escape."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


def _cut(text: str) -> str:
    return text if len(text) <= _MAX_EXCERPT else text[: _MAX_EXCERPT - 1] + "…"
