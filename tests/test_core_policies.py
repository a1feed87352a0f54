"""Policies together: jurisdiction, policy `when`, effective dates, include/exclude, levels,
deny overrides, provenance, and deciding from several threads."""

from __future__ import annotations

import threading

import pytest
from test_core_support import (
    FIXTURES,
    MIAMI,
    NYC,
    PANHANDLE,
    PHILLY,
    call,
    load_text,
    policy_text,
    rule,
    violated,
    warned,
    write,
)

import ringfence

AT = "2026-06-15T12:00:00-04:00"
ALWAYS = rule("deny if technology is manual")  # fires on every manual call


# ---- applies to ---------------------------------------------------------------------------


@pytest.mark.parametrize(("where", "fields", "applicable"), [
    ("US", {}, True),
    ("US", {"to": "+33612345678"}, False),                  # a French mobile
    ("US-FL", {"to": MIAMI}, True),
    ("US-FL", {"to": NYC}, False),
    ("US-FL", {"to": NYC, "to_region": "US-FL"}, True),     # to_region beats the area code
    ("US-FL", {"to": MIAMI, "to_region": "US-GA"}, False),
    ("US-NY, US-FL", {"to": MIAMI}, True),
    ("FR", {"to": "+33612345678"}, True),
    ("any", {"to": "+33612345678"}, True),
    ("any", {}, True),
])
def test_applies_to(tmp_path, where, fields, applicable):
    ps = load_text(tmp_path, policy_text(ALWAYS, where=where))
    d = ps.decide(call(AT, **fields))
    assert d.policies[0].applicable is applicable
    assert d.decision == ("deny" if applicable else "allow")


def test_subdivision_policy_with_unknown_region_denies_naming_to_region(tmp_path):
    ps = load_text(tmp_path, policy_text(ALWAYS.replace("manual", "prerecorded"), where="US-FL"))
    # to_region gives only the country: which state's law applies cannot be told
    d = ps.decide(call(AT, to=NYC, to_region="US"))
    assert d.decision == "deny"
    (finding,) = d.violations
    assert finding.missing_facts == ("to_region",)
    assert "to_region" in finding.message
    # a number of another country is simply out of scope
    assert ps.decide(call(AT, to="+33612345678")).allowed


def test_region_and_country_from_number(tmp_path):
    ps = load_text(tmp_path, policy_text(ALWAYS, where="any"))
    assert (ps.decide(call(AT, to=PHILLY)).region, ps.decide(call(AT, to=PHILLY)).country) == (
        "US-PA", "US")
    d = ps.decide(call(AT, to="+33612345678"))
    assert d.country == "FR" and d.timezones == ["Europe/Paris"]


def test_policy_when(tmp_path):
    ps = load_text(tmp_path, policy_text(ALWAYS, extra="  when purpose is marketing"))
    assert ps.decide(call(AT, purpose="marketing")).decision == "deny"
    d = ps.decide(call(AT, purpose="research"))
    assert d.allowed and d.policies[0].applicable is False
    # a policy `when` that cannot be judged fails closed
    unknown = ps.decide(call(AT))
    assert unknown.decision == "deny"
    assert unknown.violations[0].missing_facts == ("purpose",)


def test_policy_effective_dates(tmp_path):
    ps = load_text(tmp_path, policy_text(
        ALWAYS, extra="  effective from 2026-01-01 until 2027-01-01"))
    assert ps.decide(call("2025-12-31T12:00:00-05:00")).allowed
    assert not ps.decide(call("2026-01-01T00:00:00-05:00")).allowed
    # `until` is exclusive: the first day it no longer applies (in the callee's local date)
    assert not ps.decide(call("2026-12-31T23:59:59-05:00")).allowed
    assert ps.decide(call("2027-01-01T00:00:00-05:00")).allowed
    # 03:00 UTC on Jan 1 is still Dec 31 in New York: the policy is still in force there
    assert not ps.decide(call("2027-01-01T03:00:00Z")).allowed


# ---- rule-level effective dates -----------------------------------------------------------

CHANGING = (
    rule("allow only between 08:00 and 21:00 inclusive", "effective until 2026-07-01", rid="old")
    + rule("allow only between 09:00 and 20:00 inclusive", "effective from 2026-07-01", rid="new")
)


@pytest.mark.parametrize(("at", "expected", "rules"), [
    ("2026-06-30T08:30:00-04:00", "allow", set()),     # old law: 8 a.m. is fine
    ("2026-07-01T08:30:00-04:00", "deny", {"new"}),    # new law from July 1
    ("2026-06-30T20:30:00-04:00", "allow", set()),
    ("2026-07-02T20:30:00-04:00", "deny", {"new"}),
])
def test_rule_effective_dates_judge_a_past_call_by_the_law_then(tmp_path, at, expected, rules):
    d = load_text(tmp_path, policy_text(CHANGING)).decide(call(at), trace=True)
    assert d.decision == expected
    assert violated(d) == rules
    outcomes = {t.rule: t.outcome for t in d.trace}
    assert "not_in_force" in outcomes.values()


