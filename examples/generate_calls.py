"""Generate ``examples/calls.jsonl``: a few hundred varied, fictitious calls across the library's
jurisdictions, for ``ringfence decide --jurisdiction auto`` (the README's first command).

Deterministic (seeded), so the checked-in file can be regenerated exactly:
``python examples/generate_calls.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers

# (label, number prefix, zone, subscriber digits) — real area codes, fictitious subscribers.
PLACES = [
    ("New York", "+1212", "America/New_York", 7), ("Miami", "+1305", "America/New_York", 7),
    ("Pensacola", "+1850", "America/Chicago", 7), ("Oklahoma City", "+1405", "America/Chicago", 7),
    ("Baltimore", "+1410", "America/New_York", 7), ("Seattle", "+1206", "America/Los_Angeles", 7),
    ("Hartford", "+1860", "America/New_York", 7), ("Austin", "+1512", "America/Chicago", 7),
    ("Philadelphia", "+1215", "America/New_York", 7), ("Birmingham", "+1205", "America/Chicago", 7),
    ("Jackson", "+1601", "America/Chicago", 7), ("Boise", "+1208", "America/Boise", 7),
    ("Flagstaff", "+1928", "America/Phoenix", 7), ("Toronto", "+1416", "America/Toronto", 7),
    ("Vancouver", "+1604", "America/Vancouver", 7), ("Sydney", "+612", "Australia/Sydney", 8),
    ("Melbourne mobile", "+614", "Australia/Melbourne", 8), ("London", "+4420", "Europe/London", 8),
    ("UK mobile", "+447", "Europe/London", 9), ("Paris", "+331", "Europe/Paris", 8),
    ("France mobile", "+336", "Europe/Paris", 8), ("Berlin", "+4930", "Europe/Berlin", 8),
    ("Beijing mobile", "+86138", "Asia/Shanghai", 8),
]
PURPOSES = ["marketing"] * 5 + ["debt_collection", "informational", "research", "charity"]
TECHNOLOGIES = ["manual"] * 4 + ["autodialer", "prerecorded"]
LINE_TYPES = ["mobile", "landline", "unknown"]
# The registries every call was washed against: the first four on dates drawn from the call's
# generator, the rest of those the library's policies use from a generator of their own (so that
# adding them left every other field of the calls as it was).
WASHED = ("national_dnc", "tps", "national_dncl", "do_not_call_register")
ALSO_WASHED = ("bloctel", "dncr", "in_dnc", "ma_dnc", "ms_no_call", "pa_dnc", "robinson", "rpo",
               "sg_dnc")
OUT = Path(__file__).resolve().parent / "calls.jsonl"


def _number(rng: random.Random, prefix: str, digits: int) -> str:
    """A random number under the prefix that its numbering plan accepts as valid."""
    while True:
        number = prefix + "".join(str(rng.randint(0, 9)) for _ in range(digits))
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number


def _iso(when: dt.datetime) -> str:
    return when.isoformat()


def make_call(rng: random.Random, index: int) -> dict[str, Any]:
    label, prefix, zone, digits = rng.choice(PLACES)
    local = dt.datetime(2026, 6, 1, tzinfo=ZoneInfo(zone)) + dt.timedelta(
        days=rng.randint(0, 200), hours=rng.randint(6, 22), minutes=rng.choice([0, 15, 30, 59]))
    at = local.replace(second=rng.choice([0, 0, 0, 59]))
    call: dict[str, Any] = {
        "id": f"example-{index:04d}",
        "to": _number(rng, prefix, digits),
        "at": _iso(at),
        "from": rng.choice(["+12025550143", "+12025550143", "withheld"]),
        "purpose": rng.choice(PURPOSES),
        "technology": rng.choice(TECHNOLOGIES),
        "line_type": rng.choice(LINE_TYPES),
        "subject": f"offer-{rng.randint(1, 3)}",
        "campaign": "summer-2026",
        "meta": {"place": label},
    }
    if rng.random() < 0.3:
        call["to_timezone"] = zone
    if call["purpose"] == "debt_collection":
        call["subject"] = f"debt-{rng.randint(100, 999)}"
    if prefix.startswith("+86") and rng.random() < 0.5:
        call["sector"] = "life_insurance"
    # A dialer says "none" with an empty array: an array left out means "not known" and denies
    # every rule that needs it.
    call["consent"] = []
    if rng.random() < 0.35:
        call["consent"] = [{"type": rng.choice(["express", "express_written"]),
                            "purposes": [call["purpose"]],
                            "at": _iso(at - dt.timedelta(days=rng.randint(1, 400)))}]
    call["lists"] = []  # found on no list when it was washed (below)
    if rng.random() < 0.2:
        name = rng.choice(["national_dnc", "tps", "national_dncl", "do_not_call_register"])
        call["lists"] = [{"name": name, "listed_at": (at - dt.timedelta(days=rng.randint(1, 90))
                                                      ).date().isoformat()}]
    call["lists_checked_at"] = {n: (at - dt.timedelta(days=rng.randint(0, 40))).date().isoformat()
                                for n in WASHED}
    also = random.Random(f"washes-{index}")
    call["lists_checked_at"].update(
        {n: (at - dt.timedelta(days=also.randint(0, 40))).date().isoformat() for n in ALSO_WASHED})
    call["opt_outs"] = []
    if rng.random() < 0.15:
        call["opt_outs"] = [{"at": _iso(at - dt.timedelta(days=rng.randint(1, 100)))}]
    if rng.random() < 0.2:
        call["relationship"] = {
            "last_transaction_at": _iso(at - dt.timedelta(days=rng.randint(10, 700))),
            "contract_active": rng.random() < 0.5}
    attempts = rng.choice([0, 0, 1, 2, 3, 4, 7])
    call["history"] = []
    if attempts:
        call["history"] = [{
            "at": _iso(at - dt.timedelta(hours=rng.randint(1, 24 * 20))),
            "outcome": rng.choice(["no_answer", "voicemail", "busy", "conversation", "refused"]),
            "subject": call["subject"], "campaign": call["campaign"]}
            for _ in range(attempts)]
    return call


def main() -> None:
    rng = random.Random(20261128)
    with OUT.open("w", encoding="utf-8") as fh:
        for index in range(300):
            fh.write(json.dumps(make_call(rng, index), ensure_ascii=False) + "\n")
    print(f"300 calls written to {OUT}")


if __name__ == "__main__":
    main()
