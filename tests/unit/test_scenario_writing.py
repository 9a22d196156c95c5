"""The one scenario writer (:func:`mock_server.scenarios.writing.scenario_yaml`): what it writes reads back
as the scenario it was given, comments and all text kept out of the YAML."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from mock_server.scenarios.reading import parse_scenario
from mock_server.scenarios.writing import Commented, scenario_yaml

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
_WORDISH = st.sampled_from(
    ["yes", "No", "null", "on", "200ms", "/content/dam/x", "HTML/CSS", "1", "", "a: b"]
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), _TEXT, _WORDISH)
keys = st.one_of(st.from_regex(r"[a-z_]{1,12}", fullmatch=True), _WORDISH, _TEXT)
flows = st.recursive(scalars, lambda inner: st.dictionaries(keys, inner, max_size=3), max_leaves=6)
values = st.recursive(
    st.one_of(flows, st.lists(flows, max_size=3)),
    lambda inner: st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)


def commented(value: Any, draw: st.DrawFn) -> Any:
    """``value`` with comments drawn around some of its parts."""
    if isinstance(value, dict):
        value = {k: commented(v, draw) for k, v in value.items()}
    elif isinstance(value, list):
        value = [Commented(item, draw(_TEXT)) if draw(st.booleans()) else item for item in value]
    return Commented(value, draw(_TEXT)) if draw(st.booleans()) else value


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    plain = draw(st.dictionaries(keys, values, min_size=1, max_size=4))
    return plain, {k: commented(v, draw) for k, v in plain.items()}


@given(scenarios(), st.lists(_TEXT, max_size=3), st.lists(_TEXT, max_size=3))
def test_what_is_written_reads_back_as_the_scenario(
    scenario: tuple[dict[str, Any], dict[str, Any]], header: list[str], footer: list[str]
) -> None:
    plain, with_comments = scenario
    text = scenario_yaml(with_comments, header, footer)
    assert yaml.safe_load(text) == plain, text


def test_comments_go_above_their_part_and_a_scenario_reads() -> None:
    scenario = {
        "description": "Recorded from http://aem:4502\nsecond: line",
        "settings": {"per_asset": Commented("200ms", "the median\nof the gaps")},
        "repository": {
            "base": "empty",
            "assets": Commented(
                [Commented({"path": "/content/dam/a.dita", "type": "DITATOPIC"}, "seen")], "why"
            ),
        },
    }
    text = scenario_yaml(scenario, ["top"], ["- a note"])
    assert text == (
        "# top\n"
        'description: "Recorded from http://aem:4502\\nsecond: line"\n'
        "settings:\n  # the median of the gaps\n  per_asset: 200ms\n"
        "repository:\n  base: empty\n  # why\n  assets:\n    # seen\n"
        "    - {path: /content/dam/a.dita, type: DITATOPIC}\n"
        "\n# - a note\n"
    )
    read = parse_scenario(text, "written.yaml", "written")
    assert read.settings_changes["per_asset_ms"] == 200
