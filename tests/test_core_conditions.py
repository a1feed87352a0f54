"""Every condition form of the language, three-valued logic and fail-closed decisions."""

from __future__ import annotations

import pytest
from test_core_support import (
    MIAMI,
    NYC,
    ago,
    both_ways,
    call,
    load_rule,
    load_text,
    policy_text,
    rule,
    violated,
)

AT = "2026-06-15T12:00:00-04:00"  # a Monday, noon in New York


def decide(tmp_path, effect, *clauses, extra="", **fields):
    return load_rule(tmp_path, effect, *clauses, extra=extra).decide(call(AT, **fields))


# ---- is / is not / one of / missing / present ---------------------------------------------


@pytest.mark.parametrize(("effect", "fields", "expected"), [
    ("deny if purpose is marketing", {"purpose": "marketing"}, "deny"),
    ("deny if purpose is marketing", {"purpose": "research"}, "allow"),
    ("deny if purpose is not marketing", {"purpose": "research"}, "deny"),
    ("deny if purpose is not marketing", {"purpose": "marketing"}, "allow"),
    ("deny if purpose is one of marketing, political", {"purpose": "political"}, "deny"),
    ("deny if purpose is one of marketing, political", {"purpose": "charity"}, "allow"),
    ("deny if purpose is not one of marketing, political", {"purpose": "charity"}, "deny"),
    ("deny if purpose is not one of marketing, political", {"purpose": "marketing"}, "allow"),
    ("deny if technology is prerecorded", {"technology": "prerecorded"}, "deny"),
    # technology defaults to manual when the call does not say
    ("deny if technology is manual", {}, "deny"),
    ("deny if line_type is mobile", {"line_type": "mobile"}, "deny"),
    ("deny if relationship.contract_active is true",
     {"relationship": {"contract_active": True}}, "deny"),
    ("deny if relationship.contract_active is true",
     {"relationship": {"contract_active": False}}, "allow"),
    ('deny if subject is "debt 42"', {"subject": "debt 42"}, "deny"),
    ('deny if subject is "debt 42"', {"subject": "debt 43"}, "allow"),
    ("deny if from is withheld", {"from": "withheld"}, "deny"),
    ("deny if from is withheld", {"from": "+12125550199"}, "allow"),
    ("deny if region is US-NY", {}, "deny"),
    ("deny if region is US-FL", {}, "allow"),
    ("deny if country is US", {}, "deny"),
    ("deny if sector is missing", {}, "deny"),
    ("deny if sector is missing", {"sector": "life_insurance"}, "allow"),
    ("deny if sector is present", {"sector": "life_insurance"}, "deny"),
    ("deny if sector is present", {}, "allow"),
])
def test_equality_membership_presence(tmp_path, effect, fields, expected):
    assert decide(tmp_path, effect, **fields).decision == expected


def test_missing_fact_fails_closed_and_is_named(tmp_path):
    d = decide(tmp_path, "deny if purpose is marketing")
    assert d.decision == "deny"
    (finding,) = d.violations
    assert finding.missing_facts == ("purpose",)
    assert "purpose" in finding.message


def test_unknown_line_type_counts_as_missing(tmp_path):
    d = decide(tmp_path, "deny if line_type is mobile", line_type="unknown")
    assert d.decision == "deny"
    assert d.violations[0].missing_facts == ("line_type",)


def test_require_passes_only_when_condition_holds(tmp_path):
    assert decide(tmp_path, "require purpose is research", purpose="research").allowed
    assert not decide(tmp_path, "require purpose is research", purpose="marketing").allowed


# ---- date comparisons and field ages ------------------------------------------------------


