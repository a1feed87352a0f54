"""Holiday calendars defined in a policy, rule metadata kept like law, and ``ringfence holidays``.

Calendars: what the checker rejects (with the place and a did-you-mean), what the formatter
writes, the days closed year after year (observed days too, across the turn of a year), and that
both evaluators agree on them. Metadata: a pending rule only warns, naming its expected start.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_core_support import call, load_text, policy_text, rule, violated, warned

import ringfence
from ringfence.errors import PolicyError
from ringfence.language import nodes
from ringfence.language.formatter import format_text
from ringfence.language.parser import parse_text
from ringfence.tools.cli import cli
from ringfence.tools.holidays_cli import closures

OBSERVED = ("  holidays fed: january 1 \"New Year's Day\", july 4 \"Independence Day\",\n"
            "    december 25 \"Christmas Day\" observed: saturday -> friday, sunday -> monday\n")
CLOSED = "allow only\n    every day 00:00 to 24:00 exclusive\n    closed on fed\n    callee local time"


def _diagnostics(text: str) -> list:
    """Every diagnostic of a policy text (parse and check)."""
    from ringfence.language.checker import check

    try:
        policy = parse_text(text)
    except PolicyError as err:
        return list(err.diagnostics)
    return check(policy, text)


def _codes(text: str) -> list[str]:
    return [d.code for d in _diagnostics(text)]


# ---- recurring dates ---------------------------------------------------------------------------


def test_the_pennsylvania_calendar_gives_the_dates_the_old_policy_listed_by_hand():
    policy = ringfence.load("us-pa")
    [window] = [r.window for p in policy.compiled for r in p.rules if r.id == "legal-holidays"]
    [days] = window.calendars
    listed = {  # the dates us-pa.rf listed for 2025 to 2027 before it had a calendar
        2025: "01-01 01-20 02-17 04-18 05-26 06-14 07-04 09-01 10-13 11-04 11-11 11-27 12-25",
        2026: "01-01 01-19 02-16 04-03 05-25 06-14 07-04 09-07 10-12 11-03 11-11 11-26 12-25",
        2027: "01-01 01-18 02-15 03-26 05-31 06-14 07-04 09-06 10-11 11-02 11-11 11-25 12-25",
    }
    for year, dates in listed.items():
        assert [d for d, _ in days.calendar.closures(year)] == [
            dt.date.fromisoformat(f"{year}-{md}") for md in dates.split()]


@pytest.mark.parametrize(("text", "year", "expected"), [
    ("third monday of january", 2026, "2026-01-19"),
    ("last monday of may", 2026, "2026-05-25"),
    ("last monday of may", 2027, "2027-05-31"),
    ("fifth monday of may", 2027, "2027-05-31"),
    ("fifth monday of may", 2026, None),  # May 2026 has four Mondays
    ("tuesday after first monday of november", 2026, "2026-11-03"),
    ("tuesday after first monday of november", 2028, "2028-11-07"),  # Nov 1 is a Wednesday
    ("friday after fourth thursday of november", 2026, "2026-11-27"),
    ("easter", 2026, "2026-04-05"),
    ("2 days before easter", 2027, "2027-03-26"),
    ("1 day after easter", 2026, "2026-04-06"),
    ("50 days after easter", 2026, "2026-05-25"),  # Whit Monday
    ("december 25", 2026, "2026-12-25"),
])
def test_recurring_dates(text: str, year: int, expected: str | None):
    policy = parse_text(policy_text("", extra=f"  holidays x: {text}"))
    [calendar] = policy.all(nodes.HolidayCalendar)
    assert calendar.holidays[0].date.unparse() == text
    found = calendar.holidays[0].date.on(year)
    assert found == (dt.date.fromisoformat(expected) if expected else None)


def test_observed_days_move_across_the_year_and_keep_the_holiday_itself():
    [calendar] = parse_text(policy_text("", extra=OBSERVED)).all(nodes.HolidayCalendar)
    # 2021: July 4 a Sunday (observed Monday 5), Christmas a Saturday (observed Friday 24), and
    # New Year's Day 2022 a Saturday, observed on Friday 2021-12-31.
    assert calendar.closures(2021) == (
        (dt.date(2021, 1, 1), "New Year's Day"),
        (dt.date(2021, 7, 4), "Independence Day"),
        (dt.date(2021, 7, 5), "Independence Day (observed)"),
        (dt.date(2021, 12, 24), "Christmas Day (observed)"),
        (dt.date(2021, 12, 25), "Christmas Day"),
        (dt.date(2021, 12, 31), "New Year's Day (observed)"),
    )
    # 2022 does not repeat the 2021-12-31 observance
    assert [d for d, _ in calendar.closures(2022)] == [
        dt.date(2022, 1, 1), dt.date(2022, 7, 4), dt.date(2022, 12, 25), dt.date(2022, 12, 26)]
    assert calendar.closures(9999)[-1][0] == dt.date(9999, 12, 25)  # no year 10000 asked


def _agree(policyset: ringfence.PolicySet, request: dict) -> ringfence.Decision:
    evaluator = policyset._evaluator
    ctx = evaluator.context(request)
    assert evaluator.judge(ctx) == evaluator.interpreter.judge(ctx.at(ctx.t_dt))
    return policyset.decide(request)


@pytest.mark.parametrize(("at", "closed"), [
    ("2021-12-31T12:00:00-05:00", True),   # New Year's Day 2022 observed
    ("2021-12-30T23:59:59-05:00", False),
    ("2022-01-01T00:00:00-05:00", True),   # the holiday itself stays closed
    ("2022-01-03T00:00:00-05:00", False),
    ("2027-07-05T09:00:00-04:00", True),   # July 4 2027 is a Sunday
    ("2027-07-06T09:00:00-04:00", False),
    ("2032-12-24T09:00:00-05:00", True),   # Christmas 2032 is a Saturday
    ("2032-12-27T09:00:00-05:00", False),
    ("2100-07-05T09:00:00-04:00", True),   # July 4 2100 is a Sunday
])
def test_windows_close_on_observed_days_in_both_evaluators(tmp_path: Path, at: str, closed: bool):
    policyset = load_text(tmp_path, policy_text(rule(CLOSED), extra=OBSERVED))
    decision = _agree(policyset, call(at))
    assert violated(decision) == ({"r"} if closed else set())
    if closed:  # explain says which holiday closed the day
        [step] = [t for t in policyset.decide(call(at), trace=True).trace if t.rule == "r"]
        assert "(fed)" in step.detail


def test_today_is_a_holiday_in_and_its_missing_zone(tmp_path: Path):
    policyset = load_text(tmp_path, policy_text(
        rule("deny if today is a holiday in fed"), extra=OBSERVED))
    assert violated(_agree(policyset, call("2026-12-25T12:00:00-05:00"))) == {"r"}
    assert violated(_agree(policyset, call("2026-12-28T12:00:00-05:00"))) == set()
    # A number with no zone (universal freephone): not known, so it denies and names the fact.
    anywhere = load_text(tmp_path, policy_text(rule("deny if today is a holiday in fed"),
                                               extra=OBSERVED, where="any"), name="any.rf")
    unknown = _agree(anywhere, call(to="+80012345678"))
    assert unknown.violations[0].missing_facts == ("to_timezone",)
    traced = policyset.decide(call("2026-12-25T12:00:00-05:00"), trace=True)
    [step] = [t for t in traced.trace if t.rule == "r"]
    assert "Christmas Day" in step.detail


def test_the_calendar_view_names_a_policy_calendars_holiday():
    from ringfence.tools.calendar_view import week_grid

    grid = week_grid(ringfence.load("us-pa"), region="US-PA", week=dt.date(2026, 6, 14))
    [sunday] = [d for d in grid.days if d.date == dt.date(2026, 6, 14)]
    assert sunday.holiday == "Flag Day" and sunday.closed_on_date == ("us-pa/legal-holidays",)


# ---- the checker ---------------------------------------------------------------------------------


def test_an_unknown_calendar_name_gets_a_did_you_mean(tmp_path: Path):
    text = policy_text(rule(CLOSED.replace("closed on fed", "closed on feds")), extra=OBSERVED)
    [diag] = _diagnostics(text)
    assert diag.code == "RF308" and diag.suggestion == "fed" and "'feds'" in diag.message
    assert diag.span.line == text.splitlines().index("    closed on feds") + 1
    text = policy_text(rule("deny if today is a holiday in pa-legal"))
    [diag] = _diagnostics(text)
    assert diag.code == "RF308" and "holidays NAME:" in diag.message
    with pytest.raises(PolicyError):
        load_text(tmp_path, text)


@pytest.mark.parametrize(("holiday", "code", "words"), [
    ("february 30", "RF408", "not a day of any year"),
    ("april 31", "RF408", "not a day of any year"),
    ("january 0", "RF408", "not a day of any year"),
    ("february 29", "RF408", "leap years"),
    ("fifth monday of february", "RF408", "fifth monday"),
    ("3 weeks before easter", "RF408", "counted in days"),
    ("120 days after easter", "RF408", "more than 100 days"),
    ("tuesday after february 30", "RF408", "not a day of any year"),
    ("january 1.5", "RF408", "not a whole number of days"),
    ("1.5 days after easter", "RF408", "not a whole number of days"),
    ("99999999999 days after easter", "RF408", "not a whole number of days"),
    ("july 4, july 4", "RF210", "already a holiday"),
    ("july 4 observed: sunday -> sunday", "RF409", "moves nothing"),
    ("july 4 observed: sunday -> monday, sunday -> friday", "RF409", "already moved"),
])
def test_impossible_holidays_are_errors(holiday: str, code: str, words: str):
    diagnostics = _diagnostics(policy_text("", extra=f"  holidays x: {holiday}"))
    assert [d.code for d in diagnostics] == [code]
    assert words in diagnostics[0].message


def test_a_fifth_weekday_of_a_long_month_is_allowed_and_february_gets_a_suggestion():
    assert _codes(policy_text("", extra="  holidays x: fifth friday of december")) == []
    [diag] = _diagnostics(policy_text("", extra="  holidays x: fifth monday of february"))
    assert diag.suggestion == "last monday of february"


def test_a_calendar_defined_twice():
    text = policy_text("", extra="  holidays x: july 4\n  holidays x: december 25")
    [diag] = _diagnostics(text)
    assert diag.code == "RF210" and "line 4" in diag.message and diag.span.line == 5


def test_rule_metadata_and_changelog_checks():
    text = policy_text(rule("deny if purpose is marketing", 'url "www.example.org"',
                            "verification verified", "verification secondary"),
                       extra='  changelog 2026-02-01 "b"\n  changelog 2026-01-01 "a"\n'
                             '  changelog 2026-03-01 "a"')
    found = sorted((d.code, d.message) for d in _diagnostics(text))
    assert [c for c, _ in found] == ["RF205", "RF211", "RF211", "RF410"]
    assert "comes after the one of 2026-02-01" in found[1][1] + found[2][1]
    assert _codes(policy_text(rule("deny if purpose is marketing", "reviewed 2026-02-30"))) \
        == ["RF406"]


# ---- the formatter -------------------------------------------------------------------------------


def test_a_long_calendar_is_one_holiday_a_line_and_round_trips():
    text = policy_text("", extra=OBSERVED.replace("\n    ", " ").replace(",\n", ", "))
    out = format_text(text)
    assert "  holidays fed:\n    january 1 \"New Year's Day\",\n    july 4" in out
    assert "    observed: saturday -> friday, sunday -> monday\n" in out
    assert format_text(out) == out
    short = policy_text("", extra="  holidays x: july 4,december 25  observed:sunday->monday")
    assert "  holidays x: july 4, december 25 observed: sunday -> monday\n" in format_text(short)


def test_comments_inside_a_calendar_stay():
    text = policy_text("", extra="  holidays x:\n    # the statute's list\n    july 4,\n"
                                 "    december 25 # Christmas\n")
    out = format_text(text)
    assert "# the statute's list" in out and "december 25  # Christmas" in out
    assert format_text(out) == out


# ---- pending rules -------------------------------------------------------------------------------


def test_a_pending_rule_only_warns_with_its_expected_start(tmp_path: Path):
    policyset = load_text(tmp_path, policy_text(rule(
        "deny if purpose is marketing", "status pending", "effective from 2027-01-31",
        "verification secondary", "reviewed 2026-11-30")))
    for at in ("2026-06-15T12:00:00-04:00", "2028-06-15T12:00:00-04:00"):
        decision = _agree(policyset, call(at, purpose="marketing"))
        assert decision.decision == "allow" and warned(decision) == {"r"}
        assert decision.warnings[0].message.startswith(
            "Pending, not law in force (expected from 2027-01-31): ")
    [info] = policyset.policies[0].rules
    assert info.pending and info.level == "warn" and info.verification == "secondary"
    assert info.reviewed == dt.date(2026, 11, 30)


# ---- ringfence holidays --------------------------------------------------------------------------


def test_holidays_command_lists_pennsylvanias_days_for_a_year():
    result = CliRunner().invoke(cli, ["holidays", "us-pa", "--year", "2027"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 13
    assert lines[3] == ("2027-03-26  Fri  Good Friday                 us-pa/legal-holidays: "
                        "calendar pa-legal")
    assert lines[9].startswith("2027-11-02  Tue  Election Day")


def test_holidays_command_json_region_and_public_holidays():
    result = CliRunner().invoke(cli, ["holidays", "us-pa", "us-al", "us-federal", "--year",
                                      "2027", "--region", "US-AL", "--json"])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert {c["policy"] for c in found} == {"us-al"}  # us-pa does not apply in Alabama
    assert {"date": "2027-07-05", "name": "Independence Day (observed)", "policy": "us-al",
            "rule": "automated-calling-hours", "region": "US-AL",
            "source": "public holidays"} in found
    none = CliRunner().invoke(cli, ["holidays", "us-pa", "--year", "2027", "--region", "US-FL"])
    assert none.exit_code == 0 and none.output.startswith("no holidays in 2027")


@pytest.mark.parametrize(("args", "words"), [
    (["us-pa", "--region", "Pennsylvania"], "not a country or subdivision code"),
    (["us-al", "--year", "2200"], "no data for 2200"),
    (["us-pa", "--year", "0"], "0"),
    (["no-such-policy"], "RF601"),
])
def test_holidays_command_bad_input_exits_2(args: list[str], words: str):
    result = CliRunner().invoke(cli, ["holidays", *args])
    assert result.exit_code == 2 and words in result.output
    assert "Traceback" not in result.output


def test_closures_read_listed_dates_too(tmp_path: Path):
    text = policy_text(rule("allow only\n    every day 08:00 to 20:00 exclusive\n"
                            "    closed on 2026-12-24, 2027-12-24"))
    policyset = load_text(tmp_path, text)
    assert [(c.date, c.source) for c in closures(policyset, 2026)] == [
        (dt.date(2026, 12, 24), "date")]
    assert closures(policyset, 2028) == []


# ---- business days around a policy calendar -------------------------------------------------------

BUSINESS = "deny if opted out at least 3 business days excluding fed ago"


def test_business_days_excluding_a_calendar_skip_its_observed_days(tmp_path: Path):
    policyset = load_text(tmp_path, policy_text(rule(BUSINESS), extra=OBSERVED))
    # Opt-out on Thursday 2026-07-02; Friday 07-03 is Independence Day observed (July 4 is a
    # Saturday), so the third business day after it is Wednesday 07-08.
    opted = {"opt_outs": [{"at": "2026-07-02T12:00:00-04:00"}]}
    tuesday = _agree(policyset, call("2026-07-07T23:59:59-04:00", **opted))
    assert violated(tuesday) == set()
    assert violated(_agree(policyset, call("2026-07-08T00:00:00-04:00", **opted))) == {"r"}
    [step] = [t for t in policyset.decide(call("2026-07-07T12:00:00-04:00", **opted),
                                          trace=True).trace if t.rule == "r"]
    assert "3 business days excluding fed" in step.detail


def test_business_days_excluding_a_calendar_need_no_holiday_package_data(tmp_path: Path):
    # Past the holidays package's years, public holidays are unknown (the rule denies, naming
    # the fact); a policy calendar is known in every year.
    plain = load_text(tmp_path, policy_text(rule(BUSINESS.replace(" excluding fed", ""))),
                      name="plain.rf")
    ours = load_text(tmp_path, policy_text(rule(BUSINESS), extra=OBSERVED), name="ours.rf")
    late = call("2200-03-10T12:00:00-05:00", opt_outs=[{"at": "2200-03-01T12:00:00-05:00"}])
    assert plain.decide(late).violations[0].missing_facts == ("holidays",)
    assert violated(_agree(ours, late)) == {"r"} and not ours.decide(late).violations[0].missing_facts


def test_business_days_excluding_an_unknown_calendar_and_formatting():
    text = policy_text(rule(BUSINESS.replace("fed", "fd")), extra=OBSERVED)
    [diag] = _diagnostics(text)
    assert diag.code == "RF308" and diag.suggestion == "fed"
    good = policy_text(rule(BUSINESS), extra=OBSERVED).replace("3 business days excluding fed",
                                                                "3  business days  excluding  fed")
    assert "at least 3 business days excluding fed ago" in format_text(good)
