"""``ringfence decide`` as a stream (issue #13): decisions leave while input still comes, memory
stays flat, order and line numbers hold across blocks and worker processes, compact and full
forms both follow the decision schema, a summary on stderr, and the ledger merged in."""

from __future__ import annotations

import gc
import io
import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from test_core_support import FIXTURES, NYC

import ringfence
from ringfence.resources import policies_dir, schema_path
from ringfence.tools import callstream, runreport
from ringfence.tools.callstream import blocks
from ringfence.tools.cli import cli
from ringfence.tools.decidework import Tally

HOURS = str(FIXTURES / "hours.rf")
HOUSE = str(Path(__file__).parent / "fixtures" / "ledger" / "house.rf")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "calls.jsonl"
RINGFENCE = [sys.executable, "-c", "from ringfence.tools.cli import main; main()"]
NOON = "2026-06-15T12:00:00-04:00"
LATE = "2026-06-15T22:30:00-04:00"


def call(i: int | str, at: str = NOON, **more: object) -> bytes:
    # "none" said of the records and of the dnc list, so the hours and the list decide
    facts = {"consent": [], "history": [], "lists": [], "lists_checked_at": {"dnc": "2026-06-01"}}
    return json.dumps({"id": i, "to": NYC, "at": at, "purpose": "marketing",
                       **facts, **more}).encode()


def decide(data: bytes, *args: str, policy: str = HOURS):
    result = CliRunner().invoke(cli, ["decide", "-p", policy, *args], input=data)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    records = [json.loads(line) for line in result.stdout_bytes.split(b"\n") if line]
    return result.exit_code, records, result.stderr


class Trickle(io.RawIOBase):
    """A stream that hands out a few bytes per read, as a slow pipe does."""

    def __init__(self, data: bytes, step: int):
        self.data, self.step = data, step

    def readable(self) -> bool:
        return True

    def read1(self, _size: int = -1) -> bytes:
        piece, self.data = self.data[:self.step], self.data[self.step:]
        return piece


def lines_of(stream) -> list[tuple[int, bytes]]:
    return [(block.first + i, line) for block in blocks(stream)
            for i, line in enumerate(block.data.split(b"\n")) if line]


# ---- reading ------------------------------------------------------------------------------


def test_blocks_hold_whole_lines_numbered_as_the_input_whatever_the_reads():
    data = b"\n".join([call(1), b"", b"  ", call(2), b"not json", call(3)]) + b"\n" + call(4)
    expected = [(n, line) for n, line in enumerate(data.split(b"\n"), start=1) if line]
    for step in (1, 7, 64, len(data)):
        got = list(blocks(Trickle(data, step)))
        assert all(b.data.endswith(b"\n") for b in got[:-1])
        assert lines_of(Trickle(data, step)) == expected


class Dribble:
    """A stream that hands out a few bytes per read while more is ready at once, as a pipe
    does (whose reads give at most its 64 kB buffer)."""

    def __init__(self, path: Path, step: int):
        self.file, self.step = path.open("rb"), step

    def fileno(self) -> int:
        return self.file.fileno()

    def read1(self, size: int) -> bytes:
        return self.file.read(min(size, self.step))

    read = read1


def test_a_block_gathers_what_is_ready_up_to_its_size(tmp_path):
    data = b"".join(call(i) + b"\n" for i in range(300))
    (tmp_path / "calls.jsonl").write_bytes(data)
    stream = Dribble(tmp_path / "calls.jsonl", 100)
    with stream.file:
        got = list(blocks(stream, 10_000))  # type: ignore[arg-type]
    assert b"".join(b.data for b in got) == data
    assert len(got) <= len(data) // 9_000 + 1  # not one block per read of 100 bytes
    assert [b.first for b in got] == [1 + b"".join(x.data for x in got[:i]).count(b"\n")
                                      for i in range(len(got))]


def test_a_call_written_over_several_lines_is_one_call_at_line_1():
    pretty = json.dumps(json.loads(call("p")), indent=2).encode()
    for data in (pretty, b"\n\n" + pretty + b"\n\n"):
        (block,) = blocks(Trickle(data, 5))
        assert block.first == 1 and json.loads(block.data) == json.loads(call("p"))
    # followed by more than blanks it is no single value: JSON Lines, each line judged
    assert len(lines_of(Trickle(pretty + b"\n" + call(2), 5))) == pretty.count(b"\n") + 2


def test_a_broken_first_line_does_not_hold_the_input_past_the_object_limit(monkeypatch):
    monkeypatch.setattr(callstream, "MAX_OBJECT", 1000)
    data = b"{broken\n" + b"\n".join(call(i) for i in range(100)) + b"\n"
    got = lines_of(Trickle(data, 50))
    assert [n for n, _ in got] == list(range(1, 102))


