"""``ringfence scrub``: the batch path against ``decide`` row by row, bad rows, plans, the CLI."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ringfence
from ringfence.contract.decision import rfc3339
from ringfence.engine.batch import (
    _InStep,
    _list_positions,
    _listing_codes,
    ascending,
    e164_numbers,
    group_calls,
)
from ringfence.errors import CallError
from ringfence.tools.calltable import read_table
from ringfence.tools.cli import cli
from ringfence.tools.scrub import Plan, judge_row, scrub
from ringfence.tools.scrub_cli import write_result

LISTED = ("+12125550102", "+13055550177", "+447911123456")
# Numbers of every kind a campaign holds: one area code of one zone, area codes reaching two zones
# (850, 928), abroad, on a list, malformed, invalid in its plan.
NUMBERS = ("+12125550101", "+12125550102", "+12125559999", "+13055550177", "+13055550178",
           "+18505550101", "+19285550101", "+447911123456", "+447911123457", "+61412345678",
           "+12120000000", "+1212555", "12125550101", "+1 212 555 0101")
FIELDS = {
    "purpose": ("marketing", "informational", "debt_collection", "market ing"),
    "technology": ("manual", "autodialer", "prerecorded", "telepathy"),
    "line_type": ("mobile", "landline", "unknown"),
    "from": ("+12025550143", "withheld"),
    "to_timezone": ("America/Chicago", "Mars/Olympus"),
    "to_region": ("US-FL", "GB"),
    "to_postal_code": ("33101", "10001", "99999"),
    "lists_checked_at": ('{"national_dnc": "2026-11-20"}', '{"national_dnc": "2026-09-01"}',
                         "{not json"),
}
# No attempts, consent or opt-outs: said, not left out (left out, each is a missing fact)
NO_EVENTS: dict[str, list[object]] = {"history": [], "consent": [], "opt_outs": []}
PLANS = (Plan("local", day=dt.date(2026, 12, 1), time=dt.time(8, 30)),
         Plan("day", day=dt.date(2026, 12, 5)),
         Plan("instant", at=dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC)))


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory) -> ringfence.PolicySet:
    folder = tmp_path_factory.mktemp("lists")
    (folder / "dnc.txt").write_text("\n".join(LISTED[:2]) + "\n", encoding="utf-8")
    (folder / "tps.txt").write_text(f"{LISTED[2]},2026-01-05\n", encoding="utf-8")
    return ringfence.load("us-federal", "us-fl", "us-ny", "gb", lists={
        "national_dnc": folder / "dnc.txt", "tps": folder / "tps.txt"})


def _write(path: Path, rows: list[dict[str, str]], fmt: str) -> Path:
    names = list(dict.fromkeys(k for row in rows for k in row)) or ["to"]
    if fmt == "csv":
        lines = [",".join(names)]
        lines += [",".join(json.dumps(row[n]) if n in row else "" for n in names) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(_nested(row)) + "\n" for row in rows), encoding="utf-8")
    else:
        pq.write_table(pa.table({n: pa.array([row.get(n) for row in rows], pa.string())
                                 for n in names}), path)
    return path


def _nested(row: dict[str, str]) -> dict[str, object]:
    out: dict[str, object] = dict(row)
    if "lists_checked_at" in row:
        # text that is not JSON stays text: not an object, which decide rejects
        with contextlib.suppress(json.JSONDecodeError):
            out["lists_checked_at"] = json.loads(row["lists_checked_at"])
    return out


row_strategy = st.fixed_dictionaries(
    {"to": st.sampled_from(NUMBERS)},
    optional={name: st.sampled_from(values) for name, values in FIELDS.items()})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row_strategy, min_size=1, max_size=40), fmt=st.sampled_from(["csv", "jsonl",
       "parquet"]), plan=st.sampled_from(PLANS))  # fmt: skip
def test_batch_path_agrees_with_decide_on_every_row(policies, tmp_path, rows, fmt, plan):
    calls = read_table(_write(tmp_path / f"c.{fmt}", rows, fmt))
    batch = scrub(policies, calls, plan)
    reference = scrub(policies, calls, plan, batch=False)
    assert batch.table.equals(reference.table)
    assert batch.summary()["rows"] == len(rows)
    assert batch.summary() | {"groups": 0} == reference.summary() | {"groups": 0}


def test_a_generated_campaign_shares_decisions_and_agrees(policies, tmp_path):
    rows = [{"to": NUMBERS[i % 10], "purpose": FIELDS["purpose"][i % 3],
             "technology": FIELDS["technology"][i % 2], "line_type": "mobile"}
            for i in range(600)]
    calls = read_table(_write(tmp_path / "c.parquet", rows, "parquet"))
    plan = PLANS[0]
    batch = scrub(policies, calls, plan)
    assert batch.groups < 60  # far fewer decisions than rows
    assert batch.table.equals(scrub(policies, calls, plan, batch=False).table)


def test_parquet_text_read_as_dictionaries_over_row_groups_agrees(policies, tmp_path):
    # Each row group of a Parquet file has its own dictionaries (text is read as dictionaries,
    # also inside a struct): rows are keyed by value across them, and judged as decide judges.
    rng = np.random.default_rng(3)
    rows = 300
    pick = lambda values: [values[i] for i in rng.integers(0, len(values), rows)]  # noqa: E731
    checked = pick([{"national_dnc": "2026-11-20"}, None, {"national_dnc": None}])
    table = pa.table({"to": pick(NUMBERS[3:7]), "purpose": pick(("marketing", "research", None)),
                      "technology": pick(("manual",)), "from": pick(("+12025550143",)),
                      "to_postal_code": pick(("33101", None)),
                      "lists_checked_at": pa.array(checked, pa.struct([("national_dnc",
                                                                        pa.string())]))})
    pq.write_table(table, tmp_path / "c.parquet", row_group_size=37)
    calls = read_table(tmp_path / "c.parquet")
    assert pa.types.is_dictionary(calls.table.schema.field("purpose").type)
    assert calls.table.column("purpose").num_chunks > 1
    for plan in PLANS:
        batch = scrub(policies, calls, plan)
        assert batch.groups <= 4 * 3 * 2 * 3  # at most one per combination of values
        assert batch.table.equals(scrub(policies, calls, plan, batch=False).table)
    records = calls.records_at(np.arange(rows))
    assert records == list(calls.records())
    # rows grouped together are the same call but for the number
    columns = {name: calls.table.column(name).combine_chunks() for name in calls.table.column_names}
    groups = group_calls(policies, columns, rows)
    assert (groups.group >= 0).all()  # nothing here needs judging alone
    for row, group in enumerate(groups.group.tolist()):
        first = records[groups.first[group]]
        assert {**records[row], "to": None} == {**first, "to": None}


E164 = re.compile(r"\+[1-9][0-9]{6,14}\Z")  # the call schema's pattern for `to`
number_texts = st.one_of(
    st.from_regex(E164, fullmatch=True),
    st.text(st.sampled_from("+0123456789 \n١é-"), max_size=18),
    st.builds(lambda digits, tail: f"+{digits}{tail}", st.text("0123456789", min_size=5,
              max_size=17), st.sampled_from(["", "\n", "١", "x"])),
    st.none())


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(number_texts, max_size=30))
def test_numbers_read_by_columns_are_those_the_schema_accepts(texts):
    # "+", a digit other than 0, 6 to 14 more ASCII digits (not other scripts' digits, no
    # trailing newline): those texts as their digits' integer, every other text as 0
    expected = [int(t[1:]) if t is not None and E164.match(t) else 0 for t in texts]
    assert e164_numbers(pa.array(texts, pa.string())).tolist() == expected


@pytest.mark.parametrize("largest", [10**12, 10**15 - 1])
def test_numbers_are_ordered_as_argsort_orders_them(largest):
    # a million numbers up to 10**12 sort packed with their positions; up to 10**15 they do not
    # fit beside twenty bits of position and are argsorted
    numbers = np.random.default_rng(7).integers(0, largest, 1_000_000)
    numbers[:1000] = numbers[1000:2000]  # equal numbers too
    order = ascending(numbers)
    assert np.array_equal(numbers[order], np.sort(numbers))
    assert np.array_equal(np.sort(order), np.arange(len(numbers)))
    assert len(ascending(np.array([], dtype=np.int64))) == 0


@pytest.mark.parametrize("listed", [50, 5_000])
def test_a_list_is_searched_alike_shorter_or_longer_than_the_batch(listed):
    # a list of at most a quarter as many numbers as the batch is hashed, a longer one searched
    # in step with the numbers sorted: both find each number's position in the list's keys, -1
    # for one not on it (a list without dates: 0 for a number on it)
    rng = np.random.default_rng(11)
    keys = np.unique(rng.integers(10**10, 2 * 10**10, listed))
    numbers = np.concatenate([rng.choice(keys, 300), rng.integers(10**10, 2 * 10**10, 700),
                              np.zeros(5, dtype=np.int64)])
    rng.shuffle(numbers)
    where = {key: at for at, key in enumerate(keys.tolist())}
    found = _list_positions(keys, numbers, _InStep(numbers))
    assert found.tolist() == [where.get(n, -1) for n in numbers.tolist()]
    assert (found >= 0).sum() >= 300
    listed_codes = _listing_codes(keys, None, numbers, _InStep(numbers))
    assert listed_codes.tolist() == [0 if n in where else -1 for n in numbers.tolist()]


def test_zones_are_those_decide_judges_in(policies):
    for extra in ({}, {"to_postal_code": "32501"}, {"to_timezone": "America/Denver"}):
        call = {"to": "+18505550101", "at": "2026-12-01T12:00:00Z", **extra}
        names = [zone.key for zone in policies.zones(call)]
        assert names == policies.decide(call).timezones
    with pytest.raises(CallError):
        policies.zones({"to": "+1212555", "at": "2026-12-01T12:00:00Z"})


def test_judge_row_is_decide_at_the_planned_local_time(policies):
    call = {"to": "+13055550178", "purpose": "marketing", "line_type": "mobile"}
    verdict = judge_row(policies, call, PLANS[0])
    decision = policies.decide({**call, "at": "2026-12-01T08:30:00-05:00"})
    assert verdict.at == "2026-12-01T08:30:00-05:00"  # 08:30 on the Miami callee's clock
    assert verdict.decision == decision.decision
    assert verdict.violations == tuple(f"{v.policy}/{v.rule}" for v in decision.violations)
    assert verdict.next_allowed_at == rfc3339(decision.next_allowed_at)
    assert verdict.jurisdiction == "US-FL"


def test_a_listed_number_is_denied_by_its_list_rule(policies):
    verdict = judge_row(policies, {"to": "+12125550102", "purpose": "marketing"}, PLANS[0])
    assert "us-federal/national-dnc" in verdict.violations
    assert verdict.next_allowed_at is None  # waiting never takes a number off a list


def test_a_day_plan_finds_the_first_allowed_time(policies):
    # 00:00 is outside the calling hours; the day still has allowed hours, from 08:00
    call = {"to": "+13055550178", "purpose": "marketing", "line_type": "landline",
            "from": "+12025550143", "lists_checked_at": {"national_dnc": "2026-11-20"},
            **NO_EVENTS}
    verdict = judge_row(policies, call, PLANS[1])
    assert (verdict.decision, verdict.violations) == ("allow", ())
    assert verdict.at == "2026-12-05T00:00:00-05:00"
    assert verdict.next_allowed_at == "2026-12-05T08:00:00-05:00"
    assert policies.decide({**call, "at": verdict.next_allowed_at}).allowed
    # at midnight itself the calling-hours rules deny it
    assert not policies.decide({**call, "at": verdict.at}).allowed


def test_a_day_with_no_allowed_time_is_denied_with_the_rules(policies):
    call = {"to": "+12125550102", "purpose": "marketing", "line_type": "landline",
            "from": "+12025550143", "lists_checked_at": {"national_dnc": "2026-11-20"},
            **NO_EVENTS}
    verdict = judge_row(policies, call, PLANS[1])
    assert verdict.decision == "deny" and "us-federal/national-dnc" in verdict.violations
    assert verdict.next_allowed_at is None


def test_bad_rows_are_error_rows_naming_row_and_field(policies, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("to,purpose\n+12125550101,marketing\n+12125550101,marketing,extra\n"
                    "+1212555,marketing\n+12125550101,market ing\n", encoding="utf-8")
    table = scrub(policies, read_table(path), PLANS[0]).table.to_pylist()
    assert [r["row"] for r in table] == [1, 2, 3, 4]
    assert [r["decision"] for r in table][1:] == ["error"] * 3
    assert [(r["error_field"], r["error"]) for r in table][1:3] == [
        ("(row)", "more cells than columns"),
        ("to", "+1212555 is not a valid number in its numbering plan")]
    assert table[3]["error_field"] == "purpose"
    assert table[3]["error"].startswith("'market ing' is not in the form required here")


def test_jsonl_lines_that_are_not_calls_are_error_rows(policies, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text('{"to": "+12125550101"}\nnot json\n[1]\n{"to": "+12125550101", '
                    '"purpose": 7}\n', encoding="utf-8")
    table = scrub(policies, read_table(path), PLANS[0]).table.to_pylist()
    assert [(r["row"], r["decision"], r["error_field"]) for r in table] == [
        (1, table[0]["decision"], None), (2, "error", "(line)"), (3, "error", "(call)"),
        (4, "error", "purpose")]
    assert table[0]["decision"] in ("allow", "deny")


def test_a_policy_reading_to_keys_rows_by_number(tmp_path):
    policy = tmp_path / "house.rf"
    policy.write_text('policy house "House rules"\n  version 1\n  applies to any\n\n'
                      'rule no-test-line "Not the test line"\n  cite "house rule 1"\n'
                      '  deny if to is "+12125550101"\n', encoding="utf-8")
    house = ringfence.load(policy)
    rows = [{"to": "+12125550101"}, {"to": "+12125550109"}]
    result = scrub(house, read_table(_write(tmp_path / "c.csv", rows, "csv")), PLANS[2])
    assert [r["decision"] for r in result.table.to_pylist()] == ["deny", "allow"]


def _cli(*args: str):
    return CliRunner().invoke(cli, ["scrub", "-p", "us-federal", *args])


def test_cli_writes_every_format_and_a_summary(tmp_path):
    source = _write(tmp_path / "c.csv", [{"to": "+13055550178", "purpose": "marketing"},
                                         {"to": "+1212555", "purpose": "marketing"}], "csv")
    for fmt in ("csv", "jsonl", "parquet"):
        out = tmp_path / f"out.{fmt}"
        result = _cli("--at-local", "10:00", "--date", "2026-12-01", str(source), "-o", str(out),
                      "--summary-json", str(tmp_path / "s.json"))
        assert result.exit_code == 2  # one row could not be judged
        assert "1 row could not be judged" in result.output
        back = read_table(out, fmt).table.to_pylist()
        assert [r["decision"] for r in back] == ["deny", "error"]  # no consent, no caller id
        summary = json.loads((tmp_path / "s.json").read_text())
        assert (summary["rows"], summary["denied"], summary["errors"]) == (2, 1, 1)
        assert summary["by_jurisdiction"]["US-FL"] == {"deny": 1}


def test_parquet_answers_are_text_stored_as_dictionaries_lists_included(policies, tmp_path):
    rows = [{"to": "+13055550178", "purpose": "marketing"}, {"to": "+1212555"}]
    result = scrub(policies, read_table(_write(tmp_path / "c.csv", rows, "csv")),
                   Plan("local", day=dt.date(2026, 12, 1), time=dt.time(10)))
    write_result(result.table, str(tmp_path / "out.parquet"), "parquet")
    meta = pq.ParquetFile(tmp_path / "out.parquet").metadata.row_group(0)
    chunks = {meta.column(i).path_in_schema: meta.column(i) for i in range(meta.num_columns)}
    for path in ("decision", "violations.list.element", "warnings.list.element"):
        assert chunks[path].has_dictionary_page, path
    assert not chunks["to"].has_dictionary_page
    back = pq.read_table(tmp_path / "out.parquet")
    assert back.column("violations").type == pa.list_(pa.string())
    assert back.column("violations").to_pylist() == result.table.column("violations").to_pylist()


@pytest.mark.parametrize(("args", "message"), [
    (["--at", "2026-12-01T10:00"], "give an offset or Z"),
    (["--at-local", "10:00"], "go together"),
    (["--day", "2026-13-01"], "is not a date"),
    (["--at", "2026-12-01T10:00:00Z", "--day", "2026-12-01"], "give one of"),
    ([], "no 'at' column"),
])
def test_cli_rejects_bad_plans_with_exit_2(tmp_path, args, message):
    source = _write(tmp_path / "c.csv", [{"to": "+13055550178"}], "csv")
    result = _cli(*args, str(source))
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_cli_rejects_bad_files_with_exit_2(tmp_path):
    unknown = _write(tmp_path / "c.csv", [{"to": "+13055550178", "name": "Ann"}], "csv")
    result = _cli("--day", "2026-12-01", str(unknown))
    assert result.exit_code == 2 and "column 'name' is not a call field" in result.output
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    result = _cli("--day", "2026-12-01", str(broken))
    assert result.exit_code == 2 and "not a parquet file" in result.output
    result = _cli("--day", "2026-12-01", str(tmp_path / "missing.csv"))
    assert result.exit_code == 2 and "cannot read" in result.output


def test_parquet_lists_empty_or_not_agree_with_decide(policies, tmp_path):
    attempt = pa.struct([("at", pa.string()), ("outcome", pa.string())])
    history = [[], [], [{"at": "2026-12-01T09:00:00-05:00", "outcome": "no_answer"}], None, []]
    table = pa.table({
        "to": ["+13055550178", "+13055550179", "+13055550178", "+13055550178", "+12125550102"],
        "purpose": ["marketing"] * 5, "line_type": ["landline"] * 5,
        "from": ["+12025550143"] * 5,
        "history": pa.array(history, pa.list_(attempt)),
        "consent": pa.array([[]] * 5, pa.list_(pa.struct([("type", pa.string())]))),
        "opt_outs": pa.array([[]] * 5, pa.list_(pa.struct([("at", pa.string())]))),
        "lists_checked_at": pa.array([{"national_dnc": "2026-11-20"}] * 5,
                                     pa.struct([("national_dnc", pa.string())])),
    })
    pq.write_table(table, tmp_path / "c.parquet")
    calls = read_table(tmp_path / "c.parquet")
    for plan in PLANS:
        batch = scrub(policies, calls, plan)
        assert batch.groups == 4  # rows 1 and 2 share one decision; the history row is alone
        assert batch.table.equals(scrub(policies, calls, plan, batch=False).table)
    answers = scrub(policies, calls, PLANS[0]).table.to_pylist()
    assert answers[0]["decision"] == "allow"  # 08:30 in Miami, no attempts, not listed
    assert "us-federal/national-dnc" in answers[4]["violations"]
