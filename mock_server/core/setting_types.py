"""A setting's Python type, checked and read from text: what :mod:`.settings` applies to every field."""

from __future__ import annotations

import difflib
import json
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

from .errors import SettingError

__all__ = ["check_type", "fits", "parse_text", "wanted"]

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def wanted(kind: Any) -> str:
    """A setting's type, in words."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if kind is bool:
        return "true or false"
    if kind in (int, float, str):
        return {int: "an integer", float: "a number such as 2 or 0.5", str: "a string"}[kind]
    if origin is tuple:
        return "a list of strings"
    if origin in (Mapping, dict):
        return "a map of strings to strings"
    if origin in (types.UnionType, typing.Union):
        return " or ".join("none" if a is type(None) else wanted(a) for a in args)
    return str(kind)


def fits(value: Any, kind: Any) -> bool:
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is Literal:
        return any(value == a and type(value) is type(a) for a in args)
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    if origin is tuple:
        return isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    if origin in (Mapping, dict):
        return isinstance(value, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        )
    if origin in (types.UnionType, typing.Union):
        return any(value is None if a is type(None) else fits(value, a) for a in args)
    return True


def check_type(name: str, value: Any, kind: Any) -> None:
    """Raise a :class:`SettingError` naming ``name`` when ``value`` is not of its type ``kind``."""
    if not fits(value, kind):
        choices = [str(a) for a in typing.get_args(kind)] if typing.get_origin(kind) is Literal else []
        tip = _did_you_mean(str(value), choices) if isinstance(value, str) else ""
        raise SettingError(f"{name}: expected {wanted(kind)}, got {value!r}{tip}")


def parse_text(raw: str, kind: Any) -> Any:
    """An environment variable's text as a value of the setting's type."""
    text = raw.strip()
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union) and type(None) in args:
        if text.lower() in ("", "none", "null"):
            return None
        kind = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(kind), typing.get_args(kind)
    if kind is bool:
        if text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise SettingError(f"expected true or false (or 1/0, yes/no, on/off), got {raw!r}")
    if origin is Literal:
        for choice in args:
            if str(choice) == text:
                return choice
        raise SettingError(
            f"expected {wanted(kind)}, got {raw!r}" + _did_you_mean(text, [str(a) for a in args])
        )
    try:
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise SettingError(f"expected {wanted(kind)}, got {raw!r}") from None
    if origin is tuple:
        return tuple(part.strip() for part in text.split(",") if part.strip())
    if origin in (Mapping, dict):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise SettingError(f'expected a JSON object such as {{"admin": "admin"}}, got {raw!r}')
        return value
    return raw
