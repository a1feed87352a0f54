"""Where the callee is: the NANP location table against phonenumbers itself, postal codes
(to_postal_code), the precedence of the call's own fields, and ``located_by``."""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_core_support import NYC, PANHANDLE, call, load_rule, same_instant

import ringfence
from ringfence.errors import CallError
from ringfence.facts.callee import StandardFacts
from ringfence.facts.locate import NumberFacts, reference
from ringfence.facts.locationtable import NATIONAL_DIGITS, PREFIX_DIGITS, LocationTable, nanp_table, number_of
from ringfence.facts.postal import PostalPlace, locate_postal

HOURS = "allow only between 08:00 and 21:00 inclusive, callee local time"
PENSACOLA, TALLAHASSEE = "32501", "32301"  # both reached by area code 850


def answer(facts: StandardFacts, e164: str) -> NumberFacts | str:
    """What StandardFacts says, in the reference's terms (the reason without the number)."""
    try:
        return facts.number(e164)
    except CallError as err:
        return err.message.removeprefix(f"{e164} ")


# ---- the location table against phonenumbers -----------------------------------------------


def test_table_regenerated_equals_the_one_in_use():
    # The table is built from phonenumbers once; building it again from the installed
    # phonenumbers must give the same runs and answers as the one lookups use.
    used, fresh = nanp_table(), LocationTable.build()
    assert list(used.run_bounds()) == list(fresh.run_bounds())
    assert LocationTable.from_bytes(fresh.to_bytes()).to_bytes() == fresh.to_bytes()


def test_every_run_of_the_table_answers_as_phonenumbers():
    # Both ends of every run: each entry of the table is checked against phonenumbers.
    facts = StandardFacts()
    wrong = [(number_of(n), found) for first, last, found in nanp_table().run_bounds()
             for n in (first, last) if reference(number_of(n)) != found
             or answer(facts, number_of(n)) != found]
    assert wrong == []


def test_random_numbers_answer_as_phonenumbers():
    rng = random.Random(17)
    facts = StandardFacts()
    numbers = [f"+1{rng.randrange(10**10):010d}" for _ in range(10_000)]
    # and numbers as dialers call them: a geographic area code, an exchange, a line
    numbers += [f"+1{rng.randrange(200, 1000)}{rng.randrange(200, 1000)}{rng.randrange(10**4):04d}"
                for _ in range(20_000)]
    wrong = [n for n in numbers if answer(facts, n) != reference(n)]
    assert wrong == []
    assert sum(not isinstance(reference(n), str) for n in numbers) > 10_000  # valid ones too


@pytest.mark.parametrize("text", ["+1212555010a", "+1212555010١", "+121255501011", "+1212"])
def test_text_that_is_not_ten_ascii_digits_is_not_read_from_the_table(text):
    # such text goes to phonenumbers (which reads other scripts' digits as digits)
    assert nanp_table().get(text) is None
    assert answer(StandardFacts(), text) == reference(text)


def test_a_column_of_numbers_is_located_as_one_by_one():
    # find_many (a whole column at once) against find (one number): every run's two ends, the
    # numbers either side of them (runs that start inside a prefix of PREFIX_DIGITS digits
    # among them), the first and last number of the prefixes around each run's start and of
    # random prefixes, and random numbers, in random order
    table = nanp_table()
    bounds = [n for first, last, _ in table.run_bounds() for n in (first, last)]
    step = 10 ** (NATIONAL_DIGITS - PREFIX_DIGITS)
    assert any(first % step for first, _, _ in table.run_bounds())  # some prefixes are split
    rng = random.Random(5)
    prefixes = {p for first, _, _ in table.run_bounds() for p in range(first // step - 1,
                                                                       first // step + 2)}
    prefixes |= {rng.randrange(10**PREFIX_DIGITS) for _ in range(20_000)}
    numbers = [*bounds, *(n + 1 for n in bounds if n + 1 < 10**10), *(n - 1 for n in bounds if n),
               *(p * step + end for p in prefixes if 0 <= p < 10**PREFIX_DIGITS
                 for end in (0, step - 1)),
               *(rng.randrange(10**10) for _ in range(20_000))]
    rng.shuffle(numbers)
    found = table.find_many(np.array(numbers, dtype=np.int64))
    assert [table.answers[i] for i in found.tolist()] == [table.find(n) for n in numbers]
    assert len(table.find_many(np.array([], dtype=np.int64))) == 0


def test_a_damaged_table_file_is_refused():
    data = nanp_table().to_bytes()
    with pytest.raises(ValueError, match="cut short"):
        LocationTable.from_bytes(data[:-10])


# ---- postal codes ---------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "place"), [
    (PENSACOLA, PostalPlace("US", "US-FL", ("America/Chicago",))),
    (TALLAHASSEE, PostalPlace("US", "US-FL", ("America/New_York",))),
    ("32301-1234", PostalPlace("US", "US-FL", ("America/New_York",))),
    ("10001", PostalPlace("US", "US-NY", ("America/New_York",))),
    ("K1A 0B1", PostalPlace("CA", "CA-ON", ("America/Toronto", "America/Winnipeg",
                                           "America/Atikokan"))),
    ("v6b1a1", PostalPlace("CA", "CA-BC", ("America/Vancouver", "America/Creston",
                                          "America/Dawson_Creek", "America/Fort_Nelson",
                                          "America/Edmonton"))),
])
def test_postal_codes_locate(code, place):
    assert locate_postal(code) == place


