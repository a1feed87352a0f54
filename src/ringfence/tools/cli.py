"""The ``ringfence`` command: a thin shell over the API.

Exit codes: 0 success; 1 a policy is invalid (``check``) or a test failed (``test``); 2 bad input or
usage (an unreadable file, a malformed call, an unknown policy id), always with one clear message
and never a traceback.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from ringfence.api import PolicySet, compile_files, load, load_library, resolve, shipped_ids
from ringfence.errors import CallError, InputError, PolicyError, RingfenceError, excerpt
from ringfence.tools.jsonlines import NotJson, not_a_call, parse_json, read_calls, read_source
from ringfence.tools.listoption import parse_lists

EXIT_INVALID = 1
EXIT_BAD_INPUT = 2
MAX_MESSAGE = 300


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn every Ringfence error into its message and exit code 2."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PolicyError as err:
            _fail(err.render())
        except RingfenceError as err:
            _fail(f"error: {err}")
        except BrokenPipeError:
            # The reader went away (`ringfence policies | head`): stop quietly, as Unix tools do.
            # Point stdout at /dev/null so the interpreter's final flush does not fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except OSError as err:
            _fail(f"error: {err.filename or ''}: {err.strerror}")

    return run


def _policy_set(policies: tuple[str, ...], jurisdiction: str | None,
                lists: tuple[str, ...]) -> PolicySet:
    named = parse_lists(lists)
    if jurisdiction is not None:
        if jurisdiction != "auto":
            raise InputError("--jurisdiction takes 'auto' (every library policy that matches)")
        if policies:
            return load(*shipped_ids(), *policies, lists=named)
        return load_library(lists=named)
    if not policies:
        raise InputError("give --policy PATH_OR_ID (repeatable) or --jurisdiction auto")
    return load(*policies, lists=named)


_policy_options = [
    click.option("--policy", "-p", "policies", multiple=True, metavar="PATH_OR_ID",
                 help="Policy file, folder or shipped id; repeat to combine policies."),
    click.option("--jurisdiction", type=click.Choice(["auto"]), default=None,
                 help="auto: every library policy whose jurisdiction and scope match the call."),
    click.option("--list", "lists", multiple=True, metavar="NAME=FILE",
                 help="A number list file (one E.164 per line, or CSV number,listed_at)."),
]


def policy_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_policy_options):
        fn = option(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ringfence")
def cli() -> None:
    """Ringfence: policy-as-code for outbound calling compliance."""


@cli.command("check")
@click.argument("paths", nargs=-1, required=True)
@_guard
def check_command(paths: tuple[str, ...]) -> None:
    """Check policy files: every error in every file, with its place and a hint.

    Exits 0 when every policy is valid, 1 when any has errors, 2 when a path does not exist.
    """
    files = resolve(paths)
    try:
        compiled = compile_files(files)
    except PolicyError as err:
        click.echo(err.render())
        sys.exit(EXIT_INVALID)
    rules = sum(len(p.rules) for p in compiled)
    click.echo(f"ok: {len(compiled)} {'policy' if len(compiled) == 1 else 'policies'}, "
               f"{rules} {'rule' if rules == 1 else 'rules'}")


def _error_record(number: int, raw: Any, message: str, **more: Any) -> dict[str, Any]:
    if len(message) > MAX_MESSAGE:  # a schema message may quote a value of any size
        message = f"{message[:MAX_MESSAGE]}... ({len(message)} characters)"
    record: dict[str, Any] = {"line": number, "error": message, **more}
    call_id = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(call_id, str | int) and not isinstance(call_id, bool):
        record["id"] = call_id
    return record


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def _encode(number: int, raw: Any, record: dict[str, Any]) -> tuple[bytes, bool]:
    """One output line, UTF-8 whatever the terminal's encoding (JSON Lines are UTF-8), and
    whether it is an error record."""
    try:
        return _line(record), "error" in record
    except RecursionError:
        # JSON just shallow enough to read can be too deep to write inside the decision.
        return _line(_error_record(number, raw, "the call is nested too deeply")), True
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800") reads as JSON but is no character: no UTF-8 can carry it.
        bad = _error_record(number, raw, "the call holds text that is not Unicode (a lone "
                            "surrogate such as \\ud800)")
        try:
            return _line(bad), True
        except UnicodeEncodeError:  # the id itself is such text
            del bad["id"]
            return _line(bad), True


@cli.command("decide")
@policy_options
@click.option("--trace", is_flag=True, help="Add every rule's outcome and why to each decision.")
@click.argument("calls", default="-", metavar="[CALLS]")
@_guard
def decide_command(policies: tuple[str, ...], jurisdiction: str | None, lists: tuple[str, ...],
                   trace: bool, calls: str) -> None:
    """Decide calls: one JSON call or JSON Lines from CALLS: a file, inline JSON, or - for
    stdin (the default).

    Prints one JSON decision per line (UTF-8), in order, and exits 0: a deny is an answer, not
    an error. A malformed line prints an error record for that line ({"line": N, "error": ...,
    "id": ... when the line is a JSON object with an id}) and processing goes on; the exit code
    is then 2.
    """
    if sys.stdout is None:
        raise InputError("standard output is closed; the decisions have nowhere to go")
    policy_set = _policy_set(policies, jurisdiction, lists)
    data = read_source(calls)
    bad = 0
    out = sys.stdout.buffer
    for number, raw in read_calls(data):
        if isinstance(raw, NotJson):
            more = {} if raw.column is None else {"column": raw.column}
            record = _error_record(number, None, raw.message, **more)
        elif (why := not_a_call(raw)) is not None:
            record = _error_record(number, raw, why, path="")
        else:
            try:
                record = policy_set.decide(raw, trace=trace).to_dict()
            except CallError as err:
                record = _error_record(number, raw, err.message, path=err.path)
            except Exception as err:  # a defect must cost this line, never the rest of the batch
                record = _error_record(number, raw, f"internal error while deciding this call: "
                                       f"{type(err).__name__}: {err}")
        line, is_error = _encode(number, raw, record)
        bad += is_error
        out.write(line)
    out.flush()
    if bad:
        _fail(f"{bad} malformed call{'s' if bad != 1 else ''}; see the error records")


def _load_call(call: str) -> dict[str, Any]:
    """The JSON object CALL holds (inline, a file, or - for stdin); decide() checks its fields."""
    raw = parse_json(read_source(call))
    if isinstance(raw, NotJson):
        where = f" (line {raw.line} column {raw.column})" if raw.line else ""
        raise InputError(f"{excerpt(call)}: {raw.message}{where}")
    why = not_a_call(raw)
    if why is not None:
        raise InputError(f"{excerpt(call)}: {why}")
    assert isinstance(raw, dict)  # not_a_call accepts nothing else
    return raw


@cli.command("explain")
@policy_options
@click.option("--all", "every", is_flag=True,
              help="Every rule and policy in full, including those that do not apply (by "
                   "default they are summarised one line per policy).")
@click.option("--html", "html_out", type=click.Path(dir_okay=False, writable=True),
              metavar="FILE", help="Also write the explanation as a self-contained HTML page.")
@click.argument("call")
@_guard
def explain_command(policies: tuple[str, ...], jurisdiction: str | None, lists: tuple[str, ...],
                    every: bool, html_out: str | None, call: str) -> None:
    """Explain a decision in the words of the policies: for each rule that applies, its title,
    citation and message and the facts it looked at; when the call may be made, or which rule
    makes waiting useless and why.

    CALL is a JSON file, inline JSON, or - for stdin.
    """
    explanation = _policy_set(policies, jurisdiction, lists).explain(_load_call(call))
    if html_out is not None:
        with open(html_out, "w", encoding="utf-8") as out:
            out.write(explanation.html())
    click.echo(explanation.text(every=every), nl=False)


@cli.command("policies")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@_guard
def policies_command(fmt: str) -> None:
    """List the shipped policy library: id, title, version, jurisdiction, rules, sources."""
    infos = load_library().policies
    if fmt == "json":
        click.echo(json.dumps([{
            "id": p.id, "title": p.title, "version": p.version,
            "jurisdictions": list(p.jurisdictions), "rules": len(p.rules),
            "sources": list(p.sources), "hash": p.hash,
        } for p in infos], ensure_ascii=False, indent=2))
        return
    for p in infos:
        click.echo(f"{p.id:<24} {p.version or '-':<10} {', '.join(p.jurisdictions):<10} "
                   f"{len(p.rules):>3} rules  {p.title}")
        if p.sources:
            click.echo(f"{'':<24} sources: {'; '.join(p.sources)}")


def _register_optional() -> None:
    """Commands that live next to their own feature's modules."""
    from ringfence.language.formatter import fmt_command
    from ringfence.testing.cli import test_command
    from ringfence.tools.calendar_view import calendar_command
    from ringfence.tools.compliance_cli import add_commands
    from ringfence.tools.ledger_cli import ledger_command
    from ringfence.tools.serve_cli import log_command, serve_command, token_command

    cli.add_command(test_command, name="test")
    cli.add_command(fmt_command, name="fmt")
    cli.add_command(calendar_command, name="calendar")
    add_commands(cli, policy_options, _policy_set, _guard)
    cli.add_command(ledger_command, name="ledger")
    cli.add_command(serve_command, name="serve")
    cli.add_command(token_command, name="token")
    cli.add_command(log_command, name="log")


_register_optional()


def main() -> None:
    """Console entry point."""
    cli(prog_name="ringfence")