def test_next_allowed_at_respects_a_rule_coming_into_force(tmp_path):
    # 07:00 on June 30: the old rule opens at 08:00 the same day
    d = load_text(tmp_path, policy_text(CHANGING)).decide(call("2026-06-30T07:00:00-04:00"))
    assert d.next_allowed_at.isoformat() == "2026-06-30T08:00:00-04:00"
    # 07:00 on July 1: the new rule opens at 09:00
    d = load_text(tmp_path, policy_text(CHANGING)).decide(call("2026-07-01T07:00:00-04:00"))
    assert d.next_allowed_at.isoformat() == "2026-07-01T09:00:00-04:00"


# ---- levels and deny overrides ------------------------------------------------------------


def test_warn_does_not_block(tmp_path):
    text = policy_text(rule("warn if technology is manual", rid="w")
                       + rule("require technology is manual", "level warn", rid="w2"))
    d = load_text(tmp_path, text).decide(call(AT))
    assert d.allowed
    assert warned(d) == {"w"}
    assert {f.level for f in d.warnings} == {"warn"}
    d = load_text(tmp_path, text).decide(call(AT, technology="autodialer"))
    assert d.allowed and warned(d) == {"w2"}


def test_warn_level_on_window_rule(tmp_path):
    text = policy_text(rule("allow only between 09:00 and 17:00 inclusive", "level warn"))
    d = load_text(tmp_path, text).decide(call("2026-06-15T20:00:00-04:00"))
    assert d.allowed and warned(d) == {"r"} and d.violations == []


def test_deny_overrides_across_policies(tmp_path):
    allow_all = write(tmp_path, policy_text(rule("deny if technology is prerecorded"), pid="a"),
                      "a.rf")
    deny_manual = write(tmp_path, policy_text(ALWAYS, pid="b"), "b.rf")
    warn_manual = write(tmp_path, policy_text(rule("warn if technology is manual"), pid="c"),
                        "c.rf")
    ps = ringfence.load(allow_all, deny_manual, warn_manual)
    d = ps.decide(call(AT))
    assert d.decision == "deny"
    assert [(f.policy, f.rule) for f in d.violations] == [("b", "r")]
    assert [(f.policy, f.rule) for f in d.warnings] == [("c", "r")]
    assert [p.id for p in d.policies] == ["a", "b", "c"]
    assert ringfence.load(allow_all, warn_manual).decide(call(AT)).allowed


def test_every_violated_rule_is_reported(tmp_path):
    text = policy_text(rule("deny if technology is manual", rid="one")
                       + rule("deny if country is US", rid="two")
                       + rule("deny if country is FR", rid="three"))
    assert violated(load_text(tmp_path, text).decide(call(AT))) == {"one", "two"}


def test_folder_load_and_provenance(tmp_path):
    folder = tmp_path / "set"
    (folder / "sub").mkdir(parents=True)
    write(folder, policy_text(ALWAYS, pid="p1"), "p1.rf")
    write(folder / "sub", policy_text(ALWAYS, pid="p2"), "p2.rf")
    ps = ringfence.load(folder)
    assert sorted(p.id for p in ps.policies) == ["p1", "p2"]
    refs = ps.decide(call(AT)).to_dict()["policies"]
    assert all(r["hash"].startswith("sha256:") and len(r["hash"]) == 71 for r in refs)
    assert {r["version"] for r in refs} == {"1"}


def test_hash_changes_with_the_text(tmp_path):
    first = load_text(tmp_path, policy_text(ALWAYS)).policies[0].hash
    second = load_text(tmp_path, policy_text(ALWAYS) + "# a comment\n").policies[0].hash
    assert first != second


def test_policy_info(tmp_path):
    text = (
        'policy info "Info policy"\n  version 2026.11.1\n  applies to US, US-FL\n'
        '  effective from 2025-01-01\n  source "Src A", "Src B"\n  disclaimer "Not advice"\n'
        '  note "A note"\n\n'
        'rule r "Title"\n  cite "C1"\n  level warn\n  effective from 2025-06-01\n'
        '  message "M"\n  require technology is manual\n'
    )
    (info,) = load_text(tmp_path, text).policies
    assert (info.id, info.title, info.version) == ("info", "Info policy", "2026.11.1")
    assert info.jurisdictions == ("US", "US-FL")
    assert str(info.effective_from) == "2025-01-01" and info.effective_until is None
    assert info.sources == ("Src A", "Src B")
    assert info.disclaimer == "Not advice" and info.notes == ("A note",)
    (r,) = info.rules
    assert (r.id, r.title, r.level, r.citations, r.message) == ("r", "Title", "warn", ("C1",), "M")
    assert str(r.effective_from) == "2025-06-01"
    assert (r.span.line, r.span.column) == (9, 1)


