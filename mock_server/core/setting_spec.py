"""What each setting is, once: the metadata of a :class:`~.settings.Settings` field.

A field declared with :func:`setting` carries a :class:`Spec`: its unit, its spelling in a
scenario file (``settings.per_asset``), its environment variable, its CLI flag (if any) and its
description. The readers of :mod:`.settings` (scenario, environment, CLI flags, markers and
``overrides``) and the README's settings table (``python -m mock_server.core.settings_doc``) walk
these specs; no module translates a setting by hand.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .errors import SettingError

__all__ = ["SPEC", "UNITS", "Flag", "Spec", "Unit", "duration_ms", "parse_clock", "setting"]

#: What a setting's value measures; ``duration`` is milliseconds in Python, ``'200ms'`` in YAML.
Unit = Literal["duration", "bytes", "count", "number", "bool", "choice", "text", "path", "list", "map",
               "clock", "seed"]  # fmt: skip
#: Each unit in words, for the README.
UNITS: Mapping[Unit, str] = {
    "duration": "a duration: milliseconds in Python and the environment; `200ms`, `2s`, `1m`, `1h` or "
    "seconds in a scenario (and in a marker or `overrides` under the scenario's name)",
    "bytes": "a size in bytes",
    "count": "a whole number",
    "number": "a number",
    "bool": "true or false (in the environment also 1/0, yes/no, on/off)",
    "choice": "one of the values listed",
    "text": "a string",
    "path": "an absolute repository path",
    "list": "a list of strings (in the environment comma-separated)",
    "map": "a map of strings to strings (in the environment a JSON object)",
    "clock": "`real`, `manual` or `per-poll` (in the environment and `--clock` also `per-poll:STEP`)",
    "seed": "a whole number, or none",
}
#: The key of a field's :class:`Spec` in its ``metadata``.
SPEC = "aem_guides_mock"
CLOCKS = ("real", "manual", "per-poll")
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


@dataclass(frozen=True, slots=True)
class Flag:
    """A ``serve`` flag that sets the setting (the last layer of the merge, with markers)."""

    name: str
    metavar: str
    help: str


@dataclass(frozen=True, slots=True)
class Spec:
    """A setting's spellings and meaning.

    ``yaml`` is where a scenario file sets it, as a dotted path (``settings.per_asset``,
    ``clock``, ``admin.token``), or None where no scenario does. ``choices`` maps a scenario's
    word to the value (``backend: database`` is ``is_database=True``).
    """

    unit: Unit
    doc: str
    env: str
    yaml: str | None
    flag: Flag | None = None
    choices: Mapping[str, Any] | None = None

    @property
    def key(self) -> str | None:
        """The key under a scenario's ``settings:``, which markers and ``overrides`` take too."""
        block, _, key = (self.yaml or "").partition(".")
        return key if block == "settings" else None

    def from_yaml(self, value: Any) -> Any:
        """A scenario's value (``'200ms'``, ``database``, a list) as the field's value."""
        if self.unit == "duration":
            return duration_ms(value)
        if self.choices is not None:
            if not isinstance(value, str) or value not in self.choices:
                raise SettingError(f"expected one of {', '.join(self.choices)}, got {value!r}")
            return self.choices[value]
        if self.unit == "list" and isinstance(value, list):
            return tuple(value)
        if self.unit == "clock" and isinstance(value, Mapping):  # clock: {per_poll: 500ms}
            return "per-poll"
        return value

    def to_yaml(self, value: Any) -> Any:
        """The field's value as a scenario writes it (the README's defaults)."""
        if self.unit == "duration":
            return _duration_text(value)
        if self.choices is not None:
            return next(word for word, chosen in self.choices.items() if chosen == value)
        if isinstance(value, tuple):
            return list(value)
        if isinstance(value, Mapping):
            return dict(value)
        return value


def setting(
    default: Any = dataclasses.MISSING,
    *,
    factory: Callable[[], Any] | None = None,
    unit: Unit,
    doc: str,
    env: str,
    yaml: str | None,
    flag: Flag | None = None,
    choices: Mapping[str, Any] | None = None,
) -> Any:
    """A dataclass field carrying its :class:`Spec`."""
    spec = Spec(unit, doc, env, yaml, flag, choices)
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={SPEC: spec})
    return dataclasses.field(default=default, metadata={SPEC: spec})


def duration_ms(value: float | str) -> int:
    """``'2s'``, ``'150ms'``, ``'1m'``, ``'1h'`` or a number of seconds, in milliseconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 0 <= value <= 1e12:  # NaN fails this too
            raise SettingError(f"expected a finite duration, got {value!r}")
        return round(value * 1000)
    match = _DURATION.fullmatch(str(value).strip())
    if match is None:
        raise SettingError(f"expected a duration such as '2s', '150ms' or '1m', got {value!r}")
    return round(float(match.group(1)) * _UNIT_MS[match.group(2)])


def _duration_text(ms: int) -> str:
    for suffix in ("h", "m", "s"):
        if ms and ms % _UNIT_MS[suffix] == 0:
            return f"{ms // _UNIT_MS[suffix]}{suffix}"
    return f"{ms}ms"


def parse_clock(text: str) -> dict[str, Any]:
    """``real``, ``manual``, ``per-poll`` or ``per-poll:STEP`` (such as ``per-poll:250ms``)."""
    import difflib

    kind, _, step = text.strip().partition(":")
    kind = kind.replace("_", "-")
    if kind not in CLOCKS or (step and kind != "per-poll"):
        close = difflib.get_close_matches(kind, CLOCKS, n=1, cutoff=0.6)
        raise SettingError(
            f"expected real, manual or per-poll[:STEP] such as per-poll:250ms, got {text!r}"
            + (f" (did you mean {close[0]}?)" if close else "")
        )
    if not step:
        return {"clock": kind}
    return {"clock": kind, "poll_step_ms": duration_ms(step)}
