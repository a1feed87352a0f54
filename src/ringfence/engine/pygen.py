"""The intermediate form written out as Python functions, one per policy: what ``decide`` runs.

Judging every rule of every policy by walking the intermediate form costs several Python calls per
condition. So once per load this module writes each policy out as straight-line source, as
Jinja2 does with templates: its dates and ``when`` conditions, then its rules one after another,
each rule a ``while True`` block left by ``break``, the three-valued logic between conditions
written inline.

Where the callee is decides which policies can apply, and it is the same for every call to one
place: the judge settles the others once per place (:class:`_Plan`: not applicable, or denying
for want of ``to_region``) and runs only the functions of the policies placed there, keeping
policy refs and findings in the policies' order.

Most rules, and some policies, are about one purpose or technology (``when purpose is
marketing``), which nearly every call gives. So the plan is kept per place and per purpose and
technology, and runs each policy's function written for those values (:class:`_Variants`, on the
first call giving them): a condition on them is answered while writing, a rule or policy it rules
out is not written (a policy that cannot apply is not run at all), and the rest are written
without the tests and the three-valued bookkeeping the answered conditions needed. A function is
written only where it leaves out enough to pay for writing it, and values that answer alike
share one.

Atoms are the runtime's functions (:mod:`.runtime`), called with their arguments; the few that
run for nearly every call (marked hot) have their body copied in place instead
(:mod:`.inliner`). So the meaning of an atom is written once, in the runtime, and both
evaluators use it.

The source is registered with :mod:`linecache` under a name of its own, and every statement that
belongs to a rule ends in a comment naming the policy file and line, so a traceback or a profile
of ``decide`` names the rule it was in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import linecache
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ringfence.contract.decision import Finding, PolicyRef, PolicyRefs
from ringfence.engine import ir
from ringfence.engine.inliner import copy_in, known
from ringfence.engine.runtime import (
    HOT,
    MISSING,
    Apply,
    Arg,
    Attr,
    Const,
    Ctx,
    Env,
    ListLookup,
    is_in,
    is_present,
    list_lookup,
    shareable,
    unknown,
)
from ringfence.errors import Span
from ringfence.facts.callee import FactSource
from ringfence.language.nodes import Node

Judge = Callable[[Ctx], tuple[list[Finding], list[Finding], PolicyRefs]]

# Names the functions themselves use; a runtime global copied in by inlining must not shadow them.
_LOCALS = frozenset({"ctx", "call", "t", "missing", "violations", "warnings",
                     "undetermined", "v"})
_serial = itertools.count(1)


class _Findings:
    """The finding makers of rules and policies (:func:`_remembered`), one per maker for every
    source written for the same policies: a policy's specialised functions share its rules'
    findings with its general one (each finding is written to JSON once per run)."""

    def __init__(self) -> None:
        self._made: dict[Callable[[set[str]], Finding], Callable[[set[str]], Finding]] = {}

    def named(self, src: _Source, make: Callable[[set[str]], Finding], prefix: str) -> str:
        """A name in ``src`` for ``make``'s answers, kept by the facts they name."""
        kept = self._made.get(make)
        if kept is None:
            kept = self._made[make] = _remembered(make)
        return src.bind(kept, prefix)


