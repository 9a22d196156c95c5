"""The formats the shipped schemas name of their own, handed to a check explicitly.

``schemas/scenario.schema.json`` says ``"format": "duration"``, ``"positive-duration"`` and
``"timestamp"``; JSON Schema knows none of them. A :class:`~.schema_check.SchemaCheck` checks a format
only when it is given a function for it (``formats=``): the scenario loader passes
:data:`SCENARIO_FORMATS`, the API's checks pass none (their schemas name no format). Nothing is
registered by importing a module.

A format function takes any JSON value and answers whether it has the format; a value of a type the
format does not speak of has it (as with jsonschema's format checkers, a format also applies to
numbers: ``per_asset: 0`` is no positive duration).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ..core.settings import duration_ms

__all__ = ["SCENARIO_FORMATS", "FormatFunction", "duration", "positive_duration", "timestamp", "timestamp_ms"]

#: True when the value has the format (or is of a type the format does not speak of).
FormatFunction = Callable[[Any], bool]


def timestamp_ms(value: int | str) -> int:
    """Epoch milliseconds, or an ISO date (UTC unless it says otherwise), in epoch milliseconds."""
    if isinstance(value, int):
        return value
    moment = dt.datetime.fromisoformat(value.replace(" ", "T"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    stamp = int(moment.timestamp() * 1000)
    if stamp < 0:
        raise ValueError(f"{value!r} lies before 1970")
    return stamp


def _is_duration_value(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def duration(value: Any) -> bool:
    """``'2s'``, ``'150ms'``, ``'1m'``, ``'1h'`` or a number of seconds that :func:`duration_ms` reads."""
    if not _is_duration_value(value):
        return True
    try:
        duration_ms(value)
    except (ValueError, OverflowError):
        return False
    return True


def positive_duration(value: Any) -> bool:
    """A duration of at least 1 ms."""
    if not _is_duration_value(value):
        return True
    try:
        return duration_ms(value) >= 1
    except (ValueError, OverflowError):
        return False


def timestamp(value: Any) -> bool:
    """An ISO date that :func:`timestamp_ms` reads, not before 1970 (epoch milliseconds are integers
    that the schema bounds itself)."""
    if not isinstance(value, str):
        return True
    try:
        timestamp_ms(value)
    except (ValueError, OverflowError):
        return False
    return True


#: The formats of ``schemas/scenario.schema.json``.
SCENARIO_FORMATS: Mapping[str, FormatFunction] = MappingProxyType(
    {"duration": duration, "positive-duration": positive_duration, "timestamp": timestamp}
)
