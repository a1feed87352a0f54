"""Tests of `ringfence test`: suites that pass and fail, input errors, -k, reports, coverage."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from ringfence.testing.cli import test_command as ringfence_test

FIXTURES = Path(__file__).parent / "fixtures" / "runner"


@pytest.fixture
def suites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the runner fixtures in a temporary folder, which is also the current folder."""
    target = tmp_path / "suites"
    shutil.copytree(FIXTURES, target, ignore=shutil.ignore_patterns("conftest.py", "__*"))
    monkeypatch.chdir(target)
    return target


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(ringfence_test, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def last_line(text: str) -> str:
    return text.rstrip("\n").splitlines()[-1]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# Each case says "none" as a dialer would: no attempts, no consent, on no list when checked.
HEAD = ('policies: [small.rf]\nnow: "2026-06-15T12:00:00-04:00"\n'
        'defaults: {to: "+13055550101", to_timezone: America/New_York, purpose: marketing, '
        'history: [], consent: [], lists: [], lists_checked_at: {dnc: now}}\n')


def test_passing_suite_exits_0_with_summary(suites: Path) -> None:
    code, out, err = invoke("passing.test.yaml")
    assert code == 0, out + err
    assert last_line(out) == "8 passed, 0 failed, 1 skipped"
    assert "SKIPPED passing.test.yaml:" in out and "waiting for the holiday rules" in out
    assert "FAILED" not in out


def test_failing_suite_names_case_line_difference_and_trace(suites: Path) -> None:
    code, out, _ = invoke("failing.test.yaml")
    assert code == 1
    lines = out.splitlines()
    failed = [line for line in lines if line.startswith("FAILED")]
    assert len(failed) == 1
    # The line of the case ("- name: wrongly ..." is line 7 of the file) and the difference.
    assert failed[0].startswith("FAILED failing.test.yaml:7: wrongly expects 07:00 to be allowed: ")
    assert "decision: expected allow, got deny" in failed[0]
    # The trace of the rule that decided it follows, indented.
    trace = lines[lines.index(failed[0]) + 1]
    assert trace.startswith("    small/hours violated")
    assert last_line(out) == "1 passed, 1 failed"


def test_exact_violation_set_reports_missing_and_unexpected(suites: Path) -> None:
    write(suites, "v.test.yaml", HEAD + """cases:
  - name: dnc expected but hours fire
    call: {at: "2026-06-15T07:00:00-04:00"}
    expect: {violations: [dnc]}
""")
    code, out, _ = invoke("v.test.yaml")
    assert code == 1
    assert "expected but not fired: dnc" in out
    assert "fired but not expected: small/hours" in out
    # The rule the expectation names is in the trace too, with why it did not fire.
    assert "small/dnc passed" in out


def test_next_allowed_at_is_compared_as_an_instant(suites: Path) -> None:
    write(suites, "n.test.yaml", HEAD + """cases:
  - name: same instant in UTC
    call: {at: "2026-06-15T07:59:00-04:00"}
    expect: {next_allowed_at: "2026-06-15T12:00:00Z"}
  - name: wrong instant
    call: {at: "2026-06-15T07:59:00-04:00"}
    expect: {next_allowed_at: "now+1h"}
""")
    code, out, _ = invoke("n.test.yaml")
    assert code == 1
    assert "next_allowed_at: expected 2026-06-15T13:00:00-04:00, got 2026-06-15T08:00:00" in out
    assert last_line(out) == "1 passed, 1 failed"


def test_malformed_yaml_is_an_input_error_with_file_and_line(suites: Path) -> None:
    write(suites, "bad.test.yaml", HEAD + "cases:\n  - name: x\n    call: {at: \"now\"\n"
          "  - name: y\n")
    code, out, err = invoke("bad.test.yaml")
    assert code == 2
    assert "error: bad.test.yaml:7: malformed YAML" in err
    assert "Traceback" not in out + err


def test_schema_violation_names_file_line_and_field(suites: Path) -> None:
    write(suites, "s.test.yaml", HEAD + """cases:
  - name: fine
    expect: {decision: allow}
  - name: typo
    expect:
      decision: alow
  - name: unknown key
    expect: {decison: allow}
""")
    code, _, err = invoke("s.test.yaml")
    assert code == 2
    assert "s.test.yaml:9: cases[1].expect.decision: the text 'alow' is not allowed" in err
    assert "s.test.yaml:11: cases[2].expect.decison: unknown field `decison`; did you mean " \
           "`decision`?" in err


def test_missing_required_fields_and_wrong_types(suites: Path) -> None:
    write(suites, "r.test.yaml", "now: 12\ncases:\n  - call: {}\n")
    code, _, err = invoke("r.test.yaml")
    assert code == 2
    assert "r.test.yaml:1: (top level): missing required field `policies`" in err
    assert "r.test.yaml:1: now: expected a text, found 12" in err
    assert "r.test.yaml:3: cases[0]: missing required field `name`" in err


def test_call_rejected_by_call_schema_names_the_field(suites: Path) -> None:
    write(suites, "c.test.yaml", HEAD + """cases:
  - name: bad number
    call:
      to: "305"
    expect: {decision: allow}
""")
    code, _, err = invoke("c.test.yaml")
    assert code == 2
    assert "c.test.yaml:7: cases[0].call.to: the text '305' is not in the expected form" in err


def test_unknown_fixture_and_bad_relative_time(suites: Path) -> None:
    write(suites, "f.test.yaml", HEAD + """cases:
  - name: x
    use: [pewc]
    call:
      history: [{at: "now-3x"}]
    expect: {decision: allow}
""")
    code, _, err = invoke("f.test.yaml")
    assert code == 2
    assert "f.test.yaml:6: cases[0].use: unknown fixture 'pewc' (fixtures: none defined)" in err
    assert "f.test.yaml:8: cases[0].call.history[0].at: 'now-3x' is not a relative time" in err


def test_missing_policy_file_is_an_input_error(suites: Path) -> None:
    write(suites, "m.test.yaml", "policies:\n  - small.rf\n  - nowhere.rf\n"
          "cases:\n  - name: x\n    call: {to: \"+13055550101\", at: \"2026-06-15T12:00:00Z\"}\n"
          "    expect: {decision: allow}\n")
    code, out, err = invoke("m.test.yaml")
    assert code == 2
    assert "error: m.test.yaml:3: policies[1]: policy file not found: nowhere.rf" in err
    assert "Traceback" not in out + err


def test_unknown_policy_id_is_an_input_error(suites: Path) -> None:
    write(suites, "u.test.yaml", "policies: [no-such-policy-id]\n"
          "cases:\n  - name: x\n    call: {to: \"+13055550101\", at: \"2026-06-15T12:00:00Z\"}\n"
          "    expect: {decision: allow}\n")
    code, _, err = invoke("u.test.yaml")
    assert code == 2
    assert "error: u.test.yaml:1: policies: cannot load policy 'no-such-policy-id'" in err


def test_broken_policy_reports_its_diagnostics(suites: Path) -> None:
    write(suites, "broken.rf", 'policy broken "Broken"\n  applies to US\n\n'
          'rule r "R"\n  cite "x"\n  alow only between 08:00 and 21:00 inclusive\n')
    write(suites, "b.test.yaml", "policies: [broken.rf]\n"
          "cases:\n  - name: x\n    call: {to: \"+13055550101\", at: \"2026-06-15T12:00:00Z\"}\n"
          "    expect: {decision: allow}\n")
    code, _, err = invoke("b.test.yaml")
    assert code == 2
    assert "b.test.yaml:1: policies: cannot load policy 'broken.rf'" in err
    assert "broken.rf:6:" in err


def test_empty_suite_is_an_error_unless_allowed(suites: Path) -> None:
    write(suites, "e.test.yaml", "policies: [small.rf]\ncases: []\n")
    code, _, err = invoke("e.test.yaml")
    assert code == 2
    assert "no test cases found" in err
    code, out, _ = invoke("e.test.yaml", "--allow-empty")
    assert code == 0
    assert last_line(out) == "0 passed, 0 failed"


def test_folder_without_suites_is_an_empty_run(tmp_path: Path) -> None:
    code, _, err = invoke(str(tmp_path))
    assert code == 2 and "no test cases found" in err
    code, _, err = invoke(str(tmp_path / "missing"))
    assert code == 2 and "no such file or folder" in err


def test_discovery_finds_suites_under_the_current_folder(suites: Path) -> None:
    code, out, _ = invoke()
    assert code == 1  # failing.test.yaml is found beside passing.test.yaml
    assert last_line(out) == "9 passed, 1 failed, 1 skipped"


def test_k_selects_cases_by_file_and_name(suites: Path) -> None:
    code, out, _ = invoke("-k", "07:59")
    assert code == 0
    assert last_line(out) == "1 passed, 0 failed"
    code, out, _ = invoke("-k", "failing.test.yaml::")
    assert last_line(out) == "1 passed, 1 failed"
    code, out, _ = invoke("-k", "DNC LIST", "-k", "noon")
    assert last_line(out) == "5 passed, 0 failed"
    code, _, err = invoke("-k", "no such case")
    assert code == 2 and "no test case matches -k no such case" in err
    code, _, _ = invoke("-k", "no such case", "--allow-empty")
    assert code == 0


def test_junit_output_parses_as_xml(suites: Path) -> None:
    code, out, _ = invoke("--format", "junit", "--output", "report.xml")
    assert code == 1
    assert last_line(out) == "9 passed, 1 failed, 1 skipped"  # the text report still shows
    root = ET.parse(suites / "report.xml").getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("11", "1", "1")
    files = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(files) == {"failing.test.yaml", "passing.test.yaml"}
    cases = files["failing.test.yaml"].findall("testcase")
    assert [c.get("name") for c in cases] == ["noon is allowed",
                                              "wrongly expects 07:00 to be allowed"]
    failure = cases[1].find("failure")
    assert failure is not None and cases[0].find("failure") is None
    assert failure.get("message") == "decision: expected allow, got deny"
    assert "small/hours violated" in (failure.text or "")
    assert cases[1].get("line") == "7"
    skipped = [c for c in files["passing.test.yaml"] if c.find("skipped") is not None]
    assert [c.get("name") for c in skipped] == ["to be written"]


def test_json_output(suites: Path) -> None:
    code, out, _ = invoke("failing.test.yaml", "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["summary"] == {"passed": 1, "failed": 1, "skipped": 0, "errors": 0,
                              "text": "1 passed, 1 failed"}
    failed = doc["cases"][1]
    assert failed["status"] == "failed" and failed["line"] == 7
    assert failed["actual"]["violations"] == ["small/hours"]
    assert failed["differences"][0]["field"] == "decision"
    assert failed["trace"][0]["rule"] == "hours"


def test_coverage_figures_for_the_small_policy(suites: Path) -> None:
    code, out, _ = invoke("passing.test.yaml", "--coverage", "--format", "json")
    assert code == 0
    coverage = json.loads(out)["coverage"]
    rules = {r["rule"]: r for r in coverage["policies"]["small"]}
    # Eight cases ran (the skipped one does not count).
    assert {k: (v["fired"], v["passed"], v["not_applicable"]) for k, v in rules.items()} == {
        "hours": (1, 6, 1),  # fired at 07:59; political is not marketing
        "dnc": (2, 5, 1),  # fired on the list and the list file; consent exempts (passed)
        "daily-cap": (1, 7, 0),
        "robocalls": (0, 1, 7),  # only the political case reaches it, and it passes
    }
    assert coverage["percent"] == 75.0
    assert coverage["not_exercised_both_ways"] == [
        {"policy": "small", "rule": "robocalls", "missing": "never fired"}
    ]


def test_coverage_text_and_fail_under(suites: Path) -> None:
    code, out, _ = invoke("passing.test.yaml", "--coverage")
    assert code == 0
    assert "small: 3/4 rules exercised both ways" in out
    assert "  small/robocalls: never fired" in out
    assert "Rule coverage: 75.0% (3 of 4 rules exercised both ways)" in out
    assert last_line(out) == "8 passed, 0 failed, 1 skipped"
    code, _, err = invoke("passing.test.yaml", "--fail-under", "80")
    assert code == 1
    assert "Rule coverage 75.0% is below --fail-under 80%" in err
    code, _, _ = invoke("passing.test.yaml", "--fail-under", "75")
    assert code == 0


def test_coverage_counts_rules_no_case_reaches(suites: Path) -> None:
    code, out, _ = invoke("passing.test.yaml", "-k", "noon", "--coverage")
    assert code == 0
    assert "Rule coverage: 0.0% (0 of 4 rules exercised both ways)" in out
    assert "small/hours: never fired" in out


def test_null_removes_a_default_and_lists_concatenate(suites: Path) -> None:
    write(suites, "l.test.yaml", HEAD + """fixtures:
  one: {history: [{at: "now-5h"}]}
  two: {history: [{at: "now-1h"}]}
cases:
  - name: both fixtures' attempts count
    use: [one, two]
    expect: {warnings: [daily-cap]}
  - name: one fixture is not enough
    use: one
    expect: {warnings: []}
  - name: without a purpose the hours rule cannot be judged
    call: {purpose: null}
    expect: {violations_include: [hours]}
""")
    code, out, _ = invoke("l.test.yaml")
    assert code == 0, out
    assert last_line(out) == "3 passed, 0 failed"


def test_call_the_engine_rejects_is_an_input_error_of_that_case(suites: Path) -> None:
    write(
        suites,
        "x.test.yaml",
        HEAD
        + """cases:
  - name: fine
    expect: {decision: allow}
  - name: number outside any numbering plan
    call: {to: "+15555550101"}
    expect: {decision: allow}
""",
    )
    code, out, _ = invoke("x.test.yaml")
    assert code == 2
    assert "ERROR x.test.yaml:7: number outside any numbering plan: invalid call at to:" in out
    assert last_line(out) == "1 passed, 0 failed, 1 error"


def test_findings_outside_the_trace_are_shown_with_missing_facts(suites: Path) -> None:
    write(
        suites,
        "region.rf",
        'policy region "Subdivision policy"\n  applies to US-FL\n\n'
        'rule hours "Hours"\n  cite "x"\n  allow only between 08:00 and 21:00 inclusive\n',
    )
    write(
        suites,
        "g.test.yaml",
        """policies: [region.rf]
cases:
  - name: toll-free number has no region
    call: {to: "+18885550101", at: "2026-06-15T16:00:00Z", to_timezone: America/New_York}
    expect: {decision: allow}
""",
    )
    code, out, _ = invoke("g.test.yaml")
    assert code == 1
    assert "decision: expected allow, got deny" in out
    assert "(missing: to_region)" in out


def test_the_documented_example_runs_as_documented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = (Path(__file__).parent.parent / "docs" / "testing.md").read_text(encoding="utf-8")
    example = doc.split("```yaml\n", 1)[1].split("```\n", 1)[0]
    write(tmp_path, "us-fl-example.test.yaml", example)
    write(tmp_path, "dnc.txt", "+13057654999\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = invoke("--coverage")
    assert code == 0, out
    assert last_line(out) == "7 passed, 0 failed, 1 skipped"
    assert "us-fl: 2/4 rules exercised both ways" in out
