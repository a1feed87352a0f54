"""Unit tests of the runner's pieces: line marks, merging, relative times, comparisons."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from ringfence.testing.expect import compare
from ringfence.testing.merge import merge_all
from ringfence.testing.reltime import resolve, resolve_call_times
from ringfence.testing.suite import load_suite
from ringfence.testing.yamlload import YamlError, line_of, load_yaml

NOW = datetime.fromisoformat("2026-06-15T12:00:00-04:00")


def test_yaml_keeps_lines_and_leaves_timestamps_as_text(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\nb:\n  - 2026-06-15T12:00:00Z\n  - c: 2026-01-01\n")
    data = load_yaml(path)
    assert data["b"][0] == "2026-06-15T12:00:00Z"  # not a datetime
    assert data["b"][1]["c"] == "2026-01-01"
    assert line_of(data, ["a"]) == 1
    assert line_of(data, ["b", 1, "c"]) == 4
    assert line_of(data, ["b", 1, "missing"]) == 4


def test_duplicate_keys_are_rejected_with_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: 1\nb: 2\na: 3\n")
    with pytest.raises(YamlError) as info:
        load_yaml(path, "x.yaml")
    assert str(info.value) == "x.yaml:3: malformed YAML: duplicate key 'a' (first given on line 1)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", "2026-06-15T12:00:00-04:00"),
        ("now-2h", "2026-06-15T10:00:00-04:00"),
        ("now+3d", "2026-06-18T12:00:00-04:00"),
        ("now-30m", "2026-06-15T11:30:00-04:00"),
        ("now - 1d - 30m", "2026-06-14T11:30:00-04:00"),
        ("now+1w-45s", "2026-06-22T11:59:15-04:00"),
    ],
)
def test_relative_times(text: str, expected: str) -> None:
    assert resolve(text, NOW) == datetime.fromisoformat(expected)


@pytest.mark.parametrize("text", ["now-2", "now-2y", "nowish", "now+-1h"])
def test_bad_relative_times(text: str) -> None:
    with pytest.raises(ValueError, match="not a relative time"):
        resolve(text, NOW)


def test_relative_times_are_resolved_only_where_timestamps_go() -> None:
    call = {
        "at": "now-1h",
        "subject": "now",
        "consent": [{"at": "now-30d", "expires_at": "now+1d", "revoked_at": "now"}],
        "history": [{"at": "now-2h", "subject": "now-2h"}],
        "opt_outs": [{"at": "now-3d"}],
        "relationship": {"last_transaction_at": "now-10d", "last_inquiry_at": "now-1d"},
        "lists": [{"name": "dnc", "listed_at": "now-2w"}],
        "lists_checked_at": {"dnc": "now-5d"},
    }
    errors: list = []
    resolve_call_times(call, NOW, errors.append)
    assert errors == []
    assert call["at"] == "2026-06-15T11:00:00-04:00"
    assert call["subject"] == "now" and call["history"][0]["subject"] == "now-2h"
    assert call["consent"][0] == {
        "at": "2026-05-16T12:00:00-04:00",
        "expires_at": "2026-06-16T12:00:00-04:00",
        "revoked_at": "2026-06-15T12:00:00-04:00",
    }
    assert call["history"][0]["at"] == "2026-06-15T10:00:00-04:00"
    assert call["opt_outs"][0]["at"] == "2026-06-12T12:00:00-04:00"
    assert call["relationship"]["last_transaction_at"] == "2026-06-05T12:00:00-04:00"
    assert call["lists"][0]["listed_at"] == "2026-06-01T12:00:00-04:00"
    assert call["lists_checked_at"]["dnc"] == "2026-06-10T12:00:00-04:00"


def test_relative_time_without_now_is_reported_with_its_path() -> None:
    errors: list = []
    resolve_call_times({"history": [{"at": "now-1h"}]}, None, errors.append)
    assert [(e.path, e.message) for e in errors] == [
        (("history", 0, "at"), "'now-1h' is relative but the suite sets no `now` to count from")
    ]


def test_merge_concatenates_lists_merges_mappings_replaces_scalars() -> None:
    defaults = {"purpose": "marketing", "consent": [{"type": "express"}],
                "relationship": {"contract_active": True}}
    fixture = {"consent": [{"type": "express_written"}],
               "relationship": {"last_inquiry_at": "x"}}
    call = {"purpose": "research", "relationship": {"contract_active": None}}
    merged = merge_all([defaults, fixture, call])
    assert merged == {
        "purpose": "research",
        "consent": [{"type": "express"}, {"type": "express_written"}],
        "relationship": {"last_inquiry_at": "x"},
    }
    assert defaults["consent"] == [{"type": "express"}]  # inputs are not changed


def _decision(**kw):
    base = {"decision": "allow", "violations": [], "warnings": [], "next_allowed_at": None}
    return {**base, **kw}


def test_compare_rule_ids_with_and_without_policy() -> None:
    actual = _decision(decision="deny", violations=[{"policy": "p", "rule": "a", "message": "m"}])
    assert compare({"violations": ["a"]}, actual) == []
    assert compare({"violations": ["p/a"]}, actual) == []
    diffs = compare({"violations": ["q/a"]}, actual)
    assert [d.render() for d in diffs] == [
        "violations: expected but not fired: q/a; fired but not expected: p/a; actual: [p/a]"
    ]
    assert compare({"violations_include": []}, actual) == []
    assert [d.field for d in compare({"violations": []}, actual)] == ["violations"]
    assert [d.field for d in compare({"violations_exclude": ["a"]}, actual)] == [
        "violations_exclude"
    ]


def test_compare_messages_and_next_allowed() -> None:
    actual = _decision(
        warnings=[{"policy": "p", "rule": "w", "message": "Too many calls today"}],
        next_allowed_at="2026-06-15T12:00:00Z",
    )
    assert compare({"message_contains": ["Too many", "today"]}, actual) == []
    assert [d.field for d in compare({"message_contains": "tomorrow"}, actual)] == [
        "message_contains"
    ]
    assert compare({"next_allowed_at": "2026-06-15T08:00:00-04:00"}, actual) == []
    assert [d.render() for d in compare({"next_allowed_at": None}, actual)] == [
        "next_allowed_at: expected null, got 2026-06-15T12:00:00Z"
    ]


def test_suite_loader_builds_cases_with_lines(tmp_path: Path) -> None:
    (tmp_path / "p.rf").write_text("")
    path = tmp_path / "x.test.yaml"
    path.write_text(
        'policies: [p.rf, us-federal]\nnow: "2026-06-15T12:00:00-04:00"\n'
        'defaults: {to: "+13055550101"}\n'
        "fixtures:\n  h: {history: [{at: now-1h}]}\n"
        "cases:\n"
        "  - name: a\n    use: h\n    expect: {decision: allow}\n"
        "  - name: b\n    skip: true\n    call: {at: now-2h}\n    expect: {decision: deny}\n"
    )
    suite = load_suite(path)
    assert [(p.text, p.is_path) for p in suite.policies] == [("p.rf", True), ("us-federal", False)]
    a, b = suite.cases
    assert (a.line, b.line) == (7, 10)
    assert a.call == {
        "to": "+13055550101",
        "history": [{"at": "2026-06-15T11:00:00-04:00"}],
        "at": "2026-06-15T12:00:00-04:00",
    }
    assert b.skip == "skipped" and b.call["at"] == "2026-06-15T10:00:00-04:00"
    assert a.nodeid.endswith("x.test.yaml::a")
