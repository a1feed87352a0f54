"""Load policies (files, folders, shipped ids), resolve includes, check and compile them.

:func:`load` is the entry point of the API: it returns a :class:`PolicySet` that judges calls.
Everything expensive (parsing, checking, compiling) happens here, once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from ringfence.contract.decision import Decision, Finding
from ringfence.engine.decide import Evaluator
from ringfence.engine.explain import Explanation
from ringfence.engine.ir import (
    Policy,
    PolicyInfo,
    RuleInfo,
    lower_policy,
    pending_message,
    policy_atoms,
)
from ringfence.errors import CODES, Diagnostic, InputError, PolicyError, Span, did_you_mean
from ringfence.facts.callee import FactSource, StandardFacts, load_list_files
from ringfence.facts.numberlist import NumberList
from ringfence.language import nodes
from ringfence.language.checker import check
from ringfence.language.parser import parse_file
from ringfence.resources import path_kind, policies_dir

_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def shipped_ids() -> list[str]:
    """Ids of the policies shipped with Ringfence."""
    return sorted(p.stem for p in policies_dir().glob("*.rf"))


def _not_found(ref: str, where: Span | None = None) -> PolicyError:
    span = where or Span(ref, 1, 1)
    return PolicyError([Diagnostic(
        "RF601", f"no policy file, folder or shipped policy id '{ref}'", span, "",
        CODES["RF601"].hint, did_you_mean(ref, shipped_ids()))])


def resolve(refs: Iterable[str | Path]) -> list[Path]:
    """Policy files named by paths (files or folders, recursively) or shipped ids, in order."""
    files: list[Path] = []
    seen: set[Path] = set()
    for ref in refs:
        path = Path(ref)
        kind = path_kind(path)
        if kind == "folder":
            found = sorted(path.rglob("*.rf"))
        elif kind == "file":
            found = [path]
        elif _ID.match(str(ref)) and path_kind(policies_dir() / f"{ref}.rf") == "file":
            found = [policies_dir() / f"{ref}.rf"]
        else:
            raise _not_found(str(ref))
        for file in found:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                files.append(file)
    return files


@dataclass
class _Parsed:
    policy: nodes.Policy
    text: str
    path: Path


def _parse_checked(path: Path, cache: dict[Path, _Parsed]) -> _Parsed:
    key = path.resolve()
    if key not in cache:
        policy = parse_file(path)
        text = path.read_text(encoding="utf-8")
        problems = check(policy, text)
        if problems:
            raise PolicyError(problems)
        cache[key] = _Parsed(policy, text, path)
    return cache[key]


def confined_include(owner: Path, target: str) -> Path | None:
    """The file ``include "target"`` in ``owner`` may read, or None when it may read none.

    Only a ``.rf`` file in the including policy's folder or below it (links followed) may be
    included, so a policy under review cannot make ``check`` read, and quote in a diagnostic, any
    other file of the machine that runs it.
    """
    home = owner.parent.resolve()
    try:
        inside = (home / target).resolve().is_relative_to(home)
    except ValueError:  # a NUL byte: no file has that name
        return None
    return owner.parent / target if inside and target.endswith(".rf") else None


def _include_path(clause: nodes.Include, owner: Path) -> Path:
    target = clause.target
    if clause.is_path:
        path = confined_include(owner, str(target))
        if path is None:
            raise PolicyError([Diagnostic(
                "RF601", f"cannot include \"{target}\": a policy includes only .rf files in its "
                "own folder or below it, or shipped policy ids", clause.span, "",
                CODES["RF601"].hint)])
        try:
            if path.is_file():
                return path
        except OSError:  # a name too long for the file system: not found
            pass
    else:
        for candidate in (owner.parent / f"{target}.rf", policies_dir() / f"{target}.rf"):
            if candidate.is_file():
                return candidate
    raise _not_found(target, clause.span)


def _gather_rules(parsed: _Parsed, cache: dict[Path, _Parsed], chain: tuple[Path, ...]
                  ) -> tuple[list[tuple[str, nodes.Rule]], list[str], dict[str, None]]:
    """(origin policy id, rule) for the policy's own and included rules; texts for the hash;
    the purposes it and the policies it includes declare (their rules may name them)."""
    policy = parsed.policy
    rules: list[tuple[str, nodes.Rule]] = []
    texts = [parsed.text]
    purposes = dict.fromkeys(policy.purposes)
    for clause in policy.includes:
        path = _include_path(clause, parsed.path)
        if path.resolve() in chain:
            raise PolicyError([Diagnostic("RF602", f"'{policy.id}' includes itself through "
                                          f"{path.name}", clause.span, "", CODES["RF602"].hint)])
        included = _parse_checked(path, cache)
        more, more_texts, more_purposes = _gather_rules(included, cache, (*chain, path.resolve()))
        rules.extend(more)
        texts.extend(more_texts)
        purposes.update(more_purposes)
    excluded = {c.rule_id: c for c in policy.excludes}
    for name, exclude in excluded.items():
        if name not in {r.id for _, r in rules}:
            raise PolicyError([Diagnostic("RF602", f"no included rule is called '{name}'",
                                          exclude.span, "", CODES["RF602"].hint)])
    rules = [(origin, r) for origin, r in rules if r.id not in excluded]
    own_ids = {r.id for r in policy.rules}
    clash = [r for _, r in rules if r.id in own_ids]
    if clash:
        raise PolicyError([Diagnostic("RF201", f"rule id '{clash[0].id}' is also used by an "
                                      "included policy; exclude it or rename one",
                                      clash[0].id_span, "", CODES["RF201"].hint)])
    rules.extend((policy.id, r) for r in policy.rules)
    return rules, texts, purposes


def _compile_policy(parsed: _Parsed, cache: dict[Path, _Parsed]) -> Policy:
    policy = parsed.policy
    rules, texts, purposes = _gather_rules(parsed, cache, (parsed.path.resolve(),))
    digest = hashlib.sha256("\0".join(texts).encode("utf-8")).hexdigest()
    start, end = policy.effective
    rule_infos = tuple(
        RuleInfo(r.id, r.title, "warn" if r.pending else r.level, r.citations, *r.effective,
                 pending_message(r) if r.pending else r.message or r.title, r.span, origin,
                 r.url, r.verification, r.reviewed, r.pending)
        for origin, r in rules
    )
    info = PolicyInfo(policy.id, policy.title, policy.version, f"sha256:{digest}",
                      str(parsed.path), policy.jurisdictions, start, end, policy.sources,
                      policy.disclaimer, policy.notes, rule_infos, policy.span,
                      tuple(str(name) for name in policy.lists), tuple(purposes),
                      tuple((c.date, c.text) for c in policy.all(nodes.Changelog)))
    return lower_policy(info, policy.when, rules)


def compile_files(files: Iterable[Path]) -> list[Policy]:
    """Parse, check and compile policy files; every file's errors are reported together."""
    cache: dict[Path, _Parsed] = {}
    compiled: list[Policy] = []
    problems: list[Diagnostic] = []
    for path in files:
        try:
            compiled.append(_compile_policy(_parse_checked(path, cache), cache))
        except PolicyError as err:
            problems.extend(err.diagnostics)
    seen: dict[str, Policy] = {}
    for policy in compiled:
        first = seen.setdefault(policy.info.id, policy)
        if first is not policy:
            problems.append(Diagnostic(
                "RF202", f"policy id '{policy.info.id}' is also used by {first.info.path}",
                Span(policy.info.path, 1, 1), "", CODES["RF202"].hint))
    if problems:
        raise PolicyError(problems)
    return compiled


