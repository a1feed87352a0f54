"""The coverage map: aspects read from lowered rules, ``ringfence policies --coverage``, the US
tile map, and the lint warnings for rules not kept like law."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_core_support import load_text, policy_text, rule

from ringfence.tools.cli import cli
from ringfence.tools.coverage_map import ASPECTS, coverage, us_tile_map
from ringfence.tools.lint import lint


@pytest.mark.parametrize(("effect", "clauses", "aspects"), [
    ("allow only between 08:00 and 21:00 inclusive", (), {"hours"}),
    ("allow only\n    every day 00:00 to 24:00 exclusive\n    closed on sunday", (), {"days"}),
    ("allow only\n    monday to saturday 00:00 to 24:00 exclusive", (), {"days"}),
    ("allow only\n    every day 00:00 to 24:00 exclusive\n    closed on public holidays", (),
     {"holidays"}),
    ("allow only\n    every day 00:00 to 24:00 exclusive\n    closed on 2026-12-24", (),
     {"holidays"}),
    ("deny if today is a holiday in x", (), {"holidays"}),
    ("deny if callee on list dnc", (), {"lists"}),
    ("deny if opted out for marketing", (), {"lists"}),
    ("deny if count of attempts in last 24 hours >= 3", (), {"caps"}),
    ("deny if last attempt within 2 hours", (), {"caps"}),
    ("deny if last purchase within 2 months", (), set()),  # a relationship, not a cap
    ("require consent express for marketing", (), {"consent"}),
    ("deny if from is missing", (), {"caller ID"}),
    ("deny if technology is prerecorded", (), {"recording"}),
    ("deny if technology is autodialer", (), set()),
    ("allow only between 09:00 and 20:00 inclusive",
     ("unless consent express for outside_hours", "when technology is artificial_voice"),
     {"hours", "consent", "recording"}),
])
def test_aspects_come_from_the_lowered_rule(tmp_path: Path, effect, clauses, aspects):
    text = policy_text(rule(effect, *clauses), extra="  uses list dnc\n  holidays x: july 4")
    [found] = coverage(load_text(tmp_path, text))
    assert {a for a in ASPECTS if found.covers.get(a)} == aspects
    assert not found.pending


def test_pending_rules_and_left_out_notes(tmp_path: Path):
    text = policy_text(rule("allow only between 09:00 and 19:00 exclusive", "status pending"),
                       extra='  note "Not encoded: the disclosures (not read)."\n'
                             '  note "List x is the state list."')
    [found] = coverage(load_text(tmp_path, text))
    assert found.mark("hours") == "pending" and found.pending == {"hours": ("r",)}
    assert found.left_out == ("Not encoded: the disclosures (not read).",)


def test_policies_coverage_text_lists_every_jurisdiction():
    result = CliRunner().invoke(cli, ["policies", "--coverage"])
    assert result.exit_code == 0, result.output
    rows = {tuple(line.split()[:2]): line for line in result.output.splitlines() if line}
    header = result.output.splitlines()[0].split()
    assert header[:2] == ["where", "policy"]
    pa = rows[("US-PA", "us-pa")].split()
    # hours and days only from the pending SB 992 rule; holidays and the state list in force
    assert pa[2:] == ["pending", "pending", "yes", "yes"]
    for place in ("US", "PR", "US-FL", "FR", "GP", "GB", "AU", "SG"):
        assert any(key[0] == place for key in rows), place
    assert "Left out, and why (the policies' notes):" in result.output
    assert "    - pending rule sb-992-hours (warns only; not law in force)" in result.output
    assert re.search(r"^  au-federal\n    - The Standard's list", result.output, re.MULTILINE)


def test_policies_coverage_json():
    result = CliRunner().invoke(cli, ["policies", "--coverage", "--format", "json"])
    found = {p["policy"]: p for p in json.loads(result.output)}
    assert found["us-pa"]["covers"]["holidays"] == ["legal-holidays"]
    assert found["us-pa"]["pending"] == {"hours": ["sb-992-hours"], "days": ["sb-992-hours"]}
    assert found["us-federal"]["pending"] == {"lists": ["revoke-all"],
                                              "recording": ["revoke-all"]}
    assert "caller-id" in found["us-federal"]["covers"]["caller ID"]
    assert set(found["us-federal"]["covers"]) == set(ASPECTS)


def test_the_us_tile_map_colours_states_by_their_own_policies(tmp_path: Path):
    state = load_text(tmp_path, policy_text(rule("deny if from is missing"), pid="s",
                                            where="US-PA"), name="s.rf")
    both = coverage(state)
    federal = load_text(tmp_path, policy_text(rule("deny if from is missing"), pid="f",
                                              where="US, PR"), name="f.rf")
    both += coverage(federal)
    svg = us_tile_map(both)
    tiles = dict(re.findall(r"<title>(\w\w): [^<]*</title><rect [^>]*fill=\"(#\w+)\"", svg))
    assert len(tiles) == 56  # 50 states, DC and five territories
    assert tiles["PA"] == "#3949ab" and tiles["TX"] == "#c5cae9" and tiles["PR"] == "#c5cae9"
    assert tiles["GU"] == "#eeeeee"  # federal policy f does not name Guam
    assert "<title>PA: s, f</title>" in svg
    assert svg.startswith("<svg") and "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_lint_asks_for_verification_review_and_changelog(tmp_path: Path):
    text = policy_text(rule("deny if from is missing") + "\n"
                       + rule("deny if from is missing", "status pending",
                              "effective from 2027-01-31", "verification verified",
                              "reviewed 2026-11-30", rid="p"))
    path = tmp_path / "kept.rf"
    path.write_text(text, encoding="utf-8")
    found = {(w.code, w.rule): w.message for w in lint([path])}
    assert found[("no-changelog", "-")].startswith("the policy has no changelog line")
    assert found[("no-verification", "r")].startswith("no verification and no reviewed line")
    assert ("no-verification", "p") not in found
    assert found[("pending", "p")].endswith("expected from 2027-01-31")
    path.write_text(text.replace("  applies to US\n",
                                 '  applies to US\n  changelog 2026-11-30 "First"\n'), "utf-8")
    assert "no-changelog" not in {w.code for w in lint([path])}
