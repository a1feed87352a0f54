"""One process's share of ``ringfence decide``: a block of input lines in, a block of output
lines and a tally out.

The same code runs in the command's own process (``--jobs 1``) and in each worker process
(``--jobs N``, :mod:`ringfence.tools.fanout`), so the output cannot depend on the number of jobs.
"""

from __future__ import annotations

import functools
import json
import operator
import os
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from ringfence.api import PolicySet
from ringfence.contract.decision import Decision, Finding
from ringfence.contract.request import Call, read_lines
from ringfence.errors import CallError
from ringfence.tools.callstream import Block
from ringfence.tools.jsonlines import NotJson, calls_in, lines_read, not_a_call

MAX_MESSAGE = 300
# Lines decided before they are written (see Decider._decided): a --jobs 1 block holds ~70.
RUN = 128


@dataclass
class Tally:
    """What a run decided: the summary printed at the end."""

    calls: int = 0
    allowed: int = 0
    denied: int = 0
    errors: int = 0
    # denials by "policy/rule"; a call denied by two rules counts for both
    rules: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.calls += other.calls
        self.allowed += other.allowed
        self.denied += other.denied
        self.errors += other.errors
        self.rules.update(other.rules)


@dataclass(frozen=True, slots=True)
class Output:
    """The output lines of one block, and what they say."""

    data: bytes
    tally: Tally


def error_record(number: int, raw: Any, message: str, **more: Any) -> dict[str, Any]:
    """The record of a line that is no call: its number, why, and the call's ``id`` if any."""
    if len(message) > MAX_MESSAGE:  # a schema message may quote a value of any size
        message = f"{message[:MAX_MESSAGE]}... ({len(message)} characters)"
    record: dict[str, Any] = {"line": number, "error": message, **more}
    call_id = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(call_id, str | int) and not isinstance(call_id, bool):
        record["id"] = call_id
    return record


def _json_line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def encode(number: int, raw: Any, record: dict[str, Any]) -> tuple[bytes, bool]:
    """One output line (compact UTF-8 JSON, whatever the terminal's encoding), and whether it
    is an error record."""
    try:
        return orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE), "error" in record
    except orjson.JSONEncodeError:
        pass  # an integer past 64 bits, a lone surrogate, deep nesting: the standard library
    try:
        return _json_line(record), "error" in record
    except RecursionError:
        # JSON just shallow enough to read can be too deep to write inside the decision.
        return _json_line(error_record(number, raw, "the call is nested too deeply")), True
    except UnicodeEncodeError:
        # A lone surrogate ("\ud800") reads as JSON but is no character: no UTF-8 can carry it.
        bad = error_record(number, raw, "the call holds text that is not Unicode (a lone "
                           "surrogate such as \\ud800)")
        try:
            return _json_line(bad), True
        except UnicodeEncodeError:  # the id itself is such text
            del bad["id"]
            return _json_line(bad), True


def decision_line(number: int, raw: Any, decision: Decision, attempt: str | None,
                  compact: bool) -> tuple[bytes, bool]:
    """A decision's output line (what :func:`encode` writes for its ``to_dict``, and the id of
    the attempt it reserved, if any), and whether it is an error record."""
    extra = None if attempt is None else {"attempt_id": attempt}
    try:
        return decision.to_json(compact=compact, extra=extra), False
    except orjson.JSONEncodeError:  # an integer past 64 bits, a lone surrogate in meta
        return encode(number, raw, {**decision.to_dict(compact=compact), **(extra or {})})


@dataclass(frozen=True)
class DecideOptions:
    """What ``ringfence decide`` was asked for, everything a worker process needs to start."""

    policies: tuple[str, ...]
    jurisdiction: str | None
    lists: tuple[str, ...]
    trace: bool = False
    full: bool = False
    ledger: str | None = None
    key_file: str | None = None
    seller: str | None = None
    reserve: bool = False


# A decision and the id of the attempt it reserved (None when it reserved none), or why the
# call could not be decided.
Made = tuple[Decision, str | None] | Exception


