"""The OpenAPI 3.1 document of the API, generated from ``schemas/`` (one source of truth).

Served at ``GET /openapi.json``. Each operation's query parameters come from its query schema,
its request body from its body schema, and each response from the response schema the mock checks
itself against; ``$ref`` ids become ``#/components/schemas/…``. Links from the answers that start a
job to the operations that take a ``processingId`` let stateful testers (Schemathesis) follow it.
Everything comes from the table of operations (:data:`.operations.OPERATIONS`).
"""

from __future__ import annotations

import copy
from typing import Any

from .._version import __version__
from ..contract.coercion import as_read
from ..contract.schemas import load_schemas
from ..core.settings import LOGIN_COOKIE
from .operations import Api, Operation

__all__ = ["openapi_document"]

_ID_PREFIX = "urn:aem-guides-mock:schema:"
_NEW_ID = "$response.body#/processingId"
_FORM = "application/x-www-form-urlencoded"
#: What each error status means, in this API's terms (the phrase itself is ``http.HTTPStatus``'s).
_ERRORS = {
    400: "Invalid input: the body lists every contract violation",
    401: "Missing or wrong credentials",
    403: "A POST without its CSRF-Token header from a browser (when csrf is on) or in a login-token session",
    404: "No job has that processingId (when unknown ids answer 404)",
    405: "The method is not allowed on this path",
    408: "The body did not arrive within the body timeout (10 s by default)",
    409: "The job's state forbids it (when conflicts answer 409)",
    413: "The body is larger than the limit (1 MiB by default)",
    415: "The body is not sent as application/json",
    429: "As many jobs as max_active_jobs allows are waiting or running already",
    500: "Internal error",
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

    # cancel, resume and restart take processingId in a JSON body, as AEM documents, in a form body
    # (Sling's getParameter) or in the query (§3.14, §3.15): the document says all three (§3.38), so
    # that a client generated from it may use any; the body is then optional.
    query = schemas[op.query] if not op.body or op.id_in_body else {}
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
    success = {
        media: {"schema": _ref(op.response)}
        if media == "application/json"
        else {"schema": {"type": "string", "format": "binary"}}
        for media in op.media_types
    }
    responses: dict[str, Any] = {"200": {"description": "Success", "content": success}}
    responses.update({str(code): _error(_ERRORS[code]) for code in sorted(op.statuses - {200})})
    document: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "parameters": parameters,
        "responses": responses,
    }
    if op.body:
        content: dict[str, Any] = {"application/json": {"schema": _ref(op.body)}}
        if op.id_in_body:
            content[_FORM] = {"schema": _ref(op.body)}
        document["requestBody"] = {
            "required": op.body_required or (bool(schemas[op.body].get("required")) and not op.id_in_body),
            "content": content,
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
    # Links from every answer that names a new job to every operation that takes a processingId,
    # so that stateful testers (Schemathesis) follow a job.
    links: dict[str, Any] = {}
    for op in api.operations:
        if op.name == "restart":
            continue  # only a SUCCESS job restarts: from a job just started, the link leads nowhere
        if op.body and "processingId" in schemas[op.body].get("properties", {}):
            links[op.name] = {"operationId": op.name, "requestBody": {"processingId": _NEW_ID}}
        elif "processingId" in schemas[op.query].get("properties", {}):
            links[op.name] = {"operationId": op.name, "parameters": {"processingId": _NEW_ID}}
    for op in api.operations:
        if op.starts_job:
            paths[op.path][op.method.lower()]["responses"]["200"]["links"] = links
    # §3.40: the asset-status job's jobId, from its POST to its poll.
    polls = {op.name: {"operationId": op.name, "parameters": {"jobId": "$response.body#/jobId"}}
             for op in api.operations if "jobId" in schemas[op.query].get("properties", {})}  # fmt: skip
    for op in api.operations:
        if polls and "jobId" in schemas[op.response].get("properties", {}) and op.body:
            paths[op.path][op.method.lower()]["responses"]["200"]["links"] = polls
    used = {s for op in api.operations for s in (op.query, op.body) if s}
    used |= {op.response for op in api.operations} | {"error", "job"}
    bodies = {op.body for op in api.operations if op.body}
    components = {n: as_read(schemas[n]) if n in bodies else schemas[n] for n in sorted(used)}
    schemes: dict[str, Any] = {
        "basic": {"type": "http", "scheme": "basic"},
        "bearer": {"type": "http", "scheme": "bearer"},
    }
    if api.settings.login_tokens:  # only where the scenario names a session (§3.41)
        schemes["loginToken"] = {
            "type": "apiKey",
            "in": "cookie",
            "name": LOGIN_COOKIE,
            "description": "The AEM UI's session; a POST in it needs the CSRF-Token header from "
            "GET /libs/granite/csrf/token.json",
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "AEM Guides bulk asset processing API (aem-guides-mock)",
            "version": __version__,
            "description": "Generated by aem-guides-mock from the JSON Schemas it validates every message "
            "against; the contract revision is x-contract-revision.",
            "x-contract-revision": "2026-02",
        },
        "paths": paths,
        "components": {
            "schemas": {_component(n): _local_refs(copy.deepcopy(s)) for n, s in components.items()},
            "securitySchemes": schemes,
        },
        "security": [{name: []} for name in schemes],
    }