@pytest.mark.parametrize(("effect", "when", "expected"), [
    ("deny if relationship.last_transaction_at < 2026-01-01", "2025-12-31T23:00:00-05:00", "deny"),
    ("deny if relationship.last_transaction_at < 2026-01-01", "2026-01-01T00:00:00-05:00", "allow"),
    # the date is the callee's local date: 02:00 UTC on Jan 1 is still Dec 31 in New York
    ("deny if relationship.last_transaction_at < 2026-01-01", "2026-01-01T02:00:00Z", "deny"),
    ("deny if relationship.last_transaction_at >= 2026-01-01", "2026-01-01T00:00:00-05:00", "deny"),
    ("deny if relationship.last_transaction_at = 2026-03-01", "2026-03-01T18:00:00-05:00", "deny"),
    ("deny if relationship.last_transaction_at != 2026-03-01", "2026-03-01T18:00:00-05:00", "allow"),
])
def test_compare_timestamp_with_date(tmp_path, effect, when, expected):
    d = decide(tmp_path, effect, relationship={"last_transaction_at": when})
    assert d.decision == expected


def test_compare_call_time(tmp_path):
    assert decide(tmp_path, "deny if at >= 2026-06-15").decision == "deny"
    assert decide(tmp_path, "deny if at > 2026-06-15").decision == "allow"


def test_compare_missing_field_is_unknown(tmp_path):
    d = decide(tmp_path, "deny if relationship.last_transaction_at < 2026-01-01")
    assert d.violations[0].missing_facts == ("relationship.last_transaction_at",)


@pytest.mark.parametrize(("age", "when", "holds"), [
    ("within 3 months", "2026-03-15T12:00:00-04:00", True),   # exactly 3 months: at or after
    ("within 3 months", "2026-03-15T11:59:59-04:00", False),
    ("within 3 months", "2026-06-15T12:00:01-04:00", False),  # after the call: not "within"
    ("more than 30 days ago", "2026-05-16T12:00:00-04:00", False),  # exactly 30 days
    ("more than 30 days ago", "2026-05-16T11:59:59-04:00", True),
    ("at least 30 days ago", "2026-05-16T12:00:00-04:00", True),
    ("less than 2 hours ago", "2026-06-15T10:00:00-04:00", False),
    ("less than 2 hours ago", "2026-06-15T10:00:01-04:00", True),
    ("between 1 days and 1 weeks ago", "2026-06-10T12:00:00-04:00", True),
    ("between 1 days and 1 weeks ago", "2026-06-15T00:00:00-04:00", False),
    ("between 1 days and 1 weeks ago", "2026-06-08T11:00:00-04:00", False),
])
def test_field_ages(tmp_path, age, when, holds):
    d = decide(tmp_path, f"deny if relationship.last_inquiry_at {age}",
               relationship={"last_inquiry_at": when})
    assert d.decision == ("deny" if holds else "allow")


def test_field_age_of_absent_timestamp_is_unknown(tmp_path):
    # Issue #18 item 8: a missing timestamp cannot be placed in time (it was read as false).
    d = decide(tmp_path, "deny if relationship.last_inquiry_at within 3 months")
    assert d.decision == "deny"
    assert d.violations[0].missing_facts == ("relationship.last_inquiry_at",)


# ---- lists ----------------------------------------------------------------------------------

DNC = "uses list dnc"


def test_on_list_from_call_field(tmp_path):
    on = decide(tmp_path, "deny if callee on list dnc", extra=DNC, lists=[{"name": "dnc"}])
    off = decide(tmp_path, "deny if callee on list dnc", extra=DNC, lists=[{"name": "other"}],
                 lists_checked_at={"dnc": "2026-06-01"})
    assert (on.decision, off.decision) == ("deny", "allow")
    # lists given, but the call does not say it checked dnc: not known
    unknown = decide(tmp_path, "deny if callee on list dnc", extra=DNC, lists=[{"name": "other"}])
    assert unknown.decision == "deny"
    assert unknown.violations[0].missing_facts == ("lists.dnc",)


