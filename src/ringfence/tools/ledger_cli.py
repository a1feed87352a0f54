"""``ringfence ledger ...``: record and inspect the facts of the compliance ledger.

Every command takes ``--ledger`` (a file path for SQLite or a ``postgresql://`` URL; default
``$RINGFENCE_LEDGER``) and an optional key (``--key-file`` or ``$RINGFENCE_LEDGER_KEY``) under
which numbers are kept as keyed hashes. Bad input exits 2 with one message naming the field.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any

import click

from ringfence.errors import RingfenceError


def ledger_options(fn: Any) -> Any:
    """The options that say which ledger to open and how."""
    for option in reversed([
        click.option("--ledger", "target", envvar="RINGFENCE_LEDGER", required=True,
                     metavar="FILE_OR_URL",
                     help="SQLite file (created if missing) or postgresql://user@host/db."),
        click.option("--key-file", type=click.Path(dir_okay=False), default=None,
                     help="File holding the key that numbers are hashed with "
                          "(or $RINGFENCE_LEDGER_KEY)."),
        click.option("--seller", default=None, help="Who this ledger decides for (consent scope)."),
        click.option("--policy", "policies", multiple=True, metavar="PATH_OR_ID",
                     expose_value=False, callback=_keep_policies,
                     help="Policies whose declared purposes (uses purposes ...) facts may name "
                          "besides the call contract's; repeatable."),
    ]):
        fn = option(fn)
    return fn


def _keep_policies(context: click.Context, _param: Any, refs: tuple[str, ...]) -> None:
    context.meta["ringfence.ledger.policies"] = refs


def open_ledger(target: str, key_file: str | None, seller: str | None = None) -> Any:
    """Open (and migrate) the ledger named on the command line, accepting the purposes that
    its ``--policy`` policies declare."""
    from ringfence.api import load
    from ringfence.ledger import Ledger
    from ringfence.ledger.keys import read_key

    refs = click.get_current_context().meta.get("ringfence.ledger.policies", ())
    declared = [w for p in load(*refs).policies for w in p.purposes] if refs else []
    return Ledger(target, key=read_key(key_file), seller=seller, purposes=declared)


def cli_guard(fn: Any) -> Any:
    """Bad input and an unreachable database: one message and exit code 2, no traceback."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        from ringfence.ledger.db import DATABASE_ERRORS

        try:
            return fn(*args, **kwargs)
        except RingfenceError as err:
            click.echo(f"error: {err}", err=True)
        except DATABASE_ERRORS as err:
            click.echo(f"error: {database_message(err)}", err=True)
        sys.exit(2)

    return run


def database_message(err: BaseException) -> str:
    """What a failing ledger database says: the driver's first line names the cause (no such
    host, database locked, ...)."""
    cause = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
    return f"ledger: {cause}"


def _purposes(value: str | None) -> list[str] | None:
    return [p.strip() for p in value.split(",") if p.strip()] if value else None


def _echo(value: Any) -> None:
    click.echo(json.dumps(value, ensure_ascii=False, indent=2))


@click.group("ledger")
def ledger_command() -> None:
    """Keep the facts decisions need: consents, opt-outs, attempts, list washes (see the docs)."""


@ledger_command.command("consent")
@ledger_options
@click.argument("number")
@click.option("--type", "kind", type=click.Choice(["express", "express_written"]), required=True)
@click.option("--purposes", required=True, help="Comma-separated: marketing,research")
@click.option("--at", "given_at", required=True, help="When it was given (RFC 3339).")
@click.option("--expires-at", default=None)
@click.option("--campaign", default=None, help="Scope: counts only for calls of this campaign.")
@click.option("--for-seller", "scope_seller", default=None, help="Scope: counts only for this seller.")
@click.option("--recording-id", default=None)
@click.option("--form-url", default=None)
@click.option("--document-hash", default=None)
@cli_guard
def consent_cmd(target: str, key_file: str | None, seller: str | None, number: str, kind: str,
                purposes: str, given_at: str, expires_at: str | None, campaign: str | None,
                scope_seller: str | None, recording_id: str | None, form_url: str | None,
                document_hash: str | None) -> None:
    """Record a consent given by the person at NUMBER, with its evidence. Prints its id."""
    with open_ledger(target, key_file, seller) as ledger:
        click.echo(ledger.record_consent(
            number, kind, _purposes(purposes) or [], given_at, expires_at=expires_at,
            seller=scope_seller, campaign=campaign, recording_id=recording_id, form_url=form_url,
            document_hash=document_hash))


@ledger_command.command("revoke")
@ledger_options
@click.argument("number")
@click.option("--at", required=True, help="When consent was withdrawn (RFC 3339).")
@click.option("--channel", required=True, help="How: sms, call, email, web...")
@click.option("--purposes", default=None, help="Comma-separated; default every purpose.")
@cli_guard
def revoke_cmd(target: str, key_file: str | None, seller: str | None, number: str, at: str,
               channel: str, purposes: str | None) -> None:
    """Record that the person at NUMBER withdrew consent. Prints the revocation's id."""
    with open_ledger(target, key_file, seller) as ledger:
        click.echo(ledger.revoke_consent(number, at, channel, _purposes(purposes)))