class Judgement(NamedTuple):
    """What :meth:`PolicySet.judge` returns: a call's violations and warnings (as in its
    :class:`Decision`) and the callee's zones, region and country."""

    violations: list[Finding]
    warnings: list[Finding]
    zones: tuple[ZoneInfo, ...]
    region: str | None
    country: str | None


class PolicySet:
    """Compiled policies evaluated together (deny overrides). Thread-safe after construction."""

    def __init__(self, policies: Iterable[Policy], facts: FactSource):
        self._compiled = tuple(policies)
        self._evaluator = Evaluator(self._compiled, facts)
        self.facts = facts

    @property
    def policies(self) -> tuple[PolicyInfo, ...]:
        """Header and rules of every policy in the set."""
        return tuple(p.info for p in self._compiled)

    @property
    def compiled(self) -> tuple[Policy, ...]:
        """The policies as lowered (their rules' windows and atoms), for tools that read what a
        policy covers or closes on (``ringfence holidays``, ``ringfence policies --coverage``)."""
        return self._compiled

    @property
    def source(self) -> str:
        """The Python source of the function ``decide`` runs, generated at load (for review)."""
        return self._evaluator.source

    def replace_list(self, name: str, table: str | Path | NumberList) -> None:
        """Put another list (a file, text or compiled, or a NumberList) in place of list
        ``name`` while the set is in use, without loading the policies again.

        The swap is atomic: a decision being made reads the old list or the new one, never a
        mix of both. Raises :class:`ringfence.errors.InputError` when no loaded policy reads
        ``name`` or the file cannot be read (the old list then stays).
        """
        if not isinstance(self.facts, StandardFacts):
            raise InputError("replace_list needs the standard fact source; a custom "
                             f"{type(self.facts).__name__} keeps its own lists")
        _check_list_names({name: table}, self._compiled)
        self.facts.replace_list(name, _tables({name: table})[name])

    def decide(self, call: dict[str, Any], *, trace: bool = False) -> Decision:
        """Judge one call (a dict following the call-request schema).

        Raises :class:`ringfence.errors.CallError` when the call is malformed.
        With ``trace=True`` the decision lists every rule's outcome and why.
        """
        return self._evaluator.decide(call, trace)

    def judge(self, call: dict[str, Any]) -> Judgement:
        """The rules one call breaks and where its callee is, by the same generated function
        as :meth:`decide`, without building a :class:`Decision` (nor searching
        ``next_allowed_at``): the road for replaying logs of calls in bulk.

        Raises :class:`ringfence.errors.CallError` when the call is malformed.
        """
        evaluator = self._evaluator
        ctx = evaluator.gather(call)  # the verdict alone: the call's dates placed as read
        violations, warnings, _ = evaluator.judge(ctx)
        return Judgement(violations, warnings, ctx.zones, ctx.region, ctx.country)

    def zones(self, call: dict[str, Any]) -> tuple[ZoneInfo, ...]:
        """The callee's zones :meth:`decide` judges ``call`` in (its local time is read in the
        first), found as ``decide`` finds them, without judging the call.

        Raises :class:`ringfence.errors.CallError` when the call is malformed.
        """
        return self._evaluator.gather(call).zones

    def explain(self, call: dict[str, Any]) -> Explanation:
        """Judge one call and say why, rule by rule, in the words of the policies: each rule's
        title, citation and message, the facts it looked at in plain language, and which rules
        waiting cannot clear. ``.text()`` and ``.html()`` render it; ``.decision`` is the
        traced decision.

        Raises :class:`ringfence.errors.CallError` when the call is malformed.
        """
        return self._evaluator.explain(call)


