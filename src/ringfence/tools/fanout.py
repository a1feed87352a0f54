"""Work spread over worker processes, answered in input order, with memory bounded.

A thread reads the items and submits each to the pool as it comes; the answers are taken in
submission order. At most ``2 x jobs`` items are in flight, so a fast reader and slow workers
do not pile the input up in memory (``Pool.imap`` would read all of it ahead).
"""

from __future__ import annotations

import multiprocessing
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")
_END = object()


def _ready() -> None:
    """Nothing: submitted once so that the pool starts its processes at once."""


def ordered_map(work: Callable[[T], R], items: Iterable[T], jobs: int,
                start: Callable[..., None], start_args: tuple[Any, ...]) -> Iterator[R]:
    """``work(item)`` for each item, computed by ``jobs`` processes, yielded in input order.

    ``start(*start_args)`` runs in each process first. On Linux the processes are forked, before
    any thread starts here, so they inherit what this process has loaded; elsewhere they are
    spawned and ``start`` loads it. An error reading ``items`` is raised here, in order.
    """
    method = "fork" if sys.platform == "linux" else "spawn"
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context(method),
                               initializer=start, initargs=start_args)
    pending: queue.Queue[Any] = queue.Queue(maxsize=2 * jobs)
    stop = threading.Event()

    def feed() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                pending.put(pool.submit(work, item))
        except BaseException as err:  # raised again by the consumer, in order
            pending.put(err)
        else:
            pending.put(_END)

    try:
        pool.submit(_ready).result()  # forks every worker now, while this is the only thread
        threading.Thread(target=feed, name="ringfence-reader", daemon=True).start()
        while (got := pending.get()) is not _END:
            if isinstance(got, BaseException):
                raise got
            assert isinstance(got, Future)
            yield got.result()
    except BaseException:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)  # what is left is not wanted
        raise
    pool.shutdown()  # every answer is in: the workers exit, and are waited for
