"""``ringfence scrub``: judge a campaign list for a planned calling time or day (see
:mod:`ringfence.tools.scrub`), write every row's answer and a summary."""

from __future__ import annotations

import datetime as dt
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import click
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ringfence.contract.request import CONTRACT
from ringfence.errors import InputError
from ringfence.tools.calllog import FORMATS, log_format
from ringfence.tools.calltable import CallTable, decoded, read_table
from ringfence.tools.scrub import Plan, ScrubResult, scrub

EXIT_BAD_INPUT = 2
_COLUMNS = frozenset(p.key for p in CONTRACT.children())


def plan_of(at: str | None, at_local: str | None, date: str | None, day: str | None) -> Plan:
    """The :class:`Plan` the options name; InputError for a malformed or contradictory one."""
    given = [name for name, value in (("--at", at), ("--at-local", at_local), ("--day", day))
             if value is not None]
    if len(given) > 1:
        raise InputError(f"give one of --at, --at-local (with --date) and --day, not "
                         f"{' and '.join(given)}")
    if (at_local is None) != (date is None):
        raise InputError("--at-local HH:MM and --date YYYY-MM-DD go together: the time is read "
                         "on each callee's clock on that date")
    if at is not None:
        when = _parse(at, dt.datetime.fromisoformat, "--at", "an RFC 3339 instant")
        if when.tzinfo is None:
            raise InputError(f"--at {at}: give an offset or Z (2026-12-01T10:00:00-05:00); for "
                             "a time on each callee's own clock use --at-local 10:00 --date "
                             "2026-12-01")
        return Plan("instant", at=when)
    if at_local is not None and date is not None:
        return Plan("local", day=_parse(date, dt.date.fromisoformat, "--date", "a date YYYY-MM-DD"),
                    time=_parse(at_local, dt.time.fromisoformat, "--at-local", "a time HH:MM"))
    if day is not None:
        return Plan("day", day=_parse(day, dt.date.fromisoformat, "--day", "a date YYYY-MM-DD"))
    return Plan("row")


def _parse(text: str, parse: Callable[[str], Any], option: str, what: str) -> Any:
    try:
        return parse(text)
    except ValueError:
        raise InputError(f"{option} {text!r} is not {what}") from None


def check_columns(calls: CallTable, plan: Plan, path: Path) -> None:
    """Every column is a call field, and the planned time comes from exactly one place."""
    names = calls.table.column_names
    unknown = [name for name in names if name not in _COLUMNS]
    if unknown:
        raise InputError(f"{path}: column {unknown[0]!r} is not a call field (the columns are "
                         f"the call request's fields: {', '.join(sorted(_COLUMNS))})")
    if plan.kind == "row" and "at" not in names and len(calls):
        raise InputError(f"{path}: no 'at' column: give the planned time with --at, --at-local "
                         "and --date, or --day")
    if plan.kind != "row" and "at" in names:
        raise InputError(f"{path}: the list has its own 'at' column and a planned time was "
                         "given as well; leave out one")


def write_result(table: pa.Table, out: str, fmt: str) -> None:
    """The answers to ``out`` (``-``: standard output) as CSV, JSON Lines or Parquet."""
    if out == "-":
        if fmt == "parquet":
            raise InputError("Parquet is not written to a terminal or pipe; give -o FILE")
        _write(table, sys.stdout.buffer, fmt)
        sys.stdout.buffer.flush()
        return
    try:
        with open(out, "wb") as fh:
            _write(table, fh, fmt)
    except OSError as err:
        raise InputError(f"cannot write {out}: {err.strerror or err}") from None


def _write(table: pa.Table, fh: BinaryIO, fmt: str) -> None:
    if fmt == "parquet":
        # Written as Parquet stores text (the answers' dictionaries as they are), without the
        # Arrow schema: read back, the columns are text, not dictionaries. The row numbers, ids
        # and numbers are as many as the rows: a dictionary of them would be built and given
        # up; row numbers ascend, so their differences are stored (a few bits each). Only the
        # row numbers get statistics: the answers' smallest and largest cost as much to work
        # out as the answers to write, and say little.
        # Parquet names a list's items by their path (`violations.list.element`): named by the
        # column alone, they would be decoded and written plain, at twice the cost.
        coded = [f"{field.name}.list.element" if pa.types.is_list(field.type) else field.name
                 for field in table.schema if field.name not in ("row", "id", "to")]
        pq.write_table(table, fh, store_schema=False, write_statistics=["row"],
                       use_dictionary=coded, column_encoding={"row": "DELTA_BINARY_PACKED"})
        return
    table = decoded(table)
    if fmt == "csv":
        for name in ("violations", "warnings"):
            joined = pc.binary_join(table.column(name), "; ")
            table = table.set_column(table.schema.get_field_index(name), name, joined)
        pacsv.write_csv(table, fh)
    else:
        for row in table.to_pylist():
            fh.write(json.dumps(row, ensure_ascii=False).encode("utf-8") + b"\n")