@pytest.mark.parametrize(("listed_at", "expected"), [
    ("2026-05-15", "deny"),             # 31 days before the call's date
    ("2026-06-01", "allow"),            # listed 14 days ago: still in its grace period
    (None, "deny"),                     # an unknown listing date counts as listed long ago
])
def test_on_list_with_listing_age(tmp_path, listed_at, expected):
    entry = {"name": "dnc"} if listed_at is None else {"name": "dnc", "listed_at": listed_at}
    d = decide(tmp_path, "deny if callee on list dnc listed at least 31 days ago", extra=DNC,
               lists=[entry])
    assert d.decision == expected


def test_on_list_from_list_file(tmp_path):
    numbers = tmp_path / "dnc.txt"
    numbers.write_text(f"{NYC}\n", encoding="utf-8")
    ps = load_text(tmp_path, policy_text(rule("deny if callee on list dnc"), extra=DNC),
                   lists={"dnc": numbers})
    assert ps.decide(call(AT)).decision == "deny"
    assert ps.decide(call(AT, to=MIAMI)).decision == "allow"


def test_listed_age_from_csv_list_file(tmp_path):
    numbers = tmp_path / "dnc.csv"
    numbers.write_text(f"number,listed_at\n{NYC},2026-06-10\n{MIAMI},2026-01-01\n",
                       encoding="utf-8")
    ps = load_text(tmp_path, policy_text(
        rule("deny if callee on list dnc listed at least 31 days ago"), extra=DNC),
        lists={"dnc": numbers})
    assert ps.decide(call(AT)).decision == "allow"  # listed 5 days ago
    assert ps.decide(call(AT, to=MIAMI)).decision == "deny"


@pytest.mark.parametrize(("checked", "expected", "missing"), [
    ({"dnc": "2026-05-20"}, "allow", ()),
    ({"dnc": "2026-05-01"}, "deny", ()),
    ({}, "deny", ("lists_checked_at.dnc",)),
    ({"other": "2026-06-01"}, "deny", ("lists_checked_at.dnc",)),
])
def test_list_checked(tmp_path, checked, expected, missing):
    d = decide(tmp_path, "require list dnc checked within 31 days", extra=DNC,
               lists_checked_at=checked)
    assert d.decision == expected
    if expected == "deny":
        assert d.violations[0].missing_facts == missing


def test_date_only_list_dates_are_midnight_where_the_callee_is(tmp_path):
    # 23:30 on June 14 in New York: New York's midnight of the 14th is 23.5 hours earlier
    # (UTC's midnight would be 27.5 hours earlier)
    ps = load_rule(tmp_path, "require list dnc checked within 1 days", extra=DNC)
    checked = {"dnc": "2026-06-14"}
    assert ps.decide(call("2026-06-14T23:30:00-04:00", lists_checked_at=checked)).allowed
    assert not ps.decide(call("2026-06-15T00:30:00-04:00", lists_checked_at=checked)).allowed


@pytest.mark.parametrize("checked", ["2026-06-14", "2026-06-14T08:00:00-04:00", None])
def test_a_placed_check_date_is_read_without_the_callees_zone(tmp_path, monkeypatch, checked):
    from ringfence.contract.request import instant_in
    from ringfence.engine import runtime

    ps = load_rule(tmp_path, "require list dnc checked within 1 days", extra=DNC)
    given = {"dnc": checked} if checked else {}
    placed = ps._evaluator.context(call(lists_checked_at=given))  # as decide reads it
    bare = ps._evaluator.gather(call(lists_checked_at=given))  # its bare date as given
    expected = instant_in(bare.call.lists_checked_at.get("dnc"), bare.home)
    assert runtime.checked_at(bare, "dnc") == expected
    # the placed call's instant is read as it is: the callee's zone is not looked up again
    monkeypatch.setattr(runtime.Ctx, "home", property(lambda ctx: pytest.fail("home read")))
    assert runtime.checked_at(placed, "dnc") == expected


# ---- consent --------------------------------------------------------------------------------


def consent(kind="express_written", purposes=("marketing",), at="2026-01-01T00:00:00Z", **more):
    return {"type": kind, "purposes": list(purposes), "at": at, **more}


