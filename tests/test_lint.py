"""``ringfence lint``: windows that add nothing, rules no case violates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ringfence.tools.cli import cli
from ringfence.tools.lint import lint

POLICY = """policy lenient-fl "A Florida policy with one window the federal rules already impose"
  applies to US-FL
  when purpose is marketing

rule same-as-federal "Eight to nine, unless the person agreed"
  cite "Test 1"
  unless consent express for marketing
  allow only between 08:00 and 21:00 inclusive, callee local time

rule stricter "Eight to eight"
  cite "Test 2"
  allow only between 08:00 and 20:00 inclusive, callee local time

rule wider "Seven to ten, unless the person agreed"
  cite "Test 3"
  unless consent express for marketing
  allow only between 07:00 and 22:00 inclusive, callee local time

rule wider-for-everyone "Seven to ten, consent or not"
  cite "Test 4"
  allow only between 07:00 and 22:00 inclusive, callee local time
"""

SUITE = """policies: [lenient-fl.rf]
defaults: {to: "+13055550123", purpose: marketing}
cases:
  - name: 20:30 is too late
    call: {at: "2026-06-15T20:30:00-04:00"}
    expect: {decision: deny, violations: [stricter]}
  - name: noon is fine
    call: {at: "2026-06-15T12:00:00-04:00"}
    expect: {decision: allow}
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("lint")
    (path / "lenient-fl.rf").write_text(POLICY, "utf-8")
    (path / "lenient-fl.test.yaml").write_text(SUITE, "utf-8")
    return path


@pytest.fixture(scope="module")
def warnings(folder):
    return lint(["us-federal", folder / "lenient-fl.rf"])


def test_windows_inside_the_federal_window_add_nothing(warnings):
    shadowed = {w.rule for w in warnings if w.code == "window-adds-nothing"}
    # "wider" (7-22) and "same-as-federal" (8-21), with the federal consent exemption, never
    # close a slot the federal rule leaves open; "stricter" (8-20) closes 20:00-21:00 alone, and
    # "wider-for-everyone" closes the night for calls with consent, which the federal rule allows.
    assert shadowed == {"same-as-federal", "wider"}
    [same] = [w for w in warnings if w.rule == "same-as-federal" and w.code == "window-adds-nothing"]
    assert same.line == 5 and same.file.endswith("lenient-fl.rf")
    assert "also closed by us-federal" in same.message


def test_rules_no_case_violates_are_listed(warnings):
    never = {(w.policy, w.rule) for w in warnings if w.code == "never-fires"}
    assert ("lenient-fl", "stricter") not in never
    assert {("lenient-fl", "same-as-federal"), ("lenient-fl", "wider")} <= never
    # us-federal's suite, found in the shipped folder, violates every federal rule.
    assert {w.policy for w in warnings if w.code == "never-fires"} == {"lenient-fl"}


def test_cli_exit_codes(folder):
    found = CliRunner().invoke(cli, ["lint", "us-federal", str(folder / "lenient-fl.rf"), "--json"])
    assert found.exit_code == 1, found.output
    assert any(w["code"] == "window-adds-nothing" for w in json.loads(found.output))
    bad = CliRunner().invoke(cli, ["lint", str(folder / "missing.rf")])
    assert bad.exit_code == 2 and "missing.rf" in bad.output
