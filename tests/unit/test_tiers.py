"""Every test file sits in a tier (tests/unit, tests/http, tests/e2e, tests/adversarial), and each tier's
tests carry its marker, so that ``-m "not e2e"`` is the inner loop."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests import conftest
from tests.conftest import TIERS
from tests.support.slow import INNER, SLOW

TESTS = Path(__file__).resolve().parents[1]
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def test_every_test_file_sits_in_a_tier() -> None:
    outside = sorted(
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("test_*.py")
        if path.relative_to(TESTS).parts[0] not in TIERS
    )
    assert not outside, (
        f"test files outside the tiers: {outside}; move each (git mv, same file name) into one of "
        f"tests/{{{','.join(TIERS)}}} (see the README's Project layout)"
    )


def test_each_tier_is_a_folder_with_tests() -> None:
    for tier in TIERS:
        assert list((TESTS / tier).glob("test_*.py")), f"tests/{tier} holds no test file"


def test_this_test_carries_its_tiers_marker(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("unit") is not None, "tests/conftest.py did not mark tests/unit"
    assert request.node.get_closest_marker("e2e") is None


def test_each_test_listed_slow_exists() -> None:
    """A test renamed or moved drops out of tests/support/slow.py's list: the list says so at once."""
    missing = []
    for path, names in [*SLOW.items(), *INNER.items()]:
        file = TESTS / path
        defined = (
            {node.name for node in ast.walk(ast.parse(file.read_text())) if isinstance(node, FUNCTIONS)}
            if file.exists()
            else set()
        )
        missing += [f"{path}::{name}" for name in names if name not in defined]
    assert not missing, f"tests/support/slow.py names tests that do not exist: {missing}; fix or drop them"


class _Item:
    """As much of a pytest item as the conftest's marking reads."""

    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name, self.originalname, self.marks = path, name, name, set[str]()

    def add_marker(self, mark: Any) -> None:
        self.marks.add(mark if isinstance(mark, str) else mark.name)

    def get_closest_marker(self, name: str) -> str | None:
        return name if name in self.marks else None


@pytest.mark.parametrize(("markexpr", "kept"), [("", False), ("not e2e", False), ("slow", True)])
def test_a_slow_test_runs_only_when_m_names_slow(markexpr: str, kept: bool) -> None:
    [(path, names)] = list(SLOW.items())[:1]
    slow, fast = _Item(TESTS / path, next(iter(names))), _Item(TESTS / "unit" / "test_tiers.py", "test_x")
    deselected: list[Any] = []
    config = SimpleNamespace(
        getoption=lambda name: markexpr,
        hook=SimpleNamespace(pytest_deselected=lambda items: deselected.extend(items)),
    )
    items: list[Any] = [slow, fast]
    conftest.pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    assert slow.marks == {path.split("/")[0], "slow"} and fast.marks == {"unit"}
    assert items == ([slow, fast] if kept else [fast]), f"-m {markexpr!r}: {[i.name for i in items]}"
    assert deselected == ([] if kept else [slow])


@pytest.mark.parametrize(
    ("marker", "markexpr", "kept"),
    [
        ("container", "", False),
        ("container", "slow", False),
        ("container", "container", True),
        ("replicas", "", False),
        ("replicas", "container", False),
        ("replicas", "replicas", True),
    ],
)
def test_an_opt_in_test_runs_only_when_m_names_its_marker(marker: str, markexpr: str, kept: bool) -> None:
    """A container or replicas test runs only when ``-m`` names its own marker."""
    opted = _Item(TESTS / "e2e" / f"test_{marker}.py", "test_x")
    fast = _Item(TESTS / "unit" / "test_x.py", "t")
    opted.add_marker(marker)
    config = SimpleNamespace(
        getoption=lambda name: markexpr, hook=SimpleNamespace(pytest_deselected=lambda items: None)
    )
    items: list[Any] = [opted, fast]
    conftest.pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    assert items == ([opted, fast] if kept else [fast]), f"-m {markexpr!r}: {[i.name for i in items]}"
