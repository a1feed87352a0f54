"""Number-list files (one E.164 per line, or CSV number,listed_at) and NumberList lookups."""

from __future__ import annotations

import datetime as dt

import pytest
from test_core_support import FIXTURES, MIAMI, NYC, PHILLY, call, load_text, policy_text, rule

import ringfence
from ringfence import InputError, NumberList


def ts(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def test_plain_file_with_comments_and_blank_lines():
    numbers = NumberList.from_file(FIXTURES / "dnc.txt")
    assert len(numbers) == 2
    assert NYC in numbers and MIAMI in numbers
    assert PHILLY not in numbers
    assert numbers.lookup(NYC) == (True, None)
    assert numbers.lookup(PHILLY) == (False, None)


def test_csv_with_header_and_dates():
    numbers = NumberList.from_file(FIXTURES / "dnc.csv")
    assert len(numbers) == 3
    assert numbers.lookup(NYC) == (True, ts("2026-06-10T00:00:00+00:00"))
    assert numbers.lookup(MIAMI) == (True, ts("2026-01-01T00:00:00+00:00"))
    assert numbers.lookup(PHILLY) == (True, None)          # empty date: listed, date unknown
    assert numbers.lookup("+12125550102") == (False, None)


def test_header_after_leading_comments(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text(f"# source: a registry download\n\nnumber,listed_at\n{NYC},2026-06-10\n",
                    encoding="utf-8")
    numbers = NumberList.from_file(path)
    assert len(numbers) == 1 and NYC in numbers


def test_whitespace_and_offsets(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text(f"  {NYC} , 2026-03-01T10:00:00-05:00 \n", encoding="utf-8")
    assert NumberList.from_file(path).lookup(NYC) == (True, ts("2026-03-01T15:00:00+00:00"))


def test_listed_twice_keeps_the_earliest_date(tmp_path):
    path = tmp_path / "l.csv"
    path.write_text(f"{NYC},2026-05-01\n{NYC},2026-02-01\n{NYC},2026-04-01\n", encoding="utf-8")
    numbers = NumberList.from_file(path)
    assert len(numbers) == 1
    assert numbers.lookup(NYC) == (True, ts("2026-02-01T00:00:00+00:00"))


@pytest.mark.parametrize(("content", "line"), [
    (f"{NYC}\n2125550102\n", 2),                    # no plus sign
    (f"{NYC}\n\n# c\n+1 212 555 0102\n", 4),        # spaces inside the number
    (f"number,listed_at\n{NYC},yesterday\n", 2),    # not a date
    (f"{NYC},2026-01-01,extra\n", 1),               # too many columns
    ("+0125550101\n", 1),                           # no country code starts with 0
    ("number,listed_at\nnumber,listed_at\n", 2),    # a header only on the first line
])
def test_bad_line_names_file_and_line(tmp_path, content, line):
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as err:
        NumberList.from_file(path)
    assert f"{path}:{line}:" in str(err.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(InputError) as err:
        NumberList.from_file(tmp_path / "missing.txt")
    assert "missing.txt" in str(err.value)


def test_a_list_given_as_something_else_is_named():
    # A Python list of numbers is a common slip: the error says what is accepted.
    with pytest.raises(InputError) as err:
        ringfence.load("us-federal", lists={"national_dnc": [NYC]})
    assert str(err.value) == "list 'national_dnc': give a file path or a NumberList, not list"


def test_many_numbers_are_all_found_and_near_misses_are_not():
    numbers = [f"+1212{n:07d}" for n in range(0, 60_000, 3)]
    table = NumberList((n, None) for n in numbers)
    assert len(table) == len(numbers)
    assert all(n in table for n in numbers)
    assert not any(f"+1212{n:07d}" in table for n in range(1, 60_000, 3))
    assert "+4412120000000" not in table


def test_dates_are_kept_per_number():
    entries = [(f"+3361234{n:04d}", 1_700_000_000.0 + n) for n in range(2000)]
    table = NumberList(entries)
    assert all(table.lookup(n) == (True, when) for n, when in entries)


# ---- list files through the API -----------------------------------------------------------

POLICY = policy_text(rule("deny if callee on list dnc", rid="dnc")
                     + rule("deny if callee on list dnc listed at least 31 days ago", rid="old"),
                     extra="  uses list dnc")


def test_lists_argument_reads_files(tmp_path):
    ps = load_text(tmp_path, POLICY, lists={"dnc": FIXTURES / "dnc.csv"})
    at = "2026-06-15T12:00:00-04:00"
    assert {f.rule for f in ps.decide(call(at, to=NYC)).violations} == {"dnc"}   # listed 5 days
    assert {f.rule for f in ps.decide(call(at, to=MIAMI)).violations} == {"dnc", "old"}
    assert {f.rule for f in ps.decide(call(at, to=PHILLY)).violations} == {"dnc", "old"}
    assert ps.decide(call(at, to="+12125550199")).allowed


def test_call_field_and_file_both_count(tmp_path):
    ps = load_text(tmp_path, POLICY, lists={"dnc": str(FIXTURES / "dnc.txt")})
    assert not ps.decide(call(to=PHILLY, lists=[{"name": "dnc"}])).allowed
    assert not ps.decide(call(to=NYC)).allowed
    assert ps.decide(call(to=PHILLY)).allowed


def test_prebuilt_number_list_can_be_passed(tmp_path):
    table = NumberList([(PHILLY, None)])
    ps = load_text(tmp_path, POLICY, lists={"dnc": table})
    assert not ps.decide(call(to=PHILLY)).allowed
    assert ps.decide(call(to=NYC)).allowed


def test_date_only_listing_reads_the_same_from_file_and_call(tmp_path):
    text = policy_text(rule("deny if callee on list dnc listed at least 5 days ago"),
                       extra="  uses list dnc")
    listed = tmp_path / "d.csv"
    listed.write_text(f"{NYC},2026-06-10\n", encoding="utf-8")
    from_file = load_text(tmp_path, text, lists={"dnc": listed})
    from_field = load_text(tmp_path, text)
    # 22:00 on June 14 in New York: 4 days 22 hours after New York's midnight of June 10,
    # 5 days 2 hours after UTC's
    at = "2026-06-14T22:00:00-04:00"
    field = from_field.decide(call(at, lists=[{"name": "dnc", "listed_at": "2026-06-10"}]))
    assert field.decision == "allow"
    assert from_file.decide(call(at)).decision == field.decision


def test_bad_list_file_fails_the_load(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("not a number\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_text(tmp_path, POLICY, lists={"dnc": bad})
    assert f"{bad}:1" in str(err.value)
    with pytest.raises(ringfence.RingfenceError):
        load_text(tmp_path, POLICY, lists={"dnc": tmp_path / "nope.txt"})


@pytest.mark.parametrize("limit", [0, 1 << 18])
def test_fast_membership_agrees_with_the_table(monkeypatch, limit):
    # Small lists answer from a frozenset, big ones from the table: both must say the same.
    monkeypatch.setattr("ringfence.facts.numberlist.SET_LIMIT", limit)
    stored = [f"+1212555{n:04d}" for n in range(0, 2000, 3)]
    numbers = NumberList((n, None) for n in stored)
    probes = [f"+1212555{n:04d}" for n in range(2000)] + ["+12125550000", "+4930123456"]
    for probe in probes:
        assert numbers.contains(probe) is (probe in numbers) is (probe in stored)
    uses_set = isinstance(getattr(numbers.contains, "__self__", None), frozenset)
    assert uses_set is (limit > 0)
