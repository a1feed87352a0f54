"""The call contract is stated once, in ``call.schema.json``; everything else is derived from it
(``contract/schema.py``). These tests fail when a copy drifts from the schema."""

from __future__ import annotations

import copy
import datetime as dt
import random
from zoneinfo import ZoneInfo

import jsonschema
import jsonschema_rs
import pytest
from test_core_request import _mutate, _valid_call, full_call
from test_core_support import NYC

from ringfence.contract import fields, request
from ringfence.contract import schema as derive
from ringfence.contract.request import CONTRACT, call_schema, parse_call
from ringfence.errors import CallError
from ringfence.testing import reltime

GOOD_AT = "2026-06-15T12:00:00-04:00"


def _without_annotations(node: object) -> object:
    if isinstance(node, dict):
        return {k: _without_annotations(v) for k, v in node.items() if k != derive.ANNOTATION}
    if isinstance(node, list):
        return [_without_annotations(v) for v in node]
    return node


def test_validators_ignore_the_annotations():
    # The x-ringfence keywords are not JSON Schema: both validators must judge as if they were
    # not there, on valid and mutated calls alike.
    annotated, plain = call_schema(), _without_annotations(call_schema())
    assert annotated != plain
    jsonschema.Draft202012Validator.check_schema(annotated)
    judges = [(jsonschema.Draft202012Validator(annotated), jsonschema.Draft202012Validator(plain)),
              (jsonschema_rs.Draft202012Validator(annotated),
               jsonschema_rs.Draft202012Validator(plain))]
    rng = random.Random(11)
    verdicts = set()
    for _ in range(100):
        base = _valid_call(rng)
        for raw in (base, _mutate(base, rng), _mutate(base, rng)):
            for with_annotations, without in judges:
                verdict = with_annotations.is_valid(raw)
                assert verdict == without.is_valid(raw), raw
                verdicts.add(verdict)
    assert verdicts == {True, False}


def test_vocabularies_are_the_schema_enums():
    properties = call_schema()["properties"]
    assert fields.FIELDS["line_type"].vocabulary == set(properties["line_type"]["enum"])
    assert fields.FIELDS["technology"].vocabulary == set(properties["technology"]["enum"])
    assert {
        "consent.type": set(properties["consent"]["items"]["properties"]["type"]["enum"]),
        "history.outcome": set(properties["history"]["items"]["properties"]["outcome"]["enum"]),
    } == fields.VOCABULARIES


def test_the_fields_table_keeps_its_shape():
    assert fields.FIELDS["from"] == fields.Field("from", "caller", "call", "from_")
    assert fields.FIELDS["relationship.last_inquiry_at"] == fields.Field(
        "relationship.last_inquiry_at", "time", "call", "last_inquiry_at")
    assert fields.FIELDS["at"] == fields.Field("at", "time", "context", "t")
    assert set(fields.FIELDS) == {
        "to", "from", "to_timezone", "to_postal_code", "to_region", "line_type", "purpose",
        "sector", "technology", "subject", "campaign", "seller", "at", "country", "region",
        "relationship.contract_active", "relationship.last_transaction_at", "relationship.last_inquiry_at"}
    # every field of the call a condition names is an attribute of every Call
    call = parse_call({"to": NYC, "at": GOOD_AT})
    for field in fields.FIELDS.values():
        if field.owner == "call":
            assert hasattr(call, field.attribute), field


def test_instant_paths_are_every_instant_pattern_of_the_schema():
    expected = {("at",), ("consent", "*", "at"), ("consent", "*", "expires_at"),
                ("consent", "*", "revoked_at"), ("history", "*", "at"), ("opt_outs", "*", "at"),
                ("relationship", "last_transaction_at"), ("relationship", "last_inquiry_at"),
                ("lists", "*", "listed_at"), ("lists_checked_at", "*")}
    assert set(reltime.TIMESTAMP_PATHS) == expected
    dates = {p.path for p in CONTRACT.instant_paths if p.date_allowed}
    assert dates == {("lists", "*", "listed_at"), ("lists_checked_at", "*")}


def test_records_have_the_schema_keys_in_order():
    for record, path in ((request.ConsentRecord, ("consent", "*")),
                         (request.OptOut, ("opt_outs", "*")), (request.Attempt, ("history", "*"))):
        assert record._fields == tuple(p.key for p in CONTRACT.children(*path))


