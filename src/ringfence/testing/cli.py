"""``ringfence test``: run policy test suites (``*.test.yaml``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ringfence.testing.coverage import Coverage
from ringfence.testing.problems import SuiteError
from ringfence.testing.report import render_json, render_junit, render_text
from ringfence.testing.runner import PolicyCache, RunResult, run
from ringfence.testing.suite import SUITE_SUFFIX, Suite, discover, load_suite

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2


def _fail_input(messages: list[str]) -> None:
    for message in messages:
        click.echo(f"error: {message}", err=True)
    raise SystemExit(EXIT_INPUT)


def load_suites(paths: list[Path]) -> list[Suite]:
    """Discover and load every suite under ``paths``; input problems exit with code 2."""
    files, missing = discover(paths)
    if missing:
        _fail_input([f"{m}: no such file or folder" for m in missing])
    suites: list[Suite] = []
    problems: list[str] = []
    for file in files:
        try:
            suites.append(load_suite(file))
        except SuiteError as exc:
            problems.extend(p.render() for p in exc.problems)
    if problems:
        _fail_input(problems)
    return suites


def _render(result: RunResult, fmt: str, verbose: bool) -> str:
    if fmt == "json":
        return render_json(result)
    if fmt == "junit":
        return render_junit(result)
    return render_text(result, verbose=verbose)


def _no_traceback(command: Callable[..., None]) -> Callable[..., None]:
    """A bug must still not show a traceback to a compliance analyst: report it, exit 2."""

    @functools.wraps(command)
    def guarded(*args: Any, **kwargs: Any) -> None:
        try:
            command(*args, **kwargs)
        except (SystemExit, click.exceptions.Exit, click.ClickException):
            raise
        except Exception as exc:
            _fail_input([f"internal error in the test runner: {type(exc).__name__}: {exc}"])

    return guarded


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-k",
    "patterns",
    multiple=True,
    metavar="PATTERN",
    help="Run only cases whose 'file::case name' contains PATTERN (case-insensitive; repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "junit"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to FILE (the text report still goes to standard output).",
)
@click.option("--coverage", is_flag=True, help="Report rule coverage per policy.")
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 100),
    metavar="PCT",
    help="Fail when fewer than PCT percent of rules were exercised both ways (implies --coverage).",
)
@click.option("--allow-empty", is_flag=True, help="Succeed when no case is found or selected.")
@click.option("-v", "--verbose", is_flag=True, help="Also list passing cases.")
@_no_traceback
def test_command(
    paths: tuple[Path, ...],
    patterns: tuple[str, ...],
    fmt: str,
    output: Path | None,
    coverage: bool,
    fail_under: float | None,
    allow_empty: bool,
    verbose: bool,
) -> None:
    """Run the policy test suites (*.test.yaml) found under PATHS (default: the current folder).

    Exit status: 0 when every case passes, 1 when a case fails (or coverage is below
    --fail-under), 2 for a usage or input error (malformed file, missing policy, empty run).
    """
    roots = list(paths) or [Path(".")]
    suites = load_suites(roots)
    tracker = Coverage() if (coverage or fail_under is not None) else None
    try:
        result = run(suites, PolicyCache(), patterns=patterns, coverage=tracker)
    except SuiteError as exc:
        _fail_input([p.render() for p in exc.problems])
    if not result.results and not allow_empty:
        where = ", ".join(str(r) for r in roots)
        if not any(s.cases for s in suites):
            _fail_input(
                [
                    f"no test cases found (no *{SUITE_SUFFIX} with cases under {where}); "
                    "use --allow-empty to accept an empty run"
                ]
            )
        _fail_input(
            [f"no test case matches -k {' -k '.join(patterns)}; use --allow-empty to accept an empty run"]
        )
    report = _render(result, fmt, verbose)
    if output is not None:
        try:
            output.write_text(report, encoding="utf-8")
        except OSError as exc:
            _fail_input([f"{output}: cannot write the report: {exc.strerror or exc}"])
        click.echo(render_text(result, verbose=verbose), nl=False)
    else:
        click.echo(report, nl=False)
    if result.count("error"):
        raise SystemExit(EXIT_INPUT)
    if result.count("failed"):
        raise SystemExit(EXIT_FAILED)
    if fail_under is not None and tracker is not None and tracker.percent < fail_under:
        click.echo(
            f"Rule coverage {tracker.percent:.1f}% is below --fail-under {fail_under:g}%",
            err=True,
        )
        raise SystemExit(EXIT_FAILED)
    raise SystemExit(EXIT_OK)