def test_a_code_for_two_territories_names_no_region():
    place = locate_postal("X0A 0H0")  # Nunavut or the Northwest Territories
    assert place is not None and place.region is None and "America/Iqaluit" in place.zones


@pytest.mark.parametrize("code", ["3250", "325011", "32501-12", "D1A 0B1", "K1A-0B1", "３２５０１",
                                  "W1A 0B1", "abc"])
def test_malformed_postal_codes_are_errors_naming_the_field(code):
    with pytest.raises(CallError) as err:
        locate_postal(code)
    assert err.value.path == "to_postal_code"


def test_well_formed_unknown_zip_is_not_located():
    assert locate_postal("00000") is None


# ---- precedence and located_by in decisions -------------------------------------------------


@pytest.mark.parametrize(("at", "postal", "expected"), [
    # 850 reaches Central and Eastern time. 08:30 EDT is 07:30 CDT.
    ("2026-06-15T08:30:00-04:00", TALLAHASSEE, "allow"),
    ("2026-06-15T08:30:00-04:00", PENSACOLA, "deny"),
    ("2026-06-15T08:30:00-04:00", None, "deny"),
    ("2026-06-15T07:59:59-04:00", TALLAHASSEE, "deny"),
    ("2026-06-15T08:59:59-04:00", PENSACOLA, "deny"),
    ("2026-06-15T09:00:00-04:00", PENSACOLA, "allow"),
    ("2026-06-15T09:00:00-04:00", None, "allow"),
    # 20:30 CDT is 21:30 EDT
    ("2026-06-15T20:30:00-05:00", PENSACOLA, "allow"),
    ("2026-06-15T21:00:00-05:00", PENSACOLA, "allow"),
    ("2026-06-15T21:00:01-05:00", PENSACOLA, "deny"),
    ("2026-06-15T20:30:00-05:00", TALLAHASSEE, "deny"),
    ("2026-06-15T20:30:00-05:00", None, "deny"),
    ("2026-06-15T20:00:00-05:00", TALLAHASSEE, "allow"),
])
def test_850_by_zip_at_the_window_edges(tmp_path, at, postal, expected):
    fields = {"to_postal_code": postal} if postal else {}
    d = load_rule(tmp_path, HOURS).decide(call(at, to=PANHANDLE, **fields))
    assert d.decision == expected
    zones = {PENSACOLA: ["America/Chicago"], TALLAHASSEE: ["America/New_York"]}.get(
        postal or "", ["America/New_York", "America/Chicago"])
    assert d.timezones == zones
    assert d.located_by == ("postal_code" if postal else "multizone_fallback")
    assert d.region == "US-FL" and d.location_note is None


def test_next_allowed_follows_the_zip(tmp_path):
    policies = load_rule(tmp_path, HOURS)
    pensacola = policies.decide(call("2026-06-15T08:30:00-04:00", to=PANHANDLE,
                                     to_postal_code=PENSACOLA))
    assert same_instant(pensacola.next_allowed_at, "2026-06-15T09:00:00-04:00")
    tallahassee = policies.decide(call("2026-06-15T07:30:00-04:00", to=PANHANDLE,
                                       to_postal_code=TALLAHASSEE))
    assert same_instant(tallahassee.next_allowed_at, "2026-06-15T08:00:00-04:00")


def test_shipped_florida_hours_follow_the_zip():
    # us-fl: 08:00 to 20:00. 20:30 EDT is 19:30 CDT: fine in Pensacola, not in Tallahassee.
    policies = ringfence.load("us-fl")
    base = {"to": PANHANDLE, "at": "2026-06-15T20:30:00-04:00", "purpose": "marketing"}

    def hours_denied(**fields: str) -> bool:
        d = policies.decide({**base, **fields})
        return "calling-hours" in {f.rule for f in d.violations}

    assert not hours_denied(to_postal_code=PENSACOLA)
    assert hours_denied(to_postal_code=TALLAHASSEE)
    assert hours_denied()


def test_explicit_zone_wins_over_the_postal_code(tmp_path):
    d = load_rule(tmp_path, HOURS).decide(call("2026-06-15T08:30:00-04:00", to=PANHANDLE,
                                               to_timezone="America/Chicago",
                                               to_postal_code=TALLAHASSEE))
    assert d.decision == "deny" and d.timezones == ["America/Chicago"]
    assert d.located_by == "zone_given"