def test_the_compiled_reader_was_built_from_this_schema():
    # The build hook generates the reader's tables from the schema; an editable install whose
    # schema changed since must be rebuilt (pip install -e .).
    from ringfence.contract import _callreader
    assert derive.tables_digest(derive.c_header(CONTRACT)) == _callreader.TABLES_DIGEST


def _mutated() -> derive.Contract:
    schema = copy.deepcopy(call_schema())
    properties = schema["properties"]
    properties["language"] = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_-]*$",
                              derive.ANNOTATION: {"condition": "name"}}
    properties["channel"] = {"enum": ["phone", "sms", "none"], "default": "phone",
                             derive.ANNOTATION: {"condition": "enum", "not_known": "none"}}
    properties["relationship"]["properties"]["last_payment_at"] = {
        "type": "string", "pattern": derive.INSTANT, derive.ANNOTATION: {"condition": "time"}}
    properties["consent"]["items"]["properties"]["renewed_on"] = {
        "type": "string", "pattern": derive.DATE_OR_INSTANT}
    return derive.Contract(schema)


def test_a_field_added_to_the_schema_appears_in_every_derived_table():
    contract = _mutated()
    assert contract.text_fields["language"] == "language"
    assert {"language", "channel", "last_payment_at"} <= set(contract.slots)
    conditions = {c.name: c for c in contract.condition_fields}
    assert conditions["language"] == derive.ConditionField("language", "name", "language", None)
    assert conditions["channel"].vocabulary == {"phone", "sms", "none"}
    assert conditions["relationship.last_payment_at"].attribute == "last_payment_at"
    assert contract.vocabularies["channel"] == {"phone", "sms", "none"}
    assert derive.InstantPath(("relationship", "last_payment_at"), False) in contract.instant_paths
    assert derive.InstantPath(("consent", "*", "renewed_on"), True) in contract.instant_paths
    assert contract.place("channel").default == "phone"
    header = derive.c_header(contract)
    assert 'NAME("language")' in header and "S_LANGUAGE" in header
    assert 'static const signed char call_not_known[]' in header
    assert "RELATIONSHIP_LAST_PAYMENT_AT" in header and "CONSENT_RENEWED_ON" in header
    assert 'NAME("sms")' in header
    assert derive.tables_digest(header) != derive.tables_digest(derive.c_header(CONTRACT))


def test_a_pattern_the_reader_does_not_know_is_left_to_the_reference_path():
    schema = copy.deepcopy(call_schema())
    schema["properties"]["sector"]["pattern"] = "^[a-z]+$"
    contract = derive.Contract(schema)
    assert contract.place("sector").kind == "other"
    assert "K_OTHER" in derive.c_header(contract)


@pytest.mark.parametrize(("annotation", "message"), [
    ({"condition": "time"}, "cannot be read by a condition"),  # purpose is a word
    ({"conditon": "name"}, "unknown x-ringfence annotation"),
])
def test_an_annotation_that_does_not_fit_the_schema_is_refused(annotation, message):
    schema = copy.deepcopy(call_schema())
    schema["properties"]["purpose"][derive.ANNOTATION] = annotation
    with pytest.raises(derive.SchemaError, match=message):
        _ = derive.Contract(schema).condition_fields


def test_not_known_must_be_a_value_of_the_field():
    schema = copy.deepcopy(call_schema())
    schema["properties"]["line_type"][derive.ANNOTATION]["not_known"] = "n/a"
    with pytest.raises(derive.SchemaError, match="not one of its values"):
        derive.c_header(derive.Contract(schema))


# ---- the frozen call and its bare dates ------------------------------------------------------

def test_a_bare_date_is_midnight_in_the_zone_asked_for():
    raw = {"to": NYC, "at": GOOD_AT, "lists": [{"name": "dnc", "listed_at": "2026-06-01"}],
           "lists_checked_at": {"dnc": "2026-06-10", "state": "2026-06-11T08:00:00Z"}}
    call = parse_call(raw)
    assert call.lists == {"dnc": dt.date(2026, 6, 1)}  # kept as given
    placed = call.in_zone(ZoneInfo("America/Chicago"))
    midnight = dt.datetime(2026, 6, 1, tzinfo=ZoneInfo("America/Chicago")).timestamp()
    assert placed.lists == {"dnc": midnight}
    assert placed.lists_checked_at["dnc"] == dt.datetime(
        2026, 6, 10, tzinfo=ZoneInfo("America/Chicago")).timestamp()
    assert placed.lists_checked_at["state"] == call.lists_checked_at["state"]
    assert call.lists == {"dnc": dt.date(2026, 6, 1)}  # the call itself is unchanged
    assert placed.raw is raw and placed.purpose is None and placed.at == call.at
    with pytest.raises(AttributeError):
        placed.lists = {}  # type: ignore[misc]