def test_unicode_titles_and_messages(tmp_path):
    text = ('policy cn "中国外呼规则"\n  applies to any\n\n'
            'rule nuit "Appels interdits la nuit"\n  cite "Code de la consommation"\n'
            '  message "禁止在21时至次日9时呼出"\n  deny if technology is manual\n')
    d = load_text(tmp_path, text).decide(call(AT))
    assert d.violations[0].message == "禁止在21时至次日9时呼出"
    assert d.policies[0].id == "cn"
    assert load_text(tmp_path, text).policies[0].title == "中国外呼规则"


# ---- include / exclude --------------------------------------------------------------------


def test_include_and_exclude(tmp_path):
    base = policy_text(rule("deny if technology is manual", rid="manual")
                       + rule("deny if country is US", rid="us"), pid="base")
    write(tmp_path, base, "base.rf")
    company = policy_text(rule("deny if purpose is political", rid="own"), pid="company",
                          extra='  include "base.rf"\n  exclude rule us')
    path = write(tmp_path, company, "company.rf")
    ps = ringfence.load(path)
    assert [r.id for r in ps.policies[0].rules] == ["manual", "own"]
    assert [r.origin for r in ps.policies[0].rules] == ["base", "company"]
    d = ps.decide(call(AT, purpose="political"))
    assert [(f.policy, f.rule) for f in d.violations] == [("company", "manual"), ("company", "own")]


def test_include_by_id_from_the_same_folder(tmp_path):
    write(tmp_path, policy_text(rule("deny if country is US", rid="us"), pid="base"), "base.rf")
    path = write(tmp_path, policy_text("", pid="top", extra="  include base"), "top.rf")
    assert violated(ringfence.load(path).decide(call(AT))) == {"us"}


def test_include_cycle_and_bad_exclude(tmp_path):
    write(tmp_path, policy_text(ALWAYS, pid="a", extra='  include "b.rf"'), "a.rf")
    b = write(tmp_path, policy_text("", pid="b", extra='  include "a.rf"'), "b.rf")
    with pytest.raises(ringfence.PolicyError) as err:
        ringfence.load(b)
    assert [d.code for d in err.value.diagnostics] == ["RF602"]
    write(tmp_path, policy_text(ALWAYS, pid="base"), "base.rf")
    c = write(tmp_path, policy_text("", pid="c", extra='  include "base.rf"\n  exclude rule nope'),
              "c.rf")
    with pytest.raises(ringfence.PolicyError) as err:
        ringfence.load(c)
    assert [d.code for d in err.value.diagnostics] == ["RF602"]


def test_duplicate_policy_ids_across_files(tmp_path):
    one = write(tmp_path, policy_text(ALWAYS, pid="same"), "one.rf")
    two = write(tmp_path, policy_text(ALWAYS, pid="same"), "two.rf")
    with pytest.raises(ringfence.PolicyError) as err:
        ringfence.load(one, two)
    assert [d.code for d in err.value.diagnostics] == ["RF202"]


def test_unknown_policy_reference_suggests_a_shipped_id():
    with pytest.raises(ringfence.PolicyError) as err:
        ringfence.load("us-federall")
    (diag,) = err.value.diagnostics
    assert diag.code == "RF601"
    assert diag.suggestion == "us-federal"


# ---- threads ------------------------------------------------------------------------------


def _thread_calls() -> list[dict]:
    calls = []
    for i in range(120):
        hour = 6 + i % 18
        to = (NYC, MIAMI, PANHANDLE, PHILLY)[i % 4]
        calls.append(call(
            f"2026-{3 + i % 9:02d}-{1 + i % 27:02d}T{hour:02d}:{i % 60:02d}:00-04:00", to=to,
            purpose=("marketing", "research")[i % 2],
            lists=[{"name": "dnc"}] if i % 5 == 0 else [],
            history=[{"at": f"2026-02-{1 + j:02d}T12:00:00Z"} for j in range(i % 4)],
        ))
    return calls


def test_decide_is_thread_safe():
    ps = ringfence.load(FIXTURES / "hours.rf")
    calls = _thread_calls()
    expected = [ps.decide(c).to_dict() for c in calls]
    # a fresh set, so the threads also race on filling the caches
    shared = ringfence.load(FIXTURES / "hours.rf")
    results: list[list[dict] | None] = [None] * 4
    errors: list[BaseException] = []

    def work(slot: int) -> None:
        try:
            order = calls[slot:] + calls[:slot]  # each thread starts elsewhere
            got = [shared.decide(c).to_dict() for c in order]
            results[slot] = got[-slot:] + got[:-slot] if slot else got
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for got in results:
        assert got == expected
    assert {d["decision"] for d in expected} == {"allow", "deny"}
