"""The OpenAPI 3.1 document of the API, generated from ``schemas/`` (one source of truth).

Served at ``GET /openapi.json``. Each operation's query parameters come from its query schema,
its request body from its body schema, and each response from the response schema the mock checks
itself against; ``$ref`` ids become ``#/components/schemas/…``. Links from the start response to
the operations that take a ``processingId`` let stateful testers (Schemathesis) follow a job.
"""

from __future__ import annotations

import copy
from typing import Any

from ..contract.validation import load_schemas
from .operations import Api, Operation

__all__ = ["openapi_document"]

_ID_PREFIX = "urn:aem-guides-mock:schema:"
_ERRORS = {
    "400": "Invalid input: the body lists every contract violation",
    "401": "Missing or wrong credentials",
    "500": "Internal error",
}
_SUMMARIES = {
    "start": "Start bulk processing of the assets under a path",
    "status": "The status of a job",
    "logs": "A page of a job's log",
    "download": "The job's log as a ZIP (or its paths, for Accept: application/json)",
    "cancel": "Cancel a waiting or running job",
    "resume": "Resume a cancelled or failed job from its checkpoint",
    "restart": "Start a new job for the request of a finished (SUCCESS) job",
    "history": "The last jobs, newest first",
    "system-status": "The system's status (JCR or database processing)",
}
_RESPONSES = {
    "start": "start.response",
    "status": "job",
    "logs": "logs.response",
    "download": "download.response",
    "cancel": "job",
    "resume": "job",
    "restart": "start.response",
    "history": "history.response",
    "system-status": "system-status.response",
}


def _component(name: str) -> str:
    return name.replace(".", "-")


def _local_refs(node: Any) -> Any:
    """The schema with ``$id``/``$schema`` dropped and ``$ref`` ids pointed at the components."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in ("$id", "$schema") or key.startswith("x-"):
                continue
            if key == "$ref" and isinstance(value, str) and value.startswith(_ID_PREFIX):
                value = "#/components/schemas/" + _component(value.removeprefix(_ID_PREFIX))
            out[key] = _local_refs(value)
        return out
    if isinstance(node, list):
        return [_local_refs(item) for item in node]
    return node


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{_component(name)}"}


def _operation(op: Operation, schemas: dict[str, Any], html_errors: bool = False) -> dict[str, Any]:
    def _error(description: str) -> dict[str, Any]:
        if html_errors:  # §3.24's switch: Sling's HTML error page
            return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}
        return {"description": description, "content": {"application/json": {"schema": _ref("error")}}}

    # cancel and resume take processingId in a JSON body, as AEM documents; the mock also reads it
    # from the query, but the document shows the one documented way.
    query = schemas[op.query_schema] if not op.body_schema else {}
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": name in query.get("required", ()),
            "schema": _local_refs(schema),
            **({"description": schema["description"]} if "description" in schema else {}),
        }
        for name, schema in query.get("properties", {}).items()
    ]
    success: dict[str, Any] = {"application/json": {"schema": _ref(_RESPONSES[op.name])}}
    if op.name == "download":
        success = {"application/zip": {"schema": {"type": "string", "format": "binary"}}, **success}
    responses: dict[str, Any] = {"200": {"description": "Success", "content": success}}
    responses.update({code: _error(text) for code, text in _ERRORS.items()})
    responses["404"] = _error("No job has that processingId (when unknown ids answer 404)")
    responses["405"] = _error("The method is not allowed on this path")
    responses["409"] = _error("The job's state forbids it (when conflicts answer 409)")
    if op.body_schema:
        responses["408"] = _error("The body did not arrive within the body timeout (10 s by default)")
        responses["413"] = _error("The body is larger than the limit (1 MiB by default)")
        responses["415"] = _error("The body is not sent as application/json")
    if op.name in ("start", "resume", "restart"):
        responses["429"] = _error("As many jobs as max_active_jobs allows are waiting or running already")
    document: dict[str, Any] = {
        "operationId": op.name,
        "summary": _SUMMARIES[op.name],
        "parameters": parameters,
        "responses": responses,
    }
    if op.body_schema:
        document["requestBody"] = {
            "required": op.body_required or bool(schemas[op.body_schema].get("required")),
            "content": {"application/json": {"schema": _ref(op.body_schema)}},
        }
    return document


def openapi_document(api: Api, schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the operations ``api`` serves, from ``schemas`` (the running
    contract's, patched for its settings) or else the shipped ones."""
    schemas = schemas or load_schemas()
    paths: dict[str, dict[str, Any]] = {}
    for op in api.operations:
        html_errors = api.settings.error_format == "sling-html"
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, schemas, html_errors)
    links = {
        name: {"operationId": name, "parameters": {"processingId": "$response.body#/processingId"}}
        for name in ("status", "logs", "download")
    }
    links.update(
        {
            name: {"operationId": name, "requestBody": {"processingId": "$response.body#/processingId"}}
            for name in ("cancel", "resume", "restart")
            if any(op.name == name for op in api.operations)
        }
    )
    paths[api.operations[0].path]["post"]["responses"]["200"]["links"] = links
    used = {s for op in api.operations for s in (op.query_schema, op.body_schema) if s}
    used |= set(_RESPONSES.values()) | {"error", "job"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AEM Guides bulk asset processing API (aem-guides-mock)",
            "version": "2026-02",
            "description": "Generated from the JSON Schemas the mock validates every message against.",
        },
        "paths": paths,
        "components": {
            "schemas": {_component(n): _local_refs(copy.deepcopy(schemas[n])) for n in sorted(used)},
            "securitySchemes": {
                "basic": {"type": "http", "scheme": "basic"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
        "security": [{"basic": []}, {"bearer": []}],
    }
