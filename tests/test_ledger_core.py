"""The ledger on a real SQLite file and a real PostgreSQL database: facts, merge, reserve, privacy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import ringfence
from ringfence.errors import CallError, InputError
from ringfence.ledger import Ledger, db
from ringfence.ledger.schema import metadata

NUMBER = "+12125550101"
AT = "2026-06-15T12:00:00Z"


@pytest.fixture(scope="module")
def house(house_policy) -> ringfence.PolicySet:
    return ringfence.load(house_policy)


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    with Ledger(ledger_url, key=b"test-key", seller="acme") as opened:
        yield opened


def call(**extra: object) -> dict:
    return {"to": NUMBER, "at": AT, "purpose": "marketing",
            "lists_checked_at": {"dnc": "2026-06-10"}, **extra}


def rules(outcome) -> list[str]:
    return [v.rule for v in outcome.decision.violations]


def test_migration_leaves_the_schema_the_tables_describe(ledger_url: str) -> None:
    with Ledger(ledger_url) as ledger:
        assert db.revision(ledger.engine) == "0001"
        with ledger.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    with Ledger(ledger_url) as again:  # opening a migrated ledger changes nothing
        assert db.revision(again.engine) == "0001"


def test_sqlite_ledger_is_one_file_in_wal_mode(tmp_path) -> None:
    with Ledger(str(tmp_path / "l.db")) as ledger, ledger.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_reservation_counts_against_the_cap_and_outcome_is_reported(ledger, house) -> None:
    first = ledger.decide(house, call(subject="loan"), reserve=True, agent="a1")
    assert first.decision.allowed and first.attempt_id
    second = ledger.decide(house, call(subject="loan"), reserve=True)
    assert rules(second) == ["cap"] and second.attempt_id is None
    # the first call's pending attempt is what the second decision saw
    assert second.facts.history == [{"at": AT, "subject": "loan", "purpose": "marketing"}]
    ledger.report_outcome(first.attempt_id, "connected")
    exported = ledger.export(NUMBER)["attempts"]
    assert [(a["outcome"], a["subject"], a["agent"]) for a in exported] == [
        ("conversation", "loan", "a1")]


def test_decide_without_reserve_writes_nothing(ledger, house) -> None:
    assert ledger.decide(house, call()).decision.allowed
    assert ledger.decide(house, call()).decision.allowed
    assert ledger.export(NUMBER)["attempts"] == []


def test_cancelled_reservation_frees_the_cap(ledger, house) -> None:
    first = ledger.decide(house, call(), reserve=True)
    ledger.report_outcome(first.attempt_id, "cancelled")
    assert ledger.decide(house, call(), reserve=True).decision.allowed


def test_unknown_attempt_and_outcome_are_named(ledger) -> None:
    with pytest.raises(InputError, match="no attempt 'nope'"):
        ledger.report_outcome("nope", "no_answer")
    attempt = ledger.record_attempt(NUMBER, AT)
    with pytest.raises(InputError, match=r"outcome: .hung_up. is not an outcome"):
        ledger.report_outcome(attempt, "hung_up")


def test_attempts_count_per_subject(ledger, house) -> None:
    for day in ("10", "12"):
        ledger.record_attempt(NUMBER, f"2026-06-{day}T12:00:00Z", "no_answer", subject="loan")
    assert rules(ledger.decide(house, call(subject="loan"))) == ["subject-cap"]
    assert ledger.decide(house, call(subject="card")).decision.allowed


def test_opt_out_from_a_complaint_denies(ledger, house) -> None:
    ledger.record_complaint(NUMBER, "2026-06-01T09:00:00Z", "email", details="rude", opt_out=True,
                            purposes=["marketing"])
    assert rules(ledger.decide(house, call())) == ["opt-out"]
    assert ledger.decide(house, call(purpose="informational")).decision.allowed


def test_opt_out_scoped_to_another_campaign_does_not_bind(ledger, house) -> None:
    ledger.record_opt_out(NUMBER, "2026-06-01T09:00:00Z", "ivr", campaign="spring")
    assert rules(ledger.decide(house, call(campaign="spring"))) == ["opt-out"]
    assert ledger.decide(house, call(campaign="summer")).decision.allowed
    # a call that does not say its campaign cannot show the opt-out does not bind: fail closed
    assert rules(ledger.decide(house, call())) == ["opt-out"]


def test_ledger_consent_allows_and_scope_must_fit(ledger, house) -> None:
    robo = call(technology="autodialer", campaign="spring")
    assert rules(ledger.decide(house, robo)) == ["robo"]
    ledger.record_consent(NUMBER, "express_written", ["marketing"], "2026-01-01T00:00:00Z",
                          campaign="summer", form_url="https://example.com/f")
    assert rules(ledger.decide(house, robo)) == ["robo"]
    ledger.record_consent(NUMBER, "express_written", ["marketing"], "2026-01-01T00:00:00Z",
                          seller="acme", document_hash="sha256:ab")
    assert ledger.decide(house, robo).decision.allowed


def test_consent_of_another_seller_does_not_count(ledger_url, house) -> None:
    with Ledger(ledger_url, seller="other") as ledger:
        ledger.record_consent(NUMBER, "express_written", ["marketing"], "2026-01-01T00:00:00Z",
                              seller="acme")
        assert rules(ledger.decide(house, call(technology="autodialer"))) == ["robo"]


def test_revocation_in_the_ledger_beats_a_consent_in_the_call(ledger, house) -> None:
    given = [{"type": "express_written", "purposes": ["marketing", "research"],
              "at": "2026-01-01T00:00:00Z"}]
    robo = call(technology="autodialer", consent=given)
    assert ledger.decide(house, robo).decision.allowed
    ledger.revoke_consent(NUMBER, "2026-03-01T00:00:00Z", "sms", purposes=["marketing"])
    outcome = ledger.decide(house, robo)
    assert rules(outcome) == ["robo"]
    # a consent given after the revocation counts again
    later = [*given, {"type": "express_written", "purposes": ["marketing"],
                      "at": "2026-04-01T00:00:00Z"}]
    assert ledger.decide(house, call(technology="autodialer", consent=later)).decision.allowed


def test_wash_dates_come_from_the_ledger(ledger, house) -> None:
    bare = {"to": NUMBER, "at": AT, "purpose": "marketing"}
    assert rules(ledger.decide(house, bare)) == ["wash"]
    ledger.record_wash("dnc", "2026-06-01T00:00:00Z", "sha256:00")
    ledger.record_wash("dnc", "2026-04-01T00:00:00Z", "sha256:01")
    assert ledger.decide(house, bare).decision.allowed
    # an older date in the call does not hide the ledger's newer wash
    assert ledger.decide(house, {**bare, "lists_checked_at": {"dnc": "2025-01-01"}}).decision.allowed


def test_malformed_call_is_the_contracts_error_and_writes_nothing(ledger, house) -> None:
    with pytest.raises(CallError, match="history"):
        ledger.decide(house, call(history="yesterday"), reserve=True)
    with pytest.raises(CallError):
        ledger.decide(house, {"to": "12", "at": AT}, reserve=True)
    assert ledger.export(NUMBER)["attempts"] == []


def test_bad_facts_are_refused_with_the_field_named(ledger) -> None:
    with pytest.raises(InputError, match=r"to: not an E\.164"):
        ledger.record_opt_out("2125550101", AT, "sms")
    with pytest.raises(InputError, match="received_at: not an RFC 3339"):
        ledger.record_opt_out(NUMBER, "yesterday", "sms")
    with pytest.raises(InputError, match=r"type: .implied. is not a consent type"):
        ledger.record_consent(NUMBER, "implied", ["marketing"], AT)
    with pytest.raises(InputError, match="purposes: give at least one"):
        ledger.record_consent(NUMBER, "express", [], AT)


def test_numbers_are_stored_as_keyed_hashes(ledger) -> None:
    ledger.record_opt_out(NUMBER, AT, "sms")
    with ledger.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT number_key FROM opt_outs")).scalar()
    assert stored.startswith("hmac:") and NUMBER not in stored


def test_retention_purges_old_attempts_and_keeps_opt_outs(ledger) -> None:
    ledger.record_attempt(NUMBER, "2026-01-01T00:00:00Z", "no_answer")
    recent = ledger.record_attempt(NUMBER, "2026-06-10T00:00:00Z", "voicemail")
    ledger.record_opt_out(NUMBER, "2025-01-01T00:00:00Z", "sms")
    assert ledger.purge(90, now=AT) == 1
    exported = ledger.export(NUMBER)
    assert [a["id"] for a in exported["attempts"]] == [recent]
    assert len(exported["opt_outs"]) == 1


def test_erase_keeps_the_opt_out_in_force(ledger_url, house) -> None:
    with Ledger(ledger_url) as plain:  # records kept before a key was configured
        plain.record_opt_out(NUMBER, "2026-01-01T00:00:00Z", "sms")
        plain.record_consent(NUMBER, "express", ["marketing"], "2025-01-01T00:00:00Z")
        plain.record_attempt(NUMBER, "2026-06-01T00:00:00Z", "refused")
        with pytest.raises(InputError, match="needs a ledger key"):
            plain.erase(NUMBER)
    with Ledger(ledger_url, key=b"k") as keyed:
        assert keyed.erase(NUMBER) == {"consents": 1, "revocations": 0, "complaints": 0,
                                       "attempts": 1}
        exported = keyed.export(NUMBER)
        assert exported["consents"] == exported["attempts"] == []
        assert len(exported["opt_outs"]) == 1
        assert rules(keyed.decide(house, call())) == ["opt-out"]
        with keyed.engine.connect() as conn:
            keys = conn.execute(sa.text("SELECT number_key FROM opt_outs")).scalars().all()
        assert keys == [keyed.number_keys(NUMBER)[0]] and NUMBER not in keys[0]


def test_decide_many_reads_one_snapshot_and_names_the_bad_call(ledger, house) -> None:
    ledger.record_opt_out(NUMBER, "2026-06-01T09:00:00Z", "sms")
    made = ledger.decide_many(house, [call(), {"to": NUMBER}, call(to="+12125550111")])
    assert rules(made[0]) == ["opt-out"]
    assert isinstance(made[1], CallError) and "'at' is a required property" in made[1].message
    assert made[2].decision.allowed and made[2].attempt_id is None
    assert ledger.export("+12125550111")["attempts"] == []


def test_decide_many_reads_hundreds_of_numbers_in_chunks(ledger, house) -> None:
    numbers = [f"+1212555{n:04d}" for n in range(450)]
    ledger.record_opt_out(numbers[420], "2026-06-01T09:00:00Z", "sms")
    ledger.record_attempt(numbers[3], "2026-06-15T02:00:00Z", "busy")
    made = ledger.decide_many(house, [call(to=n) for n in numbers])
    denied = {numbers[i]: rules(m) for i, m in enumerate(made) if not m.decision.allowed}
    assert denied == {numbers[3]: ["cap"], numbers[420]: ["opt-out"]}


def test_records_under_the_text_and_the_hash_come_back_in_time_order(ledger_url) -> None:
    with Ledger(ledger_url) as plain:
        plain.record_attempt(NUMBER, "2026-06-10T00:00:00Z", "busy")
        plain.record_attempt(NUMBER, "2026-06-12T00:00:00Z", "busy")
    with Ledger(ledger_url, key=b"k") as keyed:
        keyed.record_attempt(NUMBER, "2026-06-11T00:00:00Z", "no_answer")
        assert [a["at"][:10] for a in keyed.facts(NUMBER).history] == [
            "2026-06-10", "2026-06-11", "2026-06-12"]
