"""The exception tree drawn in ``errors.py``'s docstring is the tree of the code."""

from __future__ import annotations

import re

from mock_server.core import errors


def drawn_tree() -> dict[str, str | None]:
    """Each class the docstring draws, and the parent it is drawn under."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        found = re.match(r"^([│ ]*(?:├── |└── )?)([A-Z][A-Za-z]+)\b", line)
        if not found or found.group(2) not in errors.__all__:
            continue
        depth = len(found.group(1))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[found.group(2)] = stack[-1][1] if stack else None
        stack.append((depth, found.group(2)))
    return parents


def test_the_docstring_draws_every_exception_under_its_parent() -> None:
    exceptions = {
        name: cls
        for name in errors.__all__
        if isinstance(cls := getattr(errors, name), type) and issubclass(cls, Exception)
    }
    drawn = drawn_tree()
    assert set(drawn) == set(exceptions)
    for name, parent in drawn.items():
        mock_bases = [b.__name__ for b in exceptions[name].__bases__ if b.__name__ in exceptions]
        assert mock_bases == ([parent] if parent else []), name


def test_contract_failures_are_assertion_errors_and_setting_errors_value_errors() -> None:
    assert issubclass(errors.RequestViolation, AssertionError)
    assert issubclass(errors.SettingError, ValueError)
