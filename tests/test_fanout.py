"""``ringfence.tools.fanout``: work over worker processes, answered in input order; an error in
the work or in reading the items is raised in its place, a worker that dies is a WorkerLost, and
no worker outlives the map."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from ringfence.tools.fanout import WorkerLost, ordered_map


def _start(tag: str) -> None:
    global _TAG
    _TAG = tag


_TAG = ""


def _work(item: int) -> tuple[int, int, str]:
    if item == 13:
        raise ValueError("thirteen")
    if item == 666:
        os._exit(3)  # a worker that dies without answering
    time.sleep(0.001 * (item % 3))  # answers that come out of order across workers
    return item, os.getpid(), _TAG


def _children() -> list[int]:
    with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as children:
        return [int(pid) for pid in children.read().split()]


def test_answers_come_in_input_order_from_every_worker_started_first():
    items = [i for i in range(200) if i != 13]
    got = list(ordered_map(_work, items, 3, _start, ("started",)))
    assert [item for item, _, _ in got] == items
    assert len({pid for _, pid, _ in got}) == 3 and os.getpid() not in {pid for _, pid, _ in got}
    assert {tag for _, _, tag in got} == {"started"}
    assert not _children()


def test_an_error_in_the_work_is_raised_in_its_place():
    seen = []
    with pytest.raises(ValueError, match="thirteen"):
        for item, _, _ in ordered_map(_work, range(100), 2, _start, ("",)):
            seen.append(item)
    assert seen == list(range(13))
    assert not _children()


def test_an_error_reading_the_items_is_raised_after_the_answers_before_it():
    def items() -> Iterator[int]:
        yield from range(5)
        raise OSError("cannot read")

    seen = []
    with pytest.raises(OSError, match="cannot read"):
        for item, _, _ in ordered_map(_work, items(), 2, _start, ("",)):
            seen.append(item)
    assert seen == list(range(5))
    assert not _children()


def test_a_worker_that_dies_is_a_worker_lost():
    with pytest.raises(WorkerLost, match="stopped"):
        list(ordered_map(_work, [1, 2, 666, 4, 5], 2, _start, ("",)))
    assert not _children()


def test_workers_end_when_the_answers_are_no_longer_wanted():
    answers = ordered_map(_work, range(14, 10_000), 2, _start, ("",))
    assert next(answers)[0] == 14
    answers.close()
    assert not _children()
