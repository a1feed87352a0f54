"""Fuzzing campaign (issue #12): random and mutated inputs through every public entry point.

Four kinds of input, each generated from a small grammar or by mutating the shipped material
(``policies/*.rf``, ``policies/*.test.yaml``, ``examples/calls.jsonl``): byte flips, insertions
of odd characters (U+2028, U+0085, NUL, lone surrogates, huge numbers, deep nesting),
truncations, duplications and splices.

- ``policy``: ``parse_text``, then ``ringfence.load`` of the text as a file (checker and
  compiler), then ``PolicySet.decide`` on a few calls (``next_allowed_at`` and ``to_dict`` read).
- ``call``: the compiled call reader against the reference path (equal Call fields, or the
  reader hands over; a reader that accepts what the reference rejects is a mismatch), then
  ``decide`` over a set of shipped policies.
- ``list``: ``NumberList.from_file`` on the bytes, then lookups.
- ``suite``: ``load_suite`` on the YAML, then the runner (``ringfence test``'s ``run``).

Each stage of each input ends as: accepted, rejected (a ``RingfenceError``: the clean way to say
no), crash (any other exception; also an "internal error" the runner reports in place of a
traceback, or a policy load that failed with a non-Ringfence error inside a ``SuiteError``) or
hang (over ``--limit`` seconds; a timer signal in the worker). Crashes and hangs are written to
``fuzz-crashes/`` with the traceback; every input is reproducible from ``--seed`` and its index
(``--replay KIND:INDEX`` prints one and runs it).

    python benchmarks/fuzz.py --kind all --count 1000000 --seed 1 --jobs 2

Exits 1 on any crash, hang or reader mismatch.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import ringfence
from ringfence.contract import request
from ringfence.errors import RingfenceError
from ringfence.facts.numberlist import NumberList
from ringfence.language.parser import parse_text
from ringfence.testing.runner import PolicyCache, run
from ringfence.testing.suite import load_suite

ROOT = Path(__file__).resolve().parent.parent
POLICY_DIR = ROOT / "policies"
CALLS_FILE = ROOT / "examples" / "calls.jsonl"
KINDS = ("policy", "call", "list", "suite")
# How many inputs one task of a worker holds: small for slow kinds, so progress shows.
CHUNK = {"policy": 20, "call": 500, "list": 200, "suite": 4}
# The shipped policies the call kind decides with (every jurisdiction kind: federal, state,
# country, province).
DECIDE_WITH = ("us-federal", "us-fl", "us-ny", "gb", "de", "ca-federal", "au-federal", "sg")

# ---------------------------------------------------------------------------------------------
# Mutation

ODD_TEXT = [
    "\u2028", "\u2029", "\u0085", "\x00", "\ud800", "\udfff", "\r", "\r\n", "\t", "\x0c", "\x0b",
    "\ufeff", "\u202e", "\u00e9", "\U0001f642", "\\", '"', "'", "#", "\n", " ", "  ", ":", ",",
    "-", "_", "{", "}", "[", "]", "&", "*", "!", "|", ">", "%", "@", "`", "~", "?",
    "9" * 40, "9" * 5000, "1e999", "-0", "0x10", "NaN", "Infinity", "2026-02-30", "24:00",
    "23:59:60", "+99:99", "0000-01-01", "9999-12-31T23:59:59+14:00", "null", "true", "~",
    "(" * 200, "not " * 300, "[" * 300, "{a: " * 300, "- " * 300, "\"\"\"", "\x7f", "\u0000",
]
ODD_BYTES = [b"\xff", b"\xfe", b"\xc0\x80", b"\xed\xa0\x80", b"\xe2\x80", b"\x80", b"\x00"]


def odd_bytes(rng: random.Random) -> bytes:
    """An odd character or token as bytes (lone surrogates as their invalid UTF-8 form)."""
    if rng.random() < 0.15:
        return rng.choice(ODD_BYTES)
    return rng.choice(ODD_TEXT).encode("utf-8", "surrogatepass")


def mutate_bytes(data: bytes, rng: random.Random, corpus: list[bytes], words: list[bytes],
                 most: int = 4) -> bytes:
    """One to ``most`` mutations of ``data``: flips, insertions, cuts, copies and splices."""
    out = bytearray(data)
    for _ in range(rng.randint(1, most)):
        n = len(out)
        at = rng.randint(0, n)
        op = rng.randrange(11)
        if op == 0 and n:  # flip one bit
            i = rng.randrange(n)
            out[i] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # replace a byte
            out[rng.randrange(n)] = rng.randrange(256)
        elif op == 2:  # insert an odd character or token
            out[at:at] = odd_bytes(rng)
        elif op == 3 and n:  # delete a range
            out[at:at + rng.randint(1, 40)] = b""
        elif op == 4:  # truncate
            del out[at:]
        elif op == 5 and n:  # duplicate a range somewhere else
            start = rng.randrange(n)
            piece = out[start:start + rng.randint(1, 200)]
            where = rng.randint(0, n)
            out[where:where] = piece
        elif op == 6 and corpus:  # splice with another file of the corpus
            other = rng.choice(corpus)
            out = out[:at] + other[rng.randint(0, len(other)):]
        elif op == 7:  # swap two lines
            lines = bytes(out).split(b"\n")
            if len(lines) > 1:
                i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
                out = bytearray(b"\n".join(lines))
        elif op == 8 and words:  # a word of the language where another stood
            out[at:at] = rng.choice(words)
        elif op == 9:  # a digit run replaced by a huge or odd number
            digits = [i for i in range(n) if 48 <= out[i] <= 57]
            if digits:
                i = rng.choice(digits)
                out[i:i + 1] = rng.choice([b"9" * rng.randint(5, 5000), b"0", b"-1", b"99"])
        elif op == 10 and n:  # a line repeated many times (sizes, duplicates)
            lines = bytes(out).split(b"\n")
            line = rng.choice(lines)
            lines.insert(rng.randrange(len(lines) + 1), b"\n".join([line] * rng.randint(2, 50)))
            out = bytearray(b"\n".join(lines))
    return bytes(out)


def words_of(texts: list[bytes]) -> list[bytes]:
    """Distinct words and quoted strings of a corpus: what mutations put in other places."""
    found: set[bytes] = set()
    for text in texts:
        for token in text.replace(b"\n", b" ").split(b" "):
            if token and len(token) < 60:
                found.add(b" " + token + b" ")
    return sorted(found)


# ---------------------------------------------------------------------------------------------
# Generators: one input of each kind from an index's own random stream


@dataclass
class Corpus:
    """The shipped material inputs are made from, read once per process."""

    policies: list[bytes] = field(default_factory=list)
    suites: list[bytes] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    policy_words: list[bytes] = field(default_factory=list)
    suite_words: list[bytes] = field(default_factory=list)
    header_lines: list[bytes] = field(default_factory=list)
    rule_lines: list[bytes] = field(default_factory=list)
    values: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def read(cls) -> Corpus:
        corpus = cls()
        corpus.policies = [p.read_bytes() for p in sorted(POLICY_DIR.glob("*.rf"))]
        corpus.suites = [p.read_bytes() for p in sorted(POLICY_DIR.glob("*.test.yaml"))]
        corpus.calls = [json.loads(line) for line in CALLS_FILE.read_text("utf-8").splitlines()
                        if line.strip()]
        corpus.policy_words = words_of(corpus.policies)
        corpus.suite_words = words_of(corpus.suites)
        for text in corpus.policies:  # clause lines, sorted by where they may stand
            in_rule = False
            for line in text.split(b"\n"):
                if line.startswith(b"rule "):
                    in_rule = True
                elif line.startswith(b"  ") and not line.lstrip().startswith(b"#"):
                    (corpus.rule_lines if in_rule else corpus.header_lines).append(line)
        values: dict[str, list[Any]] = {}
        for call in corpus.calls:
            for key, value in call.items():
                values.setdefault(key, []).append(value)
        corpus.values = values
        return corpus


def gen_policy(rng: random.Random, corpus: Corpus) -> bytes:
    """A shipped policy mutated, or one put together from clause lines of the shipped ones."""
    if rng.random() < 0.6:
        return mutate_bytes(rng.choice(corpus.policies), rng, corpus.policies,
                            corpus.policy_words)
    pid = rng.choice([b"fuzz", b"us-fuzz", b"x", b"a-b_c", b"9"])
    head = [b'policy ' + pid + b' "Fuzz"']
    head += rng.sample(corpus.header_lines, rng.randint(0, 6))
    rules = []
    for n in range(rng.randint(0, 5)):
        rid = rng.choice([b"r", b"calling-hours", b"r" + str(n).encode()])
        clauses = rng.sample(corpus.rule_lines, rng.randint(0, 5))
        rules.append(b"\n".join([b"rule " + rid + b' "A rule"', b'  cite "x"', *clauses]))
    text = b"\n".join(head) + b"\n\n" + b"\n\n".join(rules) + b"\n"
    if rng.random() < 0.3:
        text = mutate_bytes(text, rng, corpus.policies, corpus.policy_words)
    return text


def _odd_value(rng: random.Random, depth: int = 0) -> Any:
    """A JSON-ish value of any type, now and then deeply nested or huge."""
    pick = rng.randrange(14)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, 2**64, 10**400, -(10**30)])
    if pick == 3:
        return rng.choice([0.5, -0.0, 1e308, float("inf"), float("nan"), 1e-320])
    if pick == 4:
        return rng.choice(ODD_TEXT)
    if pick == 5:
        deep: Any = "x"
        for _ in range(rng.choice([10, 100, 2000])):
            deep = [deep] if rng.random() < 0.5 else {"a": deep}
        return deep
    if pick == 6 and depth < 3:
        return [_odd_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if pick == 7 and depth < 3:
        return {rng.choice(["at", "name", "type", "x", ""]): _odd_value(rng, depth + 1)
                for _ in range(rng.randint(0, 3))}
    if pick == 8:
        return gen_instant(rng)
    if pick == 9:
        return rng.choice(["+13055550123", "+1305555012", "+447700900123", "+0", "+",
                           "+1" + "9" * 30, "13055550123", "+1 305 555 0123", "+1305555012\n"])
    return rng.choice(["marketing", "informational", "debt_collection", "manual", "autodialer",
                       "express_written", "national_dnc", "mobile", "landline", "unknown", ""])


def gen_instant(rng: random.Random) -> str:
    """An RFC 3339-like instant, often a little wrong (the reader's hardest field)."""
    year = rng.choice(["2026", "2024", "0001", "9999", "1969", "1970", "2038", "10000", "0000"])
    month = rng.choice(["01", "02", "03", "06", "11", "12", "13", "00", "1"])
    day = rng.choice(["01", "15", "28", "29", "30", "31", "32", "00"])
    hour = rng.choice(["00", "09", "12", "23", "24", "7"])
    minute = rng.choice(["00", "30", "59", "60"])
    second = rng.choice(["00", "59", "60", "61", "5"])
    frac = rng.choice(["", "", ".5", ".123456", ".1234567890123", ".", ".9999999"])
    zone = rng.choice(["Z", "z", "+00:00", "-04:00", "+14:00", "-23:59", "+24:00", "+05:30",
                       "-00:00", "", "+0400", "+04", "UTC"])
    sep = rng.choice(["T", "T", "t", " ", "_"])
    text = f"{year}-{month}-{day}{sep}{hour}:{minute}:{second}{frac}{zone}"
    if rng.random() < 0.1:
        text = f"{year}-{month}-{day}"
    if rng.random() < 0.1:
        i = rng.randint(0, len(text))
        text = text[:i] + rng.choice(ODD_TEXT) + text[i:]
    return text


def gen_call(rng: random.Random, corpus: Corpus) -> Any:
    """An example call mutated field by field, or its JSON text mutated and read back."""
    base = json.loads(json.dumps(rng.choice(corpus.calls)))
    if rng.random() < 0.15:  # byte-level: whatever json.loads makes of a damaged text
        text = mutate_bytes(json.dumps(base).encode(), rng, [], [])
        try:
            return json.loads(text.decode("utf-8", "surrogateescape"))
        except (ValueError, RecursionError):
            pass  # not JSON any more: fall through to a field-level mutation
    if rng.random() < 0.03:
        return _odd_value(rng)  # not even an object
    keys = list(corpus.values)
    for _ in range(rng.choice((1, 1, 1, 2, 3))):  # mostly one change: deep, not just rejected
        op = rng.randrange(8)
        key = rng.choice(keys)
        if op == 0:
            base.pop(key, None)
        elif op == 1:
            base[key] = copy.deepcopy(rng.choice(corpus.values[key]))  # another example's
        elif op == 2:
            base[key] = _odd_value(rng)
        elif op in (3, 4):  # an instant somewhere
            base["at"] = gen_instant(rng)
            for item in _items(base, "history"):
                if rng.random() < 0.3:
                    item["at"] = gen_instant(rng)
            for item in _items(base, "consent"):
                if rng.random() < 0.3:
                    item[rng.choice(["at", "revoked_at", "expires_at"])] = gen_instant(rng)
        elif op == 5:  # inside a nested record
            _mutate_nested(base, rng)
        elif op == 6:
            base[rng.choice(["extra", "to_region", "", "\u2028", "at\x00"])] = _odd_value(rng)
        else:
            value = base.get(key)
            if isinstance(value, str):
                i = rng.randint(0, len(value))
                base[key] = value[:i] + rng.choice(ODD_TEXT) + value[i + rng.randint(0, 3):]
    return base


def _items(call: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The records of a list field, whatever earlier mutations left there."""
    value = call.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _mutate_nested(call: dict[str, Any], rng: random.Random) -> None:
    containers = [v for v in call.values() if isinstance(v, (list, dict)) and v]
    if not containers:
        return
    target = rng.choice(containers)
    if isinstance(target, list):
        i = rng.randrange(len(target))
        item = target[i]
        if isinstance(item, dict) and item and rng.random() < 0.7:
            k = rng.choice(list(item))
            if rng.random() < 0.3:
                del item[k]
            else:
                item[k] = _odd_value(rng)
        else:
            target[i] = _odd_value(rng)
    else:
        k = rng.choice(list(target))
        target[k] = _odd_value(rng)


def gen_list(rng: random.Random, corpus: Corpus) -> bytes:
    """A list file: numbers, dates, headers, comments and line ends of every kind, mutated."""
    lines: list[bytes] = []
    if rng.random() < 0.3:
        lines.append(rng.choice([b"# source: fuzz", b"\xef\xbb\xbf# BOM"]))
    if rng.random() < 0.4:
        lines.append(rng.choice([b"number,listed_at", b"e164", b"Phone , Listed", b"NUMBER"]))
    for _ in range(rng.randint(0, 30)):
        if rng.random() < 0.97:  # a good line; now and then an odd one
            number = rng.choice([b"+1305555%04d" % rng.randrange(10000), b"  +12125550101  ",
                                 b"+447700900%03d" % rng.randrange(1000), b"+49301234567"])
            when = rng.choice([b"", b",2026-05-31", b",2026-06-15T12:00:00Z", b",",
                               b",2026-06-15T12:00:00-04:00", b",2026-06-15 12:00",
                               b",9999-12-31T23:59:59-23:59", b",0001-01-01T00:00:00+14:00",
                               b",2026-06-15T12:00:00.1234567+00:00", b", 2026-05-31 "])
        else:
            number = rng.choice([b"+1" + b"9" * rng.randint(1, 20), b"+", b"1305", b"+0123"])
            when = rng.choice([b",2026-02-30", b",x,y", b",0000-01-01", b",2026-06-15T25:00"])
        lines.append(number + when)
        if rng.random() < 0.1:
            lines.append(rng.choice([b"", b"   ", b"# note", b"#"]))
    eol = rng.choice([b"\n", b"\r\n", b"\r", b"\n"])
    data = eol.join(lines) + (eol if rng.random() < 0.7 else b"")
    if rng.random() < 0.5:
        data = mutate_bytes(data, rng, [], [])
    return data


def gen_suite(rng: random.Random, corpus: Corpus) -> bytes:
    """A shipped suite mutated, or a small suite of generated calls (JSON is YAML)."""
    if rng.random() < 0.6:  # one change mostly: a suite that still loads runs its cases
        return mutate_bytes(rng.choice(corpus.suites), rng, corpus.suites, corpus.suite_words,
                            most=rng.choice((1, 1, 4)))
    policies = rng.sample(["us-fl.rf", "us-federal", "gb.rf", "de", "us-ny.rf", "us-fl",
                           "nope.rf", "../x.rf"], rng.choice((1, 1, 1, 2, 0)))
    doc: dict[str, Any] = {"policies": policies}
    if rng.random() < 0.7:
        doc["now"] = gen_instant(rng)
    cases = []
    for n in range(rng.randint(0, 4)):
        call = gen_call(rng, corpus)
        if isinstance(call, dict) and rng.random() < 0.5:
            call["at"] = rng.choice(["now", "now-2h", "now+1d", "now-30m", "now+", "now-99999d"])
        expect = rng.choice([{"decision": "allow"}, {"decision": "deny", "violations": ["x"]},
                             {"next_allowed_at": "now+1h"}, {"next_allowed_at": None},
                             {"decision": "deny", "message_contains": "\u2028"}])
        case: dict[str, Any] = {"name": f"case {n}", "call": call, "expect": expect}
        if rng.random() < 0.2:
            case["use"] = ["missing"]
        cases.append(case)
    doc["cases"] = cases
    try:
        text = json.dumps(doc, indent=rng.choice([None, 2]), allow_nan=True)
    except (ValueError, RecursionError):
        text = "cases: []\n"
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.3:
        data = mutate_bytes(data, rng, corpus.suites, corpus.suite_words)
    return data


GENERATORS: dict[str, Callable[[random.Random, Corpus], Any]] = {
    "policy": gen_policy, "call": gen_call, "list": gen_list, "suite": gen_suite,
}


def input_rng(seed: int, kind: str, index: int) -> random.Random:
    """The random stream of one input: the same seed, kind and index give the same input."""
    return random.Random(f"{seed}/{kind}/{index}")


# ---------------------------------------------------------------------------------------------
# Running one input: stages and their outcomes


class Hang(BaseException):
    """Raised by the timer signal when one stage runs over the limit (not an Exception, so
    that no ``except Exception`` in the code under test swallows it)."""


class Mismatch(Exception):
    """The compiled reader and the reference path disagree on a call."""


class HiddenCrash(Exception):
    """A crash the code under test caught and reported in words instead of a traceback."""


def _on_alarm(_signum: int, _frame: FrameType | None) -> None:
    raise Hang()


@dataclass
class Outcome:
    """What happened to one input: each stage reached and how it ended, and crash details."""

    stages: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # stage, status, text


class Runner:
    """Runs inputs through the entry points in one process, with a per-stage time limit."""

    def __init__(self, limit: float, workdir: Path):
        self.limit = limit
        self.workdir = workdir
        self.corpus = Corpus.read()
        # Suites and policies name shipped policies and list files by relative path: a copy
        # sits beside them.
        for source in POLICY_DIR.glob("*.rf"):
            shutil.copy(source, workdir / source.name)
        shutil.copytree(POLICY_DIR / "lists", workdir / "lists", dirs_exist_ok=True)
        self.policyset = ringfence.load(*DECIDE_WITH)
        self.cache = PolicyCache()
        # Example calls by the place they reach ("US", "US-FL", "GB"): a policy is decided on
        # calls in its own jurisdictions, or its rules would never run.
        self.calls_to: dict[str, list[dict[str, Any]]] = {}
        for call in self.corpus.calls:
            decision = self.policyset.decide(call)
            for place in {decision.country, decision.region} - {None}:
                self.calls_to.setdefault(str(place), []).append(call)
        signal.signal(signal.SIGALRM, _on_alarm)

    def stage(self, outcome: Outcome, name: str, fn: Callable[[], Any]) -> tuple[bool, Any]:
        """Run one stage under the timer; record how it ended; True when it accepted."""
        signal.setitimer(signal.ITIMER_REAL, self.limit)
        try:
            result = fn()
        except Hang:
            status, result = "hang", None
            outcome.failures.append((name, "hang", traceback.format_exc()))
        except RingfenceError:
            status, result = "rejected", None
        except Mismatch:
            status, result = "mismatch", None
            outcome.failures.append((name, "mismatch", traceback.format_exc()))
        except BaseException:  # what the campaign is looking for
            status, result = "crash", None
            outcome.failures.append((name, "crash", traceback.format_exc()))
        else:
            status = "accepted"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        outcome.stages.append((name, status))
        return status == "accepted", result

    def run(self, kind: str, data: Any, index: int) -> Outcome:
        """Run input number ``index`` of ``kind`` through its stages."""
        outcome = Outcome()
        getattr(self, f"_run_{kind}")(outcome, data, index)
        return outcome

    # -- policy --------------------------------------------------------------------------------
    def _run_policy(self, outcome: Outcome, data: bytes, index: int) -> None:
        text = data.decode("utf-8", "surrogateescape")
        self.stage(outcome, "parse", lambda: parse_text(text, "fuzz.rf"))
        path = self.workdir / "fuzz-policy.rf"
        path.write_bytes(data)
        ok, policyset = self.stage(outcome, "load", lambda: ringfence.load(path))
        if ok:
            calls = self._calls_for(policyset, random.Random(index))
            self.stage(outcome, "decide", lambda: [
                _read_decision(policyset.decide(call, trace=True), search=n == 0)
                for n, call in enumerate(calls)])

    def _calls_for(self, policyset: ringfence.PolicySet, rng: random.Random
                   ) -> list[dict[str, Any]]:
        """A few example calls into the policy's jurisdictions, as given and for marketing."""
        places = [j for info in policyset.policies for j in info.jurisdictions]
        picked = [rng.choice(self.calls_to.get(place) or self.corpus.calls)
                  for place in places[:3]] or [rng.choice(self.corpus.calls)]
        return picked + [{**call, "purpose": "marketing"} for call in picked]

    # -- call ----------------------------------------------------------------------------------
    def _run_call(self, outcome: Outcome, raw: Any, index: int) -> None:
        ok, _ = self.stage(outcome, "read", lambda: compare_readers(raw))
        if ok:
            # The search for next_allowed_at costs ~40 ms when a call is denied: every 8th call.
            search = index % 8 == 0
            self.stage(outcome, "decide",
                       lambda: _read_decision(self.policyset.decide(raw), search))

    # -- list ----------------------------------------------------------------------------------
    def _run_list(self, outcome: Outcome, data: bytes, _index: int) -> None:
        path = self.workdir / "fuzz-list.csv"
        path.write_bytes(data)
        ok, numbers = self.stage(outcome, "read", lambda: NumberList.from_file(path))
        if ok:
            self.stage(outcome, "lookup", lambda: [
                (n in numbers, numbers.listing(n), numbers.lookup(n), len(numbers))
                for n in ("+13055550001", "+12125550101", "+447700900123", "+1", "x")])

    # -- suite ---------------------------------------------------------------------------------
    def _run_suite(self, outcome: Outcome, data: bytes, _index: int) -> None:
        path = self.workdir / "fuzz.test.yaml"
        path.write_bytes(data)
        ok, suite = self.stage(outcome, "load", lambda: load_suite(path))
        if ok:
            self.stage(outcome, "run", lambda: _checked_run(suite, self.cache))


def _read_decision(decision: Any, search: bool = True) -> Any:
    """Everything a caller may read of a decision (next_allowed_at is searched when read)."""
    if search:
        return decision.to_dict()
    return (decision.decision, decision.violations, decision.warnings, decision.region)


def _checked_run(suite: Any, cache: PolicyCache) -> Any:
    """Run a suite; a crash the runner reported as a case error or a SuiteError is a crash."""
    from ringfence.testing.problems import SuiteError
    try:
        cache.get(suite)  # run() gathers these errors without their causes: load first
    except SuiteError as err:
        cause = err.__cause__
        if cause is not None and not isinstance(cause, RingfenceError):
            raise HiddenCrash(f"policy load crashed inside SuiteError: {cause!r}") from cause
        raise
    result = run([suite], cache)
    for case in result.results:
        if case.status == "error" and (case.error or "").startswith("internal error"):
            raise HiddenCrash(f"{case.case.nodeid}: {case.error}")
    return result


def call_values(call: Any) -> tuple[Any, ...]:
    """Everything a Call holds, slot by slot as the contract lists them (the request itself
    aside), each with its type, which tells a date from a timestamp; ``at`` with its offset."""
    found: list[Any] = []
    for slot in (*request.CONTRACT.slots, "history"):
        value = getattr(call, slot)
        if slot == "raw":
            continue
        if slot == "at":
            value = (value, value.utcoffset(), value.tzinfo == dt.UTC)
        elif slot == "history_items":  # the words `with same purpose` reads from the items
            value = None if value is None else tuple(
                (item.get("outcome"), item.get("purpose")) for item in value)
        elif isinstance(value, Mapping):
            value = {k: (type(v).__name__, v) for k, v in value.items()}
        found.append((slot, type(value).__name__, value))
    return tuple(found)


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    # NaN never equals itself; repr compares what each holds (both are built the same way).
    return a == b or repr(a) == repr(b)


def compare_readers(raw: Any) -> Any:
    """The compiled reader and the reference path on one call: equal, or the reader hands
    over. Returns the Call; raises CallError when both reject, Mismatch when they differ."""
    reference: Any
    try:
        reference = request.parse_call_reference(raw)
    except RingfenceError as err:
        reference = err
    reader = request.read_compiled
    try:
        fast = reader(raw) if reader is not None else None
    except RingfenceError as err:  # it answers a Call or None; rejecting is the reference's job
        raise Mismatch(f"the compiled reader raised {err!r}") from err
    if fast is not None:
        if isinstance(reference, RingfenceError):
            raise Mismatch(f"the compiled reader accepted what the reference rejects "
                           f"({reference}): {_as_bytes(raw)[:2000]!r}")
        if not _same(call_values(fast), call_values(reference)):
            raise Mismatch(f"the two roads read different calls:\n  compiled  "
                           f"{call_values(fast)!r}\n  reference {call_values(reference)!r}")
    if isinstance(reference, RingfenceError):
        raise reference
    return reference


# ---------------------------------------------------------------------------------------------
# Workers and the report

_RUNNER: Runner | None = None


def _scratch() -> Path:
    """A folder for the campaign's files: in memory when the machine has a tmpfs (every input
    is written to a file, and a disk makes that the slowest step)."""
    shm = Path("/dev/shm")
    where = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="ringfence-fuzz-", dir=where))


