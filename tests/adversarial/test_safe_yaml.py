"""The defensive YAML reader: PyYAML's own loader as the oracle, and its caps in bounded memory."""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server import ScenarioError
from mock_server.scenarios.reading import shipped_scenarios
from mock_server.scenarios.safe_yaml import MAX_BYTES, MAX_DEPTH, MAX_NODES, _Loader, read_yaml
from tests.support.hypothesis_profiles import examples

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["yes", "No", "~", "0x1f", "0o17", "1_000", "2025-01-01", ".inf", "-.Inf", "=", "<<"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


def oracle(text: str) -> Any:
    """What PyYAML's own safe loader makes of ``text`` (with dates left as strings, as ours)."""
    return yaml.load(text, Loader=_Loader)


@settings(max_examples=examples(300), deadline=None)
@given(VALUES, st.sampled_from([None, True, False]), st.booleans())
def test_a_document_reads_as_pyyaml_reads_it(value: Any, flow: bool | None, shared: bool) -> None:
    """Block or flow style, and with anchors and aliases (a value used twice is written once)."""
    document = {"a": value, "b": value} if shared else {"a": value}
    text = yaml.dump(document, default_flow_style=flow, allow_unicode=True)
    read, lines = read_yaml(text, "x")
    assert read == oracle(text)
    assert lines[()] == 1 and ("a",) in lines


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_every_shipped_scenario_reads_as_pyyaml_reads_it(name: str) -> None:
    text = shipped_scenarios()[name].read_text()
    assert read_yaml(text, name)[0] == oracle(text)


def test_the_line_of_every_key_path_aliases_included() -> None:
    text = "a: &x\n  - 1\n  - {c: 3}\nb: *x\nc:\n  - *x\n"
    document, lines = read_yaml(text, "x")
    assert document == {"a": [1, {"c": 3}], "b": [1, {"c": 3}], "c": [[1, {"c": 3}]]}
    assert document["a"] is document["b"]  # shared, as PyYAML shares it
    assert lines == {
        (): 1, ("a",): 1, ("a", 0): 2, ("a", 1): 3, ("a", 1, "c"): 3,
        ("b",): 4, ("b", 0): 2, ("b", 1): 3, ("b", 1, "c"): 3,
        ("c",): 5, ("c", 0): 1, ("c", 0, 0): 2, ("c", 0, 1): 3, ("c", 0, 1, "c"): 3,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: &r [*r]\n", "x:1: nested deeper than 64 levels (a recursive alias?)"),
        ("a: *nope\n", "x:1: not valid YAML: found undefined alias 'nope'"),
        ("a: &x 1\nb: &x 2\n", "x:2: not valid YAML: found duplicate anchor 'x'"),
        ("a: 1\n---\nb: 2\n", "x:2: not valid YAML: but found another document"),
        ("a: &m [1]\n*m : 2\n", "x:2: (the document): an alias that is not a string cannot be a key"),
        ("a: !!map x\n", "x:1: expected a mapping node, but found scalar"),
        ("a: !!str [1]\n", "x:1: expected a scalar node, but found sequence"),
        ("a: !custom {b: 1}\n", "x:1: could not determine a constructor for the tag '!custom'"),
        ("a: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", "x:1: nested deeper than 64 levels"),
        ("a: " + "[" * MAX_DEPTH + "1" + "]" * MAX_DEPTH + "\n", "x:1: nested deeper than 64 levels"),
    ],
)
def test_what_pyyaml_would_compose_but_a_scenario_cannot_hold(text: str, problem: str) -> None:
    with pytest.raises(ScenarioError) as refused:
        read_yaml(text, "x")
    assert refused.value.problems[0].startswith(problem)


def test_sixty_four_levels_are_not_too_deep() -> None:
    assert read_yaml("a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n", "x")[0] is not None


def test_an_alias_may_be_a_string_key() -> None:
    assert read_yaml("a: &k key\n*k : 2\n", "x") == ({"a": "key", "key": 2}, {(): 1, ("a",): 1, ("key",): 1})


def traced_peak(text: str) -> tuple[int, str]:
    """The most memory ``read_yaml`` took at once, and its first problem ("" when none)."""
    tracemalloc.start()
    try:
        read_yaml(text, "x")
        problem = ""
    except ScenarioError as error:
        problem = error.problems[0]
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return peak, problem


def fill(head: str, item: str, tail: str = "") -> str:
    """``head``, then ``item`` as often as fits in about 1 MiB, then ``tail``."""
    return head + item * ((MAX_BYTES - 4096 - len(head) - len(tail)) // len(item)) + tail


@pytest.mark.parametrize(
    "text",
    [
        fill("description: dense\nx: [", "0,", "0]\n"),  # 500,000 nodes in 1 MiB
        "description: dense\nx: {" + "".join(f"k{n}:0," for n in range(101_000)) + "z: 0}\n",
        fill("description: deep\nx:\n", "  - " + "{a: " * 60 + "0" + "}" * 60 + "\n"),
    ],
)
def test_a_document_past_the_node_cap_stops_there_in_little_memory(text: str) -> None:
    """No tree of nodes is built first: composing 500,000 nodes took 274 MB before the cap was
    checked. Now the cap stops the reading at its line."""
    peak, problem = traced_peak(text)
    assert f"more than {MAX_NODES} YAML nodes" in problem
    assert peak < 60_000_000


def test_a_large_valid_document_reads_in_little_more_memory_than_it_makes() -> None:
    items = "".join(f"    - {{path: /content/dam/x/a-{n}.dita, type: DITATOPIC}}\n" for n in range(17_000))
    text = f"description: big\nrepository:\n  assets:\n{items}"
    assert len(text) > 900_000
    peak, problem = traced_peak(text)
    assert problem == ""
    assert peak < 35_000_000  # the document and its line table; PyYAML's nodes took 57 MB more
