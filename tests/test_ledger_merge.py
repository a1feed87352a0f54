"""merge_call: the call may add a fact, never erase one (no database needed)."""

from __future__ import annotations

from ringfence.ledger.merge import LedgerFacts, Revocation, merge_call
from ringfence.ledger.times import to_micros

AT = "2026-06-15T12:00:00Z"


def test_ledger_attempt_at_or_after_the_call_is_placed_just_before_it() -> None:
    facts = LedgerFacts(history=[{"at": AT}, {"at": "2026-06-16T00:00:00Z", "outcome": "busy"},
                                 {"at": "2026-06-14T00:00:00Z"}])
    merged = merge_call({"to": "+1", "at": AT}, facts)
    assert merged["history"] == [{"at": "2026-06-15T11:59:59.999000Z"},
                                 {"at": "2026-06-15T11:59:59.999000Z", "outcome": "busy"},
                                 {"at": "2026-06-14T00:00:00Z"}]


def test_an_attempt_given_by_both_counts_once_and_the_call_keeps_its_own() -> None:
    mine = {"at": "2026-06-14T00:00:00Z", "outcome": "no_answer"}
    other = {"at": "2026-06-13T00:00:00Z", "outcome": "voicemail"}
    facts = LedgerFacts(history=[mine, {"at": "2026-06-12T00:00:00Z"}])
    merged = merge_call({"to": "+1", "at": AT, "history": [mine, other]}, facts)
    assert merged["history"] == [mine, other, {"at": "2026-06-12T00:00:00Z"}]


def test_partial_revocation_splits_a_consent() -> None:
    consent = {"type": "express", "purposes": ["marketing", "research"], "at": "2026-01-01T00:00:00Z"}
    facts = LedgerFacts(revocations=[Revocation(("marketing",), to_micros("2026-02-01T00:00:00Z"),
                                                "sms")])
    merged = merge_call({"to": "+1", "at": AT, "consent": [consent]}, facts)
    assert merged["consent"] == [
        {**consent, "purposes": ["marketing"], "revoked_at": "2026-02-01T00:00:00Z"},
        {**consent, "purposes": ["research"]}]


def test_a_later_revocation_in_the_call_is_brought_forward_by_the_ledger() -> None:
    consent = {"type": "express", "purposes": ["marketing"], "at": "2026-01-01T00:00:00Z",
               "revoked_at": "2026-05-01T00:00:00Z"}
    facts = LedgerFacts(revocations=[Revocation(None, to_micros("2026-02-01T00:00:00Z"), "web")])
    merged = merge_call({"to": "+1", "at": AT, "consent": [consent]}, facts)
    assert merged["consent"] == [{**consent, "revoked_at": "2026-02-01T00:00:00Z"}]


def test_an_earlier_revocation_in_the_call_stands() -> None:
    consent = {"type": "express", "purposes": ["marketing"], "at": "2026-01-01T00:00:00Z",
               "revoked_at": "2026-01-15T00:00:00Z"}
    facts = LedgerFacts(revocations=[Revocation(None, to_micros("2026-02-01T00:00:00Z"), "web")])
    assert merge_call({"to": "+1", "at": AT, "consent": [consent]}, facts)["consent"] == [consent]


def test_list_dates_take_the_later_one() -> None:
    facts = LedgerFacts(lists_checked_at={"a": "2026-06-01T00:00:00Z", "b": "2026-05-01T00:00:00Z"})
    merged = merge_call({"to": "+1", "at": AT,
                         "lists_checked_at": {"a": "2026-05-20", "b": "2026-05-20"}}, facts)
    assert merged["lists_checked_at"] == {"a": "2026-06-01T00:00:00Z", "b": "2026-05-20"}


def test_malformed_fields_are_left_for_decide_to_name() -> None:
    facts = LedgerFacts(history=[{"at": AT}], opt_outs=[{"at": AT}],
                        lists_checked_at={"a": "2026-06-01T00:00:00Z"})
    call = {"to": "+1", "at": AT, "history": "x", "opt_outs": {}, "lists_checked_at": {"a": "soon"}}
    assert merge_call(call, facts) == {**call, "consent": []}
    assert merge_call({"to": "+1", "at": "noon"}, facts) == {"to": "+1", "at": "noon"}
    assert merge_call(["not", "a", "call"], facts) == ["not", "a", "call"]


def test_a_ledger_that_holds_nothing_about_a_number_answers_none() -> None:
    # Left out of a call, history, consent and opt-outs are unknown; the ledger is their record,
    # so a number it holds nothing about has none of them.
    call = {"to": "+1", "at": AT}
    assert merge_call(call, LedgerFacts()) == {**call, "history": [], "consent": [],
                                               "opt_outs": []}
    given = {**call, "history": [{"at": "2026-06-14T00:00:00Z"}], "consent": [], "opt_outs": []}
    assert merge_call(given, LedgerFacts()) == given