def _init_worker(limit: float, scratch: Path) -> None:
    global _RUNNER
    _RUNNER = Runner(limit, Path(tempfile.mkdtemp(dir=scratch)))


@dataclass
class ChunkResult:
    """Counts of one task and the inputs that crashed, hung or mismatched."""

    kind: str
    inputs: int
    counts: Counter[tuple[str, str]]
    failures: list[tuple[int, str, str, str, bytes]]  # index, stage, status, traceback, input


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    try:
        return json.dumps(data, ensure_ascii=True).encode()
    except (ValueError, RecursionError, TypeError):
        pass
    try:
        return repr(data).encode("utf-8", "backslashreplace")
    except RecursionError:
        return b"(too deeply nested to write out: --replay shows it)"


def _run_chunk(task: tuple[str, int, int, int]) -> ChunkResult:
    kind, seed, start, count = task
    assert _RUNNER is not None
    counts: Counter[tuple[str, str]] = Counter()
    failures = []
    for index in range(start, start + count):
        data = GENERATORS[kind](input_rng(seed, kind, index), _RUNNER.corpus)
        outcome = _RUNNER.run(kind, data, index)
        counts.update(outcome.stages)
        for stage, status, text in outcome.failures:
            failures.append((index, stage, status, text, _as_bytes(data)))
    return ChunkResult(kind, count, counts, failures)


