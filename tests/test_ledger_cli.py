"""``ringfence ledger ...`` on a SQLite file: facts in, facts out, errors as exit code 2."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ringfence.tools.cli import cli

NUMBER = "+12125550101"


def run(db: str, *args: str, key: str | None = None):
    env = {"RINGFENCE_LEDGER": db, "RINGFENCE_LEDGER_KEY": key or ""}
    return CliRunner().invoke(cli, ["ledger", *args], env=env)


def test_recorded_facts_come_back_as_the_call_contract_shapes(tmp_path) -> None:
    db = str(tmp_path / "l.db")
    assert run(db, "opt-out", NUMBER, "--at", "2026-06-01T10:00:00Z", "--channel", "sms",
               "--purposes", "marketing").exit_code == 0
    assert run(db, "wash", "national_dnc", "--obtained-at", "2026-06-01").exit_code == 0
    attempt = run(db, "attempt", NUMBER, "--at", "2026-06-10T10:00:00-04:00").output.strip()
    assert run(db, "outcome", attempt, "connected").exit_code == 0
    assert run(db, "consent", NUMBER, "--type", "express", "--purposes", "marketing,research",
               "--at", "2026-01-01T00:00:00Z", "--form-url", "https://x.test/f").exit_code == 0
    assert run(db, "revoke", NUMBER, "--at", "2026-02-01T00:00:00Z", "--channel", "web").exit_code == 0
    facts = json.loads(run(db, "facts", NUMBER).output)
    assert facts["history"] == [{"at": "2026-06-10T14:00:00Z", "outcome": "conversation"}]
    assert facts["opt_outs"] == [{"at": "2026-06-01T10:00:00Z", "purposes": ["marketing"]}]
    assert facts["lists_checked_at"] == {"national_dnc": "2026-06-01T00:00:00Z"}
    assert facts["revocations"] == [{"purposes": None, "at": "2026-02-01T00:00:00Z",
                                     "channel": "web"}]
    exported = json.loads(run(db, "export", NUMBER).output)
    assert exported["consents"][0]["evidence_form_url"] == "https://x.test/f"


def test_erase_and_purge(tmp_path) -> None:
    db = str(tmp_path / "l.db")
    run(db, "complaint", NUMBER, "--at", "2020-01-01T00:00:00Z", "--channel", "mail", "--opt-out",
        key="secret")
    run(db, "attempt", NUMBER, "--at", "2020-01-01T00:00:00Z", "--outcome", "refused", key="secret")
    assert run(db, "purge", "--days", "30", key="secret").output == "purged 1 attempts\n"
    erased = run(db, "erase", NUMBER, key="secret")
    assert json.loads(erased.output)["complaints"] == 1
    assert len(json.loads(run(db, "export", NUMBER, key="secret").output)["opt_outs"]) == 1


def test_bad_input_exits_2_with_one_message(tmp_path) -> None:
    db = str(tmp_path / "l.db")
    cases = [
        (("opt-out", "555", "--at", "2026-06-01T10:00:00Z", "--channel", "sms"), "to: not an E.164"),
        (("opt-out", NUMBER, "--at", "soon", "--channel", "sms"), "received_at: not an RFC 3339"),
        (("outcome", "nope", "busy"), "no attempt 'nope'"),
        (("erase", NUMBER), "needs a ledger key"),
        (("facts", NUMBER, "--ledger", "mysql://x/y"), "--ledger: give a file path"),
        (("facts", NUMBER, "--ledger", "postgresql://nobody@127.0.0.1:1/x"), "error: ledger: "),
    ]
    for args, message in cases:
        result = run(db, *args)
        assert result.exit_code == 2, args
        assert message in result.output and "Traceback" not in result.output, result.output


def test_key_file_hashes_numbers_and_an_empty_one_is_refused(tmp_path) -> None:
    db, key = str(tmp_path / "l.db"), tmp_path / "key"
    key.write_text("s3cret\n")
    assert run(db, "opt-out", NUMBER, "--at", "2026-06-01T10:00:00Z", "--channel", "sms",
               "--key-file", str(key)).exit_code == 0
    assert json.loads(run(db, "erase", NUMBER, "--key-file", str(key)).output)["attempts"] == 0
    key.write_text("\n")
    result = run(db, "facts", NUMBER, "--key-file", str(key))
    assert result.exit_code == 2 and "the file is empty" in result.output
