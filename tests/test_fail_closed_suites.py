"""Issue #12 (fail closed) in the test-suite runner and the CLI: suites read as YAML 1.2, rule
names a suite cannot mean, and what ``decide`` answers for inputs that are not a call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ringfence.testing.cli import test_command as ringfence_test
from ringfence.testing.suite import load_suite
from ringfence.testing.yamlload import YamlError, load_yaml

pytest_plugins = ["pytester"]

RUNNER_FIXTURES = Path(__file__).parent / "fixtures" / "runner"


def load_text(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    return load_yaml(path)


def yaml_error(tmp_path: Path, text: str | bytes) -> YamlError:
    path = tmp_path / "doc.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(YamlError) as info:
        load_yaml(path)
    return info.value


# --- case 9: suites are YAML 1.2 -------------------------------------------------------------

@pytest.mark.parametrize("text", ["NO", "no", "No", "on", "off", "On", "OFF", "yes", "Yes", "y",
                                  "n", "Y", "1_000", "12:30", "1:20:30", "0b101", "0x_1F",
                                  "2026-06-15", "=", "+1_2"])
def test_yaml_11_only_scalars_stay_text(tmp_path: Path, text: str) -> None:
    assert load_text(tmp_path, f"value: {text}\n") == {"value": text}


@pytest.mark.parametrize(("text", "value"), [
    ("0123", 123), ("-0123", -123), ("0o12", 10), ("0x1F", 31), ("+12125550123", 12125550123),
    ("true", True), ("False", False), ("TRUE", True), ("null", None), ("~", None), ("", None),
    ("1.5", 1.5), (".5", 0.5), ("1e3", 1000.0), ("-.inf", float("-inf")),
])
def test_yaml_12_core_scalars(tmp_path: Path, text: str, value: Any) -> None:
    loaded = load_text(tmp_path, f"value: {text}\n")["value"]
    assert loaded == value and type(loaded) is type(value)


def test_norway_is_a_region_not_false(tmp_path: Path) -> None:
    (tmp_path / "small.rf").write_bytes((RUNNER_FIXTURES / "small.rf").read_bytes())
    suite = tmp_path / "norway.test.yaml"
    suite.write_text("policies: [small.rf]\nnow: '2026-06-15T12:00:00Z'\ncases:\n"
                     "  - name: norway\n    call: {to: '+4722123456', to_region: NO}\n"
                     "    expect: {region: NO}\n", encoding="utf-8")
    case = load_suite(suite).cases[0]
    assert case.call["to_region"] == "NO"
    assert case.expect["region"] == "NO"


def test_merge_keys_still_work(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, "base: &b {a: 1}\nmore:\n  <<: *b\n  c: 2\n")
    assert loaded["more"] == {"a": 1, "c": 2}


@pytest.mark.parametrize(("text", "line", "words"), [
    ("a: 1\nb: !!bool yes\n", 2, "'yes' is not a YAML 1.2 boolean"),
    ("a: 1\nb: !!int 1_000\n", 2, "'1_000' is not a YAML 1.2 integer"),
    ("a: 1\nb: \"x\x01\"\n", 2, "U+0001 is not allowed"),
])
def test_yaml_errors_name_their_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    error = yaml_error(tmp_path, text)
    assert error.line == line and words in error.message, error


def test_non_utf8_names_its_line(tmp_path: Path) -> None:
    error = yaml_error(tmp_path, b"a: 1\nb: 2\nc: \xff\n")
    assert error.line == 3 and error.message == "not UTF-8: byte 0xff"


# --- case 8: a rule name no policy has is an input error -------------------------------------

SUITE_HEAD = ('policies: [small.rf]\nnow: "2026-06-15T12:00:00-04:00"\n'
              'defaults: {to: "+13055550101", to_timezone: America/New_York, purpose: marketing, '
              'history: [], lists: [], lists_checked_at: {dnc: now}}\n') + """cases:
  - name: noon
    expect: {decision: allow}
  - name: a misspelt rule
    expect:
"""


def suite_with(folder: Path, expect_lines: str) -> Path:
    (folder / "small.rf").write_bytes((RUNNER_FIXTURES / "small.rf").read_bytes())
    path = folder / "names.test.yaml"
    path.write_text(SUITE_HEAD + expect_lines, encoding="utf-8")
    return path


def run_suite(path: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(ringfence_test, [str(path)], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("field", ["violations", "violations_include", "violations_exclude",
                                   "warnings", "warnings_include"])
def test_unknown_rule_is_an_input_error_with_did_you_mean(tmp_path: Path, field: str) -> None:
    path = suite_with(tmp_path, f"      {field}: [hour]\n")
    code, out, err = run_suite(path)
    assert code == 2, out + err
    assert out == ""  # reported before any case runs
    assert err == (f"error: {path}:9: cases[1].expect.{field}[0]: no rule 'hour' in the suite's "
                   "policies (small); did you mean `hours`?\n")


def test_unknown_rule_of_a_named_policy(tmp_path: Path) -> None:
    path = suite_with(tmp_path, "      violations_exclude:\n        - small/hours\n"
                                "        - small/dnc-list\n        - smal/daily-cap\n")
    code, _, err = run_suite(path)
    assert code == 2
    assert err.splitlines() == [
        f"error: {path}:11: cases[1].expect.violations_exclude[1]: policy 'small' has no rule "
        "'dnc-list'; did you mean `small/dnc`?",
        f"error: {path}:12: cases[1].expect.violations_exclude[2]: no policy 'smal' among the "
        "suite's policies (small); did you mean `small/daily-cap`?",
    ]


def test_name_far_from_every_rule_has_no_suggestion(tmp_path: Path) -> None:
    path = suite_with(tmp_path, "      violations_exclude: [zzzzzz]\n")
    code, _, err = run_suite(path)
    assert code == 2
    assert err.endswith("no rule 'zzzzzz' in the suite's policies (small)\n")


def test_known_names_and_applicability_are_accepted(tmp_path: Path) -> None:
    path = suite_with(tmp_path, "      violations_exclude: [hours, small/dnc, small/applicability]"
                                "\n      warnings_include: []\n")
    code, out, err = run_suite(path)
    assert code == 0, out + err


def test_rule_of_the_other_level_is_an_input_error(tmp_path: Path) -> None:
    # A warn-level rule is never a violation, so `violations_exclude: [daily-cap]` could not fail.
    path = suite_with(tmp_path, "      violations_exclude: [daily-cap]\n"
                                "      warnings_include: [small/hours]\n")
    code, _, err = run_suite(path)
    assert code == 2
    assert err.splitlines() == [
        f"error: {path}:9: cases[1].expect.violations_exclude[0]: 'daily-cap' is a warn-level "
        "rule: it is reported among warnings, never among violations",
        f"error: {path}:10: cases[1].expect.warnings_include[0]: 'small/hours' is a deny-level "
        "rule: it is reported among violations, never among warnings",
    ]


def test_rules_of_the_right_level_are_accepted(tmp_path: Path) -> None:
    path = suite_with(tmp_path, "      violations_exclude: [hours, small/robocalls]\n"
                                "      warnings: []\n      violations: []\n")
    code, out, err = run_suite(path)
    assert code == 0, out + err


def test_pytest_plugin_fails_the_case_naming_the_rule(pytester: pytest.Pytester) -> None:
    suite_with(pytester.path, "      violations_exclude: [hour]\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    assert "cases[1].expect.violations_exclude[0]: no rule 'hour'" in result.stdout.str()
