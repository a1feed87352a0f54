"""``decide --jobs`` over a regular file: the workers read their spans of it themselves, and
write their decisions to standard output themselves, in turn."""

from __future__ import annotations

import builtins
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_decide_stream import HOURS, NOON, _mixed_input, call, decide

from ringfence.errors import InputError
from ringfence.tools import decide_cli, decidework
from ringfence.tools.callstream import (
    FANOUT_BLOCK,
    Block,
    Span,
    line_breaks,
    pieces,
    read_span,
    spans,
)
from ringfence.tools.cli import cli


def numbered(data: bytes) -> list[tuple[int, bytes]]:
    return [(n, line) for n, line in enumerate(data.split(b"\n"), start=1) if line]


def lines_of(found: list[Block]) -> list[tuple[int, bytes]]:
    return [(block.first + i, line) for block in found
            for i, line in enumerate(block.data.split(b"\n")) if line]


LONG = call("long", meta={"pad": "x" * 500})
# short and blank lines, one line longer than the blocks below, and no line break at the end
UNEVEN = b"\n".join([call(1), b"", call(2), b"  ", LONG, b"not json", call(3), LONG, call(4)])


# ---- spans and pieces ---------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 50, 333, len(LONG) + 1, 1 << 20])
def test_spans_cover_the_file_in_whole_lines_numbered_as_the_input(tmp_path, size):
    path = tmp_path / "calls.jsonl"
    path.write_bytes(UNEVEN)
    with path.open("rb") as stream:
        found = spans(stream, size)
        assert found is not None
        parts = list(found)
        read = [read_span(span) for span in parts]
    assert b"".join(block.data for block in read) == UNEVEN
    assert all(block.data.endswith(b"\n") for block in read[:-1])
    assert [(s.start, s.end) for s in parts] == [
        (sum(len(b.data) for b in read[:i]), sum(len(b.data) for b in read[:i + 1]))
        for i in range(len(read))]
    assert lines_of(read) == numbered(UNEVEN)
    assert all(span.name == str(path) for span in parts)


def test_spans_start_where_the_stream_stands_and_leave_it_there(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b"skipped\n" + UNEVEN)
    with path.open("rb") as stream:
        stream.readline()  # a caller has read a line already (stdin from a file, say)
        found = spans(stream, 100)
        assert found is not None and stream.tell() == len(b"skipped\n")
        read = [read_span(span) for span in found]
    assert lines_of(read) == numbered(UNEVEN)


