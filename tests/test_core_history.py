"""Counts of prior attempts: sliding windows at the limit and one over, filters, calendar days,
and when a capped call may be made again."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest
from test_core_support import ago, both_ways, call, load_rule, load_text, policy_text, rule, same_instant

from ringfence.contract.request import Attempt

AT = "2026-06-15T12:00:00-04:00"
CAP = "deny if count of attempts in last 24 hours >= 3"


def history(*hours_ago: float, **fields) -> list[dict]:
    return [{"at": ago(AT, hours=h), **fields} for h in hours_ago]


def decide(tmp_path, effect, **fields):
    return load_rule(tmp_path, effect).decide(call(AT, **fields))


@pytest.mark.parametrize(("hours", "expected"), [
    ((), "allow"),
    ((1, 2), "allow"),                 # at the limit: two prior, this is the third
    ((1, 2, 3), "deny"),               # one over
    ((1, 2, 23.99), "deny"),
    # exactly 24 hours before is still inside: the window includes its far end, like `within`
    # (language.md); the shipped us-fl, us-md, us-ok and ca-bc suites rely on this reading
    ((1, 2, 24), "deny"),
    ((1, 2, 24.0003), "allow"),        # 24 hours and one second before
    ((1, 2, 25), "allow"),
    ((0, 1, 2), "allow"),              # an attempt at the call's own instant is not prior
    ((-1, 1, 2), "allow"),             # nor is one after it
])
def test_sliding_window_limit(tmp_path, hours, expected):
    assert decide(tmp_path, CAP, history=history(*hours)).decision == expected


@pytest.mark.parametrize(("op", "n", "prior", "fires"), [
    (">", 2, 2, False), (">", 2, 3, True),
    ("<", 1, 0, True), ("<", 1, 1, False),
    ("<=", 1, 1, True), ("=", 2, 2, True), ("=", 2, 1, False), ("!=", 2, 1, True),
])
def test_count_operators(tmp_path, op, n, prior, fires):
    effect = f"deny if count of attempts in last 24 hours {op} {n}"
    d = decide(tmp_path, effect, history=history(*range(1, prior + 1)))
    assert d.decision == ("deny" if fires else "allow")


def test_same_subject_filter(tmp_path):
    effect = "deny if count of attempts with same subject in last 24 hours >= 3"
    mixed = history(1, 2, subject="a") + history(3, subject="b")
    assert decide(tmp_path, effect, subject="a", history=mixed).allowed
    same = history(1, 2, 3, subject="a")
    assert decide(tmp_path, effect, subject="a", history=same).decision == "deny"


def test_same_campaign_and_outcome_filters(tmp_path):
    effect = ("deny if count of attempts with same campaign with outcome voicemail, no_answer "
              "in last 7 days >= 2")
    hist = (history(1, campaign="c", outcome="voicemail")
            + history(2, campaign="c", outcome="conversation")
            + history(3, campaign="d", outcome="no_answer"))
    assert decide(tmp_path, effect, campaign="c", history=hist).allowed
    hist += history(30, campaign="c", outcome="no_answer")
    assert decide(tmp_path, effect, campaign="c", history=hist).decision == "deny"


def test_missing_subject_matters_only_when_it_could_change_the_answer(tmp_path):
    effect = "deny if count of attempts with same subject in last 24 hours >= 3"
    # fewer than 3 attempts at all: under the limit whatever the subject
    assert decide(tmp_path, effect, history=history(1, 2, subject="a")).allowed
    # 3 attempts of unknown relevance: fail closed naming the fact
    d = decide(tmp_path, effect, history=history(1, 2, 3, subject="a"))
    assert d.decision == "deny"
    assert d.violations[0].missing_facts == ("subject",)


@pytest.mark.parametrize(("attempts", "expected"), [
    (["2026-06-15T00:30:00-04:00"], "deny"),     # earlier the same local day
    (["2026-06-14T23:30:00-04:00"], "allow"),    # yesterday, though less than 24 hours ago
    # the local date counts: 03:30 UTC on the 15th is still the 14th in New York
    (["2026-06-15T03:30:00Z"], "allow"),
])
def test_calendar_day_window(tmp_path, attempts, expected):
    effect = "deny if count of attempts in last 1 calendar days >= 1"
    d = decide(tmp_path, effect, history=[{"at": a} for a in attempts])
    assert d.decision == expected


@pytest.mark.parametrize(("day", "counted"), [
    ("2026-06-09", True),     # the call's date is day one, so 7 days reach back to the 9th
    ("2026-06-08", False),
])
def test_seven_calendar_days(tmp_path, day, counted):
    effect = "deny if count of attempts in last 7 calendar days >= 1"
    d = decide(tmp_path, effect, history=[{"at": f"{day}T23:59:00-04:00"}])
    assert d.decision == ("deny" if counted else "allow")


def test_next_allowed_after_a_cap_is_when_the_oldest_attempt_leaves(tmp_path):
    d = decide(tmp_path, CAP, history=history(3, 2, 1))
    assert d.decision == "deny"
    # attempts at 09:00, 10:00, 11:00: the 09:00 attempt leaves the window right after 09:00
    # tomorrow (the window includes its far end), so the next whole second is the answer
    assert same_instant(d.next_allowed_at, "2026-06-16T09:00:01-04:00")
    ps = load_rule(tmp_path, CAP)
    assert not ps.decide(call("2026-06-16T09:00:00-04:00", history=history(3, 2, 1))).allowed
    assert ps.decide(call("2026-06-16T09:00:01-04:00", history=history(3, 2, 1))).allowed


def test_next_allowed_after_a_calendar_day_cap_is_local_midnight(tmp_path):
    effect = "deny if count of attempts in last 1 calendar days >= 2"
    d = decide(tmp_path, effect, history=history(1, 2))
    assert d.decision == "deny"
    assert same_instant(d.next_allowed_at, "2026-06-16T00:00:00-04:00")


def test_next_allowed_after_a_wait_since_the_last_conversation(tmp_path):
    effect = "deny if last conversation within 2 hours"
    ps = load_rule(tmp_path, effect)
    hist = history(0.5, outcome="conversation")  # at 11:30
    # `within` includes its far end: exactly 2 hours later the conversation is still within
    assert not ps.decide(call("2026-06-15T13:30:00-04:00", history=hist)).allowed
    assert ps.decide(call("2026-06-15T13:30:01-04:00", history=hist)).allowed
    d = ps.decide(call(AT, history=hist))
    assert same_instant(d.next_allowed_at, "2026-06-15T13:30:01-04:00")


def test_count_explained_in_trace(tmp_path):
    ps = load_rule(tmp_path, CAP)
    d = ps.decide(call(AT, history=history(1, 2, 3)), trace=True)
    assert d.trace[0].outcome == "violated"
    assert ("3 earlier attempts to this number in the last 24 hours; this rule looks for 3 or "
            "more") in d.trace[0].detail


def test_every_rule_counting_the_same_business_days_names_unknown_holidays(tmp_path):
    """A business-day count is kept for the judgement only when it is known: the second rule
    measuring the same opt-out past the calendar's last year names ``holidays`` too."""
    rules = (rule("deny if opted out at least 10 business days ago", rid="first") + "\n"
             + rule("deny if opted out more than 9 business days ago", rid="second"))
    policyset = load_text(tmp_path, policy_text(rules))
    raw = call(at="2101-01-20T12:00:00-05:00", opt_outs=[{"at": "2100-12-01T12:00:00-05:00"}])
    fast, reference = both_ways(policyset, raw)
    expected = [("first", ("holidays",)), ("second", ("holidays",))]
    assert [(v.rule, v.missing_facts) for v in fast] == expected
    assert [(v.rule, v.missing_facts) for v in reference] == expected
    known = call(at="2100-12-20T12:00:00-05:00", opt_outs=[{"at": "2100-12-01T12:00:00-05:00"}])
    assert [v.rule for v in policyset.decide(known).violations] == ["first", "second"]