def test_a_call_without_bare_dates_is_its_own_placement():
    call = parse_call(full_call())
    call = call.in_zone(ZoneInfo("UTC"))
    assert call.in_zone(ZoneInfo("Asia/Tokyo")) is call


def test_instants_are_every_instant_the_call_gives_but_its_own():
    call = parse_call(full_call()).in_zone(ZoneInfo("America/New_York"))
    expected = [*call.history_at, *(o.at for o in call.opt_outs),
                *(t for r in call.consent for t in (r.at, r.expires_at, r.revoked_at)),
                call.last_transaction_at, call.last_inquiry_at, *call.lists.values(),
                *call.lists_checked_at.values()]
    assert sorted(call.instants()) == sorted(t for t in expected if t is not None)
    assert len(expected) > 8


def test_of_several_unreal_dates_the_first_in_the_schema_order_is_named():
    # The walk over a call's instants follows the schema (relationship comes before opt_outs).
    raw = {"to": NYC, "at": GOOD_AT, "opt_outs": [{"at": "2026-02-30T12:00:00Z"}],
           "relationship": {"last_inquiry_at": "2026-02-31T12:00:00Z"}}
    with pytest.raises(CallError) as caught:
        parse_call(raw)
    assert str(caught.value) == ("invalid call at relationship.last_inquiry_at: "
                                 "'2026-02-31T12:00:00Z' is not a real date and time")


def test_the_schema_says_a_bare_date_is_midnight_in_the_callees_zone():
    # It once said 00:00 UTC while the engine used the callee's zone; the engine was right.
    for path in (p.path for p in CONTRACT.instant_paths if p.date_allowed):
        described = CONTRACT.place(*path).schema["description"]
        assert "midnight at the start of that day in the callee's zone" in described
        assert "UTC" not in described
    with pytest.raises(CallError, match="in the callee's zone"):
        parse_call({"to": NYC, "at": GOOD_AT, "lists_checked_at": {"dnc": "last week"}})


def test_a_reader_built_from_a_changed_schema_reads_the_new_fields(tmp_path):
    # The compiled reader knows the schema only through the generated tables: built from a
    # schema with new fields, it checks and converts them with no change to its C source.
    import importlib.util
    import shutil
    import subprocess
    import sysconfig
    from pathlib import Path
    from typing import Any, NamedTuple

    compiler = shutil.which((sysconfig.get_config_var("CC") or "cc").split()[0])
    if compiler is None:
        pytest.skip("no C compiler")
    contract = _mutated()
    (tmp_path / "_callreader_tables.h").write_text(derive.c_header(contract))
    built = tmp_path / ("_callreader" + sysconfig.get_config_var("EXT_SUFFIX"))
    source = Path(request.__file__).with_name("_callreader.c")
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", f"-I{sysconfig.get_paths()['include']}",
                    f"-I{tmp_path}", str(source), "-o", str(built)], check=True)
    spec = importlib.util.spec_from_file_location("_callreader", built)
    assert spec is not None and spec.loader is not None
    reader: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reader)

    call_class = type("ChangedCall", (), {"__slots__": ("__dict__", *contract.slots)})
    consent = NamedTuple("Consent", [(p.key, Any) for p in contract.children("consent", "*")])
    defaults = {**request.DEFAULTS, **{p.attribute: p.default for p in contract.flat_fields}}
    reader.configure(call_class, {"consent": consent, "opt_outs": request.OptOut}, defaults,
                     request.CheckedDates)
    raw = {"to": NYC, "at": GOOD_AT, "language": "en", "channel": "none",
           "relationship": {"last_payment_at": "2026-06-01T00:00:00Z"},
           "consent": [{"type": "express", "purposes": ["marketing"], "at": GOOD_AT,
                        "renewed_on": "2026-06-02"}]}
    call = reader.read(raw)
    assert call.language == "en" and call.channel is None  # "none" means not known
    assert call.last_payment_at == dt.datetime(2026, 6, 1, tzinfo=dt.UTC).timestamp()
    assert call.consent[0].renewed_on == dt.date(2026, 6, 2)
    assert reader.read({"to": NYC, "at": GOOD_AT}).channel == "phone"  # the schema's default
    assert reader.read({**raw, "language": "has space"}) is None  # left to the reference path
    assert reader.read({**raw, "channel": "fax"}) is None