def test_an_empty_file_is_no_span(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    with path.open("rb") as stream:
        found = spans(stream, 100)
        assert found is not None and list(found) == []


def test_what_is_no_file_of_json_lines_is_read_as_a_stream(tmp_path):
    assert spans(io.BytesIO(UNEVEN), 100) is None
    read, write = os.pipe()
    with os.fdopen(read, "rb") as pipe, os.fdopen(write, "wb"):
        assert spans(pipe, 100) is None
    pretty = tmp_path / "pretty.json"  # one call written over several lines: blocks gathers it
    pretty.write_bytes(b"\n\n" + json.dumps(json.loads(call(1)), indent=2).encode())
    with pretty.open("rb") as stream:
        assert spans(stream, 100) is None


def test_a_span_that_cannot_be_read_says_which_file(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_bytes(UNEVEN)
    with path.open("rb") as stream:
        span = next(iter(spans(stream, 100) or ()))
    with pytest.raises(InputError, match=f"cannot read {path}"):
        read_span(span)  # its file is closed now


def test_a_span_of_a_file_that_shrank_is_what_is_left(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_bytes(UNEVEN)
    with path.open("rb") as stream:
        span = Span(stream.fileno(), str(path), 1, 0, len(UNEVEN) + 100)
        assert read_span(span) == Block(1, UNEVEN)


@pytest.mark.parametrize("size", [1, 40, 300, 1 << 20])
def test_pieces_cut_a_block_in_whole_lines_numbered_on(size):
    block = Block(7, UNEVEN)
    got = list(pieces(block, size))
    assert b"".join(piece.data for piece in got) == UNEVEN
    assert all(piece.data.endswith(b"\n") for piece in got[:-1])
    assert all(len(piece.data) <= size or piece.data.count(b"\n") <= 1 for piece in got)
    assert lines_of(got) == [(n + 6, line) for n, line in numbered(UNEVEN)]
    assert list(pieces(Block(3, b""), size)) == []


@pytest.mark.parametrize("data", [b"", b"x", b"\n", b"\n\n\n", b"a\nb", b"a\nb\n", UNEVEN,
                                  b"\r\n\x0b\x0c\x1c\x85\r", "\u2028\u0085\n".encode(),
                                  bytes(range(256)) * 300, b"1\n" * 40_000])
def test_line_breaks_are_what_bytes_count_says(data):
    # the line numbers of blocks, spans and pieces: \n alone ends a line, whatever else
    assert line_breaks(data) == data.count(b"\n")


# ---- the command --------------------------------------------------------------------------


def _decide_file(path: Path, *args: str):
    result = CliRunner().invoke(cli, ["decide", "-p", HOURS, *args, str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.fixture
def small_blocks(monkeypatch):
    """Spans of a few calls, each decided in pieces of one or two: many seams in a small file."""
    monkeypatch.setattr(decide_cli, "FANOUT_BLOCK", 5000)
    monkeypatch.setattr(decide_cli, "BLOCK", 700)


def test_a_file_split_across_workers_says_what_one_process_says(tmp_path, small_blocks):
    data, bad = _mixed_input(300)  # bad lines, with and without ids, across many spans
    path = tmp_path / "calls.jsonl"
    path.write_bytes(data[:-1])  # and the last line without its line break
    code, out, err = _decide_file(path, "--jobs", "2")
    assert code == 2
    records = [json.loads(line) for line in out.splitlines()]
    assert {r["line"]: r.get("id") for r in records if "error" in r} == bad
    assert [r["id"] for r in records if "error" not in r] == [
        f"c{i}" for i in range(1, 301) if i not in bad]
    one = decide(data[:-1], "--jobs", "1")  # from standard input, in one process
    assert (code, records, err) == one


def test_an_empty_file_decided_by_workers_is_no_output(tmp_path, small_blocks):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert _decide_file(path, "--jobs", "2", "-q") == (0, b"", "")


def test_a_call_written_over_several_lines_is_one_call_with_workers_too(tmp_path, small_blocks):
    path = tmp_path / "pretty.json"
    path.write_bytes(json.dumps(json.loads(call(5, at=NOON)), indent=2).encode())
    code, out, _ = _decide_file(path, "--jobs", "2", "-q")
    assert code == 0 and [json.loads(line)["id"] for line in out.splitlines()] == [5]


def _compiles_deciding(work, block: Block, monkeypatch) -> int:
    """How many times Python code is compiled while ``work`` decides ``block``."""
    compiled = []
    compile_ = builtins.compile

    def counted(*args, **kwargs):
        compiled.append(args)
        return compile_(*args, **kwargs)

    monkeypatch.setattr(builtins, "compile", counted)
    work(block)
    monkeypatch.setattr(builtins, "compile", compile_)
    return len(compiled)


def test_forked_workers_inherit_what_deciding_the_first_block_loaded(monkeypatch):
    # each policy's function for the purpose and technology a call gives is written (compiled)
    # on first use: the parent decides a first block before forking, so that the workers it
    # forks do not each write them again
    monkeypatch.setattr(decidework, "_WORKER", None)  # set back after the test
    sample = Block(1, call(1) + b"\n" + call(2, technology="prerecorded") + b"\n")
    options = decidework.DecideOptions((), "auto", ())
    decidework.prepare_workers(decidework.decider(options))
    assert _compiles_deciding(decidework.work, sample, monkeypatch) > 0  # written on first use
    decidework.prepare_workers(decidework.decider(options), sample)
    assert _compiles_deciding(decidework.work, sample, monkeypatch) == 0


def test_bad_lines_first_say_the_same_with_workers(tmp_path, small_blocks):
    # the parent decides the first block before forking (its output dropped): what its lines
    # say comes out once, from its worker, as from one process
    path = tmp_path / "calls.jsonl"
    bad = [b"not json", b"", b"[1, 2]", call("bad", at="2026-02-30T12:00:00Z"), b'{"id": "cut", ']
    path.write_bytes(b"\n".join([*bad, *(call(i) for i in range(40))]) + b"\n")
    one, two = (_decide_file(path, "--jobs", jobs) for jobs in ("1", "2"))
    assert one[0] == 2 and b'"line":1' in one[1]
    assert two == one


# ---- the workers write the decisions themselves -------------------------------------------


RINGFENCE = [sys.executable, "-c", "from ringfence.tools.cli import main; main()"]


def test_workers_write_a_file_of_many_blocks_to_standard_output_in_order(tmp_path):
    data, bad = _mixed_input(12_000)  # a few MB: spans of FANOUT_BLOCK over both workers
    assert len(data) > 3 * FANOUT_BLOCK
    path = tmp_path / "calls.jsonl"
    path.write_bytes(data)
    outs = []
    for jobs in ("1", "2"):
        with (tmp_path / f"out{jobs}").open("wb") as out:  # a file: the workers share it
            done = subprocess.run([*RINGFENCE, "decide", "-p", HOURS, "--jobs", jobs, str(path)],
                                  stdout=out, stderr=subprocess.PIPE, check=False)
        assert done.returncode == 2
        outs.append(((tmp_path / f"out{jobs}").read_bytes(), done.stderr))
    assert outs[0] == outs[1]
    records = [json.loads(line) for line in outs[1][0].splitlines()]
    assert {r["line"]: r.get("id") for r in records if "error" in r} == bad


def test_a_reader_that_goes_away_ends_the_workers_quietly(tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_bytes(b"".join(call(i) + b"\n" for i in range(20_000)))
    proc = subprocess.Popen([*RINGFENCE, "decide", "-q", "-p", HOURS, "--jobs", "2", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout and proc.stderr
    assert json.loads(proc.stdout.readline())["id"] == 0
    proc.stdout.close()
    assert proc.wait(60) == 1
    assert proc.stderr.read() == b""