@pytest.mark.parametrize(("effect", "records", "purpose", "holds"), [
    ("consent express_written for marketing", [consent()], None, True),
    ("consent express for marketing", [consent()], None, True),  # written satisfies express
    ("consent express_written for marketing", [consent("express")], None, False),
    ("consent express for marketing", [consent("express")], None, True),
    ("consent for marketing", [consent("express")], None, True),
    ("consent for marketing", [consent(purposes=["research"])], None, False),
    ("consent for this purpose", [consent(purposes=["research"])], "research", True),
    ("consent for this purpose", [consent(purposes=["research"])], "marketing", False),
    # granted after the call: not yet in force
    ("consent for marketing", [consent(at="2026-06-15T16:00:01Z")], None, False),
    ("consent for marketing", [consent(at="2026-06-15T16:00:00Z")], None, True),
    # expired: in force up to, not at, its expiry
    ("consent for marketing", [consent(expires_at="2026-06-15T16:00:00Z")], None, False),
    ("consent for marketing", [consent(expires_at="2026-06-15T16:00:01Z")], None, True),
    # revoked before the call
    ("consent for marketing", [consent(revoked_at="2026-06-01T00:00:00Z")], None, False),
    ("consent for marketing", [consent(revoked_at="2026-07-01T00:00:00Z")], None, True),
    # one good record among bad ones is enough
    ("consent for marketing",
     [consent(revoked_at="2026-06-01T00:00:00Z"), consent("express")], None, True),
    ("consent for marketing", [], None, False),
])
def test_consent(tmp_path, effect, records, purpose, holds):
    d = _decide_with(tmp_path, f"require {effect}", "consent", records, purpose)
    assert d.decision == ("allow" if holds else "deny")


# The scope of a consent: the seller it was given to and the number it covers. Each way, in
# both evaluators; a seller-scoped record on a call that names no seller is not known.
@pytest.mark.parametrize(("scope", "fields", "verdict", "missing"), [
    ({"seller": "acme"}, {"seller": "acme"}, "allow", None),
    ({"seller": "acme"}, {"seller": "bolt"}, "deny", ()),
    ({"seller": "acme"}, {"seller": "Acme"}, "deny", ()),  # text, as given
    ({"seller": "acme"}, {}, "deny", ("seller",)),
    ({}, {"seller": "bolt"}, "allow", None),  # unscoped: any seller
    ({"number": NYC}, {}, "allow", None),
    ({"number": MIAMI}, {}, "deny", ()),
    ({"number": MIAMI}, {"seller": "acme"}, "deny", ()),
    ({"number": NYC, "seller": "acme"}, {"seller": "acme"}, "allow", None),
    ({"number": MIAMI, "seller": "acme"}, {"seller": "acme"}, "deny", ()),
    # another number's consent never counts, so the unknown seller is not asked for
    ({"number": MIAMI, "seller": "acme"}, {}, "deny", ()),
])
def test_consent_scope(tmp_path, scope, fields, verdict, missing):
    ps = load_rule(tmp_path, "require consent for marketing")
    raw = call(AT, consent=[consent(**scope)], **fields)
    fast, reference = both_ways(ps, raw)
    assert fast == reference
    d = ps.decide(raw)
    assert d.decision == verdict
    if missing is not None:
        assert d.violations[0].missing_facts == missing


def test_a_record_in_scope_counts_beside_one_that_is_not_known(tmp_path):
    ps = load_rule(tmp_path, "require consent for marketing")
    scoped, other = consent(seller="acme"), consent(purposes=["research"])
    assert ps.decide(call(AT, consent=[scoped, consent()])).allowed
    d = ps.decide(call(AT, consent=[scoped, other]))
    assert d.violations[0].missing_facts == ("seller",)


