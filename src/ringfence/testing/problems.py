"""Input problems of test suites: where (file:line, field path) and what, in plain words."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError

from ringfence.errors import RingfenceError, excerpt
from ringfence.testing.yamlload import line_of

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a text",
    "boolean": "true or false",
    "null": "null",
    "number": "a number",
    "integer": "a whole number",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a suite file."""

    file: str
    line: int | None
    message: str
    field: str = ""

    def render(self) -> str:
        """``file:line: field: message``."""
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class SuiteError(RingfenceError):
    """A suite cannot be run: every problem found in it, each with file:line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(p.render() for p in self.problems))


def field_path(path: Iterable[Any]) -> str:
    """``cases[2].expect.decision`` from a sequence of keys and indexes."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _describe(value: Any) -> str:
    for name, cls in (("null", type(None)), ("true or false", bool), ("a mapping", dict)):
        if isinstance(value, cls):
            return name
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {excerpt(value)}"
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:40]}..."


def _schema_of(error: ValidationError) -> Mapping[str, Any]:
    """The (sub)schema that failed; a boolean schema (``false``) has no keywords."""
    return error.schema if isinstance(error.schema, Mapping) else {}


def _friendly(error: ValidationError) -> tuple[str, Any | None]:
    """A plain-words message for a schema error, and the offending key when there is one."""
    kind = error.validator
    if kind == "required":
        # jsonschema reports each missing property separately, naming it in the message.
        match = re.match(r"^'(.+)' is a required property$", error.message)
        return f"missing required field `{match.group(1) if match else error.message}`", None
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = list(_schema_of(error).get("properties", {}))
        extra = [k for k in error.instance if k not in known]
        key = extra[0] if extra else None
        message = f"unknown field `{key}`"
        close = difflib.get_close_matches(str(key), known, n=1)
        if close:
            message += f"; did you mean `{close[0]}`?"
        elif known:
            message += f" (expected one of: {', '.join(known)})"
        return message, key
    if kind == "enum" and isinstance(error.validator_value, list):
        allowed = ", ".join(str(v) for v in error.validator_value)
        return f"{_describe(error.instance)} is not allowed here; use one of: {allowed}", None
    if kind == "type" and isinstance(error.validator_value, str | list):
        value = error.validator_value
        wanted: list[str] = [value] if isinstance(value, str) else value
        names = " or ".join(_TYPE_NAMES.get(w, w) for w in wanted)
        return f"expected {names}, found {_describe(error.instance)}", None
    if kind == "pattern":
        about = _schema_of(error).get("description")
        if about:
            return f"{_describe(error.instance)} is not in the expected form: {about}", None
    if kind in ("minItems", "minProperties", "minLength"):
        return "must not be empty", None
    # jsonschema's own message quotes the whole value, which may be any size.
    return error.message if len(error.message) <= 200 else f"{error.message[:200]}...", None


def schema_problems(
    errors: Iterable[ValidationError], data: Any, file: str, prefix: tuple[Any, ...] = ()
) -> list[Problem]:
    """Problems for JSON Schema errors of ``data`` (YAML with marks), ordered by line."""
    problems = []
    for error in errors:
        message, key = _friendly(error)
        path = (*prefix, *error.absolute_path)
        line = line_of(data, (*error.absolute_path, key) if key is not None else error.absolute_path)
        shown = field_path((*path, key) if key is not None else path) or "(top level)"
        problems.append(Problem(file, line, message, shown))
    problems.sort(key=lambda p: (p.line or 0, p.field))
    return problems