def test_inline_json_and_arrays_keep_their_documented_forms():
    code, (record,), _ = decide(b"", call("inline").decode())
    assert code == 0 and record["id"] == "inline"
    code, (record,), _ = decide(b"", '[{"to": "+12125550101"}]')
    assert code == 2 and record == {"line": 1, "error": "a call is a JSON object, not an array",
                                    "path": ""}


ODD_LINES = [b"", b"  \t", b"\r", b"\x0c", b"{", b"[1, 2]", b'"text"', b"3", b"null", b"{}",
             b'{"id": NaN}', b"\xff{}", b'{"id": 1e999}', b"[" * 2000 + b"]" * 2000,
             b'{"id": "a"}{"id": "b"}', b'  {"id": "spaced"}\r', '{"id": "\u2028"}'.encode()]


@pytest.mark.parametrize("digits", [b"", b'{"id": 12345678901234567890123}'])
def test_a_block_of_lines_reads_as_each_line_alone(digits):
    # calls_in reads a block without a long run of digits by orjson at once (see parse_json),
    # one with such a run line by line: both give each line what parse_json gives it.
    from ringfence.tools.jsonlines import JSON_SPACE, calls_in, parse_json, split_lines

    lines = [*ODD_LINES, call(1), digits, *ODD_LINES[::-1], call(2)]
    for data in (b"\n".join(lines), b"\n".join(lines) + b"\n"):
        expected = [(number, parse_json(line)) for number, line
                    in enumerate(data.split(b"\n"), start=5) if line.strip(JSON_SPACE)]
        assert calls_in(5, data) == expected
        assert split_lines(data) == data.split(b"\n")


# Lines that are no value alone but could make one with their neighbours in an array: a block of
# them must still read as each line alone.
SPLIT_VALUES = [b'{"a": [1', b"2]}", b'{"c": 1}, {"d": 2}', b'{"b": "x', b'y"}', b'{"e": [{}',
                b"{}]}", b"{}, 1000000000000000000, {}", b"1000000000000000000", b"{},", b",{}",
                b"]", b"[", b'{"f": {}}, 10', b"00000000000000000, {}",
                b'{"g": 1}, 2, {"h": 3}', b"{}, 1e18, {}", b"{}, 1.000000000000000001e18, {}"]


def test_a_block_of_objects_reads_at_once_as_each_line_alone():
    # calls_in reads a block of lines as one JSON array (a mark between each two lines) and
    # takes it only when each line is exactly one object there; lines that could join up with
    # their neighbours (SPLIT_VALUES) send the block to the reading line by line.
    import random

    from ringfence.tools import jsonlines
    from ringfence.tools.jsonlines import JSON_SPACE, calls_in, parse_json

    calls = [call(i) for i in range(5)]
    for data in (calls[0], b"\n".join(calls), b"\n".join(calls) + b"\n",
                 b" \t" + b"\r\n".join(calls) + b"\r\n"):
        read = jsonlines._calls_at_once(3, data)
        assert read is not None and len(read) == data.rstrip().count(b"\n") + 1
        assert read == calls_in(3, data) == [(n, parse_json(line)) for n, line
                                             in enumerate(data.split(b"\n"), start=3)
                                             if line.strip(JSON_SPACE)]
    # two lines make one object, one line makes two, and a number stands where a mark would:
    # one unlike the mark, or a float that equals 10**18 (a mark that it is not must differ
    # from every float)
    forged = [b'{"a": [1', b'2]}', b'{"c": 1}, 5, {"d": 2}']
    as_float = [b'{"a": [1', b'2]}', b'{"c": 1}, 1e18, {"d": 2}']
    rng = random.Random(7)
    pieces = [*SPLIT_VALUES, *calls, b"", b"{}", b"[]"]
    for lines in [forged, forged[::-1], as_float, *(rng.choices(pieces, k=rng.randrange(1, 7))
                                          for _ in range(3000))]:
        data = b"\n".join(lines) + rng.choice([b"", b"\n"])
        expected = [(n, parse_json(line)) for n, line in enumerate(data.split(b"\n"), start=1)
                    if line.strip(JSON_SPACE)]
        assert calls_in(1, data) == expected, data
        if jsonlines._calls_at_once(1, data) is not None:  # taken only where each line is one
            assert all(isinstance(value, dict) for _, value in expected), data