def test_a_scoped_consent_as_an_exemption_denies_when_the_seller_is_not_known(tmp_path):
    ps = load_rule(tmp_path, "deny if purpose is marketing", "unless consent for marketing")
    raw = call(AT, purpose="marketing", consent=[consent(seller="acme")])
    fast, reference = both_ways(ps, raw)
    assert fast == reference
    assert ps.decide(raw).violations[0].missing_facts == ("seller",)
    assert ps.decide({**raw, "seller": "acme"}).allowed
    assert not ps.decide({**raw, "seller": "bolt"}).allowed


def _decide_with(tmp_path, clause: str, field: str, items: list, purpose: str | None):
    """Decide a one-rule policy on a call giving ``field`` and, when not None, a purpose."""
    fields = {field: items} | ({} if purpose is None else {"purpose": purpose})
    return decide(tmp_path, clause, **fields)


def test_consent_for_this_purpose_without_purpose_is_unknown(tmp_path):
    d = decide(tmp_path, "require consent for this purpose",
               consent=[consent(purposes=["marketing"])])
    assert d.decision == "deny"
    assert d.violations[0].missing_facts == ("purpose",)


def test_unknown_unless_does_not_exempt(tmp_path):
    d = decide(tmp_path, "deny if technology is manual", "unless consent for this purpose",
               consent=[consent()])
    assert d.decision == "deny"
    ok = decide(tmp_path, "deny if technology is manual", "unless consent for this purpose",
                consent=[consent()], purpose="marketing")
    assert ok.decision == "allow"


# ---- opt-outs -------------------------------------------------------------------------------


@pytest.mark.parametrize(("condition", "opt_outs", "purpose", "holds"), [
    ("opted out", [{"at": "2026-06-01T00:00:00Z"}], None, True),
    ("opted out", [], None, False),
    ("opted out", [{"at": "2026-06-15T16:00:01Z"}], None, False),  # after the call
    ("opted out for marketing", [{"at": "2026-06-01T00:00:00Z"}], None, True),  # no purposes: all
    ("opted out for marketing", [{"at": "2026-06-01T00:00:00Z", "purposes": ["research"]}],
     None, False),
    ("opted out for marketing", [{"at": "2026-06-01T00:00:00Z", "purposes": ["marketing"]}],
     None, True),
    ("opted out for this purpose",
     [{"at": "2026-06-01T00:00:00Z", "purposes": ["research"]}], "research", True),
    ("opted out for this purpose",
     [{"at": "2026-06-01T00:00:00Z", "purposes": ["research"]}], "marketing", False),
    ("opted out within 30 days", [{"at": "2026-06-01T00:00:00Z"}], None, True),
    ("opted out within 30 days", [{"at": "2026-01-01T00:00:00Z"}], None, False),
    ("opted out more than 1 years ago", [{"at": "2025-01-01T00:00:00Z"}], None, True),
    ("opted out for marketing within 30 days",
     [{"at": "2026-01-01T00:00:00Z"}, {"at": "2026-06-10T00:00:00Z", "purposes": ["research"]}],
     None, False),
])
def test_opted_out(tmp_path, condition, opt_outs, purpose, holds):
    d = _decide_with(tmp_path, f"deny if {condition}", "opt_outs", opt_outs, purpose)
    assert d.decision == ("deny" if holds else "allow")


# ---- history events -------------------------------------------------------------------------


def attempt(hours_ago, outcome="no_answer", **more):
    return {"at": ago(AT, hours=hours_ago), "outcome": outcome, **more}


