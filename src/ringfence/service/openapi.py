"""The service's OpenAPI 3.1 document, built from the call and decision JSON Schemas."""

from __future__ import annotations

import functools
import json
from typing import Any

from ringfence import __version__
from ringfence.resources import schema_path
from ringfence.service.requests import EVIDENCE, FIELDS

_KINDS: dict[str, dict[str, Any]] = {
    "text": {"type": "string"},
    "words": {"type": "array", "items": {"type": "string"}},
    "flag": {"type": "boolean"},
    "evidence": {"type": "object", "additionalProperties": False,
                 "properties": {name: {"type": "string"} for name in EVIDENCE}},
}


def _fact_schema(shape: str) -> dict[str, Any]:
    spec = FIELDS[shape]
    return {"type": "object", "additionalProperties": False,
            "required": [name for name, (_, required) in spec.items() if required],
            "properties": {name: _KINDS[kind] for name, (kind, _) in spec.items()}}


def _schema(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(schema_path(name).read_text(encoding="utf-8"))
    data.pop("$schema", None)
    data.pop("$id", None)
    return data


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema is not None:
        out["content"] = {"application/json": {"schema": schema}}
    return out


_ERRORS = {code: _answer(text, {"$ref": "#/components/schemas/Error"}) for code, text in {
    "400": "Malformed JSON or query", "401": "No or unknown bearer token",
    "403": "The token lacks the scope", "413": "Body too large",
    "422": "Does not fit the contract; nothing was written", "501": "No ledger configured",
    "503": "Ledger unreachable"}.items()}


def _post(summary: str, body: dict[str, Any], ok: dict[str, Any], scope: str,
          params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"post": {"summary": summary, "security": [{"bearer": [scope]}],
                     "parameters": params or [],
                     "requestBody": {"required": True,
                                     "content": {"application/json": {"schema": body}}},
                     "responses": {**ok, **_ERRORS}}}


def _get(summary: str, ok: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "security": [{"bearer": []}],
                    "responses": {"200": ok, "401": _ERRORS["401"]}}}


@functools.cache
def openapi() -> dict[str, Any]:
    """The OpenAPI document served at ``/openapi.json``."""
    created = {"201": _answer("Recorded", {"type": "object", "properties": {"id": {"type": "string"}}})}
    answer = {"type": "object", "properties": {
        "decision_id": {"type": "string"}, "attempt_id": {"type": ["string", "null"]},
        "result": {"$ref": "#/components/schemas/Decision"}}}
    reserve = [{"name": "reserve", "in": "query", "schema": {"type": "boolean"},
                "description": "Record each allowed call as a pending attempt (needs a ledger)."}]
    paths = {
        "/v1/decide": _post(
            "Decide one call, or an array of calls",
            {"oneOf": [{"$ref": "#/components/schemas/Call"},
                       {"type": "array", "items": {"$ref": "#/components/schemas/Call"}}]},
            {"200": _answer("The decision; for an array {decisions: [...]} in order, a malformed "
                            "call giving {index, error, message, path}",
                            {"oneOf": [answer, {"type": "object", "properties": {
                                "decisions": {"type": "array"}}}]})},
            "decide", reserve),
        "/v1/attempts": _post(
            "Record an attempt, or report the outcome of a reserved one (with attempt_id)",
            {"oneOf": [_fact_schema("attempt"), _fact_schema("outcome")]},
            {**created, "200": _answer("Outcome recorded")}, "write"),
    }
    for path, shape, summary in (
            ("consents", "consent", "Record a consent and its evidence"),
            ("revocations", "revocation", "Record a withdrawal of consent"),
            ("opt-outs", "opt_out", "Record a do-not-call request"),
            ("complaints", "complaint", "Record a complaint (opt_out: also a do-not-call request)"),
            ("washes", "wash", "Record a wash against a list")):
        paths[f"/v1/{path}"] = _post(summary, _fact_schema(shape), created, "write")
    paths["/v1/policies"] = _get("Policies in force: id, version, hash", _answer("Policies"))
    paths["/health"] = _get("Policy versions in force, last reload error, log head",
                            _answer("Health"))
    paths["/metrics"] = _get("Prometheus metrics", _answer("Metrics in the text format"))
    return {
        "openapi": "3.1.0",
        "info": {"title": "Ringfence decision service", "version": __version__},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Call": _schema("call.schema.json"), "Decision": _schema("decision.schema.json"),
                "Error": {"type": "object", "required": ["error", "message"], "properties": {
                    "error": {"type": "string"}, "message": {"type": "string"},
                    "path": {"type": ["string", "null"]}}},
            },
        },
    }