def test_lines_make_the_text_of_an_array_as_the_reference_does():
    from ringfence.tools import jsonlines

    for data in (b"", b"\n", b"a", b"a\n", b"a\nb", b"\n\n", b"a\n\nb\n\n"):
        for separator in (b"", b",", jsonlines._BETWEEN):
            assert jsonlines._as_array(data, separator) == jsonlines.as_array(data, separator)


def test_an_unreadable_input_is_one_message(tmp_path):
    code, records, err = decide(b"", str(tmp_path / "nope.jsonl"))
    assert code == 2 and records == []
    assert err.strip() == f"error: cannot read {tmp_path / 'nope.jsonl'}: No such file or directory"


# ---- streaming ----------------------------------------------------------------------------


def _readline(stream, seconds: float) -> bytes:
    ready, _, _ = select.select([stream], [], [], seconds)
    assert ready, f"no decision within {seconds} s"
    return stream.readline()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_each_decision_leaves_before_the_next_line_comes(jobs):
    proc = subprocess.Popen([*RINGFENCE, "decide", "-q", "-p", HOURS, "--jobs", jobs],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin and proc.stdout
    try:
        for i in range(3):
            proc.stdin.write(call(i) + b"\n")
            proc.stdin.flush()  # and the input stays open: the command cannot have read it all
            assert json.loads(_readline(proc.stdout, 60))["id"] == i
    finally:
        proc.stdin.close()
        proc.wait(60)
    assert proc.returncode == 0


def _peak_rss_kb(path: Path) -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import resource, subprocess, sys; subprocess.run(sys.argv[1:], "
         "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN)"
         ".ru_maxrss)", *RINGFENCE, "decide", "-q", "-p", HOURS, str(path)],
        capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_memory_does_not_grow_with_the_input(tmp_path):
    # lines that are no calls are the cheapest to judge: 150 MB of them read as one piece
    # would raise the peak by at least that much
    line = b'"' + b"x" * 1500 + b'"\n'
    small, big = tmp_path / "small.jsonl", tmp_path / "big.jsonl"
    small.write_bytes(line * 1000)
    with big.open("wb") as out:
        for _ in range(100):
            out.write(line * 1000)
    assert big.stat().st_size > 150e6
    grown = _peak_rss_kb(big) - _peak_rss_kb(small)
    assert grown < 40_000, f"peak memory grew by {grown} kB over 150 MB of input"
    # a block of short lines holds tens of thousands of them: their output must not pile up
    short = tmp_path / "short.jsonl"
    short.write_bytes(b"1\n" * 100_000)
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    grown = _peak_rss_kb(short) - _peak_rss_kb(empty)
    assert grown < 40_000, f"peak memory grew by {grown} kB over 100,000 short lines"


# ---- order, errors and jobs ---------------------------------------------------------------


def _mixed_input(n: int) -> tuple[bytes, dict[int, object]]:
    """n lines across many blocks: calls, bad JSON, a non-object, a malformed call; the line
    number of each bad one and its id (None when it has none)."""
    lines, bad = [], {}
    for i in range(1, n + 1):
        if i % 97 == 0:
            lines.append(b'{"id": "broken-%d", ' % i)
            bad[i] = None
        elif i % 89 == 0:
            lines.append(call(f"no-zone-{i}", to_timezone="Mars/Base"))
            bad[i] = f"no-zone-{i}"
        elif i % 83 == 0:
            lines.append(b"[1, 2]")
            bad[i] = None
        else:
            lines.append(call(f"c{i}", LATE if i % 3 == 0 else NOON, meta={"pad": "x" * 200}))
    return b"\n".join(lines) + b"\n", bad


def test_order_line_numbers_and_ids_hold_across_blocks_and_jobs():
    data, bad = _mixed_input(1200)  # about 300 kB: several blocks
    assert len(data) > 4 * callstream.BLOCK
    code, records, err = decide(data, "--jobs", "1")
    assert code == 2
    errors = {r["line"]: r.get("id") for r in records if "error" in r}
    assert errors == bad
    assert [r["id"] for r in records if "error" not in r] == [
        f"c{i}" for i in range(1, 1201) if i not in bad]
    two = decide(data, "--jobs", "2")
    assert two == (code, records, err)  # the same bytes, the same summary


def test_full_and_compact_forms_follow_the_decision_schema():
    validator = jsonschema.Draft202012Validator(json.loads(schema_path(
        "decision.schema.json").read_text("utf-8")))
    data = b"".join(EXAMPLES.read_bytes().splitlines(keepends=True)[:120])
    compact = decide(data, "--jurisdiction", "auto", policy="us-federal")[1]
    full = decide(data, "--jurisdiction", "auto", "--full", policy="us-federal")[1]
    assert len(compact) == len(full) == 120
    library = str(policies_dir())
    for small, whole in zip(compact, full, strict=True):
        validator.validate(small)
        validator.validate(whole)
        assert small["policies"] == [p for p in whole["policies"] if p["applicable"]]
        for found in small["violations"] + small["warnings"]:
            assert found["source"]["file"] == f"{found['policy']}.rf"  # shipped: by its id
        for found in whole["violations"]:
            assert found["source"]["file"].startswith(library)
        assert len(json.dumps(small)) < len(json.dumps(whole))
    assert any(r["violations"] for r in compact)
    # --full is the API's form, the one decide printed before the compact form
    policies = ringfence.load_library()
    assert full == [policies.decide(json.loads(line)).to_dict() for line in data.splitlines()]


# ---- summary ------------------------------------------------------------------------------


def test_summary_on_stderr_and_nothing_with_quiet():
    data = b"\n".join([call(1), call(2, LATE), call(3, LATE, lists=[{"name": "dnc"}]),
                       b"nope", call(5)]) + b"\n"
    code, records, err = decide(data)
    assert code == 2 and len(records) == 5
    assert err == (
        "decided 5 calls: 2 allowed, 2 denied, 1 malformed call (see the error records)\n"
        "denials by rule (a call denied by several rules counts for each):\n"
        "  2  hours/calling-hours\n"
        "  1  hours/dnc\n")
    quiet = decide(data, "--quiet")
    assert quiet[:2] == (code, records) and quiet[2] == ""
    assert decide(call(1), "-q")[2] == ""


def test_summary_counts_in_thousands():
    tally = Tally(calls=12345, allowed=12000, denied=345)
    tally.rules.update({"p/b": 300, "p/a": 300, "q/c": 45})
    assert runreport.summary(tally).splitlines() == [
        "decided 12,345 calls: 12,000 allowed, 345 denied",
        "denials by rule (a call denied by several rules counts for each):",
        "  300  p/a", "  300  p/b", "   45  q/c"]


def test_denials_are_counted_by_rule_name_whatever_their_objects():
    # A block counts its denials by finding object, then names them: findings of one rule made
    # afresh per call (those that name missing facts) count under the one name.
    from ringfence.contract.decision import Finding
    from ringfence.errors import Span
    from ringfence.tools.decidework import _by_rule

    def finding(rule: str, *missing: str) -> Finding:
        return Finding("p", rule, "t", "deny", "m", (), Span("p.rf", 1, 1), missing)

    shared, other = finding("a"), finding("b")
    denials = [shared, finding("a", "lists"), other, shared, finding("a", "lists"), shared]
    assert _by_rule(denials) == {"p/a": 5, "p/b": 1}
    assert _by_rule([]) == {}


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr(runreport, "_BAR_DELAY", 0)
    monkeypatch.setattr(runreport, "_REDRAW", 0)
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    bar = runreport.Progress(enabled=True)
    bar.advance(1500)
    bar.close()
    assert "deciding: 1500 calls" in screen.getvalue()
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", piped)
    bar = runreport.Progress(enabled=True)
    bar.advance(1500)
    bar.close()
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    runreport.Progress(enabled=False).advance(5)
    assert piped.getvalue() == quiet.getvalue() == ""


# ---- the ledger ---------------------------------------------------------------------------


def _house_call(i: int, **more: object) -> bytes:
    return call(i, "2026-06-15T12:00:00Z", lists_checked_at={"dnc": "2026-06-10"}, **more)


def test_decide_with_a_ledger_merges_its_facts_and_reserves(tmp_path):
    db = str(tmp_path / "ledger.db")
    opt_out = CliRunner().invoke(cli, ["ledger", "opt-out", "+12125550199", "--ledger", db,
                                       "--at", "2026-06-01T00:00:00Z", "--channel", "sms"])
    assert opt_out.exit_code == 0, opt_out.output
    opted = _house_call(0, to="+12125550199")
    code, (record,), _ = decide(opted, "--ledger", db, policy=HOUSE)
    assert code == 0 and [v["rule"] for v in record["violations"]] == ["opt-out"]
    # without the ledger nothing says whether the person opted out: denied, naming the fact
    alone = decide(opted, policy=HOUSE)[1][0]
    assert not alone["allowed"]
    assert [v["missing_facts"] for v in alone["violations"]] == [["opt_outs"]]
    # reserve: the first call takes the cap of one a day, the second sees its pending attempt
    code, (first, second), _ = decide(_house_call(1) + b"\n" + _house_call(2) + b"\n",
                                      "--ledger", db, "--reserve", policy=HOUSE)
    assert code == 0 and first["allowed"] and first["attempt_id"]
    assert [v["rule"] for v in second["violations"]] == ["cap"] and "attempt_id" not in second
    facts = json.loads(CliRunner().invoke(cli, ["ledger", "facts", NYC, "--ledger", db]).output)
    assert len(facts["history"]) == 1
    # without --reserve nothing is written, with --jobs 2 the same answers
    again = _house_call(3) + b"\n"
    assert decide(again, "--ledger", db, "--jobs", "2", policy=HOUSE)[1][0]["violations"][0][
        "rule"] == "cap"
    assert len(json.loads(CliRunner().invoke(
        cli, ["ledger", "facts", NYC, "--ledger", db]).output)["history"]) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--reserve"], "--reserve needs --ledger"),
    (["--seller", "acme"], "--seller needs --ledger"),
    (["--ledger", "DB", "--reserve", "--jobs", "2"], "give --jobs 1"),
    (["--ledger", "DB", "--trace"], "--trace cannot be given with --ledger"),
    (["--ledger", "postgresql://nobody@127.0.0.1:1/x"], "error: ledger: "),
])
def test_ledger_options_that_cannot_work_are_one_message(tmp_path, args, message):
    args = [str(tmp_path / "l.db") if a == "DB" else a for a in args]
    code, records, err = decide(call(1), *args, policy=HOUSE)
    assert code == 2 and records == []
    assert message in err and "Traceback" not in err


