"""Issue #12, the checker's part: policies that passed `ringfence check` yet let through calls
they meant to stop (or never did anything) are now rejected, each with its own diagnostic."""

from __future__ import annotations

import pytest
from test_core_support import call, load_text, policy_text, rule, write

import ringfence
from ringfence.errors import PolicyError

WINDOW = "allow only between 08:00 and 21:00 inclusive"


def _codes(tmp_path, text: str) -> list[tuple[str, int, str]]:
    """(code, line, message) of every diagnostic, or [] when the policy loads."""
    try:
        ringfence.load(write(tmp_path, text))
    except PolicyError as err:
        return [(d.code, d.span.line, d.message) for d in err.diagnostics]
    return []


# ---- case 5: a policy with no `applies to` ------------------------------------------------


def test_policy_without_applies_to_is_rejected(tmp_path):
    text = 'policy nowhere "Applies to no call"\n  version 1\n\n' + rule(WINDOW)
    assert _codes(tmp_path, text) == [
        ("RF207", 1, "policy 'nowhere' has no 'applies to' line, so it applies to no call")]


def test_applies_to_any_is_accepted_and_applies_everywhere(tmp_path):
    ps = load_text(tmp_path, policy_text(rule("deny if technology is manual"), where="any"))
    assert ps.decide(call(technology="manual")).decision == "deny"
    assert ps.decide(call(to="+33142685300", technology="manual")).decision == "deny"
    assert ps.decide(call(technology="autodialer")).decision == "allow"


# ---- case 6: empty or blank citations ----------------------------------------------------


@pytest.mark.parametrize(("cite", "shown"), [
    ('""', "''"), ('"   "', "'   '"), ('"\t"', "'\\t'"), ('"\u200b"', "'\\u200b'"),
    ('"47 CFR 64.1200", "-"', "'-'"),
])
def test_blank_citation_is_rejected(tmp_path, cite, shown):
    text = policy_text(rule(WINDOW).replace('"Test citation"', cite))
    assert _codes(tmp_path, text) == [
        ("RF208", 7, f"rule 'r' cites {shown}, which names no source")]


def test_rule_without_cite_is_still_rf203(tmp_path):
    text = policy_text(rule(WINDOW).replace('  cite "Test citation"\n', ""))
    assert [c for c, _, _ in _codes(tmp_path, text)] == ["RF203"]


# ---- case 7: `when` conditions that contradict each other -------------------------------


@pytest.mark.parametrize(("clauses", "line", "message"), [
    (("when purpose is marketing", "when purpose is not marketing"), 9,
     "rule 'r' never applies: no value of purpose passes both 'purpose is marketing' (line 8) "
     "and 'purpose is not marketing' (line 9)"),
    (("when purpose is one of marketing, charity", "when purpose is not one of charity, marketing"),
     9, None),
    (("when purpose is marketing and purpose is research",), 8, None),
    (("when purpose is one of marketing, charity and not purpose is marketing",
      "when purpose is not charity"), 9,
     "rule 'r' never applies: no value of purpose passes all of 'purpose is one of marketing, "
     "charity' (line 8) and 'not purpose is marketing' (line 8) and 'purpose is not charity' "
     "(line 9)"),
    (("when relationship.contract_active is true",
      "when (relationship.contract_active is false and purpose is marketing)"), 9, None),
    # an `unless` of one test exempts every call the `when` lets in
    (("when purpose is one of marketing, charity", "unless purpose is one of charity, marketing"),
     9, "rule 'r' never applies: no value of purpose passes both 'purpose is one of marketing, "
     "charity' (line 8) and 'unless purpose is one of charity, marketing' (line 9)"),
    (("unless not purpose is marketing", "when purpose is research"), 9, None),
])
def test_contradicting_when_lines_are_rejected(tmp_path, clauses, line, message):
    (found,) = _codes(tmp_path, policy_text(rule(WINDOW, *clauses)))
    assert found[:2] == ("RF501", line)
    assert message is None or found[2] == message


def test_deny_if_condition_joins_the_when_lines(tmp_path):
    text = policy_text(rule("deny if purpose is research and technology is manual",
                            "when purpose is marketing"))
    assert [(c, n) for c, n, _ in _codes(tmp_path, text)] == [("RF501", 9)]