class _Source:
    """The function's lines, and the values its source refers to by name."""

    def __init__(self, facts: FactSource, given: dict[str, object] | None = None,
                 findings: _Findings | None = None) -> None:
        self.facts = facts
        # The call's fields this source is written for (a specialised policy, see _Variants):
        # a condition on one of them is answered here, once, and written as its answer.
        self.given: dict[str, object] = given or {}
        self.findings = findings if findings is not None else _Findings()
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {}
        self.where = ""  # the policy line the statements being written belong to
        self.helpers: list[str] = []  # functions written before the policies (deep conditions)
        # The atoms the policy being written asks more than once, each kept in a local of its
        # function (see runtime.shareable): key -> the local's name; None while writing a helper,
        # whose locals are its own.
        self.shared: dict[Hashable, str] | None = None
        self._count = 0
        self._lookups: dict[str, str] = {}

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def bind(self, value: object, prefix: str = "K") -> str:
        """A fresh name for ``value`` in the generated module."""
        name = self.name(prefix)
        self.namespace[name] = value
        return name

    def bind_global(self, name: str, value: object) -> str:
        """``value`` under its own name (a runtime function or constant)."""
        assert name not in _LOCALS, f"runtime name {name!r} would shadow a local"
        assert self.namespace.get(name, value) is value, f"two values named {name!r}"
        self.namespace[name] = value
        return name

    def emit(self, depth: int, *lines: str) -> None:
        suffix = f"  # {self.where}" if self.where else ""
        self.lines.extend("    " * depth + line + ("" if line.startswith("#") else suffix)
                          for line in lines)

    def lookup(self, name: str) -> str:
        found = self._lookups.get(name)
        if found is None:
            found = self._lookups[name] = self.bind(list_lookup(self.facts, name), "LIST")
        return found


def _argument(src: _Source, arg: object) -> str:
    if isinstance(arg, Env):
        return arg.name
    if isinstance(arg, Attr):
        return f"{arg.owner}.{arg.attribute}"
    if isinstance(arg, Const):
        value = arg.value
        if value is None or type(value) in (bool, int, str):
            return repr(value)  # a literal reads better than a name
        if isinstance(value, str):
            # a parser's token (a list's name): a plain literal, which a dict finds by identity
            # of hash and equality in C, where the token's own __eq__ is a Python call
            return repr(str(value))
        return src.bind(value)
    assert isinstance(arg, ListLookup)
    return src.lookup(arg.name)


def _unplaced(value: object) -> object:
    """``value`` without where it was written: a syntax node as its type and its other fields
    (``within 18 months`` on two lines of a policy is one age), anything else as it is."""
    if isinstance(value, Node):
        node: Any = value  # every node is a dataclass (which its type does not say)
        return (type(node), *(_unplaced(getattr(node, field.name))
                               for field in dataclasses.fields(node) if field.name != "span"))
    return value


def _arg_key(arg: Arg) -> Hashable:
    """What an argument stands for, as a key: two atoms with equal keys ask the same."""
    if isinstance(arg, Const):
        value = _unplaced(arg.value)
        try:
            hash(value)
        except TypeError:  # the argument itself, which the policy keeps alive, by identity
            return ("id", id(arg.value))
        if isinstance(value, str):
            return (str, str(value))  # a parser's token is the text it holds
        return (type(value), value)  # by type too: 1 == True, but they are different answers
    return arg


def _atom_key(applied: Apply) -> Hashable:
    return (applied.fn, tuple(_arg_key(a) for a in applied.args))


def _atoms(cond: ir.Cond) -> Iterator[Apply]:
    if isinstance(cond, ir.Atom):
        yield cond.apply
    elif isinstance(cond, ir.Negation):
        yield from _atoms(cond.part)
    else:
        for part in cond.parts:
            yield from _atoms(part)


def _repeated(policy: ir.Policy) -> list[Hashable]:
    """The keys of the shareable atoms (runtime.shareable) ``policy`` asks more than once."""
    conds = [*policy.when, *(c for rule in policy.rules
                             for c in (*rule.when, *rule.unless, rule.effect))]
    counts = Counter(_atom_key(a) for cond in conds for a in _atoms(cond) if shareable(a))
    return [key for key, count in counts.items() if count > 1]


def _apply(src: _Source, applied: Apply, target: str, depth: int) -> None:
    """Lines that set ``target`` to the atom's answer. An atom the policy asks again is kept
    in a local of the function, asked again only while its answer is unknown (None: each
    rule names the missing fact)."""
    kept = None if src.shared is None else src.shared.get(_atom_key(applied))
    if kept is None:
        _answer(src, applied, target, depth)
        return
    src.emit(depth, f"if {kept} is None:")
    _answer(src, applied, kept, depth + 1)
    src.emit(depth, f"{target} = {kept}")