@pytest.mark.parametrize(("condition", "fields", "holds"), [
    ("last purchase within 18 months",
     {"relationship": {"last_transaction_at": "2025-01-01T00:00:00Z"}}, True),
    ("last purchase within 18 months",
     {"relationship": {"last_transaction_at": "2024-12-01T00:00:00Z"}}, False),
    ("last purchase within 18 months", {}, False),
    ("last inquiry within 3 months",
     {"relationship": {"last_inquiry_at": "2026-04-01T00:00:00Z"}}, True),
    ("last attempt within 1 hours", {"history": [attempt(0.5)]}, True),
    ("last attempt within 1 hours", {"history": [attempt(2)]}, False),
    # the latest attempt decides, not any attempt
    ("last attempt more than 1 hours ago", {"history": [attempt(5), attempt(0.5)]}, False),
    ("last conversation within 1 days", {"history": [attempt(2, "voicemail")]}, False),
    ("last conversation within 1 days", {"history": [attempt(2, "conversation")]}, True),
    ("last refusal within 1 days", {"history": [attempt(2, "refused")]}, True),
    ("last attempt with outcome voicemail, busy within 1 days",
     {"history": [attempt(2, "busy")]}, True),
    ("last attempt with outcome voicemail within 1 days",
     {"history": [attempt(2, "busy")]}, False),
    ("last attempt with same subject within 1 days",
     {"subject": "a", "history": [attempt(2, subject="b")]}, False),
    ("last attempt with same subject within 1 days",
     {"subject": "a", "history": [attempt(2, subject="a")]}, True),
    ("last attempt with same campaign within 1 days",
     {"campaign": "c1", "history": [attempt(2, campaign="c1")]}, True),
    ("last attempt with same purpose within 1 days",
     {"purpose": "research", "history": [attempt(2, purpose="marketing")]}, False),
    ("last opt_out within 30 days", {"opt_outs": [{"at": "2026-06-01T00:00:00Z"}]}, True),
    # history at or after the call is not "last"
    ("last attempt within 1 days", {"history": [{"at": "2026-06-15T16:00:01Z"}]}, False),
    ("any refusal", {"history": [attempt(24 * 400, "refused")]}, True),
    ("any refusal", {"history": [attempt(1, "busy")]}, False),
    ("any conversation with same subject",
     {"subject": "a", "history": [attempt(900, "conversation", subject="a")]}, True),
    ("any conversation with same subject",
     {"subject": "a", "history": [attempt(900, "conversation", subject="b")]}, False),
])
def test_events(tmp_path, condition, fields, holds):
    d = decide(tmp_path, f"deny if {condition}", **fields)
    assert d.decision == ("deny" if holds else "allow")


def test_same_subject_filter_without_subject_is_unknown(tmp_path):
    d = decide(tmp_path, "deny if any conversation with same subject",
               history=[attempt(3, "conversation", subject="a")])
    assert d.decision == "deny"
    assert d.violations[0].missing_facts == ("subject",)


# ---- three-valued logic ---------------------------------------------------------------------


@pytest.mark.parametrize(("condition", "fields", "expected", "missing"), [
    # true or unknown = true (the rule fires, and no fact is needed)
    ("purpose is marketing or sector is banking", {"purpose": "marketing"}, "deny", None),
    # false or unknown = unknown -> fail closed naming the fact
    ("purpose is research or sector is banking", {"purpose": "marketing"}, "deny", ("sector",)),
    # false and unknown = false
    ("purpose is research and sector is banking", {"purpose": "marketing"}, "allow", None),
    # true and unknown = unknown
    ("purpose is marketing and sector is banking", {"purpose": "marketing"}, "deny",
     ("sector",)),
    ("not sector is banking", {}, "deny", ("sector",)),
    ("not sector is banking", {"sector": "banking"}, "allow", None),
    ("not (purpose is research or purpose is charity)", {"purpose": "marketing"}, "deny", None),
    ("not (purpose is research or purpose is charity)", {"purpose": "charity"}, "allow", None),
    ("(purpose is research or purpose is charity) and technology is manual",
     {"purpose": "charity"}, "deny", None),
])
def test_three_valued_logic(tmp_path, condition, fields, expected, missing):
    d = decide(tmp_path, f"deny if {condition}", **fields)
    assert d.decision == expected
    if missing is not None:
        assert d.violations[0].missing_facts == missing


def test_and_binds_tighter_than_or(tmp_path):
    # a or (b and c): with a true the rule fires whatever b and c are
    d = decide(tmp_path, "deny if purpose is marketing or purpose is research and sector is x",
               purpose="marketing")
    assert d.decision == "deny"
    d = decide(tmp_path, "deny if purpose is charity or purpose is research and sector is x",
               purpose="research", sector="y")
    assert d.decision == "allow"


