"""Issue #12 (fail closed) in the test-suite runner and the CLI: suites read as YAML 1.2, rule
names a suite cannot mean, and what ``decide`` answers for inputs that are not a call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ringfence.testing.suite import load_suite
from ringfence.testing.yamlload import YamlError, load_yaml

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
