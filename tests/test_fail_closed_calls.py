"""Issue #12, the calls' part of the vocabularies: a call's closed values are read in any case
(case 2: "Marketing" is marketing), and a word no vocabulary knows is rejected, naming the field,
the word and the closest known word, by the API, the CLI and in a batch; never silently
unmatched. Both call readers (compiled and reference) give the same Call."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner
from test_core_callreader import read, reference, values
from test_core_request import _valid_call
from test_core_support import call, load_text, policy_text, rule, write

from ringfence.contract.request import parse_call
from ringfence.errors import CallError
from ringfence.tools.cli import cli

PARIS = "+33142685300"
LATE_IN_PARIS = "2026-06-16T21:30:00+02:00"  # a Tuesday, after 20:00


def test_case_2_a_purpose_in_capitals_is_the_purpose():
    from ringfence import load
    ps = load("fr")
    for purpose in ("marketing", "Marketing", "MARKETING"):
        # "none" said of every other fact, so the hours are the only rule the call can break
        decision = ps.decide(call(LATE_IN_PARIS, to=PARIS, purpose=purpose, consent=[],
                                  opt_outs=[], history=[], lists=[],
                                  lists_checked_at={"bloctel": "2026-06-15"}))
        assert decision.decision == "deny", purpose
        assert {f.rule for f in decision.violations} == {"jours-et-heures"}


@pytest.mark.parametrize(("fields", "attribute", "expected"), [
    ({"line_type": "Mobile"}, "line_type", "mobile"),
    ({"line_type": "UNKNOWN"}, "line_type", None),  # the value meaning "not known"
    ({"technology": "AutoDialer"}, "technology", "autodialer"),
    ({"purpose": "Debt_Collection"}, "purpose", "debt_collection"),
    ({"consent": [{"type": "Express_Written", "purposes": ["Marketing", "OUTSIDE_HOURS"],
                   "at": "2026-01-01T00:00:00Z"}]},
     "consent", ("express_written", ("marketing", "outside_hours"))),
    ({"opt_outs": [{"at": "2026-01-01T00:00:00Z", "purposes": ["Research"]}]},
     "opt_outs", ("research",)),
    ({"history": [{"at": "2026-06-01T00:00:00Z", "outcome": "Voicemail", "purpose": "Charity"}]},
     "history", ("voicemail", "charity")),
])
def test_closed_values_are_read_in_lowercase_by_both_readers(fields, attribute, expected):
    raw = call(**fields)
    parsed = parse_call(raw)
    got = getattr(parsed, attribute)
    if attribute == "consent":
        got = (got[0].type, got[0].purposes)
    elif attribute == "opt_outs":
        got = got[0].purposes
    elif attribute == "history":
        got = (got[0].outcome, got[0].purpose)
        assert parsed.history_items[0]["outcome"] == "voicemail"  # what `with same` reads
    assert got == expected
    assert values(parsed) == values(reference(raw))
    assert parsed.raw is raw and raw == call(**fields)  # the request itself is not changed


@pytest.mark.parametrize(("fields", "path", "message"), [
    ({"line_type": "mobyle"}, "line_type", "'mobyle' is not a value of line_type (mobile, "
     "landline, voip, unknown); did you mean 'mobile'?"),
    ({"technology": "robocall"}, "technology", "'robocall' is not a value of technology (manual, "
     "autodialer, prerecorded, artificial_voice)"),
    ({"history": [{"at": "2026-06-01T00:00:00Z", "outcome": "Voicemial"}]}, "history[0].outcome",
     None),
])
def test_a_closed_value_outside_its_vocabulary_is_named(fields, path, message):
    with pytest.raises(CallError) as caught:
        parse_call(call(**fields))
    assert caught.value.path == path
    assert message is None or caught.value.message == message


@pytest.mark.parametrize(("fields", "path", "hint"), [
    ({"purpose": "marketting"}, "purpose", "marketing"),
    ({"purpose": "Marketting"}, "purpose", "marketing"),
    ({"consent": [{"type": "express", "purposes": ["marketing", "reserch"],
                   "at": "2026-01-01T00:00:00Z"}]}, "consent[0].purposes[1]", "research"),
    ({"opt_outs": [{"at": "2026-01-01T00:00:00Z", "purposes": ["outside_hours"]}]},
     "opt_outs[0].purposes[0]", None),
    ({"history": [{"at": "2026-06-01T00:00:00Z"},
                  {"at": "2026-06-02T00:00:00Z", "purpose": "charty"}]},
     "history[1].purpose", "charity"),
])
def test_a_purpose_no_vocabulary_knows_is_rejected_never_unmatched(tmp_path, fields, path, hint):
    ps = load_text(tmp_path, policy_text(rule("deny if purpose is marketing")))
    with pytest.raises(CallError) as caught:
        ps.decide(call(**fields))
    assert caught.value.path == path
    assert ("did you mean" in caught.value.message) == (hint is not None)
    assert hint is None or caught.value.message.endswith(f"did you mean {hint!r}?")


@pytest.mark.parametrize(("fields", "new"), [
    ({}, False), ({"purpose": "Research"}, False), ({"purpose": "fundraising"}, True),
    ({"consent": [{"type": "express", "purposes": ["OUTSIDE_HOURS"], "at": "2026-01-01T00:00:00Z"}]},
     False),
    ({"opt_outs": [{"at": "2026-01-01T00:00:00Z", "purposes": ["outside_hours"]}]}, True),
    ({"history": [{"at": "2026-06-01T00:00:00Z", "purpose": "alumni"}]}, True),
    ({"history": [{"at": "2026-06-01T00:00:00Z", "purpose": "Alumni"}]}, True),
])
def test_a_call_with_a_word_outside_the_contract_is_marked_by_both_readers(fields, new):
    raw = call(**fields)
    assert parse_call(raw).new_words is new
    assert reference(raw).new_words is new


def test_declared_purposes_are_those_of_the_loaded_policies(tmp_path):
    declares = policy_text(rule("deny if purpose is fundraising"), pid="a",
                           extra="  uses purpose fundraising")
    plain = policy_text(rule("deny if purpose is marketing"), pid="b")
    both = load_text(tmp_path, declares, "a.rf")
    assert both.decide(call(purpose="Fundraising")).decision == "deny"
    alone = load_text(tmp_path, plain, "b.rf")
    with pytest.raises(CallError, match="'fundraising' is not a purpose of the call contract "
                       r"\(a policy may declare it: uses purpose NAME\)"):
        alone.decide(call(purpose="fundraising"))


def test_the_cli_rejects_an_unknown_purpose_with_exit_2_and_an_error_record(tmp_path):
    lines = [json.dumps(call(LATE_IN_PARIS, to=PARIS, id=1, purpose="marketting")),
             json.dumps(call(LATE_IN_PARIS, to=PARIS, id=2, purpose="Marketing"))]
    calls = write(tmp_path, "\n".join(lines) + "\n", "calls.jsonl")
    result = CliRunner().invoke(cli, ["decide", "-p", "fr", str(calls)])
    assert result.exit_code == 2
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first == {"line": 1, "id": 1, "path": "purpose",
                     "error": "'marketting' is not a purpose of the call contract (a policy may "
                     "declare it: uses purpose NAME); did you mean 'marketing'?"}
    assert second["id"] == 2 and second["decision"] == "deny"


def _recased(raw: dict, rng: random.Random) -> dict:
    """The call with its closed values and purposes in random case."""
    def flip(word: str) -> str:
        return "".join(c.upper() if rng.random() < 0.5 else c for c in word)
    out = json.loads(json.dumps(raw))
    for key in ("line_type", "technology", "purpose"):
        if key in out:
            out[key] = flip(out[key])
    for item in out.get("consent", ()):
        item["type"] = flip(item["type"])
        item["purposes"] = [flip(p) for p in item["purposes"]]
    for item in out.get("opt_outs", ()):
        if "purposes" in item:
            item["purposes"] = [flip(p) for p in item["purposes"]]
    for item in out.get("history", ()):
        for key in ("outcome", "purpose"):
            if key in item:
                item[key] = flip(item[key])
    return out


def test_recased_calls_read_the_same_by_both_roads_and_as_in_lowercase():
    rng = random.Random(1212)
    compiled = 0
    for _ in range(300):
        base = _valid_call(rng)
        recased = _recased(base, rng)
        fast, ref = read(recased), reference(recased)
        assert not isinstance(ref, CallError), recased
        assert values(ref) == values(reference(base)), recased
        if fast is not None:
            compiled += 1
            assert values(fast) == values(ref), recased
    assert compiled > 100  # the compiled reader reads most of them itself


@pytest.mark.parametrize(("fields", "path", "start", "hint"), [
    ({"relationship": {"last_inquiry": "2026-06-01T00:00:00Z"}}, "relationship",
     "'last_inquiry' is not a field here (the fields are last_transaction_at, last_inquiry_at, "
     "contract_active)", "last_inquiry_at"),
    ({"purpse": "marketing"}, "", "'purpse' is not a field here", "purpose"),
    ({"history": [{"at": "2026-06-01T00:00:00Z", "result": "busy"}]}, "history[0]",
     "'result' is not a field here (the fields are at, outcome, subject, campaign, purpose)", None),
])
def test_an_unknown_key_is_named_with_the_closest_key(fields, path, start, hint):
    with pytest.raises(CallError) as caught:
        parse_call(call(**fields))
    assert caught.value.path == path
    assert caught.value.message.startswith(start)
    assert ("did you mean" in caught.value.message) == (hint is not None)
    assert hint is None or caught.value.message.endswith(f"did you mean {hint!r}?")