def _signature(text: str) -> str:
    """Where a failure comes from: the last frame and the exception line."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    frames = [line.strip() for line in lines if line.strip().startswith("File ")]
    return (frames[-1] if frames else "") + " | " + (lines[-1][:200] if lines else "")


def _tasks(counts: dict[str, int], seed: int) -> Iterator[tuple[str, int, int, int]]:
    """Tasks interleaved across kinds, so that a run stopped early has some of each."""
    positions = dict.fromkeys(counts, 0)
    while any(positions[k] < n for k, n in counts.items()):
        for kind, count in counts.items():
            start = positions[kind]
            if start < count:
                size = min(CHUNK[kind], count - start)
                positions[kind] = start + size
                yield kind, seed, start, size


class Campaign:
    """Counts per kind and stage, the failures seen (one file each in ``crash_dir``) and time."""

    STATUSES = ("accepted", "rejected", "crash", "hang", "mismatch")

    def __init__(self, kinds: list[str], seed: int, crash_dir: Path):
        self.kinds = kinds
        self.seed = seed
        self.crash_dir = crash_dir
        self.counts: dict[str, Counter[tuple[str, str]]] = {k: Counter() for k in kinds}
        self.done: Counter[str] = Counter()
        self.signatures: dict[str, tuple[str, int]] = {}
        self.failures = 0  # every crash, hang and mismatch, and every worker lost
        self.began = time.monotonic()

    def absorb(self, result: ChunkResult) -> None:
        """Add one task's counts; write each new kind of failure to the crash folder."""
        self.done[result.kind] += result.inputs
        self.counts[result.kind].update(result.counts)
        for index, stage, status, text, data in result.failures:
            self.failures += 1
            sig = f"{result.kind}/{stage}/{status}: {_signature(text)}"
            if sig in self.signatures:
                continue
            self.signatures[sig] = (result.kind, index)
            self.crash_dir.mkdir(parents=True, exist_ok=True)
            name = f"{result.kind}-{stage}-{status}-{hashlib.sha1(sig.encode()).hexdigest()[:10]}"
            (self.crash_dir / f"{name}.input").write_bytes(data)
            (self.crash_dir / f"{name}.txt").write_text(
                f"replay: python benchmarks/fuzz.py --seed {self.seed} --replay "
                f"{result.kind}:{index}\n\n{text}", "utf-8", "backslashreplace")

    def progress(self) -> str:
        return f"  [{time.monotonic() - self.began:6.0f}s] " + ", ".join(
            f"{k} {self.done[k]:,}" for k in self.kinds)

    def report(self, jobs: int, out: Any) -> None:
        """The table of outcomes per kind and stage, the rate and the failures."""
        elapsed = time.monotonic() - self.began
        print(f"\n{'kind':8} {'stage':8} " + " ".join(f"{s:>10}" for s in self.STATUSES),
              file=out)
        for kind in self.kinds:
            stages = list(dict.fromkeys(stage for stage, _ in self.counts[kind]))
            for stage in stages:
                row = " ".join(f"{self.counts[kind][(stage, s)]:>10,}" for s in self.STATUSES)
                print(f"{kind:8} {stage:8} {row}", file=out)
        total = sum(self.done.values())
        print("\ninputs: " + ", ".join(f"{k} {self.done[k]:,}" for k in self.kinds)
              + f"; {total:,} in {elapsed:.1f} s with {jobs} job(s) = "
              f"{total / elapsed:,.0f} inputs/s", file=out)
        if self.signatures:
            print(f"\n{self.failures} failure(s), {len(self.signatures)} distinct "
                  f"(inputs in {self.crash_dir}/):", file=out)
            for sig, (kind, index) in self.signatures.items():
                print(f"  [{kind}:{index}] {sig}", file=out)
        elif self.failures:
            print(f"\n{self.failures} worker(s) lost", file=out)
        else:
            print("0 crashes, 0 hangs, 0 reader mismatches", file=out)