def test_zone_and_region_given(tmp_path):
    d = load_rule(tmp_path, HOURS).decide(call(to=PANHANDLE, to_timezone="America/Chicago",
                                               to_region="US-FL"))
    assert (d.located_by, d.timezones, d.region) == ("zone_given", ["America/Chicago"], "US-FL")
    with pytest.raises(CallError, match="not a valid number"):  # the number is still checked
        load_rule(tmp_path, HOURS).decide(call(to="+11115550101", to_timezone="America/Chicago",
                                               to_region="US-FL"))


def test_one_zone_number_is_located_by_its_prefix(tmp_path):
    d = load_rule(tmp_path, HOURS).decide(call(to=NYC))
    assert (d.located_by, d.to_dict()["located_by"], d.location_note) == (
        "number_prefix", "number_prefix", None)


def test_unknown_zip_falls_back_to_the_number_and_says_so(tmp_path):
    d = load_rule(tmp_path, HOURS).decide(call("2026-06-15T08:30:00-04:00", to=PANHANDLE,
                                               to_postal_code="00000"))
    assert d.decision == "deny" and d.located_by == "multizone_fallback"
    assert d.location_note is not None and "00000 is not known" in d.location_note


def test_zip_in_another_state_judges_every_zone_and_no_region(tmp_path):
    # a New York ZIP for a Florida number: the stricter reading of both
    policies = load_rule(tmp_path, HOURS, where="US-FL")
    d = policies.decide(call("2026-06-15T12:00:00-04:00", to=PANHANDLE, to_postal_code="10001"))
    assert d.timezones == ["America/New_York", "America/Chicago"]
    assert d.region is None and d.country == "US" and d.located_by == "postal_code"
    assert d.location_note is not None and "US-NY" in d.location_note and "US-FL" in d.location_note
    assert d.decision == "deny" and d.violations[0].missing_facts == ("to_region",)


def test_canadian_code_for_a_us_number_establishes_no_country(tmp_path):
    d = load_rule(tmp_path, HOURS).decide(call(to=NYC, to_postal_code="K1A 0B1"))
    assert d.country is None and d.region is None and d.decision == "deny"


def test_malformed_postal_code_in_a_call(tmp_path):
    with pytest.raises(CallError) as err:
        load_rule(tmp_path, HOURS).decide(call(to=PANHANDLE, to_postal_code="3250"))
    assert err.value.path == "to_postal_code"


def test_given_region_wins_over_disagreeing_postal_code(tmp_path):
    d = load_rule(tmp_path, HOURS).decide(call(to=PANHANDLE, to_postal_code="10001",
                                               to_region="US-FL"))
    assert d.region == "US-FL" and d.timezones == ["America/New_York", "America/Chicago"]
    assert d.location_note is not None and "region is not established" not in d.location_note


@pytest.mark.parametrize("to", [NYC, PANHANDLE, "+447521676060", "+61251594789", "+18005550101"])
def test_a_call_giving_no_place_is_located_as_the_precedence_walk_locates_it(to):
    # gather's road for the call that gives no to_timezone, to_postal_code nor to_region (most
    # calls) places the callee as the walk through the precedence does: the same zones, country,
    # region, located_by (PANHANDLE's two zones: multizone_fallback) and no note.
    evaluator = ringfence.load_library()._evaluator
    for _ in range(2):  # the zones made, then the zones kept
        ctx = evaluator.gather(call(to=to))
        walked = evaluator._located(ctx.call, evaluator.facts.number(to))
        assert [(c.zones, c.country, c.region, c.located_by, c.location_note, c.t)
                for c in (ctx, walked)] == [
            (walked.zones, walked.country, walked.region, walked.located_by, None, walked.t)] * 2
        assert ctx.zones and ctx.t == ctx.call.at_ts


def test_numbers_the_table_does_not_cover_are_answered_as_phonenumbers_by_head_or_block():
    # Outside the table a number is answered by its first seven characters and length where
    # they decide its block (nearly always), else by its block: +1850 29x numbers are split at
    # the eighth character (their zones in two orders), so two of one head may differ.
    rng = random.Random(23)
    facts = StandardFacts()
    split = ["+18502965274", "+18502920525"]
    assert reference(split[0]) != reference(split[1])
    heads = ["+447521", "+614000", "+3361234", "+49301", "+8190123", "+52155", "+9198100"]
    numbers = [head + "".join(rng.choice("0123456789") for _ in range(rng.randrange(3, 9)))
               for head in heads for _ in range(40)]
    for _ in range(2):  # asked, then kept
        for number in [*split, *numbers, *reversed(split)]:
            assert facts._cached_number(number) == reference(number), number