@pytest.mark.parametrize("filters", [
    "", "with same subject", "with outcome no_answer, busy",
    "with same subject with same campaign",
    "with same campaign with same subject with outcome no_answer",
])
def test_a_history_filter_keeps_the_attempts_each_of_its_clauses_keeps(tmp_path, filters):

    effect = f"deny if count of attempts {filters} in last 2 calendar days >= 1"
    spec = load_rule(tmp_path, effect).compiled[0].rules[0].effect.apply.args[1].value.filters

    # what the predicate reads: the call's fields (and the missing facts, none here)
    ctx = SimpleNamespace(call=SimpleNamespace(subject="s1", campaign="c1", purpose="marketing"),
                          missing=set())
    keep = spec.predicate(ctx)
    for outcome, subject, campaign in itertools.product(
            ("no_answer", "busy", "voicemail", None), ("s1", "s2", None), ("c1", "c2", None)):
        attempt = Attempt(0.0, outcome, subject, campaign, None)
        # the predicate reads the attempt's item as the request gives it: a field left out
        # is no key at all
        item = {key: value for key, value in attempt._asdict().items() if value is not None}
        expected = ((spec.outcomes is None or outcome in spec.outcomes)
                    and all(getattr(attempt, what) == getattr(ctx.call, what)
                            for what in spec.same))
        assert keep(item) is expected, (filters, attempt)


def test_a_calendar_day_count_reads_each_attempts_date_as_age_holds_does(tmp_path):
    # count_matching counts "within N calendar days" by the attempts' local dates itself
    # (Count.days); each attempt must count exactly where age_holds says it lies in the window
    from ringfence.engine import runtime

    policyset = load_rule(tmp_path, "deny if count of attempts in last 3 calendar days >= 9")
    effect = policyset._evaluator.policies[0].rules[0].effect
    spec = effect.apply.args[1].value
    assert spec.days == 3 and spec.seconds is None
    hours = range(-100, 2)  # attempts an hour apart, from four days before to just after
    raw = call(history=[{"at": ago("2026-06-15T12:00:00-04:00", hours=-h)} for h in hours])
    ctx = policyset._evaluator.context(raw)
    by_age = sum(at < ctx.t and runtime.age_holds(ctx, spec.window, at) is True
                 for at in ctx.call.history_at)
    # today up to noon and the two whole days before it
    assert runtime.count_matching(ctx, spec, runtime._every) == by_age == 12 + 24 * 2
