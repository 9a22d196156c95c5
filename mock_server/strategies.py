"""Hypothesis strategies for requests to the API, valid and invalid, derived from ``schemas/``.

Fuzz your own client code with the same contract the mock enforces::

    from hypothesis import given
    from mock_server import strategies

    @given(strategies.valid_request("start", paths=["/content/dam/22858"]))
    def test_my_client_sends_any_valid_start(request): ...

    @given(strategies.invalid_request("logs"))
    def test_my_client_handles_a_400(request): ...

A :class:`Request` holds the method, the path, the query parameters (as strings, as they travel)
and the JSON body. Valid requests pass the mock's request schemas; invalid ones break them in one
way each (a required field missing, a field misspelt, a wrong type, a value out of range). The
``processingId`` of a job and a start's ``path`` are free strings unless you pass real ones.
Needs Hypothesis: ``pip install "aem-guides-mock[strategies]"`` (the ``test`` extra has it too);
without it, importing this module is an ImportError that says so.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

try:
    from hypothesis import strategies as st
except ImportError as missing:  # the error names the extra that brings it
    raise ImportError(
        "mock_server.strategies needs Hypothesis, which is not installed: "
        'pip install "aem-guides-mock[strategies]"',
        name=missing.name,
    ) from missing
from jsonschema import Draft202012Validator

from .api.operations import operation_named
from .contract.schemas import load_schemas

__all__ = ["Request", "from_schema", "invalid_request", "schemas", "valid_request"]

_MAX_TEXT = 40
_MAX_ITEMS = 4
_TYPOS = {
    "excludedPaths": "excludePaths",
    "processingId": "processingID",
    "fileTypes": "filetypes",
    "offset": "ofset",
    "startTime": "starttime",
}


@dataclass(frozen=True, slots=True)
class Request:
    """One request: send ``query`` as the query string and ``body`` (when not None) as JSON."""

    operation: str
    method: str
    path: str
    query: dict[str, str]
    body: Any = None


@functools.cache
def _schemas() -> dict[str, dict[str, Any]]:
    return load_schemas()


def schemas() -> dict[str, dict[str, Any]]:
    """The shipped JSON Schemas by name (``start.request``, ``job``…), for :func:`from_schema` or
    a validator. A fresh copy each call, so that a caller may change it."""
    return load_schemas()


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _schemas()[ref.rsplit(":", 1)[1]]
    return schema


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid against ``schema`` (the keywords the shipped schemas use)."""
    schema = _resolve(schema)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return st.one_of([from_schema(option) for option in schema[key]])
    kind = schema.get("type")
    if kind == "string":
        low, high = schema.get("minLength", 0), min(schema.get("maxLength", _MAX_TEXT), _MAX_TEXT)
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: low <= len(s) <= high)
        return st.text(min_size=low, max_size=max(low, high))
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = from_schema(schema.get("items", {}))
        low = schema.get("minItems", 0)
        return st.lists(
            items, min_size=low, max_size=max(low, min(schema.get("maxItems", _MAX_ITEMS), _MAX_ITEMS))
        )
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", ()))
        if "if" in schema:  # the fields required unless the `if` holds (`paths`, unless `path`): always valid
            required |= set(schema.get("else", {}).get("required", ()))
        return st.fixed_dictionaries(
            {name: from_schema(sub) for name, sub in properties.items() if name in required},
            optional={name: from_schema(sub) for name, sub in properties.items() if name not in required},
        )
    return st.none() | st.booleans() | st.integers() | st.text(max_size=_MAX_TEXT)


def _integers(schema: dict[str, Any]) -> frozenset[str]:
    """The query parameters ``schema`` types as integers (they travel as text)."""
    properties = schema.get("properties", {})
    return frozenset(name for name, sub in properties.items() if sub.get("type") == "integer")


def _as_query(values: dict[str, Any]) -> dict[str, str]:
    return {name: str(value) for name, value in values.items()}


