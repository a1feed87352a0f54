"""The ``ringfence`` command: a thin shell over the API.

Exit codes: 0 success; 1 a policy is invalid (``check``) or a test failed (``test``); 2 bad input or
usage (an unreadable file, a malformed call, an unknown policy id), always with one clear message
and never a traceback.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import sys
from collections.abc import Callable, MutableMapping
from typing import Any

import click

from ringfence.api import compile_files, load_library, resolve
from ringfence.errors import InputError, PolicyError, RingfenceError, excerpt
from ringfence.tools.callstream import read_all
from ringfence.tools.jsonlines import NotJson, not_a_call, parse_json
from ringfence.tools.policyload import policy_set as _policy_set

EXIT_INVALID = 1
EXIT_BAD_INPUT = 2


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


_policy_options = [
    click.option("--policy", "-p", "policies", multiple=True, metavar="PATH_OR_ID",
                 help="Policy file, folder or shipped id; repeat to combine policies."),
    click.option("--jurisdiction", type=click.Choice(["auto"]), default=None,
                 help="auto: every library policy whose jurisdiction and scope match the call."),
    click.option("--list", "lists", multiple=True, metavar="NAME=FILE",
                 help="A number list file: one E.164 per line, CSV number,listed_at, or a "
                      "compiled list (ringfence lists compile)."),
]


def policy_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_policy_options):
        fn = option(fn)
    return fn


class _Ringfence(click.Group):
    """The ``ringfence`` group. The commands that live next to their own feature's modules are
    added when first needed (listed, looked up, or any of them run), except that ``decide``, run
    on every batch of calls, is added alone: it then does not import what the others need
    (pyarrow, PyYAML, SQLAlchemy, jsonschema ...), a tenth of its start-up."""

    def __init__(self, *args: Any, **kwargs: Any):
        self._commands: MutableMapping[str, click.Command] = {}
        self._complete = False
        super().__init__(*args, **kwargs)

    @property
    def commands(self) -> MutableMapping[str, click.Command]:
        if not self._complete:
            self._complete = True
            _register_optional()
        return self._commands

    @commands.setter
    def commands(self, commands: MutableMapping[str, click.Command]) -> None:
        self._commands = commands

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        complete, self._complete = self._complete, True  # adding one is no reason to add all
        try:
            super().add_command(cmd, name)
        finally:
            self._complete = complete

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "decide" and not self._complete:
            _add_decide()
            return self._commands["decide"]
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Ringfence, context_settings={"help_option_names": ["-h", "--help"]})
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


def _load_call(call: str) -> dict[str, Any]:
    """The JSON object CALL holds (inline, a file, or - for stdin); decide() checks its fields."""
    raw = parse_json(read_all(call))
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
@click.option("--coverage", is_flag=True,
              help="What each policy covers (hours, days, holidays, lists, caps, consent, caller "
                   "ID, recording), by jurisdiction, and what it leaves out and why.")
@_guard
def policies_command(fmt: str, coverage: bool) -> None:
    """List the shipped policy library: id, title, version, jurisdiction, rules, sources.

    With --coverage: every jurisdiction with what each policy there covers, read from the
    policies' rules (not a table kept by hand), and what is left out and why (their notes).
    """
    library = load_library()
    if coverage:
        from ringfence.tools.coverage_map import coverage as covered
        from ringfence.tools.coverage_map import render_text

        found = covered(library)
        if fmt == "json":
            click.echo(json.dumps([p.to_dict() for p in found], ensure_ascii=False, indent=2))
        else:
            click.echo(render_text(found), nl=False)
        return
    infos = library.policies
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


@cli.command("holidays")
@click.argument("policies", nargs=-1, required=True, metavar="POLICY...")
@click.option("--year", type=click.IntRange(1, 9999), default=None,
              help="The year (default: this year).")
@click.option("--region", default=None, metavar="CODE",
              help="Only policies that apply there (US-PA, FR), with its public holidays.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array of closures.")
@_guard
def holidays_command(policies: tuple[str, ...], year: int | None, region: str | None,
                     as_json: bool) -> None:
    """Print the holidays POLICY closes on in a year: date, name, and the policy, rule and
    source that close it (a holiday calendar the policy defines, the region's public holidays,
    or a date the rule lists).

    POLICY is a file, folder or shipped id (repeatable). Exits 2 for an unknown policy, a
    malformed region or a year with no holiday data.
    """
    from ringfence.tools.holidays_cli import print_holidays

    print_holidays(policies, year or dt.date.today().year, region, as_json)


def _add_decide() -> None:
    from ringfence.tools.decide_cli import decide_command

    cli.add_command(decide_command(policy_options, _guard), name="decide")


def _register_optional() -> None:
    """Commands that live next to their own feature's modules (see :class:`_Ringfence`)."""
    from ringfence.language.formatter import fmt_command
    from ringfence.testing.cli import test_command
    from ringfence.tools.calendar_view import calendar_command
    from ringfence.tools.compliance_cli import add_commands
    from ringfence.tools.ledger_cli import ledger_command
    from ringfence.tools.lists_cli import add_lists_command
    from ringfence.tools.scrub_cli import add_scrub
    from ringfence.tools.serve_cli import log_command, serve_command, token_command

    _add_decide()
    cli.add_command(test_command, name="test")
    cli.add_command(fmt_command, name="fmt")
    cli.add_command(calendar_command, name="calendar")
    add_commands(cli, policy_options, _policy_set, _guard)
    add_scrub(cli, policy_options, _policy_set, _guard)
    cli.add_command(ledger_command, name="ledger")
    cli.add_command(serve_command, name="serve")
    cli.add_command(token_command, name="token")
    cli.add_command(log_command, name="log")
    add_lists_command(cli, _guard)


def main() -> None:
    """Console entry point."""
    cli(prog_name="ringfence")
