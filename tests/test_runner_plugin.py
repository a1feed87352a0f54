"""Tests of the pytest plugin that collects *.test.yaml suites (run in a pytester sandbox)."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

FIXTURES = Path(__file__).parent / "fixtures" / "runner"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A sandbox holding the runner fixtures and an ordinary Python test beside them."""
    for item in FIXTURES.iterdir():
        if item.suffix != ".py" and item.is_file():  # not the fixtures' own conftest
            shutil.copy(item, pytester.path / item.name)
    pytester.makepyfile(test_plain="def test_plain():\n    assert 1 + 1 == 2\n")
    return pytester


def test_cases_are_collected_as_items_beside_python_tests(project: pytest.Pytester) -> None:
    result = project.runpytest("--collect-only", "-q")
    out = result.stdout.str()
    assert "passing.test.yaml::noon is allowed" in out
    assert "failing.test.yaml::wrongly expects 07:00 to be allowed" in out
    assert "test_plain.py::test_plain" in out
    assert "12 tests collected" in out


def test_run_reports_pass_fail_skip(project: pytest.Pytester) -> None:
    result = project.runpytest("-rs")
    result.assert_outcomes(passed=10, failed=1, skipped=1)
    out = result.stdout.str()
    # The failure shows expected vs actual and the deciding rule, not a Python traceback.
    assert "decision: expected allow, got deny" in out
    assert "small/hours violated" in out
    assert "Traceback" not in out
    assert "waiting for the holiday rules" in out


def test_k_selects_cases(project: pytest.Pytester) -> None:
    result = project.runpytest("-k", "noon")
    result.assert_outcomes(passed=2)


def test_junitxml(project: pytest.Pytester) -> None:
    result = project.runpytest("failing.test.yaml", "--junitxml=out.xml")
    result.assert_outcomes(passed=1, failed=1)
    root = ET.parse(project.path / "out.xml").getroot()
    cases = root.iter("testcase")
    failures = {c.get("name"): c.find("failure") for c in cases}
    assert failures["noon is allowed"] is None
    failure = failures["wrongly expects 07:00 to be allowed"]
    assert failure is not None
    assert "expected allow, got deny" in (failure.text or "") + (failure.get("message") or "")


def test_malformed_suite_is_a_clear_collection_error(project: pytest.Pytester) -> None:
    project.makefile(".test.yaml", broken="policies: [small.rf]\ncases:\n  - name: [x\n")
    project.makefile(".test.yaml", invalid="policies: [small.rf]\ncases:\n  - nam: x\n")
    result = project.runpytest(
        "broken.test.yaml", "invalid.test.yaml", "test_plain.py",
        "--continue-on-collection-errors",
    )
    result.assert_outcomes(passed=1, errors=2)
    out = result.stdout.str()
    assert "broken.test.yaml:3: malformed YAML" in out
    assert "invalid.test.yaml:3: cases[0]: missing required field `name`" in out
    assert "invalid.test.yaml:3: cases[0]: missing required field `expect`" in out
    assert "invalid.test.yaml:3: cases[0].nam: unknown field `nam`" in out
    assert "Traceback" not in out


def test_missing_policy_fails_the_case_with_a_message(project: pytest.Pytester) -> None:
    project.makefile(
        ".test.yaml",
        unknown='policies: [no-such-policy-id]\ncases:\n  - name: x\n'
        '    call: {to: "+13055550101", at: "2026-06-15T12:00:00Z"}\n'
        "    expect: {decision: allow}\n",
    )
    result = project.runpytest("unknown.test.yaml")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "cannot load policy 'no-such-policy-id'" in out
    assert "Traceback" not in out


def test_rule_coverage_in_the_summary(project: pytest.Pytester) -> None:
    result = project.runpytest("passing.test.yaml", "--ringfence-coverage")
    result.assert_outcomes(passed=8, skipped=1)
    assert "Rule coverage: 75.0% (3 of 4 rules exercised both ways)" in result.stdout.str()