def _answer(src: _Source, applied: Apply, target: str, depth: int) -> None:
    """Lines that set ``target`` to the atom's answer: the runtime function's body copied in
    when it is marked hot, else a call to it."""
    args = [_argument(src, a) for a in applied.args]
    fn = applied.fn
    if fn not in HOT:
        src.emit(depth, f"{target} = {src.bind_global(fn.__name__, fn)}({', '.join(args)})")
        return
    facts = tuple(known(a.value) if isinstance(a, Const) else None for a in applied.args)
    # An atom's locals are dead once it has answered, and atoms never nest: every copy reuses
    # the same names, so a policy's function has few locals to set up and clear per call.
    src.emit(depth, *copy_in(fn, args, facts, target, lambda name: f"{name}_",
                             src.bind_global))


# The atoms a specialised source answers where the call gives the field they read: their answer
# then depends on nothing else (and, the field given, never names a missing fact).
_FOLDABLE: frozenset[Callable[..., Any]] = frozenset({is_in, is_present})
# The fields a policy is specialised to (_Variants): the ones its rules and policies are
# selected by (``when purpose is marketing``), each with a few values.
SPECIALISED = ("purpose", "technology")


def _given(src: _Source, applied: Apply) -> bool | None:
    """The answer of ``applied`` where it reads a field the source is written for (its value
    given), else None (asked per call)."""
    field = applied.args[0] if applied.fn in _FOLDABLE else None
    if not (isinstance(field, Attr) and field.owner == "call" and field.attribute in src.given):
        return None
    values: list[object] = [src.given[field.attribute]]
    for arg in applied.args[1:]:
        if isinstance(arg, Const):
            values.append(arg.value)
        elif arg == MISSING:  # not written to: the field is given
            values.append(set())
        else:
            return None  # an argument read per call (none today): asked per call
    answer: bool | None = applied.fn(*values)
    return answer


def _static(src: _Source, cond: ir.Cond) -> bool | None:
    """The answer of ``cond`` known while writing (from the fields the source is written for),
    or None where the call decides. An ``and`` with a part known false is false whatever the
    parts after it answer (an ``or`` with one true, true), so they need not be asked; a part
    before it is asked all the same, for the facts it names missing."""
    if isinstance(cond, ir.Atom):
        return _given(src, cond.apply)
    if isinstance(cond, ir.Negation):
        inner = _static(src, cond.part)
        return None if inner is None else not inner
    for part in cond.parts:
        answer = _static(src, part)
        if answer is None:
            return None
        if answer is cond.decisive:
            return answer
    return not cond.decisive


def _condition(src: _Source, cond: ir.Cond, target: str, depth: int) -> bool | None:
    """Lines that set ``target`` to True, False or None (unknown, the fact named in missing);
    where the answer is known while writing (:func:`_static`), no lines: the answer."""
    known_answer = _static(src, cond)
    if known_answer is not None:
        return known_answer
    if isinstance(cond, ir.Atom):
        rule_line, src.where = src.where, _where(cond.node.span)
        _apply(src, cond.apply, target, depth)
        src.where = rule_line
    elif isinstance(cond, ir.Negation):
        inner = src.name("v")
        _condition(src, cond.part, inner, depth)
        src.emit(depth, f"{target} = None if {inner} is None else not {inner}")
    elif depth >= _DEEPEST:
        src.emit(depth, f"{target} = {_helper(src, cond)}(ctx)")
    else:
        # and: False decides, None is remembered; or: the same with True. A part known while
        # writing to be the other answer changes nothing; one known to decide ends the parts.
        decisive = str(cond.decisive)
        part = src.name("v")
        src.emit(depth, "while True:", f"    {target} = {not cond.decisive}")
        for child in cond.parts:
            answer = _condition(src, child, part, depth + 1)
            if answer is cond.decisive:
                src.emit(depth + 1, f"{target} = {decisive}")
                break
            if answer is None:
                src.emit(depth + 1, f"if {part} is {decisive}:", f"    {target} = {decisive}",
                         "    break", f"if {part} is None:", f"    {target} = None")
        src.emit(depth + 1, "break")
    return None


