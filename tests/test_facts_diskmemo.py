"""Answers kept on disk between processes (facts/diskmemo.py), and the numbering blocks' lengths
kept that way: what is read back is what would be worked out."""

from __future__ import annotations

import json

import pytest

from ringfence.facts import numberblocks
from ringfence.facts.diskmemo import DiskMemo


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("RINGFENCE_CACHE_DIR", str(tmp_path))
    return tmp_path


def counting(value: int, calls: list[int]):
    def compute() -> int:
        calls.append(value)
        return value
    return compute


def test_answers_are_worked_out_once_and_read_back_by_the_next_process(cache):
    calls: list[int] = []
    first = DiskMemo("test", b"v1")
    assert first.get("a", counting(3, calls)) == 3
    assert first.get("a", counting(99, calls)) == 3  # kept: not worked out again
    first.save()
    second = DiskMemo("test", b"v1")  # as a new process makes it
    assert second.get("a", counting(99, calls)) == 3
    assert calls == [3]


def test_another_version_reads_none_of_the_old_answers(cache):
    old = DiskMemo("test", b"v1")
    old.get("a", lambda: 3)
    old.save()
    assert DiskMemo("test", b"v2").get("a", lambda: 4) == 4


def test_saving_merges_what_another_process_wrote_meanwhile(cache):
    one, two = DiskMemo("test", b"v1"), DiskMemo("test", b"v1")
    one.get("a", lambda: 1)
    two.get("b", lambda: 2)
    one.save()
    two.save()
    assert json.loads(two.path.read_text()) == {"a": 1, "b": 2}


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '{"a": "3", "b": true}'])
def test_a_damaged_file_is_not_believed(cache, text):
    memo = DiskMemo("test", b"v1")
    memo.path.write_text(text)
    assert DiskMemo("test", b"v1").get("a", lambda: 7) == 7
    assert DiskMemo("test", b"v1").get("b", lambda: 8) == 8


def test_a_file_under_a_path_that_is_not_a_folder_is_not_written(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("RINGFENCE_CACHE_DIR", str(tmp_path / "file" / "below"))
    memo = DiskMemo("test", b"v1")
    assert memo.get("a", lambda: 5) == 5
    memo.save()
    assert memo.get("a", lambda: 6) == 5


# (country code, national digits, first digits): NANP, San Marino's deep fixed lines, Jamaica,
# the UK, Germany's many lengths, a code with no country
BLOCKS = [(1, 10, "212"), (1, 10, "876"), (378, 10, "054"), (378, 6, "549"), (44, 10, "791"),
          (44, 9, "207"), (49, 11, "151"), (49, 7, "302"), (999, 8, "123")]


def test_block_lengths_read_back_from_disk_are_those_worked_out(cache, monkeypatch):
    worked = [numberblocks._block_length(*block) for block in BLOCKS]
    fresh = DiskMemo("number-blocks-test", b"v1")
    monkeypatch.setattr(numberblocks, "_LENGTHS", fresh)
    assert [numberblocks.block_length(*block) for block in BLOCKS] == worked
    numberblocks.save_block_lengths()
    stored = json.loads(fresh.path.read_text())
    assert stored == {f"{c} {n} {p}": d for (c, n, p), d in zip(BLOCKS, worked, strict=True)}
    monkeypatch.setattr(numberblocks, "_LENGTHS", DiskMemo("number-blocks-test", b"v1"))
    monkeypatch.setattr(numberblocks, "_block_length", None)  # nothing may be worked out now
    assert [numberblocks.block_length(*block) for block in BLOCKS] == worked
