"""`ringfence serve` over real loopback HTTP: auth, scopes, limits, errors, decisions, facts."""

from __future__ import annotations

import functools
import json
import shutil
import signal
import time
from pathlib import Path

import httpx
import pytest

from ringfence.ledger import Ledger
from ringfence.service.auth import new_token

NUMBER = "+12125550101"
AT = "2026-06-15T12:00:00Z"


def call(number: str = NUMBER, **extra: object) -> dict:
    return {"to": number, "at": AT, "purpose": "marketing",
            "lists_checked_at": {"dnc": "2026-06-10"}, **extra}


@pytest.fixture(scope="module")
def site(tmp_path_factory, start_server, house_policy):
    """One server for the module: a SQLite ledger, a decision log, three tokens."""
    folder = tmp_path_factory.mktemp("site")
    tokens = folder / "tokens.txt"
    keys = {scope: new_token(tokens, scope, [scope]) for scope in ("decide", "write")}
    keys["both"] = new_token(tokens, "dialer", ["decide", "write"])
    server = start_server("-p", str(house_policy), "--ledger", str(folder / "l.db"),
                          "--tokens", str(tokens), "--log", str(folder / "decisions.jsonl"),
                          "--max-body", "4096", cwd=folder)
    clients = {name: httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"})
               for name, key in keys.items()}
    clients["anonymous"] = httpx.Client(base_url=server.url)
    yield server, clients, folder
    for client in clients.values():
        client.close()


def attempts_of(folder: Path, number: str) -> list[dict]:
    with Ledger(str(folder / "l.db")) as ledger:
        return ledger.export(number)["attempts"]


def test_nothing_is_served_without_a_known_token(site) -> None:
    _, clients, _ = site
    anonymous = clients["anonymous"]
    for method, path in [("GET", "/health"), ("GET", "/metrics"), ("GET", "/v1/policies"),
                         ("GET", "/openapi.json"), ("POST", "/v1/decide"), ("POST", "/v1/opt-outs")]:
        answer = anonymous.request(method, path, json=call())
        assert answer.status_code == 401, path
        assert answer.json()["error"] == "unauthorized"
        assert answer.headers["www-authenticate"] == "Bearer"
    forged = anonymous.post("/v1/decide", json=call(), headers={"Authorization": "Bearer rf_nope"})
    assert forged.status_code == 401 and forged.json()["message"] == "unknown token"


def test_each_scope_opens_only_its_own_endpoints_and_nothing_is_written(site) -> None:
    _, clients, folder = site
    number = "+12125550102"
    refused = clients["decide"].post("/v1/opt-outs", json={"to": number, "at": AT, "channel": "sms"})
    assert refused.status_code == 403 and "'write'" in refused.json()["message"]
    refused = clients["write"].post("/v1/decide?reserve=true", json=call(number))
    assert refused.status_code == 403 and "'decide'" in refused.json()["message"]
    with Ledger(str(folder / "l.db")) as ledger:
        exported = ledger.export(number)
    assert exported["opt_outs"] == [] and exported["attempts"] == []