# Python allows 20 nested blocks in a function; a condition deeper than this is written as a
# function of its own, so the generated code never nests with the input.
_DEEPEST = 8


def _helper(src: _Source, cond: ir.Cond) -> str:
    """The name of a function, written before ``judge``, that answers ``cond``."""
    name = src.name("cond")
    outer, src.lines = src.lines, []
    shared, src.shared = src.shared, None
    src.emit(0, f"def {name}(ctx):")
    src.emit(1, "call = ctx.call", "t = ctx.t", "missing = ctx.missing")
    value = src.name("v")
    _condition(src, cond, value, 1)
    src.emit(1, f"return {value}")
    src.helpers.extend(src.lines)
    src.lines, src.shared = outer, shared
    return name


# The findings kept per rule, one per set of missing facts; past this many (a policy naming
# lists without end), further sets are made afresh each time.
_KEPT = 64


def _remembered(make: Callable[[set[str]], Finding]) -> Callable[[set[str]], Finding]:
    """``make`` (a rule's finding naming the facts it lacks), its answer kept by those facts:
    a finding is immutable, so the calls that lack the same facts share one, as those lacking
    none share the rule's own (and each is written to JSON once, see Finding.to_json)."""
    kept: dict[frozenset[str], Finding] = {}

    def finding(missing: set[str]) -> Finding:
        key = frozenset(missing)
        found = kept.get(key)
        if found is None:  # racing threads make equal findings; either may stay
            found = make(missing)
            if len(kept) < _KEPT:
                kept[key] = found
        return found

    return finding


def _where(span: Span) -> str:
    return f"{_file_name(span.file)}:{span.line}"


@functools.lru_cache(maxsize=256)
def _file_name(path: str) -> str:
    """The last part of ``path`` (kept: every statement written names its policy file)."""
    return Path(path).name


# The callee's date, read where Ctx.local_date keeps it once a policy asked (a date is true).
_DAY = "(ctx._day or ctx.local_date())"
# A UTC offset lies strictly within a day of UTC, so an instant a day or more past the UTC
# midnight starting a date is on or after that date on every clock, and one more than a day
# before it is before that date on every clock: only an instant within a day of a rule's or a
# policy's first or last date needs the callee's date (dating an instant in a zone costs about
# a microsecond, and most calls are months away from every date).
_DAY_SECONDS = 86400
_EPOCH = dt.date(1970, 1, 1)


def _near(src: _Source, day: dt.date) -> tuple[str, str]:
    """The names of the instants a day before and a day after the UTC midnight starting
    ``day``: between them, whether an instant is before ``day`` depends on the clock. They are
    floats, as the judged instant ``t`` is: a float compared with an int past 2**30 (every
    such instant) takes CPython's slow road, which converts the int again at each test."""
    midnight = float((day - _EPOCH).days * _DAY_SECONDS)  # exact: far below 2**53
    return (src.bind(midnight - _DAY_SECONDS, "T"), src.bind(midnight + _DAY_SECONDS, "T"))


def _before(src: _Source, day: dt.date) -> str:
    """A test of whether the judged instant is before ``day`` on the callee's clock."""
    early, late = _near(src, day)
    return f"(t < {early} or (t < {late} and {_DAY} < {src.bind(day, 'D')}))"


def _on_or_after(src: _Source, day: dt.date) -> str:
    """A test of whether the judged instant is on or after ``day`` on the callee's clock."""
    early, late = _near(src, day)
    return f"(t >= {late} or (t >= {early} and {_DAY} >= {src.bind(day, 'D')}))"


