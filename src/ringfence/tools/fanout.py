"""Work spread over worker processes, answered in input order, with memory bounded.

Each worker has a pipe in and a pipe out. A thread of this process reads the items and hands
item ``k`` to worker ``k mod jobs``; the answers are read back in the same turn, so they come in
input order with no bookkeeping, and this process does nothing but move each item and answer
once through a pipe (no executor, no result threads). At most ``2 x jobs`` items are in flight,
so a fast reader and slow workers do not pile the input up in memory.

Work whose answers are mostly bytes for one file (the lines of ``decide``) can have the workers
write them there themselves, in turn (see :class:`_Turn`): then not even the answers pass through
this process.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection
from typing import Any, TypeVar, overload

T = TypeVar("T")
R = TypeVar("R")
_END = object()
_Workers = list[tuple[multiprocessing.process.BaseProcess, Connection, Connection]]
# Pipes this large (Linux's default limit for anyone) carry a block of decide --jobs in one or
# two writes instead of sixteen 64 kB ones.
_PIPE_SIZE = 1 << 20
# Whether the worker processes are forked, and so inherit this process's open files and what
# it has loaded (elsewhere they are spawned: macOS and Windows cannot fork safely).
FORKED = sys.platform == "linux"


class WorkerLost(Exception):
    """A worker process stopped before answering (killed, out of memory)."""


class _Failed:
    """What a worker sends back when ``work`` raised: the error, raised again in order here."""

    def __init__(self, error: BaseException):
        self.error = error


def write_all(out: int, data: bytes) -> None:
    """All of ``data`` written to the file descriptor ``out`` (a pipe takes a part at a time)."""
    view = memoryview(data)
    while view:
        view = view[os.write(out, view):]


class _Turn:
    """A worker's place in the ring of workers that write to one file in input order: it waits
    for a byte from the worker before it (who has written the item before), writes, and passes
    a byte on to the worker after it. Items go round the workers in turn, so does the byte."""

    def __init__(self, out: int, ring: list[tuple[int, int]], index: int):
        self.out = out
        self.ring = ring
        self.wait = ring[index][0]
        self.next = ring[(index + 1) % len(ring)][1]
        # An item of this worker failed: the turn it did not take is no later item's.
        self.broken = False

    def keep(self) -> None:
        """In the worker: close the ring's other ends, so that when the worker before this one
        is gone, its end is closed and waiting ends."""
        for fd in itertools.chain.from_iterable(self.ring):
            if fd not in (self.wait, self.next):
                os.close(fd)

    def write(self, data: bytes) -> None:
        if self.broken:
            raise WorkerLost("an item before this one failed")
        if not os.read(self.wait, 1):
            raise WorkerLost("the worker process before this one stopped")
        write_all(self.out, data)
        with contextlib.suppress(BrokenPipeError):  # the next worker is gone: the caller hears
            os.write(self.next, b"\0")            # it from that worker's own pipe, in order


def _serve(inbox: Connection, outbox: Connection, work: Callable[[T], Any],
           start: Callable[..., None], start_args: tuple[Any, ...], turn: _Turn | None) -> None:
    """A worker's life: start, then answer each item until told to stop (``None``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's, who ends the workers
    if turn is not None:
        turn.keep()
    start(*start_args)
    answers = _Answers(outbox, turn)
    while (item := inbox.recv()) is not None:
        try:
            answer: Any = work(item)
        except Exception as err:  # the caller's error, raised there in order
            answer = _Failed(err)
        answers.put(answer)
    answers.close()


class _Answers:
    """A worker's answers, sent back in order. With a turn, each one's bytes are written first,
    in its turn, by a thread of their own: the worker goes on with its next item meanwhile
    rather than wait for the workers before it, who may be slower for a while (a harder block,
    a busy machine)."""

    def __init__(self, outbox: Connection, turn: _Turn | None):
        self.outbox = outbox
        self.turn = turn
        self.ready: queue.Queue[Any] = queue.Queue(maxsize=2)
        self.thread: threading.Thread | None = None  # the writer, with a turn only
        if turn is not None:
            self.thread = threading.Thread(target=self._write, name="ringfence-writer",
                                           daemon=True)
            self.thread.start()

    def put(self, answer: Any) -> None:
        if self.turn is None:
            self._send(answer)
        else:
            self.ready.put(answer)

    def close(self) -> None:
        if self.thread is not None:
            self.ready.put(_END)
            self.thread.join()

    def _write(self) -> None:
        assert self.turn is not None
        while (answer := self.ready.get()) is not _END:
            if not isinstance(answer, _Failed):
                try:
                    data, answer = answer
                    self.turn.write(data)
                except Exception as err:  # the output's error (a reader gone), raised in order
                    answer = _Failed(err)
            if isinstance(answer, _Failed):
                self.turn.broken = True
            self._send(answer)

    def _send(self, answer: Any) -> None:
        try:
            self.outbox.send(answer)
        except Exception as err:  # an error that cannot be pickled: said in words
            self.outbox.send(_Failed(RuntimeError(f"{type(err).__name__}: {err}")))