def test_jobs_starts_workers_that_exit_with_the_command():
    start = time.monotonic()
    code, records, _ = decide(b"".join(call(i) + b"\n" for i in range(50)), "--jobs", "3")
    assert code == 0 and [r["id"] for r in records] == list(range(50))
    assert time.monotonic() - start < 120
    assert not [c for c in os.listdir("/proc") if c.isdigit() and _is_worker_of(int(c))]


def _is_worker_of(pid: int) -> bool:
    """Whether ``pid`` is a child of this process but multiprocessing's resource tracker (a
    test that spawns workers starts it once, for good)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return parent == os.getpid() and b"resource_tracker" not in cmdline.read()
    except (OSError, ValueError, IndexError):
        return False


def test_decide_imports_only_what_deciding_needs():
    # start-up is paid by every run: what only scrub, test, serve or list files need (pyarrow,
    # PyYAML, SQLAlchemy, the reference schema validator) is imported when they are used
    script = ("import sys\nfrom ringfence.tools.cli import cli\n"
              "cli.main(['decide', '-q', '-p', sys.argv[1], sys.argv[2]], standalone_mode=False)\n"
              "print(sorted({m.split('.')[0] for m in sys.modules} & "
              "{'pyarrow', 'yaml', 'sqlalchemy', 'jsonschema'}), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", script, HOURS, call(1).decode()],
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["id"] == 1
    assert done.stderr.strip() == "[]"
    # the other commands are all there for help and for running
    assert {"decide", "scrub", "test", "serve", "lists"} <= set(cli.commands)


def test_a_run_sets_the_garbage_collector_back():
    # decide freezes what it loaded and collects less often while it runs (see _steady): a
    # caller running it in its own process gets its collector back as it was
    before = gc.get_threshold()
    code, records, _ = decide(b"".join(call(i) + b"\n" for i in range(5)))
    assert code == 0 and len(records) == 5
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_a_block_of_several_runs_writes_what_each_line_alone_would():
    # Decider.block decides RUN lines, writes them, then the next RUN: lines that are no call,
    # calls that fail and the runs' seams change nothing a line says, nor the tally.
    from ringfence.tools.callstream import Block
    from ringfence.tools.decidework import RUN, DecideOptions, decider

    work = decider(DecideOptions((HOURS,), None, ()))
    kinds = [call(0), call(1, LATE), b"not json", b"[1]", call(2, at="2026-02-30T12:00:00Z")]
    lines = [kinds[i % len(kinds)].replace(b'"id": 0', b'"id": %d' % i)
             for i in range(2 * RUN + 7)]
    whole = work.block(Block(1, b"\n".join(lines)))
    alone = [work.block(Block(i, line)) for i, line in enumerate(lines, start=1)]
    assert whole.data == b"".join(a.data for a in alone)
    errors = sum(i % len(kinds) >= 2 for i in range(len(lines)))  # the last three kinds
    assert whole.tally.calls == len(lines) and whole.tally.errors == errors
    total = Tally()
    for a in alone:
        total.add(a.tally)
    assert whole.tally == total
