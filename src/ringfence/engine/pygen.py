"""The intermediate form written out as one Python function: what ``decide`` runs.

Judging every rule of every policy by walking the intermediate form costs several Python calls per
condition. So once per load this module writes the whole policy set out as straight-line source,
as Jinja2 does with templates: policies and rules one after another, each rule a ``while True``
block left by ``break``, the three-valued logic between conditions written inline.

Atoms are the runtime's functions (:mod:`.runtime`), called with their arguments; the few that
run for nearly every call (marked hot) have their body copied in place instead
(:mod:`.inliner`). So the meaning of an atom is written once, in the runtime, and both
evaluators use it.

The source is registered with :mod:`linecache` under a name of its own, and every statement that
belongs to a rule ends in a comment naming the policy file and line, so a traceback or a profile
of ``decide`` names the rule it was in.
"""

from __future__ import annotations

import itertools
import linecache
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ringfence.contract.decision import Finding, PolicyRef
from ringfence.engine import ir
from ringfence.engine.inliner import copy_in, known
from ringfence.engine.runtime import HOT, Apply, Attr, Const, Ctx, Env, ListLookup, list_lookup
from ringfence.errors import Span
from ringfence.facts.callee import FactSource

Judge = Callable[[Ctx], tuple[list[Finding], list[Finding], list[PolicyRef]]]

# Names the function itself uses; a runtime global copied in by inlining must not shadow them.
_LOCALS = frozenset({"ctx", "call", "t", "missing", "violations", "warnings", "refs", "applies",
                     "day", "undetermined", "judge"})
_serial = itertools.count(1)


class _Source:
    """The function's lines, and the values its source refers to by name."""

    def __init__(self, facts: FactSource) -> None:
        self.facts = facts
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {}
        self.where = ""  # the policy line the statements being written belong to
        self.helpers: list[str] = []  # functions written before judge (deep conditions)
        self._count = 0
        self._lookups: dict[str, str] = {}
        self._resolved: dict[str, object] = {}

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

    def resolve(self, name: str) -> object:
        """The lookup of list ``name`` (None: the fact source has no such list)."""
        if name not in self._resolved:
            self._resolved[name] = list_lookup(self.facts, name)
        return self._resolved[name]

    def lookup(self, name: str) -> str:
        found = self._lookups.get(name)
        if found is None:
            value = self.resolve(name)
            found = self._lookups[name] = "None" if value is None else self.bind(value, "LIST")
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
        return src.bind(value)
    assert isinstance(arg, ListLookup)
    return src.lookup(arg.name)


def _apply(src: _Source, applied: Apply, target: str, depth: int) -> None:
    """Lines that set ``target`` to the atom's answer: the runtime function's body copied in
    when it is marked hot, else a call to it."""
    args = [_argument(src, a) for a in applied.args]
    fn = applied.fn
    if fn not in HOT:
        src.emit(depth, f"{target} = {src.bind_global(fn.__name__, fn)}({', '.join(args)})")
        return
    # What is fixed at load (constants, and which lists are loaded) folds the copied body.
    facts = tuple(known(a.value) if isinstance(a, Const)
                  else known(src.resolve(a.name)) if isinstance(a, ListLookup) else None
                  for a in applied.args)
    src.emit(depth, *copy_in(fn, args, facts, target, lambda name: src.name(f"{name}_"),
                             src.bind_global))


def _condition(src: _Source, cond: ir.Cond, target: str, depth: int) -> None:
    """Lines that set ``target`` to True, False or None (unknown, the fact named in missing)."""
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
        # and: False decides, None is remembered; or: the same with True.
        decisive = str(cond.decisive)
        part = src.name("v")
        src.emit(depth, "while True:", f"    {target} = {not cond.decisive}")
        for child in cond.parts:
            _condition(src, child, part, depth + 1)
            src.emit(depth + 1, f"if {part} is {decisive}:", f"    {target} = {decisive}",
                     "    break", f"if {part} is None:", f"    {target} = None")
        src.emit(depth + 1, "break")


# Python allows 20 nested blocks in a function; a condition deeper than this is written as a
# function of its own, so the generated code never nests with the input.
_DEEPEST = 8


def _helper(src: _Source, cond: ir.Cond) -> str:
    """The name of a function, written before ``judge``, that answers ``cond``."""
    name = src.name("cond")
    outer, src.lines = src.lines, []
    src.emit(0, f"def {name}(ctx):")
    src.emit(1, "call = ctx.call", "t = ctx.t", "missing = ctx.missing")
    value = src.name("v")
    _condition(src, cond, value, 1)
    src.emit(1, f"return {value}")
    src.helpers.extend(src.lines)
    src.lines = outer
    return name


def _where(span: Span) -> str:
    return f"{Path(span.file).name}:{span.line}"