def test_unknown_when_violates_naming_the_fact(tmp_path):
    d = decide(tmp_path, "deny if technology is prerecorded", "when purpose is marketing")
    assert d.decision == "deny"
    assert d.violations[0].missing_facts == ("purpose",)
    assert decide(tmp_path, "deny if technology is prerecorded", "when purpose is marketing",
                  purpose="research").allowed


def test_when_false_makes_rule_not_applicable(tmp_path):
    ps = load_rule(tmp_path, "deny if technology is manual", "when purpose is marketing")
    d = ps.decide(call(AT, purpose="research"), trace=True)
    assert d.allowed
    assert [t.outcome for t in d.trace] == ["not_applicable"]


def test_several_when_clauses_must_all_hold(tmp_path):
    clauses = ("when purpose is marketing", "when technology is manual")
    assert not decide(tmp_path, "deny if country is US", *clauses, purpose="marketing").allowed
    assert decide(tmp_path, "deny if country is US", *clauses, purpose="marketing",
                  technology="autodialer").allowed


def test_any_unless_exempts(tmp_path):
    clauses = ("unless purpose is research", "unless sector is banking")
    ps = load_rule(tmp_path, "deny if country is US", *clauses)
    assert ps.decide(call(AT, sector="banking")).allowed
    assert ps.decide(call(AT, purpose="research")).allowed
    d = ps.decide(call(AT, purpose="marketing", sector="x"), trace=True)
    assert d.decision == "deny"
    assert d.trace[0].outcome == "violated"
    exempt = ps.decide(call(AT, sector="banking"), trace=True)
    assert exempt.trace[0].outcome == "exempt"
    assert "unless" in exempt.trace[0].detail and "banking" in exempt.trace[0].detail


def test_decision_carries_rule_details(tmp_path):
    text = policy_text(
        'rule r "Rule title"\n  cite "Cite A", "Cite B"\n  message "Custom message"\n'
        "  deny if purpose is marketing\n")
    d = load_text(tmp_path, text).decide(call(AT, purpose="marketing"))
    (f,) = d.violations
    assert (f.policy, f.rule, f.title, f.level) == ("t", "r", "Rule title", "deny")
    assert f.message == "Custom message"
    assert f.citations == ("Cite A", "Cite B")
    assert (f.source.line, f.source.column) == (6, 1)
    assert f.source.file.endswith("t.rf")
    assert violated(d) == {"r"}


@pytest.mark.parametrize("condition", ["last purchase within 18 months",
                                       "last inquiry more than 3 months ago", "any purchase",
                                       "last inquiry between 2 business days and 1 years ago"])
@pytest.mark.parametrize("days", [None, -30, -1, 0, 1, 3, 60, 400, 800])
def test_an_event_the_call_gives_as_one_instant_is_the_last_of_its_kind(tmp_path, condition,
                                                                       days):
    """``last purchase``/``last inquiry`` read the call's field (runtime.event_age), as
    ``last_event`` reads every event kind: the same answer, for an instant before, at or after
    the call's, or none."""
    from ringfence.engine import runtime

    policyset = load_rule(tmp_path, f"deny if {condition}")
    field = "last_transaction_at" if "purchase" in condition else "last_inquiry_at"
    fields = {} if days is None else {"relationship": {field: ago(AT, days=days)}}
    ctx = policyset._evaluator.context(call(AT, **fields))
    (policy,) = policyset._evaluator.policies
    applied = policy.rules[0].effect.apply  # type: ignore[union-attr]
    assert applied.fn is runtime.event_age
    age = applied.args[-1].value
    event = "purchase" if "purchase" in condition else "inquiry"
    expected = runtime.last_event(ctx, event, runtime.HistoryFilter((), None), age)
    assert runtime.event_age(ctx, getattr(ctx.call, field), ctx.t, age) is expected