def valid_request(
    operation: str, *, processing_ids: Sequence[str] = (), paths: Sequence[str] = ()
) -> st.SearchStrategy[Request]:
    """Requests to ``operation`` that keep the contract.

    ``restart`` is served only by a mock with the setting ``restart_endpoint`` (404 otherwise).

    ``processing_ids`` and ``paths`` (optional) draw ``processingId`` and a start's ``path`` from
    real values, so that the requests also make sense to a server, not only to its schemas.
    """
    endpoint = operation_named(operation)
    query_schema = _schemas()[endpoint.query]
    body_schema = _schemas()[endpoint.body] if endpoint.body else None
    query = from_schema(query_schema)
    body: st.SearchStrategy[Any] = from_schema(body_schema) if body_schema else st.none()
    if endpoint.body:
        query = st.just({})  # cancel and resume: the id travels in the JSON body, as AEM documents
    if processing_ids:
        query = _drawn_from(query, "processingId", processing_ids)
        body = _drawn_from(body, "processingId", processing_ids)
    if paths:
        body = _drawn_from(body, "path", paths)
    return st.builds(
        lambda q, b: Request(endpoint.name, endpoint.method, endpoint.path, _as_query(q), b), query, body
    )


def _drawn_from(values: st.SearchStrategy[Any], field: str, choices: Sequence[str]) -> st.SearchStrategy[Any]:
    """``values`` with ``field``, where they have it, drawn from ``choices``."""

    def put(pair: tuple[Any, str]) -> Any:
        value, choice = pair
        return {**value, field: choice} if isinstance(value, dict) and field in value else value

    return st.tuples(values, st.sampled_from(list(choices))).map(put)


def _broken(
    instance: dict[str, Any], schema: dict[str, Any], unknown: bool = True
) -> st.SearchStrategy[dict[str, Any]]:
    """``instance`` broken in one way: a required field dropped, a field misspelt or unknown (when
    ``unknown``: an author ignores an unknown query parameter, so for a query it breaks nothing), or
    a field given a value of the wrong type."""
    properties = schema.get("properties", {})
    ways: list[st.SearchStrategy[dict[str, Any]]] = []
    if unknown:
        ways.append(
            st.sampled_from(["unknownField", *(_TYPOS[f] for f in properties if f in _TYPOS)]).map(
                lambda name: {**instance, name: "x"}
            )
        )
    present = [name for name in instance if name in properties]
    required = [name for name in schema.get("required", ()) if name in instance]
    if required:
        ways.append(st.sampled_from(required).map(lambda n: {k: v for k, v in instance.items() if k != n}))
    if present:
        wrong: st.SearchStrategy[Any] = st.sampled_from([[], {}, True, -1, "not-a-number"])
        ways.append(st.tuples(st.sampled_from(present), wrong).map(lambda p: {**instance, p[0]: p[1]}))
    return st.one_of(ways)


def invalid_request(operation: str) -> st.SearchStrategy[Request]:
    """Requests to ``operation`` that break its schemas in one way each (the mock answers 400). An
    operation without query parameters or a body has none: this raises ValueError for it."""
    endpoint = operation_named(operation)
    schema_name = endpoint.body or endpoint.query
    schema = _schemas()[schema_name]
    if not schema.get("properties"):
        raise ValueError(
            f"{operation} takes no parameters and no body: no request to it breaks its schemas "
            "(an unknown query parameter is ignored, with a warning)"
        )
    validator = Draft202012Validator(schema)
    valid = valid_request(operation)
    integers = _integers(_schemas()[endpoint.query])

    def breaks(request: Request) -> st.SearchStrategy[Request]:
        if endpoint.body:
            return _broken(request.body or {}, schema).map(
                lambda body: Request(request.operation, request.method, request.path, request.query, body)
            )
        typed = {k: int(v) if k in integers else v for k, v in request.query.items()}
        return _broken(typed, schema, unknown=False).map(
            lambda query: Request(request.operation, request.method, request.path, _as_query(query), None)
        )

    def really_invalid(request: Request) -> bool:
        if endpoint.body:
            return not validator.is_valid(request.body)
        typed = {k: int(v) if k in integers and v.lstrip("-").isdigit() else v
                 for k, v in request.query.items()}  # fmt: skip
        return not validator.is_valid(typed)

    return valid.flatmap(breaks).filter(really_invalid)