def print_summary(result: ScrubResult, seconds: float) -> None:
    """Counts by decision, rule and jurisdiction, on standard error."""
    rate = f" ({result.rows / seconds:,.0f} rows/s)" if seconds > 0 else ""
    counts = result.decisions
    echo = click.echo
    echo(f"scrubbed {result.rows:,} rows in {seconds:.2f} s{rate}: {counts['allow']:,} allowed, "
         f"{counts['deny']:,} denied, {counts['error']:,} error{'' if counts['error'] == 1 else 's'}; "
         f"{result.groups:,} distinct calls decided", err=True)
    if result.by_rule:
        echo("denied by rule:", err=True)
        width = max(map(len, result.by_rule))
        for rule, count in result.by_rule.most_common():
            echo(f"  {rule:<{width}} {count:>12,}", err=True)
    echo(f"  {'jurisdiction':<12} {'allow':>12} {'deny':>12} {'error':>12}", err=True)
    for place, seen in sorted(result.by_jurisdiction.items()):
        echo(f"  {place:<12} {seen['allow']:>12,} {seen['deny']:>12,} {seen['error']:>12,}",
             err=True)


def add_scrub(group: click.Group, policy_options: Callable[..., Any],
              policy_set: Callable[..., Any], guard: Callable[..., Any]) -> None:
    """Add ``scrub`` to ``group`` (with the CLI's shared policy options and error guard)."""

    @group.command("scrub")
    @policy_options
    @click.option("--at", metavar="INSTANT", default=None,
                  help="Judge every row at this RFC 3339 instant (an offset or Z is required).")
    @click.option("--at-local", metavar="HH:MM", default=None,
                  help="Judge every row at this time on the callee's own clock (with --date).")
    @click.option("--date", metavar="YYYY-MM-DD", default=None, help="The date of --at-local.")
    @click.option("--day", metavar="YYYY-MM-DD", default=None,
                  help="Is any time of this day (on the callee's clock) allowed, and the first?")
    @click.option("--format", "in_fmt", type=click.Choice(FORMATS), default=None,
                  help="Format of CAMPAIGN (default: from its suffix).")
    @click.option("-o", "--output", default="-", show_default=True, metavar="FILE",
                  help="Where the answers go; - for standard output.")
    @click.option("--output-format", "out_fmt", type=click.Choice(FORMATS), default=None,
                  help="Format of the answers (default: from the suffix of --output; JSON Lines "
                       "on standard output).")
    @click.option("--summary-json", type=click.Path(dir_okay=False, path_type=Path),
                  default=None, help="Also write the summary as JSON to FILE.")
    @click.option("--quiet", "-q", is_flag=True, help="No summary on standard error.")
    @click.argument("campaign", type=click.Path(dir_okay=False, path_type=Path))
    @guard
    def scrub_command(policies: tuple[str, ...], jurisdiction: str | None,
                      lists: tuple[str, ...], at: str | None, at_local: str | None,
                      date: str | None, day: str | None, in_fmt: str | None, output: str,
                      out_fmt: str | None, summary_json: Path | None, quiet: bool,
                      campaign: Path) -> None:
        """Scrub a campaign list: is each row's call allowed at the planned time, which rules
        deny it, and when may it be made.

        CAMPAIGN is CSV, JSON Lines or Parquet with the call request's fields as columns (to,
        purpose, technology, line_type, from, ...). The planned time is the list's own `at`
        column, --at (one instant), --at-local with --date (a time on each callee's clock), or
        --day (any time that day on the callee's clock). Every row gets the same decision as
        `ringfence decide` would give its call. Writes one answer per row (row, id, to,
        decision, at, violations, warnings, next_allowed_at, jurisdiction, error,
        error_field) and prints a summary by rule and jurisdiction on standard error.

        Exit status: 0 every row was judged (allowed or denied), 2 bad input: the file or an
        option (nothing written), or some rows that could not be judged (their error rows
        name the row and the field).
        """
        plan = plan_of(at, at_local, date, day)
        fmt = out_fmt or ("jsonl" if output == "-" else log_format(Path(output)))
        loaded = policy_set(policies, jurisdiction, lists)
        # What is loaded lives until the command ends: the collector's full passes, which the
        # deciding's allocations set off, need not walk it (they cost up to 0.2 s a million rows).
        gc.freeze()
        started = time.perf_counter()
        calls = read_table(campaign, in_fmt)
        check_columns(calls, plan, campaign)
        result = scrub(loaded, calls, plan)
        write_result(result.table, output, fmt)
        seconds = time.perf_counter() - started
        if summary_json is not None:
            try:
                summary_json.write_text(json.dumps(result.summary(), indent=2) + "\n")
            except OSError as err:
                raise InputError(f"cannot write {summary_json}: {err.strerror}") from None
        if not quiet:
            print_summary(result, seconds)
        errors = result.decisions["error"]
        if errors:
            click.echo(f"{errors:,} row{'s' if errors != 1 else ''} could not be judged; see "
                       "the error rows", err=True)
            sys.exit(EXIT_BAD_INPUT)
