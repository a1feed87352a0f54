"""Loading a ``*.test.yaml`` suite: parse with line marks, validate, merge and resolve each case.

Everything a case needs is settled here, before any policy runs, so every input problem of a file
(malformed YAML, schema violations, unknown fixtures, bad relative times, a call the call schema
rejects, a policy or list file that does not exist) is reported at once with file:line.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from ringfence.resources import path_kind
from ringfence.testing.merge import count_values, merge_all
from ringfence.testing.problems import Problem, SuiteError, field_path, schema_problems
from ringfence.testing.reltime import (
    RelativeTimeError,
    format_instant,
    is_relative,
    parse_instant,
    resolve,
    resolve_call_times,
)
from ringfence.testing.yamlload import (
    MAX_VALUES,
    MDict,
    MList,
    YamlError,
    line_of,
    load_yaml,
    to_plain,
)

SUITE_SUFFIX = ".test.yaml"


@cache
def _schema(name: str) -> dict[str, Any] | None:
    """A JSON Schema shipped in ``ringfence/schemas`` (None when it is not there)."""
    try:
        text = resources.files("ringfence").joinpath("schemas", name).read_text("utf-8")
    except (FileNotFoundError, OSError):
        return None
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator(name: str) -> Draft202012Validator | None:
    schema = _schema(name)
    return Draft202012Validator(schema) if schema is not None else None


def suite_schema() -> dict[str, Any]:
    """The JSON Schema of the test suite format."""
    schema = _schema("test.schema.json")
    assert schema is not None, "ringfence/schemas/test.schema.json is part of the package"
    return schema


@dataclass(frozen=True)
class PolicyRef:
    """A policy named by a suite: a resolved path (as text) or a shipped id."""

    text: str
    target: str
    line: int | None
    is_path: bool


# The expectations whose items are rule names (``rule`` or ``policy/rule``), with the level of
# rule each can ever match: deny-level findings are violations, warn-level ones warnings.
RULE_FIELDS = {"violations": "deny", "violations_include": "deny", "violations_exclude": "deny",
               "warnings": "warn", "warnings_include": "warn"}


@dataclass(frozen=True)
class RuleRef:
    """A rule name written in a case's expectations, with where it is written and the level of
    rule that field can match."""

    name: str
    line: int | None
    field: str
    level: str


@dataclass
class Case:
    """One test case, ready to run: the merged call and the expectations."""

    name: str
    file: str
    line: int | None
    call: dict[str, Any]
    expect: dict[str, Any]
    skip: str | None = None
    rule_refs: tuple[RuleRef, ...] = ()
    suite: Suite | None = field(default=None, repr=False, compare=False)

    @property
    def nodeid(self) -> str:
        """``file::case name``: what ``-k`` matches and reports show."""
        return f"{self.file}::{self.name}"


@dataclass
class Suite:
    """A loaded suite file."""

    path: Path
    file: str
    policies: list[PolicyRef]
    lists: dict[str, str]
    now: datetime | None
    cases: list[Case]

    @property
    def policy_key(self) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
        """What identifies the PolicySet this suite needs (for caching across suites)."""
        return tuple(p.target for p in self.policies), tuple(sorted(self.lists.items()))


def display_path(path: Path) -> str:
    """``path`` relative to the current folder when it lies below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.endswith(".rf") or text.startswith(".")


