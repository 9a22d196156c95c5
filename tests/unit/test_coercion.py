"""What an author's JSON reader coerces (mock_server.contract.coercion), on its own."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server.contract.coercion import coerce, fields_of
from mock_server.contract.schemas import load_schemas

START = fields_of(load_schemas()["start.request"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=10,
)
starts = st.fixed_dictionaries(
    {},
    optional={
        "path": st.none() | st.just("/content/dam"),
        "type": st.none() | st.just("ASSET_PROCESSING"),
        "excludedPaths": st.none() | json_values,
        "filter": st.none()
        | st.fixed_dictionaries(
            {},
            optional={
                "startTime": json_values | st.integers().map(str) | st.integers().map(float),
                "fileTypes": st.none() | json_values,
            },
        ),
    },
)


def test_the_declared_fields_of_the_start_request() -> None:
    assert START["path"].required and not START["path"].integer
    assert START["filter"].fields["startTime"].integer and not START["filter"].required


def test_null_optional_fields_are_dropped_and_integers_coerced() -> None:
    body = {"path": "/a", "type": "T", "excludedPaths": None, "filter": {"startTime": "12", "endTime": 3.0}}
    coerced, warnings = coerce(START, body)
    assert coerced == {"path": "/a", "type": "T", "filter": {"startTime": 12, "endTime": 3}}
    assert [w.where for w in warnings] == [
        "body:/excludedPaths",
        "body:/filter/startTime",
        "body:/filter/endTime",
    ]
    assert {w.severity for w in warnings} == {"warning"}


def test_what_is_left_for_the_schema() -> None:
    body = {"path": None, "filter": {"startTime": 1.5, "endTime": "1e3", "fileTypes": [None]}}
    assert coerce(START, body) == (body, [])


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(starts)
def test_coercion_never_changes_its_input_and_is_done_in_one_pass(body: dict[str, Any]) -> None:
    before = copy.deepcopy(body)
    coerced, warnings = coerce(START, body)
    assert body == before
    assert coerce(START, coerced) == (coerced, [])
    assert (coerced is body) == (not warnings)  # a copy only when something changed
