"""``ringfence decide``: calls in, one decision per line out, as a stream.

Input is read a block at a time (:mod:`ringfence.tools.callstream`), each block decided (here, or
by worker processes with ``--jobs``) and its lines written and flushed before the next is awaited,
so the first decision comes out while the input is still being read and memory stays flat.

With ``--jobs``, the workers read a regular file's lines themselves and write their decisions
to standard output themselves, in input order (:mod:`ringfence.tools.fanout`): this process
only finds where the blocks lie and adds up the tallies.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import sys
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import click

from ringfence.errors import InputError
from ringfence.tools.callstream import (
    BLOCK,
    FANOUT_BLOCK,
    Block,
    Span,
    blocks,
    open_calls,
    pieces,
    read_span,
    spans,
)
from ringfence.tools.decidework import (
    DecideOptions,
    Decider,
    Output,
    Tally,
    decider,
    prepare_workers,
    start_worker,
    work,
)
from ringfence.tools.fanout import FORKED, WorkerLost, ordered_map
from ringfence.tools.runreport import Progress, summary

EXIT_BAD_INPUT = 2


def _check(options: DecideOptions, jobs: int) -> None:
    """Options that cannot go together: an error, rather than one of them silently unused."""
    if options.ledger is None:
        for name, value in (("--reserve", options.reserve), ("--key-file", options.key_file),
                            ("--seller", options.seller)):
            if value:
                raise InputError(f"{name} needs --ledger")
        return
    if options.trace:
        raise InputError("--trace cannot be given with --ledger (use explain on the merged call)")
    if options.reserve and jobs > 1:
        raise InputError("--reserve decides in input order, one call after another: give "
                         "--jobs 1 (several dialer workers reserve safely through one ledger)")


def _outputs(main: Decider, stream: BinaryIO, jobs: int) -> Iterator[Output]:
    """Each block's output, in order: decided here, or by ``jobs`` worker processes, which
    read a regular file's lines themselves (forked, they have it open) and are sent the
    blocks of any other input."""
    if jobs == 1:
        return map(main.block, blocks(stream, BLOCK))
    if main.options.ledger is not None:
        from ringfence.tools.decidework import open_ledger

        open_ledger(main.options).close()  # an unreachable ledger is reported before any worker
    found = spans(stream, FANOUT_BLOCK) if FORKED else None
    items: Iterator[Block | Span] = blocks(stream, FANOUT_BLOCK) if found is None else found
    if FORKED:
        items = _prepare_forked(main, items)
    out = _descriptor()
    if out is None:
        return ordered_map(_work, items, jobs, start_worker, (main.options,))
    return ordered_map(_work_written, items, jobs, start_worker, (main.options,), out)


def _prepare_forked(main: Decider, items: Iterator[Block | Span]) -> Iterator[Block | Span]:
    """The items, after workers to be forked are prepared with the first BLOCK of the first
    one decided here (see prepare_workers), and what that loaded frozen out of the garbage
    collector's walks as the policies are (see _steady)."""
    first = next(items, None)
    if first is None:
        prepare_workers(main)
        return items
    prepare_workers(main, next(pieces(read_span(first) if isinstance(first, Span) else first,
                                      BLOCK)))
    gc.freeze()
    return itertools.chain([first], items)


def _descriptor() -> int | None:
    """Standard output's file descriptor, for the workers to write to (None when it has none:
    a caller's stream), with what is buffered for it written first."""
    sys.stdout.flush()
    try:
        return sys.stdout.buffer.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation
        return None


def _work(item: Block | Span) -> Output:
    """A block of --jobs decided in a worker process BLOCK bytes at a time, as --jobs 1 does:
    a block's calls are read all at once, and a thousand of them (FANOUT_BLOCK) outgrow the
    processor's cache while they are decided (each cost a fifth more)."""
    tally = Tally()
    out = []
    for piece in pieces(read_span(item) if isinstance(item, Span) else item, BLOCK):
        output = work(piece)
        out.append(output.data)
        tally.add(output.tally)
    return Output(b"".join(out), tally)


def _work_written(item: Block | Span) -> tuple[bytes, Output]:
    """A block's lines, which its worker writes to standard output itself, and its tally."""
    output = _work(item)
    return output.data, Output(b"", output.tally)


