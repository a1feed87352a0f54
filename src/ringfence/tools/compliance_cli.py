"""The commands a compliance team runs: ``audit``, ``diff`` and ``lint``.

They are added to the ``ringfence`` group by :func:`add_commands`, which the CLI module calls with
its shared policy options and error guard (passed in, so this module does not import the CLI
module that imports it).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ringfence.tools.calllog import FORMATS, read_log

if TYPE_CHECKING:
    from ringfence.tools.audit import AuditResult

EXIT_FOUND = 1
EXIT_BAD_INPUT = 2

_log_format = click.option("--format", "log_fmt", type=click.Choice(FORMATS), default=None,
                           help="Format of the call log (default: from its suffix: .csv, "
                                ".jsonl/.ndjson/.json, .parquet).")  # fmt: skip


def add_commands(group: click.Group, policy_options: Callable[..., Any],
                 policy_set: Callable[..., Any],
                 guard: Callable[..., Any]) -> None:  # fmt: skip
    """Add ``audit``, ``diff`` and ``lint`` to ``group``.

    ``policy_options`` decorates a command with ``--policy/--jurisdiction/--list``;
    ``policy_set(policies, jurisdiction, lists)`` loads what they name; ``guard`` turns
    Ringfence errors into a message and exit code 2.
    """

    @group.command("audit")
    @policy_options
    @_log_format
    @click.option("--findings", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write every finding to FILE: CSV for .csv, else JSON Lines; - for stdout.")
    @click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
                  help="Write the HTML report (charts, rules, worst numbers, findings) to FILE.")
    @click.option("--lookback-days", type=click.IntRange(min=1), default=366, show_default=True,
                  help="Earlier calls older than this are left out of a call's history; make it "
                       "at least the longest look-back of the policies' rules.")  # fmt: skip
    @click.option("--jobs", type=click.IntRange(min=1), default=os.cpu_count() or 1,
                  show_default="every core", help="Processes that share the numbers among them.")
    @click.argument("call_log", type=click.Path(dir_okay=False, path_type=Path))
    @guard
    def audit_command(policies: tuple[str, ...], jurisdiction: str | None, lists: tuple[str, ...],
                      log_fmt: str | None, findings: Path | None, report: Path | None,
                      lookback_days: int, jobs: int, call_log: Path) -> None:  # fmt: skip
        """Audit calls already made: which call broke which rule, by the law of its date.

        CALL_LOG is CSV, JSON Lines or Parquet, one call request per row (plus an optional
        `outcome` column: conversation, no_answer, ...). The calls are replayed in time order:
        each becomes a prior attempt of the later calls to the same number, so frequency caps
        are judged as they stood. Prints a summary; --findings and --report write the details.

        Exit status: 0 no call broke a rule, 1 some did, 2 bad input (including rows that
        could not be judged, listed in the findings and the report).
        """
        from ringfence.tools.audit import audit, findings_format, write_findings

        loaded = policy_set(policies, jurisdiction, lists)
        started = time.perf_counter()
        rows, errors = read_log(call_log, log_fmt)
        result = audit(loaded, rows, errors=errors, lookback=dt.timedelta(days=lookback_days),
                       jobs=jobs)
        seconds = time.perf_counter() - started
        if findings is not None:
            if str(findings) == "-":
                write_findings(result, sys.stdout, "jsonl")
            else:
                with findings.open("w", encoding="utf-8", newline="") as out:
                    write_findings(result, out, findings_format(findings))
        if report is not None:
            from ringfence.tools.audit_report import render_report

            report.write_text(render_report(result, str(call_log)), encoding="utf-8")
        click.echo(_audit_summary(result, seconds), err=str(findings) == "-")
        if result.errors:
            sys.exit(EXIT_BAD_INPUT)
        sys.exit(EXIT_FOUND if result.violations else 0)

    @group.command("diff")
    @click.argument("old")
    @click.argument("new")
    @click.option("--calls", "calls_path", required=True,
                  type=click.Path(dir_okay=False, path_type=Path),
                  help="A sample of calls (a call log: CSV, JSON Lines or Parquet) to judge with both.")
    @_log_format
    @click.option("--list", "lists", multiple=True, metavar="NAME=FILE",
                  help="A number list file both policy sets read (repeatable).")
    @click.option("--week", type=click.DateTime(["%Y-%m-%d"]),
                  help="Any day of the calendar week to compare (default: this week).")
    @click.option("--examples", type=click.IntRange(min=0), default=5, show_default=True,
                  help="Example calls shown per changed rule.")
    @click.option("--json", "as_json", is_flag=True, help="Print the difference as JSON.")
    @guard
    def diff_command(old: str, new: str, calls_path: Path, log_fmt: str | None,
                     lists: tuple[str, ...], week: dt.datetime | None, examples: int,
                     as_json: bool) -> None:  # fmt: skip
        """What changes between two policy versions: decisions on a sample, and the calendar.

        OLD and NEW are policy files, folders or shipped ids. Every call of the sample is
        replayed (as `audit` does) and judged by both; the calls whose decision or broken rules
        differ are grouped by rule, with counts and examples. Then a week of the calendar is
        compared for each region the policies name: the slots opened or closed.

        Exit status: 0 nothing changes, 1 something does, 2 bad input.
        """
        from ringfence.tools.diff import diff_policies, render_diff

        before = policy_set((old,), None, lists)
        after = policy_set((new,), None, lists)
        rows, errors = read_log(calls_path, log_fmt)
        result = diff_policies(before, after, rows, errors=errors,
                               week=week.date() if week else None, examples=examples)  # fmt: skip
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) if as_json
                   else render_diff(result))  # fmt: skip
        if result.errors:
            sys.exit(EXIT_BAD_INPUT)
        sys.exit(EXIT_FOUND if result.changes else 0)


    @group.command("lint")
    @click.argument("paths", nargs=-1)
    @click.option("--json", "as_json", is_flag=True, help="Print the warnings as JSON.")
    @guard
    def lint_command(paths: tuple[str, ...], as_json: bool) -> None:
        """Warnings a reviewer should see that are no errors: windows that add nothing under a
        national policy, rules no test case ever violates.

        PATHS are policy files, folders or shipped ids (default: the shipped library); the test
        suites are those in the same folders. Exit status: 0 no warning, 1 warnings, 2 bad input.
        """
        from ringfence.resources import policies_dir
        from ringfence.tools.lint import lint

        warnings = lint(list(paths) or [policies_dir()])
        if as_json:
            click.echo(json.dumps([w.to_dict() for w in warnings], indent=2, ensure_ascii=False))
        else:
            for warning in warnings:
                click.echo(warning.render())
            click.echo(f"{len(warnings)} warning{'s' if len(warnings) != 1 else ''}")
        sys.exit(EXIT_FOUND if warnings else 0)


def _audit_summary(result: AuditResult, seconds: float) -> str:
    lines = [f"audited {result.calls:,} calls in {seconds:.1f} s"
             + (f" ({result.first.isoformat()} to {result.last.isoformat()})"
                if result.first and result.last else ""),
             f"{result.calls_in_breach:,} calls broke a rule: {len(result.violations):,} violations, "
             f"{len(result.findings) - len(result.violations):,} warnings; "
             f"{len(result.errors):,} rows could not be judged"]  # fmt: skip
    titles = {f.rule_ref: f for f in result.findings}
    for ref, count in result.count("rule_ref").most_common():
        f = titles[ref]
        lines.append(f"  {count:>9,}  {ref}: {f.title} [{'; '.join(f.citations)}]")
    for error in result.errors[:10]:
        lines.append(f"  line {error.line}: {error.field}: {error.message}")
    if len(result.errors) > 10:
        lines.append(f"  ... and {len(result.errors) - 10:,} more rows that could not be judged")
    return "\n".join(lines)