def load(*paths_or_ids: str | Path, lists: Mapping[str, str | Path | NumberList] | None = None,
         facts: FactSource | None = None) -> PolicySet:
    """Load policies from files, folders or shipped ids, with optional named list files.

    A list a policy uses that is not loaded here is answered per call (``lists`` and
    ``lists_checked_at``) or, when the call does not answer it, is a missing fact
    (``lists.NAME``): a rule that needs it denies.

    Raises :class:`ringfence.errors.PolicyError` (every problem found) when a policy is
    invalid, and :class:`ringfence.errors.InputError` when a list file is unreadable or is
    loaded under a name no loaded policy uses.
    """
    if not paths_or_ids:
        raise _not_found("(nothing given)")
    compiled = compile_files(resolve(paths_or_ids))
    if lists:
        _check_list_names(lists, compiled)
    return PolicySet(compiled, facts or _facts(lists))


def _check_list_names(lists: Mapping[str, object], policies: Iterable[Policy]) -> None:
    """A list loaded under a name no loaded policy reads would be silently unused (a misspelt
    ``--list internal_dcn=…`` leaves ``internal_dnc`` unloaded): an input error, with the names
    the policies do read."""
    policies = list(policies)
    # declared by a policy (uses list …), or read by a rule it includes from another
    used = {name for policy in policies for name in policy.info.lists} | {
        str(atom.node.name) for atom in policy_atoms(policies)
        if isinstance(atom.node, nodes.OnList | nodes.ListChecked | nodes.OnListAtWash)}
    for name in lists:
        if name not in used:
            hint = did_you_mean(name, sorted(used))
            raise InputError(f"list {name!r} is not used by any loaded policy"
                             + (f"; did you mean {hint!r}?" if hint else "")
                             + (f" (they use: {', '.join(sorted(used))})" if used else
                                " (they use no list)"))


def load_library(lists: Mapping[str, str | Path] | None = None,
                 facts: FactSource | None = None) -> PolicySet:
    """Every shipped policy; for each call only those whose jurisdiction and scope match apply."""
    return load(*shipped_ids(), lists=lists, facts=facts)


def _facts(lists: Mapping[str, str | Path | NumberList] | None) -> StandardFacts:
    return StandardFacts(_tables(lists) if lists else None)


def _tables(lists: Mapping[str, str | Path | NumberList]) -> dict[str, NumberList]:
    """Each named list: given ready, or read from its file."""
    ready = {k: v for k, v in lists.items() if isinstance(v, NumberList)}
    ready.update(load_list_files({k: v for k, v in lists.items()
                                  if not isinstance(v, NumberList)}))
    return ready
