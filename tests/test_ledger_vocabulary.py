"""Closed vocabularies in the ledger: outcomes, consent types and purposes are read in any case
(as the call reader reads them) or refused, naming the closest word; nothing is written then."""

from __future__ import annotations

import httpx
import pytest
from click.testing import CliRunner

from ringfence.errors import InputError
from ringfence.ledger import Ledger
from ringfence.tools.cli import cli

NUMBER = "+12125550101"
AT = "2026-06-10T14:00:00Z"


@pytest.fixture
def declaring(tmp_path, house_policy):
    """The house policy, declaring the purpose ``fundraising``."""
    path = tmp_path / "house.rf"
    path.write_text(house_policy.read_text().replace("  uses list dnc\n",
                                                     "  uses list dnc\n  uses purpose fundraising\n"))
    return path


def test_words_in_any_case_are_kept_in_lowercase(ledger_url) -> None:
    with Ledger(ledger_url) as ledger:
        reserved = ledger.record_attempt(NUMBER, AT, purpose="Marketing")
        ledger.report_outcome(reserved, "VoiceMail")
        ledger.record_attempt(NUMBER, "2026-06-11T14:00:00Z", "No-Answer")
        ledger.record_consent(NUMBER, "Express_Written", ["MARKETING", "Outside_Hours"], AT)
        ledger.record_opt_out(NUMBER, AT, "sms", purposes=["Research"])
        exported = ledger.export(NUMBER)
    assert [(a["outcome"], a["purpose"]) for a in exported["attempts"]] == [
        ("voicemail", "marketing"), ("no_answer", None)]
    assert exported["consents"][0]["type"] == "express_written"
    assert exported["consents"][0]["purposes"] == ["marketing", "outside_hours"]
    assert exported["opt_outs"][0]["purposes"] == ["research"]


def test_an_unknown_word_is_refused_naming_the_closest_and_nothing_is_written(ledger_url) -> None:
    with Ledger(ledger_url) as ledger:
        attempt = ledger.record_attempt(NUMBER, AT)
        cases = [
            (lambda: ledger.report_outcome(attempt, "voicemial"),
             "outcome: 'voicemial' is not an outcome", "did you mean 'voicemail'?"),
            (lambda: ledger.record_attempt(NUMBER, AT, "Busyy"),
             "outcome: 'Busyy'", "did you mean 'busy'?"),
            (lambda: ledger.record_attempt(NUMBER, AT, purpose="marketting"),
             "purpose: 'marketting' is not a purpose", "did you mean 'marketing'?"),
            (lambda: ledger.record_consent(NUMBER, "expres", ["marketing"], AT),
             "type: 'expres' is not a consent type", "did you mean 'express'?"),
            (lambda: ledger.record_opt_out(NUMBER, AT, "sms", purposes=["Reserch"]),
             "purposes: 'Reserch' is not a purpose", "did you mean 'research'?"),
            # outside_hours is a consent's word, not an opt-out's
            (lambda: ledger.record_opt_out(NUMBER, AT, "sms", purposes=["outside_hours"]),
             "purposes: 'outside_hours' is not a purpose", ""),
            (lambda: ledger.revoke_consent(NUMBER, AT, "sms", purposes=["fundraising"]),
             "(a policy may declare", ""),
        ]
        for act, message, hint in cases:
            with pytest.raises(InputError) as raised:
                act()
            assert message in str(raised.value) and hint in str(raised.value), str(raised.value)
        exported = ledger.export(NUMBER)
    assert [a["outcome"] for a in exported["attempts"]] == [None]
    assert exported["consents"] == exported["opt_outs"] == exported["revocations"] == []


def test_purposes_the_policies_declare_are_recorded(tmp_path, declaring) -> None:
    db = str(tmp_path / "l.db")
    env = {"RINGFENCE_LEDGER": db, "RINGFENCE_LEDGER_KEY": ""}
    args = ["ledger", "opt-out", NUMBER, "--at", AT, "--channel", "sms",
            "--purposes", "Fundraising"]
    refused = CliRunner().invoke(cli, args, env=env)
    assert refused.exit_code == 2 and "'Fundraising' is not a purpose" in refused.output
    assert "Traceback" not in refused.output
    taken = CliRunner().invoke(cli, [*args, "--policy", str(declaring)], env=env)
    assert taken.exit_code == 0, taken.output
    wrong = CliRunner().invoke(cli, ["ledger", "attempt", NUMBER, "--at", AT, "--outcome",
                                     "anwsering_machine"], env=env)
    assert wrong.exit_code == 2 and "did you mean 'answering_machine'?" in wrong.output
    with Ledger(db) as ledger:
        exported = ledger.export(NUMBER)
    assert [o["purposes"] for o in exported["opt_outs"]] == [["fundraising"]]
    assert exported["attempts"] == []


def test_http_facts_read_words_in_any_case_or_answer_422_naming_the_closest(
        tmp_path_factory, start_server, declaring) -> None:
    folder = tmp_path_factory.mktemp("vocabulary")
    server = start_server("-p", str(declaring), "--ledger", str(folder / "l.db"),
                          "--insecure-local", cwd=folder)
    with httpx.Client(base_url=server.url) as client:
        made = client.post("/v1/attempts", json={"to": NUMBER, "at": AT, "outcome": "BUSY",
                                                 "purpose": "FundRaising"})
        assert made.status_code == 201, made.text
        wrong = client.post("/v1/attempts", json={"attempt_id": made.json()["id"],
                                                  "outcome": "refussed"})
        assert wrong.status_code == 422
        assert wrong.json()["path"] == "outcome"
        assert "did you mean 'refused'?" in wrong.json()["message"]
        consent = client.post("/v1/consents", json={"to": NUMBER, "type": "EXPRESS", "at": AT,
                                                    "purposes": ["markting"]})
        assert consent.status_code == 422 and consent.json()["path"] == "purposes"
        assert "did you mean 'marketing'?" in consent.json()["message"]
    with Ledger(str(folder / "l.db")) as ledger:
        exported = ledger.export(NUMBER)
    assert [(a["outcome"], a["purpose"]) for a in exported["attempts"]] == [("busy", "fundraising")]
    assert exported["consents"] == []