def _rule(src: _Source, rule: ir.Rule, depth: int) -> None:
    src.where = _where(rule.span)
    src.emit(depth, f"# rule {rule.policy_id}/{rule.id}", "if missing:", "    missing.clear()",
             "while True:")
    body = depth + 1
    if rule.effective_from is not None or rule.effective_until is not None:
        src.emit(body, "day = ctx.local_date()")
        if rule.effective_from is not None:
            src.emit(body, f"if day < {src.bind(rule.effective_from, 'D')}:", "    break")
        if rule.effective_until is not None:
            src.emit(body, f"if day >= {src.bind(rule.effective_until, 'D')}:", "    break")
    value = src.name("v")
    if rule.when:
        src.emit(body, "undetermined = False")
    for cond in rule.when:
        _condition(src, cond, value, body)
        src.emit(body, f"if {value} is False:", "    break",
                 f"if {value} is None:", "    undetermined = True")
    for cond in rule.unless:
        _condition(src, cond, value, body)
        src.emit(body, f"if {value} is True:", "    break")
    # The effect runs only when every `when` was known; the rule passes on its passing answer.
    effect_depth = body
    if rule.when:
        src.emit(body, "if not undetermined:")
        effect_depth += 1
    _condition(src, rule.effect, value, effect_depth)
    src.emit(effect_depth, f"if {value} is {rule.passes}:", "    break")
    found = "violations" if rule.level == "deny" else "warnings"
    src.emit(body,
             f"{found}.append({src.bind(rule.finding, 'F')} if not missing"
             f" else {src.bind(rule.finding_with, 'FW')}(missing))",
             "break")
    src.where = ""


def _applies(src: _Source, policy: ir.Policy) -> None:
    """Lines that set ``applies`` as :meth:`.interp.Interpreter.applies` does."""
    info = policy.info
    src.where = _where(info.span)
    src.emit(1, "while True:")
    if policy.any_place:
        src.emit(2, "applies = True")
    else:
        # where the callee is is not established: whether the policy applies is unknown
        src.emit(2, "if ctx.country is None:", "    missing.add('to_region')",
                 "    applies = None", "    break")
        if not policy.subdivisions:
            # Countries only: the call's country decides.
            src.emit(2, f"applies = ctx.country in {src.bind(policy.countries, 'W')}")
        else:
            countries = src.bind(frozenset(s[:2] for s in policy.subdivisions), "W")
            src.emit(2, f"if ctx.country in {src.bind(policy.countries, 'W')}:",
                     "    applies = True", "elif ctx.region is not None:",
                     f"    applies = ctx.region in {src.bind(policy.subdivisions, 'W')}",
                     # a country the policy covers only in part: which part decides
                     f"elif ctx.country in {countries}:",
                     "    missing.add('to_region')", "    applies = None",
                     "else:", "    applies = False")
    src.emit(2, "if applies is not True:", "    break")
    if info.effective_from is not None or info.effective_until is not None:
        src.emit(2, "day = ctx.local_date()")
        tests = []
        if info.effective_from is not None:
            tests.append(f"day < {src.bind(info.effective_from, 'D')}")
        if info.effective_until is not None:
            tests.append(f"day >= {src.bind(info.effective_until, 'D')}")
        src.emit(2, f"if {' or '.join(tests)}:", "    applies = False", "    break")
    for cond in policy.when:
        value = src.name("v")
        _condition(src, cond, value, 2)
        src.emit(2, f"if {value} is False:", "    applies = False", "    break",
                 f"if {value} is None:", "    applies = None")
    src.emit(2, "break")
    src.where = ""


def generate(policies: Sequence[ir.Policy], facts: FactSource) -> tuple[Judge, str]:
    """One judge function for ``policies``, and its source (registered with linecache)."""
    src = _Source(facts)
    src.emit(0, "def judge(ctx):",
             "    call = ctx.call",
             "    t = ctx.t",
             "    missing = ctx.missing",
             "    violations = []",
             "    warnings = []",
             "    refs = []")
    for policy in policies:
        src.emit(1, f"# policy {policy.info.id}", "missing.clear()")
        if policy.plain:
            src.emit(1, f"refs.append({src.bind(policy.ref_applicable, 'REF')})")
            depth = 1
        else:
            _applies(src, policy)
            src.emit(1, "if applies is False:",
                     f"    refs.append({src.bind(policy.ref_not_applicable, 'REF')})",
                     "else:",
                     f"    refs.append({src.bind(policy.ref_applicable, 'REF')})",
                     "    if applies is None:",
                     f"        violations.append({src.bind(policy.undetermined, 'UND')}(missing))",
                     "    else:")
            depth = 3
        if not policy.rules:
            src.emit(depth, "pass")
        for rule in policy.rules:
            _rule(src, rule, depth)
    src.emit(1, "return violations, warnings, refs")
    text = "\n".join([*src.helpers, *src.lines]) + "\n"
    filename = f"<ringfence policy set {next(_serial)}>"
    # Registered so that tracebacks and profilers show the generated line, which names the
    # policy line in its trailing comment.
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    exec(compile(text, filename, "exec"), src.namespace)
    return src.namespace["judge"], text
