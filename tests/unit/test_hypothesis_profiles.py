"""The Hypothesis profiles: a tenth of each property's examples in the inner loop, every one in CI."""

from __future__ import annotations

import pytest

from tests.support import hypothesis_profiles
from tests.support.constants import ROOT
from tests.support.hypothesis_profiles import examples


def test_dev_runs_a_tenth_and_ci_every_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hypothesis_profiles, "PROFILE", "dev")
    assert [examples(n) for n in (5, 60, 150, 300)] == [5, 10, 15, 30]
    monkeypatch.setattr(hypothesis_profiles, "PROFILE", "ci")
    assert [examples(n) for n in (5, 60, 150, 300)] == [5, 60, 150, 300]


def test_ci_runs_the_suite_under_the_ci_profile() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "HYPOTHESIS_PROFILE=ci python3 -m pytest -n auto" in ci, (
        ".ci/run must run the fast suite once with HYPOTHESIS_PROFILE=ci (every example the tests ask for)"
    )