def _guard(src: _Source, when: tuple[ir.Cond, ...]) -> tuple[str, str] | None:
    """When the first of a rule's or a policy's ``when`` conditions tests a field of the call
    (``when purpose is marketing``): the line reading the field into ``value_``, and a test of
    whether that condition is not known false. Most rules and many policies are about a purpose
    or a technology, and most calls skip them so in two lines. Nothing is asked before that
    ``when``, so a rule or policy skipped is one that would stop there; one run answers it
    again (:func:`_guarded`), naming the field where it is missing."""
    first = when[0] if when else None
    if not isinstance(first, ir.Atom) or first.apply.fn is not is_in \
            or _static(src, first) is not None:  # a given field: answered while writing
        return None
    value, wanted, negated = first.apply.args[:3]
    assert isinstance(negated, Const)
    test = "not in" if negated.value else "in"
    return (f"value_ = {_argument(src, value)}",
            f"value_ is None or value_ {test} {_argument(src, wanted)}")


def _guarded(src: _Source, first: ir.Cond, depth: int) -> None:
    """Lines that answer the first ``when`` of a rule or policy run past :func:`_guard` and
    start ``undetermined`` from it: the guard found the test true where the field is given,
    so that ``when`` is true there and unknown where it is missing (the field named), never
    false: two lines rather than an answer tested three ways."""
    assert isinstance(first, ir.Atom)
    missing, name = (_argument(src, a) for a in first.apply.args[3:])
    rule_line, src.where = src.where, _where(first.node.span)
    ask = src.bind_global("unknown", unknown)
    src.emit(depth, "undetermined = value_ is None", "if undetermined:",
             f"    {ask}({missing}, {name})")
    src.where = rule_line


def _when(src: _Source, when: tuple[ir.Cond, ...], guarded: bool, depth: int,
          leave: str) -> bool:
    """Lines that answer ``when`` (a rule's or a policy's) into ``undetermined``, running
    ``leave`` where one is false; whether ``undetermined`` may come out True (a condition known
    true while writing adds nothing; :func:`_never` has left out those with one known false)."""
    asked = guarded
    if guarded:
        _guarded(src, when[0], depth)
    for cond in when[1 if guarded else 0:]:
        if _static(src, cond) is not None:
            continue  # known true (_never has left out known false)
        if not asked:
            src.emit(depth, "undetermined = False")
            asked = True
        _condition(src, cond, "v", depth)
        src.emit(depth, "if v is False:", f"    {leave}", "if v is None:",
                 "    undetermined = True")
    return asked


def _never(src: _Source, when: tuple[ir.Cond, ...], unless: tuple[ir.Cond, ...] = ()) -> bool:
    """Whether a rule or policy is known while writing never to apply: a ``when`` known false
    (or an ``unless`` known true) leaves it, whatever the others answer, and what they would
    have named missing is cleared before the next rule reads it."""
    return any(_static(src, cond) is False for cond in when) \
        or any(_static(src, cond) is True for cond in unless)


def _fires_never(src: _Source, rule: ir.Rule) -> bool:
    """Whether ``rule`` is known while writing never to fire: left out by its conditions
    (:func:`_never`), or its every ``when`` known true and its effect known to pass."""
    return _never(src, rule.when, rule.unless) or (
        _static(src, rule.effect) is rule.passes
        and all(_static(src, cond) is True for cond in rule.when))


