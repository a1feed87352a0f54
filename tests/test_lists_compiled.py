"""Number lists at registry scale: the kernel reader against the line-by-line reference, compiled
list files (``ringfence lists``), the bucket lookup, and lists swapped under running policies."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_core_support import MIAMI, NYC, PHILLY, call, load_text, policy_text, rule

import ringfence
from ringfence import InputError, NumberList
from ringfence.facts import listtext
from ringfence.facts.callee import StandardFacts
from ringfence.tools.cli import cli

# ---- the kernel reader agrees with the reference reader ------------------------------------

LINE = st.one_of(
    st.sampled_from(["+12125550101", "+13055550101", "+4930123456", "+12125550101,2026-06-10",
                     " +13055550101 , 2026-01-01T00:00:00Z ", "+12155550101,", "+12125550101,"
                     "2026-02-01", "+12125550101,2026-02-01T00:00:00+00:00", "", "   ", "# note",
                     " # note, with comma", "number,listed_at", "PHONE", "e164 , when",
                     "+0125550101", "+1 212 555 0101", "2125550101", "+12125550101,soon",
                     "+12125550101,2026-01-01,x", "+12125550101\v", "\u00a0+12125550101",
                     "+12125550101,2026-13-01", "caf\u00e9", "+1212555010\t"]),
    st.from_regex(r"\A\+[1-9][0-9]{6,14}\Z"),
    st.text(alphabet="+0123456789,# -:TZ", max_size=30),
)
ENDING = st.sampled_from(["\n", "\r\n", "\r", "\r\r\n"])


def reference(path: Path) -> tuple[list[int], list[int] | None] | str:
    """What the line-by-line reader alone makes of a file: its keys and dates, or its error."""
    state = listtext._State()
    try:
        listtext.reference_block(path.read_bytes(), path, state)
    except InputError as err:
        return str(err)
    keys, stored = listtext.finish(state.keys[0], state.stored[0])
    return keys.tolist(), None if stored is None else stored.tolist()


def kernels(path: Path) -> tuple[list[int], list[int] | None] | str:
    try:
        keys, stored, _ = listtext.read_text_list(path)
    except InputError as err:
        return str(err)
    return keys.tolist(), None if stored is None else stored.tolist()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.tuples(LINE, ENDING), max_size=12), block=st.sampled_from([7, 40, 1 << 26]),
       latin=st.booleans())
def test_kernel_reader_reads_every_file_as_the_reference_does(tmp_path, monkeypatch, lines,
                                                               block, latin):
    # blocks of a few bytes put block ends everywhere: a header, a date or an error in any block
    monkeypatch.setattr(listtext, "BLOCK", block)
    path = tmp_path / "l.csv"
    text = "".join(line + end for line, end in lines)
    # Latin-1 bytes are not UTF-8: the reference's error names the line
    path.write_bytes(text.encode("latin-1", "replace") if latin else text.encode("utf-8"))
    assert kernels(path) == reference(path)


def test_a_clean_file_is_read_by_the_kernels_alone(tmp_path, monkeypatch):
    def refuse(*args: object) -> None:
        raise AssertionError("the reference reader was used")

    monkeypatch.setattr(listtext, "reference_block", refuse)
    path = tmp_path / "l.csv"
    path.write_text(f"# from the registry\r\nnumber,listed_at\r\n {NYC} ,2026-06-10\r\n"
                    f"{MIAMI},2026-01-01T00:00:00Z\r\n{PHILLY}\r\n{NYC},2026-05-01\r\n", "utf-8")
    table = NumberList.from_file(path)
    assert len(table) == 3
    assert table.listing(NYC) == (True, __import__("datetime").date(2026, 5, 1))
    assert table.listing(PHILLY) == (True, None)


PLAIN = ["+1234567", "+123456789012345", "+12125550101", "+4930123456", "+12125550101"]


@pytest.mark.parametrize("odd", [None, "+0125550101", "+1234567890123456", "+123456", "++12125550101",
                                 "+1212555010a", "+12125550101 ", " +12125550101", "", "# note",
                                 "+1212555\x000101", "+12125550101\r", "number"])
def test_a_block_of_numbers_alone_is_read_as_the_reference_does(tmp_path, odd):
    # the bytes check of a plain block (no pattern per line) against the line-by-line reader,
    # with one line in the block that is not a number alone, or none
    path = tmp_path / "l.txt"
    lines = PLAIN[:2] + ([] if odd is None else [odd]) + PLAIN[2:]
    path.write_text("\n".join(lines), "utf-8")  # the last line without its line feed
    assert kernels(path) == reference(path)


def test_a_block_of_numbers_alone_needs_no_pattern(tmp_path, monkeypatch):
    import pyarrow.compute as pc  # listtext imports it where a text list is read

    matched = pc.match_substring_regex

    def watched(lines: object, pattern: str) -> object:
        assert pattern != listtext._PLAIN, "a block of numbers alone was matched line by line"
        return matched(lines, pattern)

    monkeypatch.setattr(pc, "match_substring_regex", watched)
    path = tmp_path / "l.txt"
    path.write_text("".join(f"{n}\n" for n in PLAIN), "utf-8")
    assert kernels(path) == reference(path)


def test_errors_name_the_line_across_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(listtext, "BLOCK", 64)
    path = tmp_path / "l.txt"
    path.write_text("".join(f"+1212555{n:04d}\r\n" for n in range(40)) + "oops\n", "utf-8")
    with pytest.raises(InputError, match=rf"{path}:41: expected an E.164 number"):
        NumberList.from_file(path)


# ---- the bucket lookup -----------------------------------------------------------------------


@pytest.mark.parametrize("spread", ["nanp", "mixed"])
def test_lookup_finds_every_key_and_no_neighbour(monkeypatch, spread):
    monkeypatch.setattr("ringfence.facts.numberlist.SET_LIMIT", 0)
    rng = np.random.default_rng(7)
    if spread == "nanp":
        keys = rng.integers(12_000_000_000, 19_999_999_999, 20_000)
    else:  # country codes of every length: buckets of very different fill
        keys = np.concatenate([rng.integers(12_000_000_000, 12_100_000_000, 5000),
                               rng.integers(44_2000_000_000, 44_8000_000_000, 5000),
                               rng.integers(8613_000_000_000, 8619_000_000_000, 5000),
                               np.array([1_000_000, 999_999_999_999_999])])
    keys = np.unique(keys)
    table = NumberList((f"+{k}", None) for k in keys.tolist())
    assert not isinstance(getattr(table.contains, "__self__", None), frozenset)
    present = set(keys.tolist())
    for key in keys.tolist()[::7]:
        assert table.contains(f"+{key}") and f"+{key}" in table
        for near in (key - 1, key + 1):
            assert table.contains(f"+{near}") is (near in present)
    for probe in ("+1", "+999999999999999999", "", "+", "x", "+12a"):
        assert not table.contains(probe) and probe not in table


# ---- compiled lists ------------------------------------------------------------------------


def dated_list(tmp_path: Path) -> Path:
    path = tmp_path / "dnc.csv"
    path.write_text(f"number,listed_at\n{NYC},2026-06-10\n{MIAMI},2026-01-01T00:00:00Z\n"
                    f"{PHILLY},\n", "utf-8")
    return path


def test_compiled_list_reads_as_its_source(tmp_path):
    source = dated_list(tmp_path)
    text = NumberList.from_file(source)
    text.save(tmp_path / "dnc.rfl")
    compiled = NumberList.from_file(tmp_path / "dnc.rfl")
    assert len(compiled) == len(text) == 3
    for number in (NYC, MIAMI, PHILLY, "+12125550199", "x"):
        assert compiled.listing(number) == text.listing(number)
        assert compiled.lookup(number) == text.lookup(number)
        assert (number in compiled) is (number in text) is compiled.contains(number)
    assert compiled.header["source"] == "dnc.csv"
    assert compiled.header["source_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()


def test_compiled_list_is_known_by_its_bytes_not_its_name(tmp_path):
    NumberList([(NYC, None)]).save(tmp_path / "dnc.txt")
    policy = policy_text(rule("deny if callee on list dnc", rid="dnc"), extra="  uses list dnc")
    ps = load_text(tmp_path, policy, lists={"dnc": tmp_path / "dnc.txt"})
    assert not ps.decide(call(to=NYC)).allowed
    assert ps.decide(call(to=MIAMI)).allowed


def test_an_empty_list_compiles(tmp_path):
    (tmp_path / "empty.txt").write_text("# nothing yet\n", "utf-8")
    NumberList.from_file(tmp_path / "empty.txt").save(tmp_path / "empty.rfl")
    table = NumberList.from_file(tmp_path / "empty.rfl")
    assert len(table) == 0 and NYC not in table and table.lookup(NYC) == (False, None)


def test_damaged_compiled_lists_are_named(tmp_path):
    NumberList([(NYC, None), (MIAMI, None)]).save(tmp_path / "dnc.rfl")
    whole = (tmp_path / "dnc.rfl").read_bytes()
    cases = {
        "cut.rfl": (whole[:len(whole) // 2 + 100], "damaged compiled list"),
        "head.rfl": (whole[:12], "too short"),
        "newer.rfl": (whole[:8] + (99).to_bytes(4, "little") + whole[12:], "format 99"),
        "junk.rfl": (whole[:16] + b"[" + whole[17:], "damaged compiled list"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InputError, match=message) as err:
            NumberList.from_file(tmp_path / name)
        assert name in str(err.value)


def test_lists_compile_and_info_commands(tmp_path):
    source = dated_list(tmp_path)
    out = tmp_path / "dnc.rfl"
    done = CliRunner().invoke(cli, ["lists", "compile", str(source), "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert "3 numbers with listing dates" in done.output
    info = CliRunner().invoke(cli, ["lists", "info", str(out)])
    assert info.exit_code == 0
    assert "compiled list, format 1" in info.output and "numbers:        3" in info.output
    assert hashlib.sha256(source.read_bytes()).hexdigest() in info.output
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{NYC}\n212 555 0101\n", "utf-8")
    failed = CliRunner().invoke(cli, ["lists", "compile", str(bad), "-o", str(tmp_path / "b.rfl")])
    assert failed.exit_code == 2
    assert f"{bad}:2: expected an E.164 number" in failed.output
    assert not (tmp_path / "b.rfl").exists()


def test_decide_takes_a_compiled_list(tmp_path):
    NumberList([(NYC, None)]).save(tmp_path / "dnc.rfl")
    policy = tmp_path / "t.rf"
    policy.write_text(policy_text(rule("deny if callee on list dnc", rid="dnc"),
                                  extra="  uses list dnc"), "utf-8")
    calls = tmp_path / "calls.jsonl"
    calls.write_text(json.dumps(call(to=NYC)) + "\n" + json.dumps(call(to=MIAMI)) + "\n", "utf-8")
    done = CliRunner().invoke(cli, ["decide", "-p", str(policy), "--list",
                                    f"dnc={tmp_path / 'dnc.rfl'}", str(calls)])
    assert done.exit_code == 0, done.output
    decisions = [json.loads(line)["decision"] for line in done.stdout.splitlines()]
    assert decisions == ["deny", "allow"]


# ---- lists swapped while policies run ------------------------------------------------------

POLICY = policy_text(rule("deny if callee on list dnc", rid="dnc")
                     + rule("deny if callee on list dnc listed at least 31 days ago", rid="old"),
                     extra="  uses list dnc")
AT = "2026-06-15T12:00:00-04:00"


def test_replace_list_changes_decisions_without_reloading(tmp_path):
    ps = load_text(tmp_path, POLICY, lists={"dnc": NumberList([(NYC, None)])})
    source = ps.source
    assert not ps.decide(call(AT, to=NYC)).allowed and ps.decide(call(AT, to=MIAMI)).allowed
    compiled = tmp_path / "new.rfl"
    NumberList.from_file(dated_list(tmp_path)).save(compiled)
    ps.replace_list("dnc", compiled)
    assert ps.source == source  # the same generated function
    assert violated_rules(ps, NYC) == {"dnc"}  # listed June 10: 5 days
    assert violated_rules(ps, MIAMI) == {"dnc", "old"}
    assert ps.decide(call(AT, to="+12125550199")).allowed
    with pytest.raises(InputError, match="not used by any loaded policy"):
        ps.replace_list("dcn", compiled)
    with pytest.raises(InputError, match="cannot read"):
        ps.replace_list("dnc", tmp_path / "none.txt")
    assert violated_rules(ps, NYC) == {"dnc"}  # a failed replace keeps the list


def test_a_list_not_loaded_at_first_can_be_put_in(tmp_path):
    ps = load_text(tmp_path, POLICY)
    unloaded = ps.decide(call(AT, to=NYC))  # not loaded, not answered: a missing fact
    assert not unloaded.allowed
    assert {f.missing_facts for f in unloaded.violations} == {("lists.dnc",)}
    ps.replace_list("dnc", NumberList([(NYC, None)]))
    assert not ps.decide(call(AT, to=NYC)).allowed
    assert not ps.decide(call(AT, to=NYC), trace=True).allowed  # the interpreter too
    assert all(not f.missing_facts for f in ps.decide(call(AT, to=NYC)).violations)
    assert ps.decide(call(AT, to="+12125550199")).allowed  # loaded now: not on it
    assert ps.decide(call(AT, to="+12125550199"), trace=True).allowed


def test_replace_list_needs_the_standard_facts(tmp_path):
    path = tmp_path / "t.rf"
    path.write_text(POLICY, "utf-8")
    ps = ringfence.load(path, facts=_Custom())
    with pytest.raises(InputError, match="standard fact source"):
        ps.replace_list("dnc", NumberList([]))


class _Custom:
    """A fact source of one's own: the standard answers, and no list."""

    def __init__(self) -> None:
        std = StandardFacts()
        self.number, self.zone, self.holiday = std.number, std.zone, std.holiday

    def listed(self, name: str, e164: str) -> tuple[bool, None]:
        return False, None


