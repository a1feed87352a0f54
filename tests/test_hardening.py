"""Hostile input (issue #18): every bad piece is reported where it is, and the rest still runs."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
from pathlib import Path

import holidays
import phonenumbers
import pytest
from click.testing import CliRunner
from phonenumbers import PhoneNumberType
from test_core_support import FIXTURES, NYC, policy_text, rule, write

import ringfence
from ringfence.errors import CallError, InputError
from ringfence.facts import numberblocks
from ringfence.facts.callee import HolidaysUnknown, StandardFacts
from ringfence.facts.numberblocks import block_key_length
from ringfence.facts.numberlist import NumberList
from ringfence.testing import suite as suite_module
from ringfence.testing import yamlload
from ringfence.testing.cli import test_command as ringfence_test
from ringfence.tools import decidework
from ringfence.tools.cli import cli

HOURS = str(FIXTURES / "hours.rf")
# "none" said the way a dialer says it: no attempts, no consent, the dnc list washed today
GOOD = {"id": "good", "to": NYC, "at": "2026-06-15T12:00:00-04:00", "purpose": "marketing",
        "history": [], "consent": [], "lists": [], "lists_checked_at": {"dnc": "2026-06-15"}}
GOOD_LINE = json.dumps(GOOD).encode()
MANUAL = "deny if technology is manual"
RINGFENCE = [sys.executable, "-c", "from ringfence.tools.cli import main; main()"]


def decide(data: bytes, *args: str):
    """``ringfence decide`` on ``data`` as stdin: (exit code, output records, stderr)."""
    result = CliRunner().invoke(cli, ["decide", "-p", HOURS, *args], input=data)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    records = [json.loads(line) for line in result.stdout_bytes.split(b"\n") if line]
    return result.exit_code, records, result.stderr


def call_line(**fields: object) -> bytes:
    return json.dumps({**GOOD, **fields}).encode()


# ---- item 4: one bad line loses nothing else ------------------------------------------------


BAD_LINES = {
    "not UTF-8": (b'{"id": "x\xff"}', "not UTF-8"),
    "4301 digits": (b'{"id": "x", "n": ' + b"7" * 4301 + b"}", "more than 4300 digits"),
    "nested 1000 deep": (b"[" * 1000 + b"]" * 1000, "nested too deeply"),
    "NaN": (b'{"id": "x", "meta": {"v": NaN}}', "NaN"),
    "Infinity": (b'{"id": "x", "meta": {"v": -Infinity}}', "Infinity"),
    "1e999": (b'{"id": "x", "meta": {"v": 1e999}}', "too large"),
    "lone surrogate": (call_line(id="\\ud800").replace(b"\\\\", b"\\"), "not Unicode"),
    "zone folder": (call_line(id="z", to_timezone="America"), "'America' is not a known"),
    "long zone": (call_line(id="z", to_timezone="A" * 300), "(300 characters)"),
}


@pytest.mark.parametrize("name", BAD_LINES)
def test_a_bad_line_is_an_error_record_and_the_batch_goes_on(name):
    bad, message = BAD_LINES[name]
    code, records, err = decide(GOOD_LINE + b"\n" + bad + b"\n" + GOOD_LINE + b"\n")
    assert code == 2
    assert "1 malformed call" in err
    first, error, last = records
    assert first["id"] == last["id"] == "good" and last["decision"] == "allow"
    assert error["line"] == 2
    assert message in error["error"]
    assert "site-packages" not in error["error"]
    if name.endswith("zone") or name == "zone folder":
        assert error["id"] == "z" and error["path"] == "to_timezone"


def test_error_record_keeps_the_id_of_a_call_that_fails_on_output():
    line = call_line(id="s1", meta={"note": "\\udfff"}).replace(b"\\\\", b"\\")
    _, (record,), _ = decide(line)
    assert record == {"line": 1, "id": "s1", "error": record["error"]}
    assert "not Unicode" in record["error"]


def test_output_is_utf8_whatever_the_terminal_encoding():
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    line = call_line(id="é-1").decode()
    done = subprocess.run([*RINGFENCE, "decide", "-p", HOURS],
                          input=(line + "\n" + line + "\n").encode(), capture_output=True,
                          env=env, check=False)
    assert done.returncode == 0, done.stderr
    records = [json.loads(x) for x in done.stdout.decode("utf-8").splitlines()]
    assert [r["id"] for r in records] == ["é-1", "é-1"]


def test_closed_stdin_is_a_clear_error():
    done = subprocess.run([*RINGFENCE, "decide", "-p", HOURS],
                          preexec_fn=lambda: os.close(0), capture_output=True, check=False)
    assert done.returncode == 2
    assert done.stderr.decode().strip() == "error: standard input is closed; give the calls as a file"


def test_a_binary_list_file_is_named_with_its_line(tmp_path):
    bad = tmp_path / "dnc.txt"
    bad.write_bytes(b"+12125550199\n\xff\xfe\x00\x01\n")
    code, records, err = decide(GOOD_LINE, "--list", f"dnc={bad}")
    assert code == 2 and records == []
    assert err.strip() == f"error: {bad}:2: not UTF-8 text (byte 0xff); is this a list file?"


def test_a_huge_bad_list_line_is_quoted_short(tmp_path):
    bad = tmp_path / "dnc.txt"
    bad.write_text("+12125550199\n" + "9" * 1_000_000 + "\n")
    code, _, err = decide(GOOD_LINE, "--list", f"dnc={bad}")
    assert code == 2
    assert f"{bad}:2: expected an E.164 number" in err
    assert "(1000000 characters)" in err and len(err) < 300


def test_a_zone_folder_in_a_policy_is_rf405(tmp_path):
    policy = tmp_path / "z.rf"
    policy.write_text('policy z "Z"\n  applies to US\n\nrule r "R"\n  cite "c"\n'
                      '  allow only between 08:00 and 21:00 inclusive, in time zone "America"\n')
    result = CliRunner().invoke(cli, ["check", str(policy)])
    assert result.exit_code == 1
    assert "RF405" in result.output and "'America' is not a known time zone" in result.output


# ---- item 5: JSON Lines end at \n only --------------------------------------------------------


def _with_break(brk: str) -> str:
    return (f'{{"id": "a{brk}b", "to": "{NYC}", "at": "2026-06-15T12:00:00-04:00", '
            '"purpose": "marketing"}')


@pytest.mark.parametrize("brk", ["\u2028", "\u2029", "\u0085"])
def test_unicode_line_breaks_inside_a_string_do_not_split_a_call(brk):
    data = "\n".join([_with_break(brk), GOOD_LINE.decode(), _with_break(brk)]).encode()
    code, records, _ = decide(data)
    assert code == 0
    assert [r["id"] for r in records] == [f"a{brk}b", "good", f"a{brk}b"]


@pytest.mark.parametrize("brk", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e"])
def test_a_raw_control_character_is_one_bad_line_not_several(brk):
    # JSON forbids raw control characters in strings: the line is one error, at its own number.
    data = "\n".join([_with_break(brk), GOOD_LINE.decode(), _with_break(brk)]).encode()
    code, records, _ = decide(data)
    assert code == 2
    assert [(r.get("line"), r.get("id")) for r in records] == [(1, None), (None, "good"),
                                                               (3, None)]


def test_crlf_lines_still_read():
    code, records, _ = decide(GOOD_LINE + b"\r\n" + GOOD_LINE + b"\r\n")
    assert code == 0 and len(records) == 2


def test_explain_reads_bad_bytes_without_a_traceback(tmp_path):
    call = tmp_path / "call.json"
    call.write_bytes(b'{"id": "\xff"}')
    result = CliRunner().invoke(cli, ["explain", "-p", HOURS, str(call)])
    assert result.exit_code == 2
    assert "not UTF-8" in result.output


def test_decide_missing_calls_file_is_named(tmp_path):
    result = CliRunner().invoke(cli, ["decide", "-p", HOURS, str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2
    assert f"cannot read {tmp_path / 'none.jsonl'}" in result.output


# ---- item 2: include reads only the policy's own tree ----------------------------------------


def _includer(folder: Path, target: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write(folder, policy_text(rule(MANUAL, rid="own"), pid="top",
                                     extra=f'  include "{target}"'), "top.rf")


@pytest.mark.parametrize("target", ["../secret.txt", "../../tree/../secret.txt", "../other.rf",
                                    "link.rf", "secret-link.txt", "/etc/passwd"])
def test_include_outside_the_tree_or_not_a_policy_is_refused_unread(tmp_path, target):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-TOKEN\n")
    write(tmp_path, policy_text(rule(MANUAL, rid="x"), pid="other"), "other.rf")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "link.rf").symlink_to(secret)
    (tmp_path / "tree" / "secret-link.txt").symlink_to(secret)
    top = _includer(tmp_path / "tree", target)
    result = CliRunner().invoke(cli, ["check", str(top)])
    assert result.exit_code == 1
    assert "TOP-SECRET" not in result.output
    assert "error RF601" in result.output
    assert "includes only .rf files in its own folder or below it" in result.output


def test_include_below_the_folder_still_works(tmp_path):
    (tmp_path / "tree" / "common").mkdir(parents=True)
    write(tmp_path / "tree" / "common", policy_text(rule(MANUAL, rid="base"), pid="base"),
          "base.rf")
    top = _includer(tmp_path / "tree", "common/../common/base.rf")
    result = CliRunner().invoke(cli, ["check", str(top)])
    assert result.exit_code == 0, result.output
    assert "2 rules" in result.output


# ---- item 9: a year the holiday calendar does not cover is unknown, so the call is denied ----


BC_CALL = {"to": "+16045550101", "purpose": "marketing", "from": "+16045550000", "history": [],
           "consent": []}


@pytest.mark.parametrize("year", [2026, 2150])
def test_christmas_in_british_columbia_is_denied_in_any_year(year):
    decision = ringfence.load("ca-bc").decide({**BC_CALL, "at": f"{year}-12-25T12:00:00-08:00"})
    assert decision.decision == "deny"
    (finding,) = decision.violations
    assert finding.rule == "calling-hours"
    assert finding.missing_facts == (() if year == 2026 else ("holidays",))


def test_a_year_past_a_calendar_s_data_is_unknown_not_a_working_day():
    facts = StandardFacts()
    for country in ("CA", "JP", "LK"):
        last = holidays.country_holidays(country).end_year  # what the package says it covers
        day, name = min(holidays.country_holidays(country, years=last).items())
        assert facts.holiday(country, None, day, False) == name
        with pytest.raises(HolidaysUnknown):
            facts.holiday(country, None, dt.date(last + 1, 1, 1), False)


# ---- items 1 and 11: a test suite's size, depth and relative times are bounded ---------------


def _laughs(width: int, depth: int) -> str:
    """YAML anchors a0..a{depth}, each naming ``width`` copies of the one before."""
    lines = ["  a0: &a0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"  a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]"
              for i in range(1, depth + 1)]
    return "\n".join(lines)


def _suite(folder: Path, body: str) -> Path:
    path = folder / "s.test.yaml"
    path.write_text('policies: [us-federal]\nnow: "2026-06-15T12:00:00-04:00"\n' + body)
    return path


def run_suite(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(ringfence_test, [str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def _bomb_suite(folder: Path, width: int, depth: int) -> Path:
    return _suite(folder, f"fixtures:\n{_laughs(width, depth)}\ndefaults:\n"
                  f"  to: '+12125550101'\n  meta: *a{depth}\n"
                  "cases:\n  - {name: one, expect: {decision: allow}}\n")


def test_aliases_past_the_value_budget_stop_at_their_line(tmp_path, monkeypatch):
    monkeypatch.setattr(yamlload, "MAX_VALUES", 500)
    path = _bomb_suite(tmp_path, 10, 3)  # 10**3 strings: twice the budget
    code, out = run_suite(path)
    assert code == 2
    assert out.startswith(f"error: {path}:6: malformed YAML: with its aliases expanded the file "
                          "holds more than 500 values")
    assert "lol" not in out


def test_the_650_byte_billion_laughs_fails_fast_in_little_memory(tmp_path):
    path = _bomb_suite(tmp_path, 10, 8)
    assert path.stat().st_size < 750

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    done = subprocess.run([*RINGFENCE, "test", str(path)], preexec_fn=limit_memory,
                          capture_output=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert b"more than 200,000 values" in done.stderr


def test_an_alias_inside_its_own_value_is_refused(tmp_path):
    path = _suite(tmp_path, "defaults: &d\n  meta: *d\ncases: []\n")
    code, out = run_suite(path)
    assert code == 2
    assert f"{path}:4: malformed YAML: the alias *d is inside the value it names" in out


def test_defaults_copied_into_many_cases_are_bounded(tmp_path, monkeypatch):
    monkeypatch.setattr(suite_module, "MAX_VALUES", 2000)
    meta = ", ".join(f"k{i}: {i}" for i in range(100))
    cases = "".join(f"  - {{name: c{i}, expect: {{decision: allow}}}}\n" for i in range(50))
    path = _suite(tmp_path, f"defaults:\n  to: '+12125550101'\n  meta: {{{meta}}}\ncases:\n"
                  + cases)
    code, out = run_suite(path)
    assert code == 2
    # each merged call holds about 210 values: the tenth case passes 2000
    assert f"{path}:16: cases[9]: the cases' calls, with defaults and fixtures merged in, hold " \
           "more than 2,000 values" in out


def test_deep_yaml_names_its_line(tmp_path):
    path = _suite(tmp_path, "cases:\n  - name: deep\n    call: {meta: " + "[" * 5000
                  + "]" * 5000 + "}\n    expect: {decision: allow}\n")
    code, out = run_suite(path)
    assert code == 2
    assert out.startswith(f"error: {path}:5: malformed YAML: nested more than 64 levels deep")


@pytest.mark.parametrize(("at", "message"), [
    ("now-99999999999999d", "is too far from now (at most 999999999 days)"),
    ("now+9999999d", "falls outside the years 1 to 9999"),
    ("now-" + "9" * 5000 + "s", "is too far from now"),
])
def test_a_relative_time_out_of_range_names_its_line(tmp_path, at, message):
    path = _suite(tmp_path, "cases:\n  - name: far\n    call: {to: '+12125550101', at: "
                  f"{at}}}\n    expect: {{decision: allow}}\n")
    code, out = run_suite(path)
    assert code == 2
    assert f"{path}:5: cases[0].call.at: " in out and message in out
    assert "internal error" not in out and len(out) < 400


def test_a_number_too_long_for_python_names_its_line(tmp_path):
    path = _suite(tmp_path, "cases:\n  - name: n\n    call: {to: '+12125550101', meta: {n: "
                  + "9" * 5000 + "}}\n    expect: {decision: allow}\n")
    code, out = run_suite(path)
    assert code == 2
    assert out.strip() == f"error: {path}:5: malformed YAML: a number with too many digits"


# ---- item 10: a number's facts never depend on the numbers looked up before it ---------------


SAN_MARINO_FIXED = "+3780549800000"  # 0549 80: a fixed line
SAN_MARINO_NONE = "+3780549820000"  # 0549 82: no such block; the old cache key ended at the 8


@pytest.mark.parametrize("order", [(SAN_MARINO_FIXED, SAN_MARINO_NONE),
                                   (SAN_MARINO_NONE, SAN_MARINO_FIXED)])
def test_san_marino_numbers_do_not_depend_on_order(order):
    facts = StandardFacts()
    answers = {}
    for number in order:
        try:
            answers[number] = facts.number(number)
        except CallError as err:
            answers[number] = err.message
    assert answers[SAN_MARINO_FIXED].country == "SM"
    assert answers[SAN_MARINO_NONE] == (f"{SAN_MARINO_NONE} is not a valid number in its "
                                        "numbering plan")


def test_an_invalid_number_s_error_names_that_number_only():
    facts = StandardFacts()
    for number in ("+99912345678", "+99912345679"):  # one block, no such country code
        with pytest.raises(CallError) as err:
            facts.number(number)
        assert err.value.message.startswith(f"{number} is not a phone number")


def test_numbers_of_one_block_get_one_answer():
    # Every example number of every region and type, against numbers that share its block (its
    # first block_key_length characters and its length) but differ in every later digit.
    rng = random.Random(18)
    facts = StandardFacts()
    types = [t for t in vars(PhoneNumberType).values() if isinstance(t, int)]
    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in types:
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            base = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            size = block_key_length(base)
            other = base[:size] + "".join(rng.choice("0123456789") for _ in base[size:])
            assert facts._lookup_number(other) == facts._lookup_number(base), (base, other)
            checked += 1
    assert checked > 1000


def test_a_suite_never_parses_a_file_that_is_not_a_policy(tmp_path):
    (tmp_path / "secret.txt").write_text("TOP-SECRET-TOKEN\n")
    path = tmp_path / "s.test.yaml"
    path.write_text("policies: [secret.txt]\ncases:\n  - {name: a, expect: {decision: allow}}\n")
    code, out = run_suite(path)
    assert code == 2
    assert "TOP-SECRET" not in out
    assert f"{path}:1: policies[0]: a policy file ends in .rf: secret.txt" in out


# ---- item 11: error records stay short, and any record can be written ------------------------


def test_an_error_record_quotes_a_huge_value_short():
    line = call_line(id="h", history=["x" * 100_000])
    code, (record,), _ = decide(line)
    assert code == 2 and record["id"] == "h"
    assert len(record["error"]) < 400 and record["error"].endswith("characters)")


def test_a_decision_too_deep_to_write_becomes_an_error_record():
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    line, is_error = decidework.encode(7, {"id": "d"}, {"id": "d", "meta": deep})
    assert is_error
    assert json.loads(line) == {"line": 7, "error": "the call is nested too deeply", "id": "d"}


def test_list_files_keep_every_line_ending_and_count_lines(tmp_path):
    listed = tmp_path / "dnc.txt"
    listed.write_bytes(b"# mac\r+12125550101\r\n+12125550102\r+12125550103\nnope\n")
    with pytest.raises(InputError, match=rf"{listed}:5: expected an E.164 number"):
        NumberList.from_file(listed)
    listed.write_bytes(b"# mac\r+12125550101\r\n+12125550102\r+12125550103\n")
    assert len(NumberList.from_file(listed)) == 3


@pytest.mark.parametrize("target", ["a\x00b.rf", "a/" * 3000 + "x.rf"])
def test_include_of_a_name_no_file_can_have_is_rf601(tmp_path, target):
    top = _includer(tmp_path, target)
    result = CliRunner().invoke(cli, ["check", str(top)])
    assert result.exit_code == 1, result.output
    assert "error RF601" in result.output


def test_closed_stdout_is_a_clear_error(tmp_path):
    calls = tmp_path / "calls.jsonl"
    calls.write_bytes(GOOD_LINE)
    done = subprocess.run([*RINGFENCE, "decide", "-p", HOURS, str(calls)],
                          preexec_fn=lambda: os.close(1), capture_output=False,
                          stderr=subprocess.PIPE, check=False)
    assert done.returncode == 2
    assert b"standard output is closed" in done.stderr


@pytest.mark.parametrize(("pattern", "prefix", "ways"), [
    (r"0549(?:8[0157-9]|9\d)\d{4}", "", {(10, 6, False), (10, 5, False)}),  # SM: 6th digit
    (r"0549(?:8[0157-9]|9\d)\d{4}", "123", set()),  # cannot start 123
    (r"(\d?){2}5", "", {(1, 1, False), (2, 2, False), (3, 3, False)}),  # empty repetitions count
    (r"([89]\d{5})$|1", "", {(6, 1, True), (1, 1, False)}),  # `$` ends a way
    (r"[2-9]\d{9}|3\d{6}", "2", {(10, 1, False)}),
])
def test_the_ways_a_pattern_matches(pattern, prefix, ways):
    assert numberblocks._pattern(pattern, prefix) == ways


def test_the_zone_tables_depth_is_its_longest_key_of_the_prefix():
    # Found from the keys sorted, where those of one prefix stand together: as deep as the
    # longest key starting with the country code and prefix, however many keys the table has.
    from phonenumbers.tzdata import TIMEZONE_DATA

    def walked(code: int, prefix: str) -> int:
        start = f"{code}{prefix}"
        return max((len(key) - len(str(code)) for key in TIMEZONE_DATA
                    if key.startswith(start)), default=0)

    prefixes = ["", "0", "2", "9", "20", "21", "44", "99", "201", "212", "415", "999"]
    depths = set()
    for code in (1, 7, 33, 44, 49, 61, 86, 262, 599, 800, 979, 998):
        for prefix in prefixes:
            depth = numberblocks._zones_depth(code, prefix)
            assert depth == walked(code, prefix), (code, prefix)
            depths.add(depth)
    assert 0 in depths and max(depths) > 3  # prefixes without keys, and long keys, were met


def test_explain_names_the_line_and_column_of_bad_json(tmp_path):
    call = tmp_path / "call.json"
    call.write_text('{\n  "id": "x",\n  "to": \n}\n')
    result = CliRunner().invoke(cli, ["explain", "-p", HOURS, str(call)])
    assert result.exit_code == 2
    assert "not JSON: Expecting value (line 4 column 1)" in result.output