@pytest.mark.parametrize(("body", "status", "error", "path"), [
    (b'{"to": "+12125550103", "at":', 400, "malformed_json", None),
    (b"\xff\xfe", 400, "malformed_json", None),
    (b'{"to": "+12125550103", "at": NaN}', 400, "malformed_json", None),
    (json.dumps(call("+12125550103", at=5)).encode(), 422, "invalid_call", "at"),
    (json.dumps(call("+12125550103", colour="red")).encode(), 422, "invalid_call", ""),
    (json.dumps(call("+12125550103", history=[{"at": AT, "outcome": "maybe"}])).encode(), 422,
     "invalid_call", "history[0].outcome"),
    (b"[" + b"1," * 3000 + b"1]", 413, "too_large", None),
])
def test_bad_decide_bodies_get_their_status_and_reserve_nothing(site, body, status, error, path):
    _, clients, folder = site
    answer = clients["decide"].post("/v1/decide?reserve=true", content=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"] == error
    assert answer.json().get("path") == path
    assert attempts_of(folder, "+12125550103") == []


def test_bad_fact_bodies_name_the_field(site) -> None:
    _, clients, _ = site
    writer = clients["write"]
    cases = [
        ("/v1/opt-outs", {"to": NUMBER, "at": AT, "channel": "sms", "colour": "red"}, "colour"),
        ("/v1/opt-outs", {"to": NUMBER, "at": AT}, "channel"),
        ("/v1/consents", {"to": NUMBER, "type": "express", "purposes": "marketing", "at": AT},
         "purposes"),
        ("/v1/consents", {"to": NUMBER, "type": "implied", "purposes": ["marketing"], "at": AT},
         "type"),
        ("/v1/washes", {"list": "dnc", "obtained_at": "last week"}, "obtained_at"),
        ("/v1/attempts", {"attempt_id": "nope", "outcome": "busy"}, "attempt_id"),
        ("/v1/complaints", {"to": "555", "at": AT, "channel": "mail"}, "to"),
    ]
    for path, body, field in cases:
        answer = writer.post(path, json=body)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["path"] == field, answer.text


def test_unknown_paths_methods_and_query_values(site) -> None:
    _, clients, _ = site
    assert clients["both"].get("/v2/decide").status_code == 404
    assert clients["both"].get("/v1/decide").status_code == 405
    wrong = clients["both"].post("/v1/decide?reserve=maybe", json=call())
    assert wrong.status_code == 400 and wrong.json()["path"] == "reserve"


def test_reserve_then_report_the_outcome(site) -> None:
    _, clients, folder = site
    dialer = clients["both"]
    number = "+12125550104"
    first = dialer.post("/v1/decide?reserve=true", json=call(number)).json()
    assert first["result"]["decision"] == "allow" and first["attempt_id"]
    second = dialer.post("/v1/decide?reserve=true", json=call(number)).json()
    assert second["result"]["decision"] == "deny" and second["attempt_id"] is None
    assert [v["rule"] for v in second["result"]["violations"]] == ["cap"]
    reported = dialer.post("/v1/attempts", json={"attempt_id": first["attempt_id"],
                                                 "outcome": "voicemail"})
    assert reported.status_code == 200
    assert [(a["id"], a["outcome"], a["agent"]) for a in attempts_of(folder, number)] == [
        (first["attempt_id"], "voicemail", "dialer")]


def test_array_decides_each_call_and_names_the_bad_one(site) -> None:
    _, clients, _ = site
    answer = clients["decide"].post("/v1/decide", json=[call("+12125550105"), {"to": "x"},
                                                        call("+12125550106")])
    assert answer.status_code == 200
    decisions = answer.json()["decisions"]
    assert [d.get("result", {}).get("decision") for d in decisions] == ["allow", None, "allow"]
    assert decisions[1]["index"] == 1 and decisions[1]["error"] == "invalid_call"


def test_recorded_facts_feed_the_next_decision(site) -> None:
    _, clients, _ = site
    writer, decider = clients["write"], clients["decide"]
    number = "+12125550107"
    robo = call(number, technology="autodialer")
    assert [v["rule"] for v in decider.post("/v1/decide", json=robo).json()["result"]["violations"]
            ] == ["robo"]
    made = writer.post("/v1/consents", json={
        "to": number, "type": "express_written", "purposes": ["marketing"],
        "at": "2026-01-01T00:00:00Z", "evidence": {"form_url": "https://x.test/f"}})
    assert made.status_code == 201 and made.json()["id"]
    assert decider.post("/v1/decide", json=robo).json()["result"]["allowed"]
    assert writer.post("/v1/complaints", json={"to": number, "at": "2026-06-01T00:00:00Z",
                                               "channel": "mail", "opt_out": True}).status_code == 201
    assert [v["rule"] for v in decider.post("/v1/decide", json=robo).json()["result"]["violations"]
            ] == ["opt-out"]
    bare = {"to": number, "at": AT, "purpose": "informational"}
    assert writer.post("/v1/washes", json={"list": "dnc", "obtained_at": "2026-06-01"}
                       ).status_code == 201
    assert decider.post("/v1/decide", json={**bare, "purpose": "marketing", "to": "+12125550108"}
                        ).json()["result"]["allowed"]


def test_policies_health_metrics_and_openapi(site, house_policy) -> None:
    _, clients, _ = site
    reader = clients["decide"]
    assert reader.post("/v1/decide", json=call("+12125550130")).status_code == 200
    policies = reader.get("/v1/policies").json()["policies"]
    assert [(p["id"], p["version"]) for p in policies] == [("house", "1")]
    assert policies[0]["hash"].startswith("sha256:")
    health = reader.get("/health").json()
    assert health["status"] == "ok" and health["policies"] == policies and health["ledger"]
    metrics = reader.get("/metrics").text
    assert 'ringfence_http_requests_total{endpoint="decide",status="200"}' in metrics
    document = reader.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    assert {"/v1/decide", "/v1/attempts", "/v1/opt-outs", "/health"} <= set(document["paths"])


def test_the_openapi_document_is_valid_and_embeds_the_call_contract() -> None:
    from openapi_spec_validator import validate

    from ringfence.resources import schema_path
    from ringfence.service.openapi import openapi

    document = openapi()
    validate(document)
    call_schema = json.loads(schema_path("call.schema.json").read_text())
    assert document["components"]["schemas"]["Call"]["properties"] == call_schema["properties"]


def test_decisions_are_logged_in_a_chain_that_verifies(site) -> None:
    _, clients, folder = site
    made = clients["decide"].post("/v1/decide", json=call("+12125550109")).json()
    from click.testing import CliRunner

    from ringfence.tools.cli import cli

    log = folder / "decisions.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    mine = [r for r in records if r["decision_id"] == made["decision_id"]]
    assert len(mine) == 1
    assert mine[0]["input"] == call("+12125550109")
    assert mine[0]["policies"][0]["id"] == "house"
    assert mine[0]["ledger_facts"]["lists_checked_at"] == {"dnc": "2026-06-01T00:00:00Z"}
    verified = CliRunner().invoke(cli, ["log", "verify", str(log)])
    assert verified.exit_code == 0 and verified.output.startswith("ok: ")


def _wait_for_health(health, check) -> dict:
    """The first ``/health`` answer ``check`` accepts, within 30 s (the reload is seen)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen = health()
        if check(seen):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"no reload seen: {health()}")


def test_sighup_reloads_and_a_broken_policy_never_replaces_the_running_one(
        tmp_path_factory, start_server, house_policy) -> None:
    folder = tmp_path_factory.mktemp("reload")
    policy = folder / "house.rf"
    shutil.copy(house_policy, policy)
    # only SIGHUP reloads here (the files are not looked at)
    server = start_server("-p", str(policy), "--insecure-local", "--policy-check-seconds", "0",
                          cwd=folder)
    health = lambda: httpx.get(server.url + "/health").json()  # noqa: E731
    wait_for = functools.partial(_wait_for_health, health)

    assert health()["policies"][0]["version"] == "1"
    policy.write_text(house_policy.read_text().replace("version 1", "version 2"))
    server.process.send_signal(signal.SIGHUP)
    wait_for(lambda h: h["policies"][0]["version"] == "2")
    policy.write_text(house_policy.read_text().replace("version 1", "version 3")
                      .replace("deny if count", "deny iff count"))
    server.process.send_signal(signal.SIGHUP)
    seen = wait_for(lambda h: h["last_reload_error"] is not None)
    assert seen["policies"][0]["version"] == "2" and "RF101" in seen["last_reload_error"]
    # no ledger: the call itself says it knows of no attempt and no opt-out
    known = call(history=[], opt_outs=[])
    assert httpx.post(server.url + "/v1/decide", json=known).json()["result"]["allowed"]


def test_a_changed_policy_file_is_reloaded_and_a_broken_one_never_goes_live(
        tmp_path_factory, start_server, house_policy) -> None:
    folder = tmp_path_factory.mktemp("watch")
    policy = folder / "house.rf"
    shutil.copy(house_policy, policy)
    server = start_server("-p", str(policy), "--insecure-local", "--policy-check-seconds", "0.1",
                          cwd=folder)
    health = lambda: httpx.get(server.url + "/health").json()  # noqa: E731
    wait_for = functools.partial(_wait_for_health, health)

    assert health()["policies"][0]["version"] == "1"
    policy.write_text(house_policy.read_text().replace("version 1", "version 2"))  # no SIGHUP
    assert wait_for(lambda h: h["policies"][0]["version"] == "2")["last_reload_error"] is None
    policy.write_text("policy broken\n")
    seen = wait_for(lambda h: h["last_reload_error"] is not None)
    assert seen["policies"][0]["version"] == "2"  # the running policies stay
    ask = {"to": NUMBER, "at": "2026-06-15T18:00:00Z", "purpose": "informational"}
    assert httpx.post(server.url + "/v1/decide", json=ask).status_code == 200
    policy.write_text(house_policy.read_text().replace("version 1", "version 3"))  # fixed
    fixed = wait_for(lambda h: h["policies"][0]["version"] == "3")
    assert fixed["last_reload_error"] is None


def test_sighup_with_workers_replaces_them_only_with_policies_that_load(
        tmp_path_factory, start_server, house_policy) -> None:
    folder = tmp_path_factory.mktemp("workers")
    policy = folder / "house.rf"
    shutil.copy(house_policy, policy)
    server = start_server("-p", str(policy), "--insecure-local", "--workers", "2",
                          "--policy-check-seconds", "0", cwd=folder)

    def versions() -> set[str]:
        seen = set()
        for _ in range(8):
            try:
                seen.add(httpx.get(server.url + "/health").json()["policies"][0]["version"])
            except httpx.TransportError:
                # a connection that an old worker accepted as it was being retired
                seen.add("retiring")
        return seen

    policy.write_text(house_policy.read_text().replace("version 1", "version 2"))
    server.process.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 90
    # Both old workers retired (uvicorn replaces them one by one: until the second is, a
    # request may still reach it, and a second SIGHUP would abort that first replacement).
    while (server.output.read_text().count("Finished server process") < 2
           or versions() != {"2"}):
        assert time.monotonic() < deadline, "the workers were not replaced"
        time.sleep(0.2)
    policy.write_text("policy broken\n")
    server.process.send_signal(signal.SIGHUP)
    while "aborting the restart" not in server.output.read_text():
        assert time.monotonic() < deadline + 60, server.output.read_text()
        time.sleep(0.2)
    assert versions() == {"2"}


def test_a_fresh_start_makes_a_token_file_and_serves_only_with_its_token(
        tmp_path_factory, start_server) -> None:
    folder = tmp_path_factory.mktemp("fresh")
    server = start_server("--policy", "us-federal", "--ledger", "ringfence.db", cwd=folder)
    assert (folder / "ringfence.db").exists()
    token = server.output.read_text().split("(shown once, keep it): ")[1].split()[0]
    assert token not in (folder / "ringfence-tokens.txt").read_text()
    ask = {"to": NUMBER, "at": "2026-06-15T18:00:00Z", "purpose": "informational"}
    assert httpx.post(server.url + "/v1/decide", json=ask).status_code == 401
    answer = httpx.post(server.url + "/v1/decide?reserve=true", json=ask,
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.json()["attempt_id"]


def test_serving_refuses_unsafe_or_broken_settings(tmp_path, house_policy) -> None:
    from click.testing import CliRunner

    from ringfence.tools.cli import cli

    cases = [
        (["-p", str(house_policy), "--insecure-local", "--host", "0.0.0.0"],
         "--insecure-local serves only on a loopback address"),
        (["-p", "no-such-policy", "--insecure-local"], "RF601"),
        (["-p", str(house_policy), "--tokens", str(tmp_path / "none")], "--tokens"),
        (["-p", str(house_policy), "--insecure-local", "--ledger", "mysql://x"], "--ledger"),
        (["-p", str(house_policy), "--insecure-local", "--retention-days", "30"],
         "--retention-days needs a --ledger"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(cli, ["serve", *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output


def test_reserve_over_http_on_each_database(ledger_url, tmp_path_factory, start_server,
                                            house_policy) -> None:
    folder = tmp_path_factory.mktemp("db")
    server = start_server("-p", str(house_policy), "--ledger", ledger_url, "--insecure-local",
                          cwd=folder)
    with httpx.Client(base_url=server.url) as client:
        made = [client.post("/v1/decide?reserve=true", json=call("+12125550120")).json()
                for _ in range(2)]
        assert [m["result"]["decision"] for m in made] == ["allow", "deny"]
        reported = client.post("/v1/attempts", json={"attempt_id": made[0]["attempt_id"],
                                                     "outcome": "no_answer"})
        assert reported.status_code == 200
        batch = client.post("/v1/decide", json=[call("+12125550120"), call("+12125550121")])
        assert [d["result"]["decision"] for d in batch.json()["decisions"]] == ["deny", "allow"]
    with Ledger(ledger_url) as ledger:
        assert [a["outcome"] for a in ledger.export("+12125550120")["attempts"]] == ["no_answer"]


def test_retention_setting_purges_old_attempts_at_start_and_keeps_opt_outs(
        tmp_path_factory, start_server, house_policy) -> None:
    folder = tmp_path_factory.mktemp("retention")
    with Ledger(str(folder / "l.db")) as ledger:
        ledger.record_attempt(NUMBER, "2020-01-01T00:00:00Z", "busy")
        ledger.record_opt_out(NUMBER, "2020-01-01T00:00:00Z", "sms")
    server = start_server("-p", str(house_policy), "--ledger", "l.db", "--insecure-local",
                          "--retention-days", "30", cwd=folder)
    deadline = time.monotonic() + 30
    while "retention: purged 1 attempts" not in server.output.read_text():
        assert time.monotonic() < deadline, server.output.read_text()
        time.sleep(0.1)
    with Ledger(str(folder / "l.db")) as ledger:
        exported = ledger.export(NUMBER)
    assert exported["attempts"] == [] and len(exported["opt_outs"]) == 1


def test_a_failing_ledger_database_answers_503_not_a_traceback(
        tmp_path_factory, start_server, house_policy) -> None:
    import sqlite3

    folder = tmp_path_factory.mktemp("broken")
    server = start_server("-p", str(house_policy), "--ledger", "l.db", "--insecure-local",
                          cwd=folder)
    with sqlite3.connect(folder / "l.db") as conn:
        conn.execute("DROP TABLE attempts")
    for path in ("/v1/decide?reserve=true", "/v1/decide"):
        answer = httpx.post(server.url + path, json=call())
        assert answer.status_code == 503, answer.text
        assert answer.json()["error"] == "ledger_unavailable"
    assert "Traceback" not in server.output.read_text()
