"""The ringfence command through click's CliRunner: check, decide, explain, policies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_core_support import FIXTURES, NYC, write

import ringfence
from ringfence.errors import CODES
from ringfence.tools.cli import cli

HOURS = str(FIXTURES / "hours.rf")
CALLS = str(FIXTURES / "calls.jsonl")


def run(*args: str, input: str | None = None):
    result = CliRunner().invoke(cli, list(args), input=input)
    # never a traceback, whatever the input: errors end in SystemExit with a message
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


# ---- check --------------------------------------------------------------------------------


def test_check_valid():
    result = run("check", HOURS)
    assert result.exit_code == 0
    assert result.output.startswith("ok: 1 policy, 4 rules")


def test_check_shipped_library_is_valid():
    ids = ringfence.shipped_ids()
    assert ids
    assert run("check", *ids).exit_code == 0


def test_check_invalid_lists_every_error():
    result = run("check", HOURS, str(FIXTURES / "bad3.rf"))
    assert result.exit_code == 1
    out = result.output
    assert [c for c in ("RF301", "RF401", "RF304") if f"error {c}" in out] == [
        "RF301", "RF401", "RF304"]
    assert f"{FIXTURES / 'bad3.rf'}:8:8: error RF301" in out
    assert "did you mean 'purpose'?" in out
    assert "^" in out and "hint:" in out
    assert "3 errors found" in out


def test_check_missing_path():
    result = run("check", str(FIXTURES / "nothing-here.rf"))
    assert result.exit_code == 2
    assert "RF601" in result.output and "nothing-here.rf" in result.output


def test_check_needs_a_path():
    assert run("check").exit_code == 2


# ---- decide -------------------------------------------------------------------------------


def test_decide_one_json_call_over_several_lines():
    result = run("decide", "-p", HOURS, str(FIXTURES / "call.json"))
    assert result.exit_code == 0
    (record,) = lines(result.output)
    assert record["id"] == "one"
    assert record["decision"] == "deny"
    assert [v["rule"] for v in record["violations"]] == ["calling-hours"]
    assert [w["rule"] for w in record["warnings"]] == ["late-warning"]
    assert record["next_allowed_at"] == "2026-06-16T08:00:00-04:00"
    assert record["violations"][0]["citations"] == ["Test cite: hours"]
    assert record["violations"][0]["source"]["line"] == 7
    assert record["policies"][0]["id"] == "hours"


def test_decide_json_lines_in_order():
    result = run("decide", "-p", HOURS, CALLS)
    assert result.exit_code == 0
    records = lines(result.output)
    assert [(r["id"], r["decision"]) for r in records] == [
        ("a", "allow"), ("b", "deny"), ("c", "deny")]
    assert records[0]["next_allowed_at"] == "2026-06-15T12:00:00-04:00"
    assert records[2]["next_allowed_at"] is None


# What a dialer sends to say "none": no attempts, no consent, on no list when last checked.
KNOWN = {"history": [], "consent": [], "lists": [], "lists_checked_at": {"dnc": "2026-06-14"}}


def test_decide_from_stdin():
    call = {"to": NYC, "at": "2026-06-15T12:00:00-04:00", "purpose": "marketing", **KNOWN}
    result = run("decide", "-p", HOURS, input=json.dumps(call) + "\n")
    assert result.exit_code == 0
    assert lines(result.output)[0]["decision"] == "allow"


def test_decide_malformed_lines_give_error_records_and_exit_2():
    good = {"id": "g", "to": NYC, "at": "2026-06-15T12:00:00-04:00", "purpose": "marketing",
            **KNOWN}
    bad_field = {"id": "x", "to": NYC, "at": "2026-06-15T12:00:00", "purpose": "marketing"}
    text = "\n".join([json.dumps(good), "{not json", json.dumps(bad_field), "",
                      json.dumps({**good, "id": "h", "at": "2026-06-15T23:00:00-04:00"})]) + "\n"
    result = run("decide", "-p", HOURS, input=text)
    assert result.exit_code == 2
    records = lines(result.output)
    assert len(records) == 4
    assert records[0]["decision"] == "allow"
    assert records[1]["line"] == 2 and "not JSON" in records[1]["error"]
    assert records[2] == {**records[2], "line": 3, "path": "at", "id": "x"}
    assert records[3]["id"] == "h" and records[3]["decision"] == "deny"  # later lines decided
    assert "2 malformed calls" in result.output


def test_decide_with_list_file():
    call = {"to": NYC, "at": "2026-06-15T12:00:00-04:00", "purpose": "marketing", "history": [],
            "consent": []}
    # Neither loaded nor answered by the call: whether the number is on dnc is not known.
    unknown = lines(run("decide", "-p", HOURS, input=json.dumps(call)).output)[0]
    assert unknown["decision"] == "deny"
    assert [(v["rule"], v["missing_facts"]) for v in unknown["violations"]] == [
        ("dnc", ["lists.dnc"])]
    answered = {**call, "lists": [], "lists_checked_at": {"dnc": "2026-06-14"}}
    without = run("decide", "-p", HOURS, input=json.dumps(answered))
    assert lines(without.output)[0]["decision"] == "allow"
    listed = run("decide", "-p", HOURS, "--list", f"dnc={FIXTURES / 'dnc.txt'}",
                 input=json.dumps(call))
    assert listed.exit_code == 0
    record = lines(listed.output)[0]
    assert record["decision"] == "deny" and record["violations"][0]["rule"] == "dnc"
    # The loaded list answers for a number it does not hold.
    other = run("decide", "-p", HOURS, "--list", f"dnc={FIXTURES / 'dnc.txt'}",
                input=json.dumps({**call, "to": "+12125550102"}))
    assert lines(other.output)[0]["decision"] == "allow"


@pytest.mark.parametrize("bad", ["dnc", "=x.txt", "dnc="])
def test_decide_bad_list_option(bad):
    result = run("decide", "-p", HOURS, "--list", bad, input="{}")
    assert result.exit_code == 2
    assert "NAME=FILE" in result.output


def test_decide_bad_list_file_names_the_line(tmp_path):
    bad = write(tmp_path, "+12125550101\nnot-a-number\n", "bad.txt")
    result = run("decide", "-p", HOURS, "--list", f"dnc={bad}", input="{}")
    assert result.exit_code == 2
    assert f"{bad}:2" in result.output


def test_decide_jurisdiction_auto_picks_matching_policies():
    call = {"to": NYC, "at": "2026-06-15T22:30:00-04:00", "purpose": "marketing",
            "from": "+12125550199", "lists_checked_at": {"national_dnc": "2026-06-10"}}
    result = run("decide", "--jurisdiction", "auto", input=json.dumps(call))
    assert result.exit_code == 0
    (record,) = lines(result.output)
    applicable = {p["id"] for p in record["policies"] if p["applicable"]}
    assert "us-federal" in applicable
    assert not any(p.startswith(("fr", "gb", "de", "au", "cn")) for p in applicable)
    assert record["decision"] == "deny"
    assert {v["policy"] for v in record["violations"]} >= {"us-federal"}
    # compact (the default): only the policies that applied; --full: every one evaluated
    assert all(p["applicable"] for p in record["policies"])
    assert {p["id"] for p in record["policies"]} == applicable
    full = run("decide", "--jurisdiction", "auto", "--full", input=json.dumps(call))
    (whole,) = lines(full.output)
    assert [p["id"] for p in whole["policies"]] == ringfence.shipped_ids()
    assert {p["id"] for p in whole["policies"] if p["applicable"]} == applicable
    assert whole["violations"] != record["violations"]  # the same rules, files named otherwise
    assert [(v["rule"], v["source"]["line"]) for v in whole["violations"]] == [
        (v["rule"], v["source"]["line"]) for v in record["violations"]]


def test_decide_trace_flag():
    result = run("decide", "-p", HOURS, "--trace", str(FIXTURES / "call.json"))
    (record,) = lines(result.output)
    assert [t["rule"] for t in record["trace"]] == ["calling-hours", "dnc", "cap", "late-warning"]


@pytest.mark.parametrize("args", [
    ("decide",),                                           # no policy
    ("decide", "-p", "no-such-policy"),
    ("decide", "-p", HOURS, "--jurisdiction", "everywhere"),
    ("decide", "-p", HOURS, str(FIXTURES / "missing.jsonl")),
    ("decide", "-p", str(FIXTURES / "bad3.rf")),
    ("explain", "-p", HOURS, "{not json"),
    ("explain", "-p", HOURS, str(FIXTURES / "missing.json")),
    ("explain", "-p", HOURS, '{"to": "+1", "at": "now"}'),
    ("explain", "-p", HOURS, '{"to": "+19995550101", "at": "2026-06-15T12:00:00Z"}'),
    ("explain", "-p", HOURS, '{"to": "+12125550101", "at": "2026-06-15T12:00:00Z", '
                             '"to_timezone": "Nowhere/City"}'),
    ("explain", "-p", HOURS, "[1, 2]"),
])
def test_bad_input_exits_2_without_traceback(args):
    result = run(*args, input="")
    assert result.exit_code == 2
    assert result.output.strip()


def test_decide_non_object_line_is_an_error_record():
    result = run("decide", "-p", HOURS, input='[1, 2]\n"text"\n')
    assert result.exit_code == 2
    assert [r["line"] for r in lines(result.output)] == [1, 2]


def test_decide_non_object_lines_are_reported_in_json_terms():
    # Issue #12: an array line was reported as "[1, 2] is not of type 'object'" (a Python repr).
    result = run("decide", "-p", HOURS, input='[1, 2]\n"text"\nnull\n3.5\nfalse\n{"id": 7}\n')
    assert result.exit_code == 2
    assert [(r["line"], r["error"]) for r in lines(result.output)][:5] == [
        (1, "a call is a JSON object, not an array"), (2, "a call is a JSON object, not a string"),
        (3, "a call is a JSON object, not null"), (4, "a call is a JSON object, not a number"),
        (5, "a call is a JSON object, not false")]
    assert lines(result.output)[5]["id"] == 7  # an object's error record carries its id


def test_decide_takes_one_inline_json_call_as_explain_does():
    call = {"id": "inline", "to": NYC, "at": "2026-06-15T23:00:00-04:00", "purpose": "marketing"}
    result = run("decide", "-p", HOURS, json.dumps(call, indent=1))
    assert result.exit_code == 0  # a deny is an answer, not a failure
    (record,) = lines(result.output)
    assert (record["id"], record["decision"]) == ("inline", "deny")


def test_decide_inline_json_array_is_an_error_record():
    result = run("decide", "-p", HOURS, '[{"to": "+12125550101"}]')
    assert result.exit_code == 2
    assert lines(result.output) == [
        {"line": 1, "error": "a call is a JSON object, not an array", "path": ""}]


def test_cli_docs_say_a_deny_exits_0():
    # Issue #12: docs/cli.md listed "a denied call" among the exit-1 failures.
    docs = (Path(__file__).parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "a denied call," not in docs
    assert "A denied call is not a failure: `decide` and `explain` exit `0`" in " ".join(docs.split())
    assert "exits 0: a deny is an answer" in " ".join(run("decide", "--help").output.split())


@pytest.mark.parametrize("call", ["[1]", " [{}]"])
def test_explain_array_is_reported_in_json_terms(call):
    result = run("explain", "-p", HOURS, call)
    assert result.exit_code == 2
    assert result.output.strip().endswith("a call is a JSON object, not an array")


# ---- explain ------------------------------------------------------------------------------


def test_explain_names_every_rule_and_outcome():
    result = run("explain", "-p", HOURS, str(FIXTURES / "call.json"))
    assert result.exit_code == 0
    out = result.output
    assert out.startswith("decision: DENY")
    assert "callee: New York (US-NY); time zone America/New_York" in out
    assert "next allowed: 2026-06-16T08:00:00-04:00 (16 June 2026 at 08:00, America/New_York)" in out
    assert "policy hours 1.0.0: Core test policy: hours, list, consent, cap" in out
    # each rule: outcome, title and citation, the message, then the rule's id and clause
    for step in ("✗ violated: Calls only from 8 a.m. to 9 p.m. callee local time [Test cite: hours]",
                 "Calls are allowed only from 8 a.m. to 9 p.m. in the callee's local time.",
                 "rule calling-hours: the call is outside the window",
                 "✓ passed: No marketing calls to numbers on the dnc list [Test cite: dnc]",
                 "✓ passed: At most three attempts in 24 hours [Test cite: cap]",
                 "✗ violated (warning): Calls after 8 p.m. are discouraged [Test cite: warning]"):
        assert step in out
    # the facts in plain words
    assert ("the call was at 21:30 on Monday 15 June 2026 in America/New_York, after the 21:00 "
            "end") in out
    assert ("1 earlier attempt to this number in the last 24 hours; this rule looks for 3 or "
            "more") in out
    assert "the number is not on the dnc list" in out


def test_explain_inline_json_and_not_applicable():
    call = json.dumps({"to": "+33612345678", "at": "2026-06-15T12:00:00+02:00"})
    result = run("explain", "-p", HOURS, call)
    assert result.exit_code == 0
    assert "decision: ALLOW" in result.output
    assert ("does not apply: hours (the callee is in France (FR); they cover other places)"
            in result.output)


def test_explain_shows_exemptions_and_missing_facts(tmp_path):
    call = {"to": NYC, "at": "2026-06-15T12:00:00-04:00", "purpose": "marketing",
            "lists": [{"name": "dnc"}],
            "consent": [{"type": "express_written", "purposes": ["marketing"],
                         "at": "2026-01-01T00:00:00Z"}]}
    out = run("explain", "-p", HOURS, json.dumps(call)).output
    assert "~ exempt: No marketing calls to numbers on the dnc list [Test cite: dnc]" in out
    assert ("express written consent for marketing given on 31 December 2025 at 19:00 "
            "(America/New_York)") in out
    assert "rule dnc: unless consent express_written for marketing is true" in out
    scoped = {**call, "seller": "acme",
              "consent": [{**call["consent"][0], "seller": "acme", "number": NYC}]}
    out = run("explain", "-p", HOURS, json.dumps(scoped)).output
    assert "~ exempt: No marketing calls to numbers on the dnc list [Test cite: dnc]" in out
    assert f"(America/New_York), to seller acme, for number {NYC}" in out
    no_purpose = {"to": NYC, "at": "2026-06-15T12:00:00-04:00"}
    out = run("explain", "-p", HOURS, json.dumps(no_purpose)).output
    assert "✗ violated: Calls only from 8 a.m. to 9 p.m. callee local time" in out
    assert "the call does not say the purpose (purpose), which this rule needs" in out
    # no instant supplies a missing fact: the rule that makes waiting useless is named
    assert ("next allowed: not by waiting: Calls only from 8 a.m. to 9 p.m. callee local time "
            "(Test cite: hours) forbids this call whatever the time, because the call does not "
            "say the purpose (purpose), which this rule needs") in out
    assert "is unknown (" not in out and "= None" not in out


# ---- policies -----------------------------------------------------------------------------


def test_policies_lists_shipped_ids():
    result = run("policies")
    assert result.exit_code == 0
    listed = [line.split()[0] for line in result.output.splitlines()
              if line and not line.startswith(" ")]
    assert listed == ringfence.shipped_ids()


def test_policies_json():
    result = run("policies", "--format", "json")
    data = json.loads(result.output)
    assert [p["id"] for p in data] == ringfence.shipped_ids()
    assert all(p["hash"].startswith("sha256:") and p["rules"] > 0 for p in data)


def test_error_catalog_codes_are_what_check_prints(tmp_path):
    path = write(tmp_path, CODES["RF405"].example_wrong)
    result = run("check", str(path))
    assert result.exit_code == 1
    assert "error RF405" in result.output and "did you mean 'America/Chicago'?" in result.output