def _rule(src: _Source, rule: ir.Rule, depth: int) -> None:
    if _fires_never(src, rule):
        return
    src.where = _where(rule.span)
    src.emit(depth, f"# rule {rule.policy_id}/{rule.id}")
    guard = _guard(src, rule.when)
    if guard:
        read, runs = guard
        src.emit(depth, read, f"if {runs}:")
        depth += 1
    src.emit(depth, "if missing:", "    missing.clear()", "while True:")
    body = depth + 1
    if rule.effective_from is not None:
        src.emit(body, f"if {_before(src, rule.effective_from)}:", "    break")
    if rule.effective_until is not None:
        src.emit(body, f"if {_on_or_after(src, rule.effective_until)}:", "    break")
    value = "v"  # rules run one after another: each rule's answers reuse the name
    undetermined = bool(rule.when) and _when(src, rule.when, guard is not None, body, "break")
    for cond in rule.unless:
        if _condition(src, cond, value, body) is None:
            src.emit(body, f"if {value} is True:", "    break")
    # The effect runs only when every `when` was known; the rule passes on its passing answer
    # (an effect known to fail while writing: the rule's finding, whatever `when` said).
    effect = _static(src, rule.effect)
    effect_depth = body
    if undetermined and effect is not (not rule.passes):
        src.emit(body, "if not undetermined:")
        effect_depth += 1
    if effect is None:
        _condition(src, rule.effect, value, effect_depth)
        src.emit(effect_depth, f"if {value} is {rule.passes}:", "    break")
    elif effect is rule.passes:
        src.emit(effect_depth, "break")
    found = "violations" if rule.level == "deny" else "warnings"
    src.emit(body,
             f"{found}.append({src.bind(rule.finding, 'F')} if not missing"
             f" else {src.findings.named(src, rule.finding_with, 'FW')}(missing))",
             "break")
    src.where = ""


def _policy(src: _Source, policy: ir.Policy, repeated: Sequence[Hashable] | None = None) -> str:
    """Writes the function that judges ``policy`` for a callee in its jurisdictions (the
    dispatch settles where, :class:`_Plan`) and returns its name. The function does what
    :meth:`.interp.Interpreter.judge` does once ``placed`` answered True: it appends the
    policy's findings and returns whether the policy applied (its ``when``)."""
    info = policy.info
    name = src.name("policy")
    applicable, not_applicable = "True", "False"
    src.emit(0, f"# policy {info.id}", f"def {name}(ctx, call, t, missing, violations, warnings):")
    src.where = _where(info.span)
    # (``repeated``: those :func:`_repeated` found, when the caller holds them already)
    keys = _repeated(policy) if repeated is None else repeated
    src.shared = {key: src.name("shared") for key in keys}
    if src.shared:  # not asked yet
        src.emit(1, " = ".join(src.shared.values()) + " = None")
    if info.effective_from is not None or info.effective_until is not None:
        tests = []
        if info.effective_from is not None:
            tests.append(_before(src, info.effective_from))
        if info.effective_until is not None:
            tests.append(_on_or_after(src, info.effective_until))
        src.emit(1, f"if {' or '.join(tests)}:", f"    return {not_applicable}")
    if _never(src, policy.when):
        src.emit(1, f"return {not_applicable}")
        src.where = ""
        src.shared = None
        return name
    if policy.when:
        # a false `when` decides; an unknown one leaves the policy undetermined, naming only
        # what its own conditions miss (each rule clears what the one before it left)
        guard = _guard(src, policy.when)
        if guard:
            read, runs = guard
            src.emit(1, read, f"if not ({runs}):", f"    return {not_applicable}")
        src.emit(1, "if missing:", "    missing.clear()")
        if _when(src, policy.when, guard is not None, 1, f"return {not_applicable}"):
            src.emit(1, "if undetermined:",
                     f"    violations.append({src.findings.named(src, policy.undetermined, 'UND')}"
                     "(missing))",
                     f"    return {applicable}")
    src.where = ""
    for rule in policy.rules:
        _rule(src, rule, 1)
    src.emit(1, f"return {applicable}")
    src.shared = None
    return name


Run = Callable[[Ctx, Any, float, set[str], list[Finding], list[Finding]], bool]

# The most functions one policy is specialised to (its fields' values are words of the contract
# and of the policies, a few each); past this many, calls run its general function.
_MOST_VARIANTS = 64


def _foldable(policy: ir.Policy) -> list[Apply]:
    """The atoms of ``policy`` a specialised function may answer while writing (:func:`_given`),
    on the fields of :data:`SPECIALISED`, in the order the policy asks them."""
    conds = [*policy.when, *(c for rule in policy.rules
                             for c in (*rule.when, *rule.unless, rule.effect))]
    fields = {Attr("call", field) for field in SPECIALISED}
    return [applied for cond in conds for applied in _atoms(cond)
            if applied.fn in _FOLDABLE and applied.args[0] in fields]