class Decider:
    """Decides blocks of lines with one loaded policy set (and ledger, if any)."""

    def __init__(self, policies: PolicySet, options: DecideOptions, ledger: Any = None):
        self.policies = policies
        self.options = options
        self.ledger = ledger
        # A ledger that fails (unreachable, locked) stops the run: it is no fault of one line.
        self._fatal: tuple[type[BaseException], ...] = ()
        # Without a ledger a line is read straight into its Call when it can be (read_lines):
        # a ledger merges what it knows into the request's dict, so it is given the dicts.
        self._read_lines = read_lines if ledger is None else None
        if ledger is not None:
            from ringfence.ledger.db import DATABASE_ERRORS

            self._fatal = DATABASE_ERRORS

    def block(self, block: Block) -> Output:
        """The output lines of a block's lines, in order, and their tally.

        :data:`RUN` lines at a time are decided, then written: the same steps one after
        another keep their code and data in the processor's caches (deciding and writing line
        by line cost a tenth more). What deciding a run made is freed before the next run: a
        whole 1 MB block's decisions (``--jobs``) held until it was written cost more again
        (the garbage collector walked them over and over)."""
        # one buffer, not a list of lines: orjson's output keeps about 4 kB of heap per object
        # while it lives, so 30,000 short lines held at once would take over 100 MB
        out = bytearray()
        compact = not self.options.full
        tally = Tally()
        denials: list[Finding] = []  # the findings of each denial, named once per block
        items = (calls_in(block.first, block.data) if self._read_lines is None
                 else lines_read(block.first, block.data, self._read_lines))
        for start in range(0, len(items), RUN):
            run = items[start:start + RUN]
            _write_run(out, run, self._decide_lines(run), compact, tally, denials)
        tally.calls = len(items)
        tally.rules = _by_rule(denials)
        return Output(bytes(out), tally)

    def _decide_lines(self, items: list[tuple[int, Any]]) -> list[Made | dict[str, Any]]:
        """Each line's decision, or its error record when it is no call."""
        calls = [raw for _, raw in items if type(raw) is Call or type(raw) is dict]
        if len(calls) == len(items):  # nearly every run: all calls, as not_a_call would say
            return list(self._decide_calls(calls))
        out: list[Made | dict[str, Any] | None] = []
        calls.clear()
        for number, raw in items:
            if type(raw) is Call or type(raw) is dict:
                out.append(None)
                calls.append(raw)
            elif isinstance(raw, NotJson):
                more = {} if raw.column is None else {"column": raw.column}
                out.append(error_record(number, None, raw.message, **more))
            elif (why := not_a_call(raw)) is not None:
                out.append(error_record(number, raw, why, path=""))
            else:
                out.append(None)
                calls.append(raw)
        decided = iter(self._decide_calls(calls))
        return [next(decided) if done is None else done for done in out]

    def _decide_calls(self, calls: list[Any]) -> list[Made]:
        ledger = self.ledger
        if ledger is None:  # the loop written out: a method call per call costs
            decide = self.policies.decide
            if self.options.trace:  # a keyword in each call costs when there is none to give
                decide = functools.partial(decide, trace=True)
            made: list[Made] = []
            for call in calls:
                try:
                    made.append((decide(call), None))
                except Exception as err:  # a defect must cost this line, never the rest
                    made.append(err)
            return made
        if not self.options.reserve:
            try:  # one read of the ledger for the whole run of lines
                return [made if isinstance(made, Exception) else (made.decision, None)
                        for made in ledger.decide_many(self.policies, calls)]
            except self._fatal:
                raise
            except Exception:  # a defect: decide one by one, so that it costs only its line
                pass
        return [self._decide_one(call) for call in calls]

    def _decide_one(self, call: Any) -> Made:
        ledger = self.ledger
        try:
            made = ledger.decide(self.policies, call, reserve=self.options.reserve,
                                 decision_id=str(uuid.uuid4()) if self.options.reserve else None)
            return made.decision, made.attempt_id
        except self._fatal:
            raise
        except Exception as err:  # a defect must cost this line, never the rest of the batch
            return err


def write_lines(out: bytearray, made: list[Made | dict[str, Any]], start: int, compact: bool,
                decision_type: type[Decision], denials: list[Finding]) -> tuple[int, int]:
    """Add to ``out`` the lines of ``made[start:]`` (:meth:`Decision.to_json`'s), in order,
    while each is a ``decision_type`` that reserved no attempt and that orjson can write:
    (where it stopped, how many of the calls written were allowed). The findings of each
    denial written are added to ``denials``. The reference of the compiled writer
    (``contract/_linewriter.c``), which stops at more: at what it is not sure to write as
    this does."""
    allowed = 0
    for at in range(start, len(made)):
        item = made[at]
        if type(item) is not tuple or item[1] is not None or type(item[0]) is not decision_type:
            return at, allowed
        decision = item[0]
        try:
            out += decision.to_json(compact=compact)
        except orjson.JSONEncodeError:
            return at, allowed
        if decision.decision == "allow":
            allowed += 1
        else:
            denials += decision.violations
    return len(made), allowed