def campaign(counts: dict[str, int], seed: int, jobs: int, limit: float,
             seconds: float | None, crash_dir: Path, out: Any = sys.stdout) -> bool:
    """Run ``counts[kind]`` inputs of each kind and print the report; True when nothing
    crashed, hung or mismatched. With one job everything runs in this process."""
    state = Campaign(list(counts), seed, crash_dir)
    deadline = None if seconds is None else state.began + seconds
    tasks = _tasks(counts, seed)
    scratch = _scratch()
    alarm = signal.getsignal(signal.SIGALRM)
    try:
        if jobs <= 1:
            _init_worker(limit, scratch)
            for task in tasks:
                state.absorb(_run_chunk(task))
                if deadline is not None and time.monotonic() > deadline:
                    break
        else:
            _run_pool(state, tasks, jobs, limit, scratch, deadline, out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        signal.signal(signal.SIGALRM, alarm)  # this process's own handler, as it was
    state.report(jobs, out)
    return state.failures == 0


def _run_pool(state: Campaign, tasks: Iterator[tuple[str, int, int, int]], jobs: int,
              limit: float, scratch: Path, deadline: float | None, out: Any) -> None:
    """The tasks over ``jobs`` worker processes, with progress every 30 s."""
    last_print = time.monotonic()
    context = multiprocessing.get_context("fork")
    with context.Pool(jobs, _init_worker, (limit, scratch)) as pool:
        results = pool.imap_unordered(_run_chunk, tasks)
        while True:
            try:
                # A stage over the limit is stopped by the worker's own timer; a worker that
                # does not answer at all is stuck outside Python (in C code): a hang too.
                result = results.next(timeout=max(120.0, limit * max(CHUNK.values()) * 4))
            except StopIteration:
                break
            except multiprocessing.TimeoutError:
                print("a worker stopped answering: a hang outside Python", file=out)
                state.failures += 1
                break
            state.absorb(result)
            now = time.monotonic()
            if now - last_print > 30:
                last_print = now
                print(state.progress(), file=out, flush=True)
            if deadline is not None and now > deadline:
                break
        pool.terminate()


def replay(spec: str, seed: int, limit: float) -> int:
    """Print one input and run it in this process, tracebacks shown."""
    kind, _, index = spec.partition(":")
    scratch = _scratch()
    try:
        _init_worker(limit, scratch)
        assert _RUNNER is not None
        data = GENERATORS[kind](input_rng(seed, kind, int(index)), _RUNNER.corpus)
        print(_as_bytes(data)[:20000].decode("utf-8", "backslashreplace"))
        outcome = _RUNNER.run(kind, data, int(index))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(outcome.stages)
    for stage, status, text in outcome.failures:
        print(f"--- {stage}: {status}\n{text}")
    return 1 if outcome.failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=[*KINDS, "all"], default="all")
    parser.add_argument("--count", type=int, default=10_000, help="inputs of each kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit", type=float, default=10.0,
                        help="seconds one stage of one input may take before it is a hang")
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop after this long and report what ran")
    parser.add_argument("--crash-dir", type=Path, default=Path("fuzz-crashes"))
    parser.add_argument("--replay", metavar="KIND:INDEX", help="run one input and show it")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay, args.seed, args.limit)
    kinds = list(KINDS) if args.kind == "all" else [args.kind]
    print(f"fuzzing {', '.join(kinds)}: {args.count:,} each, seed {args.seed}, "
          f"{args.jobs} job(s), reader {request.READER}", flush=True)
    ok = campaign(dict.fromkeys(kinds, args.count), args.seed, args.jobs, args.limit,
                  args.seconds, args.crash_dir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