# The fewest rules a specialised function must leave out to be written: writing and compiling
# one costs about as much as a few thousand calls through it save per rule left out.
_FEWEST_LEFT_OUT = 2


class _Variants:
    """A policy's functions: the general one, and one per set of values the calls give the
    fields it selects by (:data:`SPECIALISED`), written on the first call that gives them: there
    a condition on those fields is answered once, while writing, and a rule it leaves out is not
    written at all (most rules are about one purpose or technology). The function depends on the
    values only through those answers: values that answer alike (most purposes, for a policy
    about one) share one function, written once."""

    def __init__(self, policy: ir.Policy, general: Run, facts: FactSource,
                 findings: _Findings) -> None:
        self.policy, self.general, self.facts, self.findings = policy, general, facts, findings
        self._atoms = _foldable(policy)
        self._repeated = _repeated(policy)  # the same for each function: found once
        self.fields = tuple(field for field in SPECIALISED
                            if any(a.args[0] == Attr("call", field) for a in self._atoms))
        self._made: dict[tuple[object, ...], Run | None] = {}  # by the fields' values
        self._written: dict[tuple[bool | None, ...], Run | None] = {}  # by their answers

    def run(self, call: Any) -> Run | None:
        """The function that judges ``call`` (the values it gives specialised in); None where
        the policy is known not to apply to calls giving them (its ``when``)."""
        if not self.fields:
            return self.general
        values = tuple(getattr(call, field) for field in self.fields)
        try:
            return self._made[values]
        except KeyError:  # racing threads write the same function; either may stay
            if len(self._made) >= _MOST_VARIANTS:
                return self.general
            found = self._made[values] = self._written_for(values)
            return found

    def _written_for(self, values: tuple[object, ...]) -> Run | None:
        given = {f: v for f, v in zip(self.fields, values, strict=True) if v is not None}
        src = _Source(self.facts, given, self.findings)
        answers = tuple(_given(src, applied) for applied in self._atoms)
        try:
            return self._written[answers]
        except KeyError:
            found: Run | None
            if all(answer is None for answer in answers):
                found = self.general  # nothing answered while writing: the general function
            elif _never(src, self.policy.when):
                found = None
            elif sum(_fires_never(src, rule) for rule in self.policy.rules) \
                    < _FEWEST_LEFT_OUT:
                found = self.general  # too little left out to pay for writing a function
            else:
                found = _compiled(src, [_policy(src, self.policy, self._repeated)])[0]
            self._written[answers] = found
            return found


class _Plan:
    """What judging a callee at one place, for one set of the specialised fields' values, takes:
    the policies to run there (each run appends the policy's findings and returns whether it
    applied), and the policy refs of each outcome of those runs, made on the first call with it
    and kept (a policy that runs either applies or not: at most two outcomes per run, and most
    places run one or two)."""

    __slots__ = ("_made", "_policies", "_steps", "outcomes", "runs")

    def __init__(self, policies: Sequence[ir.Policy], variants: Sequence[_Variants],
                 denials: Sequence[Run], made: dict[tuple[PolicyRef, ...], PolicyRefs],
                 call: Any, country: str | None, region: str | None) -> None:
        # a policy not placed there, or placed there but known while writing not to apply to
        # calls giving these values, is not applicable (None: not run); one whose placement is
        # not known denies; one placed there is run
        steps: list[Run | None] = []
        for policy, kinds, deny in zip(policies, variants, denials, strict=True):
            at = policy.placed(country, region)
            steps.append(None if at is False else deny if at is None else kinds.run(call))
        self._policies, self._steps = policies, steps
        self.runs = tuple(step for step in steps if step is not None)
        # the refs every plan made, by what they hold: one object (written once) per outcome
        # at a place, however many pairs of purpose and technology are judged there
        self._made = made
        self.outcomes: dict[int, PolicyRefs] = {}

    def refs(self, outcome: int) -> PolicyRefs:
        """The policy refs where the runs came out ``outcome``: a bit per run, set where its
        policy applied, the first run's the highest."""
        bit = len(self.runs)
        applied: list[PolicyRef] = []
        for policy, step in zip(self._policies, self._steps, strict=True):
            if step is not None:
                bit -= 1
            applies = step is not None and outcome >> bit & 1
            applied.append(policy.ref_applicable if applies else policy.ref_not_applicable)
        # racing threads make equal refs; either may stay
        held = tuple(applied)
        refs = self._made.get(held)
        if refs is None:
            refs = self._made[held] = PolicyRefs(held)
        self.outcomes[outcome] = refs
        return refs