def violated_rules(ps: ringfence.PolicySet, number: str) -> set[str]:
    return {f.rule for f in ps.decide(call(AT, to=number)).violations}


def test_decisions_during_swaps_see_one_whole_list(tmp_path, monkeypatch):
    # Two lists that share some numbers and split the others: a shared number is denied and a
    # number on neither allowed by every decision, whichever list it read, however the swaps
    # fall. Above the set limit lists take the bucket lookup, the path a registry uses.
    monkeypatch.setattr("ringfence.facts.numberlist.SET_LIMIT", 0)
    numbers = [f"+1212555{n:04d}" for n in range(0, 4000, 7)]
    shared, split, neither = numbers[:40], numbers[40:80], numbers[80:120]
    first = NumberList((n, None) for n in shared + split[::2])
    second = NumberList((n, None) for n in shared + split[1::2] + numbers[200:])
    ps = load_text(tmp_path, policy_text(rule("deny if callee on list dnc", rid="dnc"),
                                         extra="  uses list dnc"), lists={"dnc": first})
    started, stop = threading.Event(), threading.Event()
    outcomes: dict[str, set[bool]] = {n: set() for n in shared + split + neither}
    errors: list[BaseException] = []
    passes: list[int] = []

    def decide() -> None:
        started.wait(30)
        try:
            while not stop.is_set():
                for number in outcomes:
                    outcomes[number].add(ps.decide(call(AT, to=number)).allowed)
                passes.append(1)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    def swap() -> None:
        for k in range(200):
            ps.replace_list("dnc", second if k % 2 == 0 else first)
            started.set()
            time.sleep(0.0005)  # let the deciders run between swaps
        stop.set()

    workers = [threading.Thread(target=decide) for _ in range(3)] + [threading.Thread(target=swap)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors and passes
    assert all(outcomes[n] == {False} for n in shared)
    assert all(outcomes[n] == {True} for n in neither)
    assert all(outcomes[n] <= {True, False} and outcomes[n] for n in split)
    assert any(len(outcomes[n]) == 2 for n in split)  # the swaps did happen between decisions