@contextlib.contextmanager
def _steady() -> Iterator[None]:
    """The garbage collector set for a long run, and set back after it: what is loaded (the
    policies) frozen out of its walks, and the youngest generation collected after 10,000 new
    objects rather than 700. A run of lines (decidework.RUN) keeps its calls and decisions
    alive until it is written, which would otherwise set off a collection every few dozen
    calls, each walking them all again. Worker processes of --jobs inherit both (and,
    frozen, copy no page of what they inherit for the collector's sake)."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _run(options: DecideOptions, calls: str, jobs: int, quiet: bool) -> Tally:
    main = decider(options, with_ledger=jobs == 1)
    tally = Tally()
    out = sys.stdout.buffer
    progress = Progress(enabled=not quiet)
    try:
        with _steady(), open_calls(calls) as stream:
            for output in _outputs(main, stream, jobs):
                out.write(output.data)
                out.flush()  # a block's decisions leave before the next input is awaited
                tally.add(output.tally)
                progress.advance(output.tally.calls)
    finally:
        progress.close()
        if main.ledger is not None:
            main.ledger.close()
    return tally


def decide_command(policy_options: Callable[..., Any],
                   guard: Callable[..., Any]) -> click.Command:
    """The ``decide`` command, with the shared policy options and error guard of the CLI."""

    @click.command("decide")
    @policy_options
    @click.option("--trace", is_flag=True, help="Add every rule's outcome and why to each decision.")
    @click.option("--full", is_flag=True,
                  help="Every policy evaluated (applicable or not) and rule files by the path "
                       "they were loaded from, as before the compact form.")
    @click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
                  help="Worker processes deciding blocks of lines; output stays in input order.")
    @click.option("--quiet", "-q", is_flag=True,
                  help="No summary and no progress bar on standard error.")
    @click.option("--ledger", default=None, metavar="FILE_OR_URL",
                  help="Merge the compliance ledger's facts into each call (SQLite file or "
                       "postgresql://...).")
    @click.option("--key-file", type=click.Path(dir_okay=False), default=None,
                  help="Key the ledger hashes numbers with.")
    @click.option("--seller", default=None, help="Who the ledger decides for (consent scope).")
    @click.option("--reserve", is_flag=True,
                  help="Record each allowed call as a pending attempt in the ledger, atomically "
                       "with its decision; the decision gives its attempt_id.")
    @click.argument("calls", default="-", metavar="[CALLS]")
    @guard
    def decide(policies: tuple[str, ...], jurisdiction: str | None, lists: tuple[str, ...],
               trace: bool, full: bool, jobs: int, quiet: bool, ledger: str | None,
               key_file: str | None, seller: str | None, reserve: bool, calls: str) -> None:
        """Decide calls: one JSON call or JSON Lines from CALLS: a file, inline JSON, or - for
        stdin (the default).

        Prints one JSON decision per line (UTF-8), in input order, each written as soon as it
        is made, and exits 0: a deny is an answer, not an error. A decision is compact unless
        --full: only the policies that applied to the call, and a shipped policy's file named
        relative to the library. A malformed line prints an error record for that line
        ({"line": N, "error": ..., "id": ... when the line is a JSON object with an id}) and
        processing goes on; the exit code is then 2. At the end a summary goes to standard
        error (calls, allowed, denied, malformed, denials by rule), and on a terminal a
        progress bar shows while a long run goes on; --quiet prints neither.
        """
        if sys.stdout is None:
            raise InputError("standard output is closed; the decisions have nowhere to go")
        options = DecideOptions(policies, jurisdiction, lists, trace, full, ledger, key_file,
                                seller, reserve)
        _check(options, jobs)
        try:
            tally = _run(options, calls, jobs, quiet)
        except WorkerLost:
            raise InputError("a worker process of --jobs stopped (out of memory?); "
                             "the output is incomplete") from None
        except Exception as err:
            _ledger_failure(options, err)
            raise
        if not quiet:
            click.echo(summary(tally), err=True)
        if tally.errors:
            sys.exit(EXIT_BAD_INPUT)

    return decide


def _ledger_failure(options: DecideOptions, err: Exception) -> None:
    """A failing ledger database as an input error naming its cause."""
    if options.ledger is None:
        return
    from ringfence.ledger.db import DATABASE_ERRORS
    from ringfence.tools.ledger_cli import database_message

    if isinstance(err, DATABASE_ERRORS):
        raise InputError(database_message(err)) from None
