"""The parts mocks share (mock_server/http/parts.py): built once per repository and seed, or per
settings; never for unequal ones; kept only while a mock holds them."""

from __future__ import annotations

import gc

from mock_server.core.settings import Settings
from mock_server.http.parts import SharedParts
from mock_server.scenarios.reading import parse_scenario

ONE = """description: one
repository:
  base: empty
  assets:
    - {path: /content/dam/x/a.dita, type: DITATOPIC}
"""
SEEDED = """description: seeded
seed: {seed}
repository:
  generate:
    - {{folder: /content/dam/g, per_folder: {{DITATOPIC: 3}}}}
"""


def test_equal_repositories_and_seeds_share_one_repository_and_unequal_ones_do_not() -> None:
    parts = SharedParts()
    one = parts.repository(parse_scenario(ONE, "<a>", "inline"))
    assert parts.repository(parse_scenario(ONE, "<b>", "inline")) is one
    other = parts.repository(parse_scenario(ONE.replace("/x/", "/y/"), "<c>", "inline"))
    assert other is not one and other.exists("/content/dam/y/a.dita") and not one.exists("/content/dam/y")
    first, second = (parts.repository(parse_scenario(SEEDED.format(seed=s), "<s>", "inline")) for s in (1, 2))
    assert first is not second  # the seed draws the generated assets' dates


def test_equal_settings_share_one_contract_and_its_settings_and_unequal_ones_do_not() -> None:
    parts = SharedParts()
    strict = parts.contract(Settings())
    assert parts.contract(Settings()) is strict
    lenient = parts.contract(Settings(lenient=True))
    assert lenient is not strict and lenient.settings.lenient and not strict.settings.lenient


def test_a_part_no_mock_holds_is_let_go() -> None:
    parts = SharedParts()
    parts.contract(Settings(journal_size=7))
    gc.collect()
    assert len(parts._contracts) == 0
