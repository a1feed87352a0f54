"""Reading request bodies: a size limit, JSON, and the fields each fact endpoint takes."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from ringfence.service.jsonio import loads


class ApiError(Exception):
    """An error answered as ``{"error": code, "message": ..., "path": ...}`` with a status."""

    def __init__(self, status: int, code: str, message: str, path: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.path = status, code, message, path

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.path is not None:
            out["path"] = self.path
        return out


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body; 413 past ``limit`` bytes, 400 when it is not JSON."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise ApiError(413, "too_large", f"the body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, "too_large", f"the body is larger than {limit} bytes")
    try:
        return loads(bytes(body))
    except UnicodeDecodeError:
        raise ApiError(400, "malformed_json", "the body is not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise ApiError(400, "malformed_json", f"not JSON: {err.msg} at line {err.lineno} "
                       f"column {err.colno}") from None
    except ValueError as err:  # NaN, Infinity
        raise ApiError(400, "malformed_json", f"not JSON: {err}") from None


# Field kinds: "text", "words" (a list of purpose words), "flag", "evidence" (an object).
FIELDS: dict[str, dict[str, tuple[str, bool]]] = {
    "attempt": {"to": ("text", True), "at": ("text", True), "outcome": ("text", False),
                "campaign": ("text", False), "subject": ("text", False),
                "purpose": ("text", False), "agent": ("text", False), "dialer": ("text", False)},
    "outcome": {"attempt_id": ("text", True), "outcome": ("text", True), "agent": ("text", False)},
    "consent": {"to": ("text", True), "type": ("text", True), "purposes": ("words", True),
                "at": ("text", True), "expires_at": ("text", False), "seller": ("text", False),
                "campaign": ("text", False), "evidence": ("evidence", False)},
    "revocation": {"to": ("text", True), "at": ("text", True), "channel": ("text", True),
                   "purposes": ("words", False)},
    "opt_out": {"to": ("text", True), "at": ("text", True), "channel": ("text", True),
                "purposes": ("words", False), "seller": ("text", False),
                "campaign": ("text", False)},
    "complaint": {"to": ("text", True), "at": ("text", True), "channel": ("text", True),
                  "details": ("text", False), "opt_out": ("flag", False),
                  "purposes": ("words", False)},
    "wash": {"list": ("text", True), "obtained_at": ("text", True),
             "content_hash": ("text", False)},
}
EVIDENCE = ("recording_id", "form_url", "document_hash")


def _fits(kind: str, value: Any) -> bool:
    if kind == "text":
        return isinstance(value, str)
    if kind == "words":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "flag":
        return isinstance(value, bool)
    return (isinstance(value, dict) and set(value) <= set(EVIDENCE)
            and all(isinstance(v, str) for v in value.values()))


def fields(body: Any, shape: str) -> dict[str, Any]:
    """``body`` checked against a fact endpoint's fields: 422 naming the first wrong one."""
    spec = FIELDS[shape]
    if not isinstance(body, dict):
        raise ApiError(422, "invalid", "expected a JSON object", "")
    unknown = sorted(set(body) - set(spec))
    if unknown:
        raise ApiError(422, "invalid", f"unknown field {unknown[0]!r}; known: "
                       f"{', '.join(spec)}", unknown[0])
    for name, (kind, required) in spec.items():
        if name not in body:
            if required:
                raise ApiError(422, "invalid", f"{name} is required", name)
        elif not _fits(kind, body[name]):
            wanted = {"text": "a string", "words": "a list of strings", "flag": "true or false",
                      "evidence": f"an object with {', '.join(EVIDENCE)} (strings)"}[kind]
            raise ApiError(422, "invalid", f"{name} must be {wanted}", name)
    return body
