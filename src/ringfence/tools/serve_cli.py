"""``ringfence serve``, ``ringfence token new`` and ``ringfence log verify``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from ringfence.tools.ledger_cli import cli_guard
from ringfence.tools.listoption import parse_lists


@click.command("serve")
@click.option("--policy", "-p", "policies", multiple=True, metavar="PATH_OR_ID",
              help="Policy file, folder or shipped id; repeat to combine policies.")
@click.option("--list", "lists", multiple=True, metavar="NAME=FILE", help="A number list file.")
@click.option("--ledger", default=None, metavar="FILE_OR_URL",
              help="SQLite file or postgresql://...; without it only /v1/decide works.")
@click.option("--key-file", default=None, help="Key to hash numbers with in the ledger.")
@click.option("--seller", default=None, help="Who this service decides for (consent scope).")
@click.option("--tokens", default=None, type=click.Path(dir_okay=False),
              help="Token file (`ringfence token new`); default ./ringfence-tokens.txt, made "
                   "with one token on the first start.")
@click.option("--insecure-local", is_flag=True,
              help="Serve without tokens; only on a loopback --host.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8470, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; SIGHUP to the parent replaces them one by one.")
@click.option("--log", "log_path", default=None, help="Decision log (JSON Lines, hash-chained).")
@click.option("--log-max-bytes", default=100 << 20, show_default=True, type=int,
              help="Rotate the decision log past this size.")
@click.option("--log-fsync", is_flag=True, help="fsync the log per request (survives power loss).")
@click.option("--retention-days", type=click.FloatRange(min=0), default=None,
              help="Purge attempts older than this, at start and hourly (opt-outs stay). Keep it "
                   "above the longest frequency window of the policies.")
@click.option("--list-check-seconds", default=2.0, show_default=True,
              type=click.FloatRange(min=0),
              help="How often list files are looked at; a changed one is swapped in without "
                   "reloading the policies (0: only on SIGHUP).")
@click.option("--policy-check-seconds", default=2.0, show_default=True,
              type=click.FloatRange(min=0),
              help="How often the policy files are looked at; a changed one is reloaded, and "
                   "replaces the running policies only if it checks (0: only on SIGHUP).")
@click.option("--max-body", default=1 << 20, show_default=True, type=int,
              help="Largest request body accepted, in bytes.")
@cli_guard
def serve_command(policies: tuple[str, ...], lists: tuple[str, ...], ledger: str | None,
                  key_file: str | None, seller: str | None, tokens: str | None,
                  insecure_local: bool, host: str, port: int, workers: int, log_path: str | None,
                  log_max_bytes: int, log_fsync: bool, retention_days: float | None,
                  list_check_seconds: float, policy_check_seconds: float,
                  max_body: int) -> None:
    """Serve decisions over HTTP (see the docs: "The ledger and the service").

    Policies are loaded and checked before the port opens; a policy error exits 2. SIGHUP reloads
    them and the changed lists; a policy that fails to check, or a list that fails to load,
    never replaces the running one. List files are also watched and swapped in on their own.
    """
    import uvicorn

    from ringfence.service.app import configure_logging, create_app
    from ringfence.service.config import ENV, ServiceConfig

    if tokens is None and not insecure_local:
        tokens = _first_tokens(Path(DEFAULT_TOKENS))

    config = ServiceConfig(policies, parse_lists(lists), ledger, key_file, seller, tokens,
                           insecure_local, host, max_body=max_body, log=log_path,
                           log_max_bytes=log_max_bytes, log_fsync=log_fsync,
                           retention_days=retention_days, list_check_s=list_check_seconds,
                           policy_check_s=policy_check_seconds)
    configure_logging()
    app = create_app(config)  # loads and checks everything once, here, so errors exit 2
    options: dict[str, Any] = {"host": host, "port": port, "log_level": "info",
                               "access_log": False, "timeout_graceful_shutdown": 10}
    if workers == 1:
        uvicorn.Server(uvicorn.Config(app, **options)).run()
        return
    app.state.service.close()
    os.environ[ENV] = config.to_env()
    # A replacement worker loads and checks the policies before it is ready: give it time.
    uvicorn.run("ringfence.service.app:app_from_env", factory=True, workers=workers,
                timeout_worker_healthcheck=60, **options)


DEFAULT_TOKENS = "ringfence-tokens.txt"


def _first_tokens(path: Path) -> str:
    """The default token file; on a fresh machine it is made with one token for every scope,
    shown once, so that `ringfence serve --policy ... --ledger ...` works and still serves
    nothing without a token."""
    from ringfence.service.auth import SCOPES, new_token

    if not path.exists():
        token = new_token(path, "admin", list(SCOPES))
        click.echo(f"made {path} with a token for every scope (shown once, keep it): {token}",
                   err=True)
    return str(path)


@click.group("token")
def token_command() -> None:
    """Bearer tokens of the service."""


@token_command.command("new")
@click.option("--tokens", required=True, type=click.Path(dir_okay=False),
              help="Token file to add the token's hash to (created if missing).")
@click.option("--name", required=True, help="Who holds it (one word).")
@click.option("--scope", "scopes", multiple=True, required=True,
              type=click.Choice(["decide", "write"]), help="decide, write; repeatable.")
@cli_guard
def token_new(tokens: str, name: str, scopes: tuple[str, ...]) -> None:
    """Make a token, keep its hash in --tokens, print it (the only time it is shown)."""
    from ringfence.service.auth import new_token

    click.echo(new_token(tokens, name, list(scopes)))


@click.group("log")
def log_command() -> None:
    """The decision log."""


@log_command.command("verify")
@click.argument("path", type=click.Path(dir_okay=False))
def log_verify(path: str) -> None:
    """Check the hash chain of a decision log and its rotated parts.

    Exits 0 when intact, 1 at the first edited, deleted or reordered record (named by file:line),
    2 when there is no log.
    """
    from ringfence.service.log import verify

    result = verify(path)
    if result.problem is None:
        click.echo(f"ok: {result.records} records, head {result.head}")
        return
    click.echo(f"error: {result.problem}", err=True)
    sys.exit(2 if result.records == 0 and "no such log" in result.problem else 1)