@ledger_command.command("opt-out")
@ledger_options
@click.argument("number")
@click.option("--at", required=True, help="When the request was received (RFC 3339).")
@click.option("--channel", required=True)
@click.option("--purposes", default=None, help="Comma-separated; default every purpose.")
@click.option("--campaign", default=None)
@click.option("--for-seller", "scope_seller", default=None)
@cli_guard
def opt_out_cmd(target: str, key_file: str | None, seller: str | None, number: str, at: str,
                channel: str, purposes: str | None, campaign: str | None,
                scope_seller: str | None) -> None:
    """Record a do-not-call request from NUMBER. Prints its id."""
    with open_ledger(target, key_file, seller) as ledger:
        click.echo(ledger.record_opt_out(number, at, channel, purposes=_purposes(purposes),
                                         seller=scope_seller, campaign=campaign))


@ledger_command.command("complaint")
@ledger_options
@click.argument("number")
@click.option("--at", required=True)
@click.option("--channel", required=True)
@click.option("--details", default=None)
@click.option("--opt-out", is_flag=True, help="The complaint is also a do-not-call request.")
@cli_guard
def complaint_cmd(target: str, key_file: str | None, seller: str | None, number: str, at: str,
                  channel: str, details: str | None, opt_out: bool) -> None:
    """Record a complaint from NUMBER. Prints its id."""
    with open_ledger(target, key_file, seller) as ledger:
        click.echo(ledger.record_complaint(number, at, channel, details=details, opt_out=opt_out))


@ledger_command.command("attempt")
@ledger_options
@click.argument("number")
@click.option("--at", required=True)
@click.option("--outcome", default=None, help="conversation (connected), voicemail, no_answer, ...")
@click.option("--campaign", default=None)
@click.option("--subject", default=None)
@click.option("--purpose", default=None)
@click.option("--agent", default=None)
@click.option("--dialer", default=None)
@cli_guard
def attempt_cmd(target: str, key_file: str | None, seller: str | None, number: str, at: str,
                **details: Any) -> None:
    """Record a call attempt to NUMBER. Prints its id."""
    with open_ledger(target, key_file, seller) as ledger:
        click.echo(ledger.record_attempt(number, at, **details))


@ledger_command.command("outcome")
@ledger_options
@click.argument("attempt_id")
@click.argument("outcome")
@cli_guard
def outcome_cmd(target: str, key_file: str | None, seller: str | None, attempt_id: str,
                outcome: str) -> None:
    """Report the OUTCOME of a reserved attempt (cancelled: the call was not made)."""
    with open_ledger(target, key_file, seller) as ledger:
        ledger.report_outcome(attempt_id, outcome)


@ledger_command.command("wash")
@ledger_options
@click.argument("list_name")
@click.option("--obtained-at", required=True, help="When this copy of the list was obtained.")
@click.option("--hash", "content_hash", default=None, help="Hash of the list's contents.")
@cli_guard
def wash_cmd(target: str, key_file: str | None, seller: str | None, list_name: str,
             obtained_at: str, content_hash: str | None) -> None:
    """Record that numbers were washed against a copy of LIST_NAME. Prints its id."""
    with open_ledger(target, key_file, seller) as ledger:
        click.echo(ledger.record_wash(list_name, obtained_at, content_hash))


@ledger_command.command("facts")
@ledger_options
@click.argument("number")
@click.option("--campaign", default=None)
@cli_guard
def facts_cmd(target: str, key_file: str | None, seller: str | None, number: str,
              campaign: str | None) -> None:
    """Print what a decision for NUMBER would take from the ledger (JSON)."""
    with open_ledger(target, key_file, seller) as ledger:
        _echo(ledger.facts(number, campaign=campaign).to_dict())


@ledger_command.command("purge")
@ledger_options
@click.option("--days", type=float, required=True, help="Keep attempts of the last N days.")
@cli_guard
def purge_cmd(target: str, key_file: str | None, seller: str | None, days: float) -> None:
    """Delete attempt details older than --days; opt-outs and consents stay."""
    with open_ledger(target, key_file, seller) as ledger:
        click.echo(f"purged {ledger.purge(days)} attempts")


@ledger_command.command("export")
@ledger_options
@click.argument("number")
@cli_guard
def export_cmd(target: str, key_file: str | None, seller: str | None, number: str) -> None:
    """Print every record kept about NUMBER (JSON), for an access request."""
    with open_ledger(target, key_file, seller) as ledger:
        _echo(ledger.export(number))


@ledger_command.command("erase")
@ledger_options
@click.argument("number")
@cli_guard
def erase_cmd(target: str, key_file: str | None, seller: str | None, number: str) -> None:
    """Erase the records about NUMBER; its opt-outs stay, under the keyed hash (needs a key)."""
    with open_ledger(target, key_file, seller) as ledger:
        _echo(ledger.erase(number))