def test_policy_when_contradicting_a_rule_when(tmp_path):
    text = policy_text(rule(WINDOW, "when purpose is research"),
                       extra="  when purpose is marketing")
    ((code, line, message),) = _codes(tmp_path, text)
    assert (code, line) == ("RF501", 8)
    assert "'purpose is marketing' (line 4)" in message


def test_policy_when_contradiction_is_reported_once_for_the_policy(tmp_path):
    text = policy_text(rule(WINDOW, rid="a") + rule(WINDOW, "when sector is banking", rid="b"),
                       extra="  when purpose is marketing\n  when purpose is not marketing")
    ((code, line, message),) = _codes(tmp_path, text)
    assert (code, line) == ("RF501", 5)
    assert message == ("policy 't' never applies: no value of purpose passes both 'purpose is "
                       "marketing' (line 4) and 'purpose is not marketing' (line 5)")


@pytest.mark.parametrize("clauses", [
    # some value passes all of them (purpose is charity; the field is free text)
    ("when purpose is not marketing", "when purpose is not research"),
    ("when purpose is one of marketing, charity", "when purpose is not marketing"),
    # `or`, an `unless` of several tests and nested `not`s are not tests every call must pass
    ("when purpose is marketing or purpose is research", "when purpose is not marketing"),
    ("when purpose is marketing", "unless purpose is marketing and sector is banking"),
    ("when purpose is marketing", "unless purpose is not one of marketing, charity"),
    ("when not (purpose is marketing and sector is banking)", "when purpose is marketing"),
    # different fields, and a quoted word is the same value as the bare word
    ("when purpose is marketing", "when sector is not marketing"),
    ('when purpose is "marketing"', "when purpose is marketing"),
])
def test_conditions_some_call_passes_are_accepted(tmp_path, clauses):
    assert _codes(tmp_path, policy_text(rule(WINDOW, *clauses))) == []


# ---- windows that never open -------------------------------------------------------------


@pytest.mark.parametrize(("window", "message"), [
    ("allow only weekdays 09:00 to 17:00 inclusive\n"
     "    closed on monday, tuesday, wednesday, thursday, friday",
     "every day with hours is also closed, so no call is ever allowed"),
    ("allow only closed on sunday", "the window gives no hours, so no call is ever allowed"),
    ("allow only callee local time", "the window gives no hours, so no call is ever allowed"),
])
def test_window_that_never_opens_is_rejected(tmp_path, window, message):
    assert _codes(tmp_path, policy_text(rule(window))) == [("RF501", 8, message)]


# ---- a rule written twice ----------------------------------------------------------------


def test_exact_duplicate_rule_is_rejected(tmp_path):
    text = policy_text(rule(WINDOW, "when purpose is marketing", "when sector is banking",
                            rid="a")
                       + rule(WINDOW, "when sector is banking", "when purpose is marketing",
                              'message "Same again"', rid="b"))
    assert _codes(tmp_path, text) == [
        ("RF209", 11, "rule 'b' repeats rule 'a' (line 6): the same effect, conditions, level, "
         "dates and citations, so it never changes a decision")]


@pytest.mark.parametrize("change", [
    lambda r: r.replace("Test citation", "Fla. Stat. 501.059"),  # two laws say the same
    lambda r: r.replace(WINDOW, "level warn\n  " + WINDOW),
    lambda r: r.replace(WINDOW, "when purpose is research\n  " + WINDOW),  # unknown: violated
    lambda r: r.replace("21:00", "20:00"),
])
def test_rules_that_differ_in_meaning_or_citation_are_accepted(tmp_path, change):
    text = policy_text(rule(WINDOW, rid="a") + change(rule(WINDOW, rid="b")))
    assert _codes(tmp_path, text) == []


# ---- a rule shadowed by another -----------------------------------------------------------


