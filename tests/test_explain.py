"""explain in the words of the policies: from the API (an Explanation), as text and as HTML."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

import ringfence
from ringfence.tools.chromium import find_chromium, html_to_png, rendered_dom
from ringfence.tools.cli import cli

ARTEFACTS = Path(__file__).parent / "artefacts"
MIAMI = "+13055550123"
# 20:30 in Miami: inside the federal 8 a.m.-9 p.m. window, after Florida's 8 p.m. end
LATE = {"to": MIAMI, "at": "2026-06-30T20:30:00-04:00", "from": "+13055550100",
        "purpose": "marketing", "technology": "manual", "line_type": "landline",
        "lists_checked_at": {"national_dnc": "2026-06-20"},
        # "none" said of the records, so only the hours decide
        "lists": [], "consent": [], "opt_outs": [], "history": []}  # fmt: skip

LISTED = """policy house "House rules"
  applies to US
  uses list dnc

rule dnc "No calls to numbers on our do-not-call list"
  cite "House rule 4.2"
  message "The person asked us never to call again."
  deny if callee on list dnc
"""


@pytest.fixture(scope="module")
def florida():
    return ringfence.load("us-federal", "us-fl")


def test_explanation_gives_each_rule_title_citation_message_and_plain_facts(florida):
    explanation = florida.explain(LATE)
    assert isinstance(explanation, ringfence.Explanation)
    assert explanation.decision.decision == "deny"
    assert explanation.place == "Florida (US-FL)"
    (violated,) = explanation.violated
    assert (violated.policy, violated.rule) == ("us-fl", "calling-hours")
    assert violated.citations == ("Fla. Stat. 501.616(6)(a)",)
    assert violated.title.startswith("Commercial telephone solicitation only from 8 a.m. to 8 p.m.")
    assert violated.message.startswith("Florida allows commercial telephone solicitation calls")
    assert violated.facts == ("the call was at 20:30 on Tuesday 30 June 2026 in "
                              "America/New_York, after the 20:00 end",)
    federal = next(p for p in explanation.policies if p.id == "us-federal")
    hours = next(r for r in federal.rules if r.rule == "calling-hours")
    assert hours.outcome == "passed"
    assert hours.facts == ("the call was at 20:30 on Tuesday 30 June 2026 in America/New_York, "
                           "within the hours 08:00 to 21:00 (end included)",)
    ended = next(r for r in federal.rules if r.rule == "company-dnc-30-days")
    assert ended.outcome == "not_in_force"
    assert ended.facts == ("effective until 11 April 2025, out of force from that day",)
    # the verdict and the trace are the decision's own
    assert explanation.decision.to_dict() == florida.decide(LATE, trace=True).to_dict()


def test_text_names_the_rule_and_when_the_call_may_be_made(florida):
    text = florida.explain(LATE).text()
    assert text.startswith("decision: DENY  (call at 2026-06-30T20:30:00-04:00)\n"
                           "callee: Florida (US-FL); time zone America/New_York (from the "
                           "number's prefix)\n"
                           "next allowed: 2026-07-01T08:00:00-04:00 (1 July 2026 at 08:00, "
                           "America/New_York)\n")
    assert ("  ✗ violated: Commercial telephone solicitation only from 8 a.m. to 8 p.m. in the "
            "called person's time zone [Fla. Stat. 501.616(6)(a)]") in text
    assert "· the call was at 20:30 on Tuesday 30 June 2026 in America/New_York, after the 20:00 end" in text
    # engine wording is gone
    for old in ("matching attempts", "effective always", "= None", "is unknown ("):
        assert old not in text


def test_missing_fact_is_named_in_plain_words(florida):
    call = {**LATE, "technology": "autodialer"}
    del call["line_type"]
    text = florida.explain(call).text()
    assert "the call does not say the line type (line_type), which this rule needs" in text
    assert "the technology is autodialer" in text


def test_when_waiting_cannot_help_the_rule_and_its_facts_are_named(tmp_path):
    policy = tmp_path / "house.rf"
    policy.write_text(LISTED, encoding="utf-8")
    call = {"to": MIAMI, "at": "2026-06-30T10:00:00-04:00",
            "lists": [{"name": "dnc", "listed_at": "2026-03-02"}]}
    explanation = ringfence.load(policy).explain(call)
    (blocking,) = explanation.waiting
    assert blocking.rule == "dnc" and not blocking.time_dependent
    assert explanation.decision.next_allowed_at is None
    assert ("next allowed: not by waiting: No calls to numbers on our do-not-call list (House rule "
            "4.2) forbids this call whatever the time, because the number is on the dnc list, "
            "listed on 2 March 2026 at 00:00 (America/New_York)\n") in explanation.text()
    assert "The person asked us never to call again." in explanation.text()


def test_policies_that_do_not_apply_take_one_line_unless_all_is_asked():
    library = ringfence.load_library()
    explanation = library.explain(LATE)
    text = explanation.text()
    elsewhere = [line for line in text.splitlines() if line.startswith("does not apply: ")]
    assert elsewhere[0].endswith("(the callee is in Florida (US-FL); they cover other places)")
    assert "us-tx" in elsewhere[0] and "gb" in elsewhere[0] and "us-fl," not in elsewhere[0]
    assert len(elsewhere) == 2  # the other places; us-debt-collection by its own scope
    assert elsewhere[1] == ("does not apply: us-debt-collection (when purpose is debt_collection "
                            "is false (the purpose is marketing))")
    # rules of an applicable policy that do not apply: one line for the policy
    assert ("  - does not apply: pewc-robocalls, robocall-mobile-consent, "
            "exempt-prerecorded-30-day-limit, exempt-prerecorded-health-care-limit, "
            "consent-revocation, revoke-all (the technology is manual); not in force: "
            "company-dnc-30-days "
            "(effective until 11 April 2025, out of force from that day)") in text
    every = explanation.text(every=True)
    assert "policy us-tx 2026.11: does not apply (it covers US-TX)" in every
    assert len(every.splitlines()) > len(text.splitlines()) + 30


def test_cli_explain_all_and_html(tmp_path, florida):
    out = tmp_path / "why.html"
    result = CliRunner().invoke(cli, ["explain", "-p", "us-federal", "-p", "us-fl", "--html",
                                      str(out), json.dumps(LATE)])
    assert result.exit_code == 0, result.output
    assert result.output == florida.explain(LATE).text()
    page = out.read_text(encoding="utf-8")
    assert page == florida.explain(LATE).html()
    every = CliRunner().invoke(cli, ["explain", "-p", "us-federal", "-p", "us-fl", "--all",
                                     json.dumps(LATE)])
    assert "✓ passed: Telemarketing calls only from 8 a.m. to 9 p.m." in every.output
    # each rule that does not apply in full, with its citation and facts, not summarised
    assert ("  - does not apply: Autodialed or prerecorded telemarketing needs prior express "
            "written consent [47 CFR 64.1200(a)(2)") in every.output
    assert "pewc-robocalls, robocall-mobile-consent" not in every.output


def test_html_is_self_contained_and_says_what_the_text_says(florida):
    page = florida.explain(LATE).html()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert "<link" not in page and "@import" not in page
    for words in ("Why this call is denied", "Fla. Stat. 501.616(6)(a)",
                  "Florida allows commercial telephone solicitation calls",
                  "the call was at 20:30 on Tuesday 30 June 2026 in America/New_York, after the "
                  "20:00 end", "2026-07-01T08:00:00-04:00 (1 July 2026 at 08:00, America/New_York)"):
        assert words in page
    library = ringfence.load_library().explain(LATE).html()
    assert "<h2>Policies that do not apply</h2>" in library
    assert "(the callee is in Florida (US-FL); they cover other places)</li>" in library


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed")
def test_html_renders_in_chromium_and_is_kept_as_a_screenshot(florida):
    page = florida.explain(LATE).html()
    dom, console = rendered_dom(page)
    assert console == []
    assert "Why this call is denied" in dom and "Fla. Stat. 501.616(6)(a)" in dom
    assert 'class="rule violated"' in dom
    ARTEFACTS.mkdir(exist_ok=True)
    png = ARTEFACTS / "explain-us-fl.png"
    html_to_png(page, png, 1000, 1400)
    print(f"explain artefact: {png}")
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", head[16:24]) == (2000, 2800)  # drawn at scale 2


@pytest.mark.skipif(find_chromium() is None, reason="Chromium is not installed")
def test_console_messages_of_a_page_are_reported():
    # the check above can fail: a page that writes to its console is caught
    _, console = rendered_dom("<p>x</p><script>console.error('broken chart')</script>")
    assert any("broken chart" in line for line in console)