def _undetermined(policy: ir.Policy) -> Run:
    """The run of a policy where the callee's placement is not known: it denies naming
    ``to_region`` (fail closed), as the interpreter does."""
    finding = policy.undetermined({"to_region"})

    def run(ctx: Ctx, call: Any, t: float, missing: set[str], violations: list[Finding],
            warnings: list[Finding]) -> bool:
        violations.append(finding)
        return True

    return run


def _dispatch(policies: Sequence[ir.Policy], variants: Sequence[_Variants]) -> Judge:
    """The judge: the plan for the callee's place and the call's purpose and technology (made
    on the first such call and kept: there are as many as places times the pairs calls give),
    then each policy that applies there, in order."""
    # by place, purpose and technology: the plan's runs, its refs by outcome (its dict, read
    # directly) and the plan
    plans: dict[tuple[str | None, str | None, str | None, str | None],
                tuple[tuple[Run, ...], dict[int, PolicyRefs], _Plan]] = {}
    denials = [_undetermined(policy) for policy in policies]
    made: dict[tuple[PolicyRef, ...], PolicyRefs] = {}

    def judge(ctx: Ctx) -> tuple[list[Finding], list[Finding], PolicyRefs]:
        call, country, region = ctx.call, ctx.country, ctx.region
        key = (country, region, call.purpose, call.technology)
        try:
            steps, outcomes, plan = plans[key]
        except KeyError:  # racing threads make the same plan; either may stay
            plan = _Plan(policies, variants, denials, made, call, country, region)
            steps, outcomes, _ = plans[key] = (plan.runs, plan.outcomes, plan)
        t, missing = ctx.t, ctx.missing
        violations: list[Finding] = []
        warnings: list[Finding] = []
        # which of the runs applied, one bit each, the first run's the highest: an int is
        # cheaper to make and to look up than a tuple
        outcome = 0
        for run in steps:
            outcome += outcome + run(ctx, call, t, missing, violations, warnings)
        try:
            refs = outcomes[outcome]
        except KeyError:
            refs = plan.refs(outcome)
        return violations, warnings, refs

    return judge


def generate(policies: Sequence[ir.Policy], facts: FactSource) -> tuple[Judge, str]:
    """One judge for ``policies``, and the source of its functions (registered with
    linecache)."""
    src = _Source(facts)
    general = _compiled(src, [_policy(src, policy) for policy in policies])
    variants = [_Variants(policy, run, facts, src.findings)
                for policy, run in zip(policies, general, strict=True)]
    return _dispatch(policies, variants), _text(src)


def _text(src: _Source) -> str:
    return "\n".join([*src.helpers, *src.lines]) + "\n"


def _compiled(src: _Source, names: Sequence[str]) -> list[Run]:
    """The functions ``names`` of ``src``, compiled."""
    text = _text(src)
    filename = f"<ringfence policy set {next(_serial)}>"
    # Registered so that tracebacks and profilers show the generated line, which names the
    # policy line in its trailing comment.
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    exec(compile(text, filename, "exec"), src.namespace)
    return [src.namespace[name] for name in names]