@pytest.mark.parametrize("narrower", [
    lambda r: r.replace(WINDOW, "effective from 2027-01-01\n  " + WINDOW),
    lambda r: r.replace(WINDOW, "unless purpose is research\n  " + WINDOW),
    lambda r: r.replace(WINDOW, "unless purpose is research\n  effective until 2030-01-01\n  "
                        + WINDOW).replace("Test citation", "Test citation\", \"Test citation"),
])
@pytest.mark.parametrize("narrower_first", [False, True])
def test_rule_shadowed_by_another_is_rejected(tmp_path, narrower, narrower_first):
    broad, narrow = rule(WINDOW, rid="a"), narrower(rule(WINDOW, rid="b"))
    text = policy_text(narrow + broad if narrower_first else broad + narrow)
    ((code, line, message),) = _codes(tmp_path, text)
    assert code == "RF212"
    assert message.startswith("rule 'b' is shadowed by rule 'a' (line ")
    assert line == (6 if narrower_first else 9)


def test_a_rule_with_more_exemptions_but_another_citation_is_not_shadowed(tmp_path):
    narrow = rule(WINDOW, "unless purpose is research", rid="b").replace("Test citation", "Other")
    assert _codes(tmp_path, policy_text(rule(WINDOW, rid="a") + narrow)) == []


# ---- case 1: a value outside its vocabulary ----------------------------------------------


@pytest.mark.parametrize(("clause", "column", "message", "suggestion"), [
    ("when purpose is marketting", 19, "'marketting' is not a purpose of the call contract nor "
     "one the policy declares (uses purpose marketting)", "marketing"),
    ("when purpose is Marketing", 19, None, "marketing"),  # calls are read in lowercase
    ("when purpose is one of marketing, reserch", 37, None, "research"),
    ("unless consent express for marketting", 10, None, "marketing"),
    ("unless opted out for reserch", 10, None, "research"),
    # outside_hours is a word of consent purposes only, not of a call's purpose
    ("when purpose is outside_hours", 19, None, None),
    ("when technology is autodailer", 22, "'autodailer' is not a value of technology",
     "autodialer"),
    ("when line_type is Mobile", 21, None, "mobile"),
])
def test_value_outside_the_vocabulary_is_rejected_with_did_you_mean(tmp_path, clause, column,
                                                                    message, suggestion):
    text = policy_text(rule(WINDOW, clause))
    with pytest.raises(PolicyError) as caught:
        ringfence.load(write(tmp_path, text))
    (diag,) = caught.value.diagnostics
    assert (diag.code, diag.span.line, diag.span.column) == ("RF302", 8, column)
    assert message is None or diag.message == message
    assert diag.suggestion == suggestion
    assert f"{diag.span.file}:8:{column}: error RF302" in caught.value.render()


def test_a_declared_purpose_is_accepted_and_a_call_may_give_it(tmp_path):
    text = policy_text(rule(WINDOW, "when purpose is fundraising",
                            "unless consent for fundraising", "unless opted out for membership"),
                       extra="  uses purposes fundraising, membership")
    ps = load_text(tmp_path, text)
    assert ps.policies[0].purposes == ("fundraising", "membership")
    late = "2026-06-15T22:30:00-04:00"
    assert ps.decide(call(late, purpose="fundraising")).decision == "deny"
    assert ps.decide(call(late, purpose="Fundraising")).decision == "deny"
    assert ps.decide(call(late, purpose="marketing")).decision == "allow"


@pytest.mark.parametrize(("extra", "message"), [
    ("  uses purpose Fundraising", "the purpose 'Fundraising' is not in lowercase: calls are "
     "read in lowercase, so it would never match"),
    ("  uses purpose marketing", "'marketing' is already a purpose of the call contract"),
    ("  uses purposes fundraising, fundraising", "the purpose 'fundraising' is declared twice"),
])
def test_bad_declarations_are_rejected(tmp_path, extra, message):
    text = policy_text(rule(WINDOW, "when purpose is marketing"), extra=extra)
    assert _codes(tmp_path, text) == [("RF309", 4, message)]


def test_a_rule_included_from_another_policy_keeps_its_declared_purposes(tmp_path):
    base = policy_text(rule(WINDOW, "when purpose is fundraising"), pid="base",
                       extra="  uses purpose fundraising")
    write(tmp_path, base, "base.rf")
    ps = load_text(tmp_path, 'policy top "Top"\n  applies to US\n  include base\n', "top.rf")
    assert ps.policies[0].purposes == ("fundraising",)
    assert ps.decide(call("2026-06-15T22:30:00-04:00", purpose="fundraising")).decision == "deny"