def _compiled_writer() -> Any:
    """The compiled :func:`write_lines` (each line for about a quarter of the cost: 0.5 µs, not
    2), or None when the package was built without it or ``RINGFENCE_PURE_PYTHON`` is set."""
    if os.environ.get("RINGFENCE_PURE_PYTHON"):
        return None
    try:
        from ringfence.contract import _linewriter
    except ImportError:  # built without a C compiler
        return None
    return _linewriter.write_lines


_write_lines = _compiled_writer() or write_lines


def _write_run(out: bytearray, run: list[tuple[int, Any]], made: list[Made | dict[str, Any]],
               compact: bool, tally: Tally, denials: list[Finding]) -> None:
    """Add the output lines of a run of input lines (and what deciding them made) to ``out``,
    counted in ``tally`` (the findings of each denial added to ``denials``)."""
    done = 0
    while done < len(run):
        # the lines of decisions at once, counted at once (no Python step per line), up to
        # one that is no such decision (an error record, an attempt, what orjson cannot write)
        stop, allowed = _write_lines(out, made, done, compact, Decision, denials)
        tally.allowed += allowed
        tally.denied += stop - done - allowed
        if stop == len(run):
            return
        number, raw = run[stop]
        line, decided = _other_line(number, raw, made[stop], compact)
        out += line
        if decided is None:
            tally.errors += 1
        elif decided.decision == "allow":
            tally.allowed += 1
        else:
            tally.denied += 1
            denials += decided.violations
        done = stop + 1


def _other_line(number: int, raw: Any, made: Made | dict[str, Any],
                compact: bool) -> tuple[bytes, Decision | None]:
    """The output line of what :func:`write_lines` stopped at, and the decision it writes
    (None for an error record)."""
    if type(raw) is Call:  # read from its line: the records name the request's dict
        raw = dict(raw.raw)
    if isinstance(made, tuple):
        decision, attempt = made
        line, is_error = decision_line(number, raw, decision, attempt, compact)
        return line, None if is_error else decision
    record = _failure(number, raw, made) if isinstance(made, Exception) else made
    return encode(number, raw, record)[0], None


def _by_rule(denials: list[Finding]) -> Counter[str]:
    """The denials counted by "policy/rule": counted by (policy, rule) first, then each pair
    named once (two pairs cannot share a name: a policy's id and a rule's are words of the
    language, without "/"). Counting the finding objects, then naming each, cost twice as much."""
    return Counter({f"{policy}/{rule}": count
                    for (policy, rule), count in Counter(map(_RULE, denials)).items()})


_RULE = operator.attrgetter("policy", "rule")


def _failure(number: int, raw: Any, err: Exception) -> dict[str, Any]:
    if isinstance(err, CallError):
        return error_record(number, raw, err.message, path=err.path)
    return error_record(number, raw, f"internal error while deciding this call: "
                        f"{type(err).__name__}: {err}")


def decider(options: DecideOptions, *, with_ledger: bool = True) -> Decider:
    """A Decider for the options: their policies loaded, their ledger opened (and migrated)."""
    from ringfence.tools.policyload import policy_set

    return Decider(policy_set(options.policies, options.jurisdiction, options.lists), options,
                   open_ledger(options) if with_ledger else None)


def open_ledger(options: DecideOptions) -> Any:
    if options.ledger is None:
        return None
    from ringfence.tools.ledger_cli import open_ledger

    return open_ledger(options.ledger, options.key_file, options.seller)


# The Decider of a worker process: inherited from the parent when the process is forked,
# made by start_worker when it is spawned.
_WORKER: Decider | None = None


def prepare_workers(parent: Decider, sample: Block | None = None) -> None:
    """Let forked workers inherit the parent's loaded policies instead of loading them again,
    and what deciding ``sample`` (whose output is dropped) loads on first use: the policies'
    functions for each purpose and technology, tables of numbers, patterns (each worker
    would load them again)."""
    global _WORKER
    _WORKER = Decider(parent.policies, parent.options)
    if sample is not None:
        _WORKER.block(sample)


def start_worker(options: DecideOptions) -> None:
    """Run in each worker process when it starts: load what was not inherited, open the
    ledger (a database connection is never shared between processes)."""
    global _WORKER
    if _WORKER is None:
        _WORKER = decider(options)
    elif options.ledger is not None:
        _WORKER = Decider(_WORKER.policies, options, open_ledger(options))


def work(block: Block) -> Output:
    """A block decided in a worker process."""
    assert _WORKER is not None, "start_worker runs first"
    return _WORKER.block(block)