def _widen(connection: Connection) -> None:
    if sys.platform == "linux":
        import fcntl

        with contextlib.suppress(OSError):  # a smaller pipe only costs more writes
            fcntl.fcntl(connection.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)


def _start(workers: _Workers, jobs: int, work: Callable[[T], Any], start: Callable[..., None],
           start_args: tuple[Any, ...], out: int | None) -> None:
    """Start the workers, each with its pipe in and its pipe out (and its place in the ring of
    writers to ``out``, if any)."""
    context = (multiprocessing.get_context("fork") if FORKED
               else multiprocessing.get_context("spawn"))
    ring = [os.pipe() for _ in range(jobs)] if out is not None else []
    try:
        for index in range(jobs):
            inbox, to_worker = context.Pipe(duplex=False)
            from_worker, outbox = context.Pipe(duplex=False)
            _widen(to_worker)
            _widen(from_worker)
            turn = None if out is None else _Turn(out, ring, index)
            process = context.Process(target=_serve, daemon=True,
                                      args=(inbox, outbox, work, start, start_args, turn))
            process.start()
            inbox.close()  # the worker's ends: a worker that dies is then an EOF here
            outbox.close()
            workers.append((process, to_worker, from_worker))
        if ring:
            os.write(ring[0][1], b"\0")  # the first item's worker writes first
    finally:
        for fd in itertools.chain.from_iterable(ring):
            os.close(fd)


@overload
def ordered_map(work: Callable[[T], R], items: Iterable[T], jobs: int,
                start: Callable[..., None], start_args: tuple[Any, ...]) -> Iterator[R]: ...


@overload
def ordered_map(work: Callable[[T], tuple[bytes, R]], items: Iterable[T], jobs: int,
                start: Callable[..., None], start_args: tuple[Any, ...],
                out: int) -> Iterator[R]: ...


def ordered_map(work: Callable[[T], Any], items: Iterable[T], jobs: int,
                start: Callable[..., None], start_args: tuple[Any, ...],
                out: int | None = None) -> Iterator[Any]:
    """``work(item)`` for each item, computed by ``jobs`` processes, yielded in input order.

    ``start(*start_args)`` runs in each process first. On Linux the processes are forked, before
    any thread starts here, so they inherit what this process has loaded (``gc.freeze()`` it
    first, or each worker's garbage collector copies the pages it walks); elsewhere they are
    spawned and ``start`` loads it. An error reading ``items`` or raised by ``work`` is raised
    here, in order; :class:`WorkerLost` when a worker stops without answering.

    With ``out`` (a file descriptor), ``work`` gives (bytes, answer): the bytes are written to
    ``out`` in input order, each before its answer is yielded, and the answer alone is yielded.
    Forked workers write them themselves (they share the open file), taking turns; spawned
    ones send them here.
    """
    workers: _Workers = []
    # the worker each item went to, in input order; the end or a reading error last
    turns: queue.Queue[Any] = queue.Queue(maxsize=2 * jobs)
    stop = threading.Event()

    def put(turn: Any) -> bool:
        while not stop.is_set():  # the consumer may have gone: then this thread ends
            try:
                turns.put(turn, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def feed() -> None:
        try:
            for k, item in enumerate(items):
                try:
                    workers[k % jobs][1].send(item)
                except OSError:  # its end is closed: it died
                    raise WorkerLost(f"worker process {k % jobs + 1} of {jobs} stopped") from None
                if not put(k % jobs):
                    return
        except BaseException as err:  # raised again by the consumer, in order
            put(err)
        else:
            put(_END)

    finished = False
    try:
        ring_out = out if FORKED else None
        _start(workers, jobs, work, start, start_args, ring_out)  # now: the only thread yet
        threading.Thread(target=feed, name="ringfence-reader", daemon=True).start()
        while (turn := turns.get()) is not _END:
            if isinstance(turn, BaseException):
                raise turn
            try:
                answer = workers[turn][2].recv()
            except (EOFError, OSError):
                raise WorkerLost(f"worker process {turn + 1} of {jobs} stopped") from None
            if isinstance(answer, _Failed):
                raise answer.error
            if out is not None and ring_out is None:
                data, answer = answer
                write_all(out, data)
            yield answer
        finished = True
    finally:
        stop.set()
        _stop(workers, finished)


def _stop(workers: _Workers, finished: bool) -> None:
    """Let the workers exit once every answer is in; otherwise (an error, the consumer gone)
    end them: their work is no longer wanted."""
    for process, to_worker, from_worker in workers:
        if finished:
            with contextlib.suppress(OSError):  # the reader thread has sent its last item
                to_worker.send(None)
        else:
            process.terminate()
        to_worker.close()
        from_worker.close()
    for process, _, _ in workers:
        process.join()