class _Loader:
    """Loads one file; collects problems instead of stopping at the first."""

    def __init__(self, path: Path) -> None:
        self.path = path.resolve()
        self.file = display_path(path)
        self.problems: list[Problem] = []
        self.bad_now = False

    def problem(self, line: int | None, message: str, where: str = "") -> None:
        self.problems.append(Problem(self.file, line, message, where))

    def load(self) -> Suite:
        try:
            data = load_yaml(self.path, self.file)
        except YamlError as exc:
            raise SuiteError([Problem(self.file, exc.line, exc.message)]) from exc
        if data is None:
            raise SuiteError(
                [Problem(self.file, 1, "the file is empty; a suite needs `policies` and `cases`")]
            )
        validator = _validator("test.schema.json")
        assert validator is not None
        errors = list(validator.iter_errors(data))
        if errors:
            raise SuiteError(schema_problems(errors, data, self.file))
        now = self._now(data)
        policies = self._policies(data["policies"])
        lists = self._lists(data.get("lists") or MDict())
        cases = self._cases(data, now)
        if self.problems:
            raise SuiteError(sorted(self.problems, key=lambda p: p.line or 0))
        suite = Suite(self.path, self.file, policies, lists, now, cases)
        for case in cases:
            case.suite = suite
        return suite

    def _now(self, data: MDict) -> datetime | None:
        if "now" not in data:
            return None
        now = parse_instant(data["now"])
        if now is None:
            self.bad_now = True
            self.problem(
                data.key_lines["now"],
                f"{data['now']!r} is not an instant; write it like 2026-06-15T12:00:00-04:00 "
                "(with an offset or Z)",
                "now",
            )
        return now

    def _policies(self, items: MList) -> list[PolicyRef]:
        refs = []
        for index, text in enumerate(items):
            line = items.item_lines[index]
            candidate = self.path.parent / text
            kind = path_kind(candidate)
            if kind == "file" and candidate.suffix != ".rf":
                # Never parse (and quote in an error) a file that is not a policy.
                self.problem(line, f"a policy file ends in .rf: {text}", f"policies[{index}]")
            elif kind is not None:
                refs.append(PolicyRef(text, str(candidate.resolve()), line, True))
            elif _looks_like_path(text):
                self.problem(
                    line,
                    f"policy file not found: {text} (looked in {self.path.parent})",
                    f"policies[{index}]",
                )
            else:
                refs.append(PolicyRef(text, text, line, False))
        return refs

    def _lists(self, items: MDict) -> dict[str, str]:
        lists = {}
        for name, text in items.items():
            candidate = self.path.parent / text
            if path_kind(candidate) == "file":
                lists[name] = str(candidate.resolve())
            else:
                self.problem(items.key_lines[name], f"list file not found: {text}", f"lists.{name}")
        return lists

    def _cases(self, data: MDict, now: datetime | None) -> list[Case]:
        fixtures: MDict = data.get("fixtures") or MDict()
        defaults = data.get("defaults")
        seen: dict[str, int | None] = {}
        cases = []
        merged = 0
        for index, raw in enumerate(data["cases"]):
            line = data["cases"].item_lines[index]
            name = raw["name"].strip()
            if name in seen:
                self.problem(
                    line,
                    f"duplicate case name {name!r} (first on line {seen[name]})",
                    f"cases[{index}].name",
                )
            seen[name] = line
            where = f"cases[{index}]"
            layers = [defaults, *self._fixtures(raw, fixtures, where), raw.get("call")]
            call = merge_all(layers)
            merged += count_values(call)
            if merged > MAX_VALUES:
                # Defaults and fixtures are copied into every case: a large default times many
                # cases would fill memory however the file is written.
                self.problem(line, f"the cases' calls, with defaults and fixtures merged in, hold "
                             f"more than {MAX_VALUES:,} values; make the defaults smaller or "
                             "split the suite", where)
                break
            before = len(self.problems)
            self._times(call, now, line, where)
            if len(self.problems) == before:  # a bad relative time would be reported twice
                self._check_call(call, line, where)
            expect = self._expect(raw["expect"], now, where)
            skip = raw.get("skip")
            reason = None
            if skip is True:
                reason = "skipped"
            elif isinstance(skip, str):
                reason = skip.strip() or "skipped"
            refs = _rule_refs(raw["expect"], f"{where}.expect")
            cases.append(Case(name, self.file, line, to_plain(call), expect, reason, refs))
        return cases

    def _fixtures(self, raw: MDict, fixtures: MDict, where: str) -> list[Any]:
        use = raw.get("use")
        if use is None:
            return []
        names = use if isinstance(use, list) else [use]
        layers = []
        for pos, name in enumerate(names):
            if name in fixtures:
                layers.append(fixtures[name])
                continue
            line = use.item_lines[pos] if isinstance(use, MList) else raw.key_lines["use"]
            known = ", ".join(fixtures) or "none defined"
            self.problem(line, f"unknown fixture {name!r} (fixtures: {known})", f"{where}.use")
        return layers

    def _times(self, call: MDict, now: datetime | None, line: int | None, where: str) -> None:
        def report(err: RelativeTimeError) -> None:
            self.problem(line_of(call, err.path) or line, err.message, f"{where}.call.{field_path(err.path)}")

        resolve_call_times(call, now, report)
        if "at" not in call:
            if now is not None:
                call["at"] = format_instant(now)
            elif not self.bad_now:  # an invalid `now` is reported once, where it is written
                self.problem(line, "the case has no `at` and the suite sets no `now`", where)

    def _check_call(self, call: MDict, line: int | None, where: str) -> None:
        """Validate the merged call with the engine's call schema, when it ships one."""
        validator = _validator("call.schema.json")
        if validator is None:
            return
        for problem in schema_problems(validator.iter_errors(call), call, self.file):
            self.problems.append(
                Problem(
                    self.file,
                    problem.line or line,
                    problem.message,
                    f"{where}.call.{problem.field}" if problem.field != "(top level)" else f"{where}.call",
                )
            )

    def _expect(self, raw: MDict, now: datetime | None, where: str) -> dict[str, Any]:
        expect: dict[str, Any] = to_plain(raw)
        value = expect.get("next_allowed_at")
        if value is None:
            return expect
        line = raw.key_lines.get("next_allowed_at")
        path = f"{where}.expect.next_allowed_at"
        if is_relative(value):
            if now is None:
                self.problem(line, f"{value!r} is relative but the suite sets no `now`", path)
                return expect
            try:
                expect["next_allowed_at"] = format_instant(resolve(value, now))
            except ValueError as exc:
                self.problem(line, str(exc), path)
        elif parse_instant(value) is None:
            self.problem(line, f"{value!r} is not an instant with an offset (or null)", path)
        return expect


def _rule_refs(expect: MDict, where: str) -> tuple[RuleRef, ...]:
    """Every rule name of ``expect`` with its line, for checking once the policies are loaded."""
    refs: list[RuleRef] = []
    for key, level in RULE_FIELDS.items():
        names: MList = expect.get(key) or MList()
        refs.extend(RuleRef(name, names.item_lines[index], f"{where}.{key}[{index}]", level)
                    for index, name in enumerate(names))
    return tuple(refs)


def load_suite(path: Path) -> Suite:
    """Load and validate one suite file; raises :class:`SuiteError` listing every problem."""
    return _Loader(path).load()


def discover(paths: list[Path]) -> tuple[list[Path], list[str]]:
    """Suite files under ``paths`` (folders searched recursively, files taken as given).

    Returns the files in a stable order and the paths that do not exist.
    """
    found: list[Path] = []
    missing: list[str] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(_walk(path))
        else:
            missing.append(str(path))
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values()), missing


_SKIP_DIRS = {"node_modules", "__pycache__", "site-packages", "venv"}


def _walk(root: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        # Hidden folders (.git, .venv, .tox) and vendored trees never hold a project's suites.
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
        out.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(SUITE_SUFFIX))
    return out
