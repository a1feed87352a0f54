"""The reference interpreter: walks the intermediate form, rule by rule.

It is the plain statement of how conditions combine (three-valued ``and``/``or``/``not``), when a
rule applies, is exempt or is violated, and when a policy applies. Atoms are answered by the
runtime (:mod:`.runtime`), the same functions the generated function uses. ``explain`` and
traces use this walker; ``decide`` runs the generated function (:mod:`.pygen`), and tests hold
the two equal.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

from ringfence.contract.decision import Finding, PolicyRef
from ringfence.engine import ir
from ringfence.engine.runtime import Apply, Attr, Const, Ctx, Env, ListLookup, Tri, list_lookup
from ringfence.facts.callee import FactSource

# What an observer of each rule's outcome is given: the rule, the context, the outcome.
RuleObserver = Callable[[ir.Rule, Ctx, ir.Outcome], None]


def _itself(ctx: Ctx) -> Ctx:
    return ctx


class Interpreter:
    """Judges calls by walking lowered policies. Immutable after construction: thread-safe."""

    def __init__(self, policies: Sequence[ir.Policy], facts: FactSource):
        self.policies = tuple(policies)
        self.facts = facts
        names = {a.name for atom in ir.policy_atoms(self.policies) for a in atom.apply.args
                 if isinstance(a, ListLookup)}
        self._lookups = {name: list_lookup(facts, name) for name in names}

    def argument(self, arg: object, ctx: Ctx) -> object:
        """The value of an atom's argument at ``ctx``."""
        if isinstance(arg, Const):
            return arg.value
        if isinstance(arg, Attr):
            return getattr(ctx.call if arg.owner == "call" else ctx, arg.attribute)
        if isinstance(arg, Env):
            return ctx if arg.name == "ctx" else getattr(ctx, arg.name)
        assert isinstance(arg, ListLookup)
        return self._lookups[arg.name]

    @staticmethod
    def reader(arg: Env | Attr) -> Callable[[Ctx], object]:
        """What reads an argument given per judgement, chosen once: ``reader(arg)(ctx)`` is
        ``argument(arg, ctx)``."""
        if isinstance(arg, Attr):
            return operator.attrgetter(f"call.{arg.attribute}" if arg.owner == "call"
                                       else arg.attribute)
        return _itself if arg.name == "ctx" else operator.attrgetter(arg.name)

    def apply(self, applied: Apply, ctx: Ctx) -> Tri:
        """An atom's answer: its runtime function on its arguments."""
        return applied.fn(*(self.argument(a, ctx) for a in applied.args))

    def condition(self, cond: ir.Cond, ctx: Ctx) -> Tri:
        """A condition's answer, in three-valued logic."""
        if isinstance(cond, ir.Atom):
            return self.apply(cond.apply, ctx)
        if isinstance(cond, ir.Negation):
            value = self.condition(cond.part, ctx)
            return None if value is None else not value
        result: Tri = not cond.decisive
        for part in cond.parts:
            value = self.condition(part, ctx)
            if value is cond.decisive:
                return cond.decisive
            if value is None:
                result = None
        return result

    def rule(self, rule: ir.Rule, ctx: Ctx) -> ir.Outcome:
        """The rule's outcome at ``ctx``'s instant.

        Not in force outside its dates; not applicable when a ``when`` is false; exempt when an
        ``unless`` is true; violated when a ``when`` is unknown or the effect does not pass.
        """
        if rule.effective_from is not None or rule.effective_until is not None:
            day = ctx.local_date()
            if (rule.effective_from is not None and day < rule.effective_from) \
                    or (rule.effective_until is not None and day >= rule.effective_until):
                return ir.NOT_IN_FORCE
        undetermined = False
        for cond in rule.when:
            value = self.condition(cond, ctx)
            if value is False:
                return ir.NOT_APPLICABLE
            if value is None:
                undetermined = True
        for cond in rule.unless:
            if self.condition(cond, ctx) is True:
                return ir.EXEMPT
        if undetermined:
            return ir.VIOLATED
        return ir.PASSED if self.condition(rule.effect, ctx) is rule.passes else ir.VIOLATED

    @staticmethod
    def placed(policy: ir.Policy, ctx: Ctx) -> Tri:
        """Whether the callee is in one of the policy's jurisdictions (None: where the callee
        is cannot be established closely enough, ``to_region`` named missing)."""
        placed = policy.placed(ctx.country, ctx.region)
        if placed is None:
            ctx.missing.add("to_region")
        return placed

    def applies(self, policy: ir.Policy, ctx: Ctx) -> Tri:
        """True, False, or None when the call's region (or a ``when`` fact) is unknown."""
        placed = self.placed(policy, ctx)
        if placed is not True:
            return placed
        start, end = policy.info.effective_from, policy.info.effective_until
        if start is not None or end is not None:
            day = ctx.local_date()
            if (start is not None and day < start) or (end is not None and day >= end):
                return False
        undetermined = False
        for cond in policy.when:
            value = self.condition(cond, ctx)
            if value is False:
                return False
            undetermined = undetermined or value is None
        return None if undetermined else True

    def judge(self, ctx: Ctx, observe: RuleObserver | None = None
              ) -> tuple[list[Finding], list[Finding], list[PolicyRef]]:
        """Every rule of every applicable policy at ``ctx``'s instant: (violations, warnings,
        policy refs); ``observe`` is told each rule's outcome."""
        violations: list[Finding] = []
        warnings: list[Finding] = []
        refs: list[PolicyRef] = []
        missing = ctx.missing
        for policy in self.policies:
            missing.clear()
            applies = self.applies(policy, ctx)
            if applies is False:
                refs.append(policy.ref_not_applicable)
                continue
            refs.append(policy.ref_applicable)
            if applies is None:
                violations.append(policy.undetermined(missing))
                continue
            for rule in policy.rules:
                missing.clear()
                outcome = self.rule(rule, ctx)
                if outcome == ir.VIOLATED:
                    target = violations if rule.level == "deny" else warnings
                    target.append(rule.finding_with(missing))
                if observe is not None:
                    observe(rule, ctx, outcome)
        return violations, warnings, refs
