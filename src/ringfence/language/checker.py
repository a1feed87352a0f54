"""Check a parsed policy: names, types, windows, duplicates, rules that can never apply.

Every problem is collected; nothing stops at the first one. The checker knows the call-request
fields (:data:`ringfence.contract.fields.FIELDS`), their vocabularies (closed ones, and the
purposes, which a policy may extend with ``uses purposes …``) and the fixed words of the language
(events). A value outside its vocabulary would never match a call: it is an error, never a rule
that silently does not apply.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import itertools
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple
from zoneinfo import ZoneInfoNotFoundError, available_timezones

import holidays
import phonenumbers

from ringfence.contract.fields import FIELDS, VOCABULARIES
from ringfence.contract.request import CONTRACT
from ringfence.engine.runtime import literal
from ringfence.errors import CODES, Diagnostic, Span, did_you_mean, excerpt, source_lines
from ringfence.facts.zones import load_zone
from ringfence.language import nodes
from ringfence.language.calendar_check import (
    check_calendar_uses,
    check_calendars,
    check_changelog,
    check_rule_metadata,
)
from ringfence.language.nodes.values import LARGEST_NUMBER

# Field -> kind. Kinds: text (free text), name (a word), enum:<set>, bool, time, region.
CONSENT_TYPES = VOCABULARIES["consent.type"]
OUTCOMES = VOCABULARIES["history.outcome"]
PURPOSES = CONTRACT.word_vocabularies["purpose"]
EVENTS = ("purchase", "inquiry", "attempt", "conversation", "refusal", "opt_out")
SAME = ("subject", "campaign", "purpose")
_DAY_UNITS = ("day",)
# Each unit in days (an upper bound for months and years), to bound what a rule may measure.
_UNIT_DAYS = {"second": 1 / 86400, "minute": 1 / 1440, "hour": 1 / 24, "day": 1, "week": 7,
              "month": 31, "year": 366}
_LONGEST_DAYS = 100 * 366
# How deeply and/or/not may nest: deeper than any law's sentence, and what the engine takes.
MAX_NESTING = 16
_REGION = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?\Z")
_DAY_SECONDS = 24 * 3600


class _Checker:
    def __init__(self, policy: nodes.Policy, lines: list[str]):
        self.policy = policy
        self.lines = lines
        self.out: list[Diagnostic] = []
        self.lists = set(policy.lists)
        # in lowercase: a declaration in another case is reported once, not at every use
        self.purposes = frozenset(word.lower() for word in policy.purposes)

    def error(self, code: str, message: str, span: Span, suggestion: str | None = None) -> None:
        line = self.lines[span.line - 1] if 0 < span.line <= len(self.lines) else ""
        self.out.append(Diagnostic(code, message, span, line, CODES[code].hint, suggestion))

    # -- header --
    def header(self) -> None:
        for kind in (nodes.Version, nodes.Effective, nodes.Disclaimer):
            for extra in self.policy.all(kind)[1:]:
                self.error("RF205", f"the policy has more than one '{kind.keyword}' line",
                           extra.span)
        for clause in self.policy.clauses:
            match clause:
                case nodes.AppliesTo():
                    for value in clause.jurisdictions:
                        self.jurisdiction(value)
                case nodes.Effective():
                    self.dates(clause, "the policy")
                case nodes.When():
                    self.condition(clause.condition)
                case nodes.UsesPurposes():
                    self.declared(clause.names, PURPOSES.words, "purpose")
        check_calendars(self.policy, self.error)
        check_changelog(self.policy, self.error)
        if not self.policy.all(nodes.AppliesTo):
            self.error("RF207", f"policy '{self.policy.id}' has no 'applies to' line, so it "
                       "applies to no call", self.policy.id_span)
        self.contradictions(f"policy '{self.policy.id}'", _required(self.policy.when), [])

    def declared(self, names: tuple[nodes.Value, ...], known: frozenset[str], what: str) -> None:
        """Words a policy adds to a vocabulary: new, and written as calls are read (lowercase)."""
        seen: set[str] = set()
        for value in names:
            word = value.raw
            if word != word.lower():
                self.error("RF309", f"the {what} '{word}' is not in lowercase: calls are read "
                           "in lowercase, so it would never match", value.span, word.lower())
            elif word in known:
                self.error("RF309", f"'{word}' is already a {what} of the call contract",
                           value.span)
            elif word in seen:
                self.error("RF309", f"the {what} '{word}' is declared twice", value.span)
            seen.add(word)

    def purpose(self, word: str, place: str, span: Span) -> None:
        """A purpose a condition names: a word of the vocabulary at ``place``, or declared."""
        allowed = PURPOSES.at(place, self.purposes)
        if word not in allowed:
            self.error("RF302", f"'{word}' is not a purpose of the call contract nor one the "
                       f"policy declares (uses purpose {word})", span, did_you_mean(word, allowed))

    def jurisdiction(self, value: nodes.Value) -> None:
        code = value.raw
        if code == "any":
            return
        if not _REGION.match(code):
            self.error("RF407", f"'{code}' is not a country or subdivision code", value.span)
            return
        if code[:2] not in phonenumbers.SUPPORTED_REGIONS:
            self.error("RF407", f"'{code[:2]}' is not an ISO 3166-1 country code", value.span,
                       did_you_mean(code[:2], phonenumbers.SUPPORTED_REGIONS))
            return
        known = _subdivisions(code[:2])
        if "-" in code and known and code[3:] not in known:
            self.error("RF407", f"'{code}' is not a subdivision of {code[:2]}", value.span,
                       did_you_mean(code, [f"{code[:2]}-{s}" for s in known]))

    def dates(self, clause: nodes.Effective, owner: str) -> None:
        start, end = clause.start, clause.end
        if start is not None and end is not None and end <= start:
            self.error("RF501", f"{owner} ends ({end}) on or before it starts ({start}), so it "
                       "never applies", clause.span)

    # -- rules --
    def rules(self) -> None:
        seen: dict[str, nodes.Rule] = {}
        meanings: dict[_Meaning, nodes.Rule] = {}
        policy_from, policy_until = self.policy.effective
        for rule in self.policy.rules:
            if rule.id in seen:
                first = seen[rule.id].id_span
                self.error("RF201", f"rule id '{rule.id}' is already used at line {first.line}",
                           rule.id_span)
            seen.setdefault(rule.id, rule)
            self.rule(rule, policy_from, policy_until)
            meaning = _meaning(rule)
            if meaning in meanings:
                earlier = meanings[meaning]
                self.error("RF209", f"rule '{rule.id}' repeats rule '{earlier.id}' (line "
                           f"{earlier.id_span.line}): the same effect, conditions, level, dates "
                           "and citations, so it never changes a decision", rule.id_span)
            elif meaning is not None:
                self.shadowed(rule, meaning, meanings)
                meanings[meaning] = rule

    def shadowed(self, rule: nodes.Rule, meaning: _Meaning,
                 earlier: dict[_Meaning, nodes.Rule]) -> None:
        """A rule that another, earlier one covers (RF212): wherever the narrower is violated,
        the broader is too, with the same citations, so the narrower never changes a decision."""
        for other_meaning, other in earlier.items():
            if _covers(other_meaning, meaning):
                narrow, broad = rule, other
            elif _covers(meaning, other_meaning):
                narrow, broad = other, rule
            else:
                continue
            self.error("RF212", f"rule '{narrow.id}' is shadowed by rule '{broad.id}' (line "
                       f"{broad.id_span.line}): the same effect, conditions, level and "
                       f"citations, and it only adds exemptions or narrows the dates, so wherever "
                       f"'{narrow.id}' is violated '{broad.id}' is too", narrow.id_span)
            return

    def rule(self, rule: nodes.Rule, policy_from: dt.date | None,
             policy_until: dt.date | None) -> None:
        if not rule.citations:
            self.error("RF203", f"rule '{rule.id}' cites no legal source", rule.id_span)
        for cite in rule.all(nodes.Cite):
            for text in cite.texts:
                if not any(ch.isalnum() for ch in text):
                    self.error("RF208", f"rule '{rule.id}' cites {excerpt(text)}, which names "
                               "no source", cite.span)
        effects = rule.effects
        if len(effects) != 1:
            what = "no effect" if not effects else f"{len(effects)} effects"
            span = rule.id_span if not effects else effects[1].span
            self.error("RF204", f"rule '{rule.id}' has {what}", span)
        check_rule_metadata(rule, self.error)
        for kind in (nodes.Message, nodes.Level, nodes.Effective):
            for extra in rule.all(kind)[1:]:
                self.error("RF205", f"rule '{rule.id}' has more than one '{kind.keyword}' line",
                           extra.span)
        levels = rule.all(nodes.Level)
        if levels and effects and isinstance(effects[0], nodes.DenyIf) \
                and levels[0].level != effects[0].level:
            self.error("RF206", f"'level {levels[0].level}' cannot go with "
                       f"'{effects[0].level} if'", levels[0].span)
        for clause in rule.all(nodes.Effective):
            self.dates(clause, f"rule '{rule.id}'")
            start, end = clause.start, clause.end
            if (policy_until and start and start >= policy_until) or (
                policy_from and end and end <= policy_from
            ):
                self.error("RF501", f"rule '{rule.id}' is in force only outside the policy's own "
                           "dates, so it never applies", clause.span)
        for condition in (*rule.when, *rule.unless):
            self.condition(condition)
        # A `deny if`/`warn if` fires only where its condition holds too: it joins the `when`s.
        fires = tuple(e.condition for e in effects[:1] if isinstance(e, nodes.DenyIf))
        given = _required(self.policy.when)
        self.contradictions(f"rule '{rule.id}'",
                            [*given, *_required((*rule.when, *fires)), *_exempting(rule.unless)],
                            given)
        for effect in effects:
            if isinstance(effect, nodes.AllowOnly):
                self.window(effect.window)
            else:
                self.condition(effect.condition)

    def contradictions(self, owner: str, tests: list[_Test], given: list[_Test]) -> None:
        """Field tests that must all pass but ask one field for values no call can have.

        ``given`` lead ``tests`` and were checked on their own before (a rule's policy's
        ``when`` lines): a contradiction among them alone was reported for the policy.
        """
        known = {id(test) for test in given}
        per_field: dict[str, list[_Test]] = {}
        done: set[str] = set()
        for test in tests:
            name = test.atom.field.name
            earlier = per_field.setdefault(name, [])
            earlier.append(test)
            if name in done or _satisfiable(earlier):
                continue
            done.add(name)  # one report per field
            if id(test) in known:
                continue
            culprits = sorted([*_culprits(earlier[:-1], test), test],
                              key=lambda t: (t.written.span.line, t.written.span.column))
            named = " and ".join(f"'{t.text}' (line {t.written.span.line})" for t in culprits)
            every = "both" if len(culprits) == 2 else "all of"
            self.error("RF501", f"{owner} never applies: no value of {name} passes {every} "
                       f"{named}", culprits[-1].written.span)

    # -- windows --
    def window(self, window: nodes.Window) -> None:
        days_seen: dict[int, nodes.DayHours] = {}
        for line in window.day_hours:
            for day in line.days:
                if day in days_seen:
                    self.error("RF403", f"{nodes.WEEKDAYS[day]} already has hours at line "
                               f"{days_seen[day].span.line}", line.span)
                days_seen.setdefault(day, line)
            self.intervals(line.intervals)
        for part in window.parts:
            if isinstance(part, nodes.ZoneSpec) and part.zone:
                self.zone(part)
            elif isinstance(part, nodes.Closed) and part.kind == "calendar":
                check_calendar_uses(self.policy, part, self.error)
        closed_days = {c.day for c in window.closed if c.kind == "day"}
        if not window.day_hours:
            self.error("RF501", "the window gives no hours, so no call is ever allowed",
                       window.span)
        elif all(d in closed_days for d in days_seen):
            self.error("RF501", "every day with hours is also closed, so no call is ever allowed",
                       window.span)

    def zone(self, part: nodes.ZoneSpec) -> None:
        try:
            load_zone(part.zone or "")
        except (ZoneInfoNotFoundError, ValueError):
            self.error("RF405", f"'{part.zone}' is not a known time zone", part.span,
                       did_you_mean(part.zone or "", available_timezones()))

    def intervals(self, intervals: tuple[nodes.Interval, ...]) -> None:
        good = []
        for interval in intervals:
            start, end = interval.start, interval.end
            ok = True
            for time in (start, end):
                if time.seconds > _DAY_SECONDS:
                    self.error("RF402", f"{time.raw} is past the end of the day", time.span)
                    ok = False
            if start.seconds >= _DAY_SECONDS:
                self.error("RF402", f"a window cannot start at {start.raw}", start.span)
                ok = False
            if ok and end.seconds <= start.seconds:
                self.error("RF401", f"the window ends at {end.raw}, not after its start "
                           f"{start.raw}", end.span)
                ok = False
            if ok:
                good.append(interval)
        good.sort(key=lambda i: i.start.seconds)
        for before, after in itertools.pairwise(good):
            if after.start.seconds < before.end.seconds or (
                after.start.seconds == before.end.seconds and before.end_inclusive
            ):
                self.error("RF404", f"{after.start.raw} to {after.end.raw} overlaps "
                           f"{before.start.raw} to {before.end.raw}", after.span)

    # -- conditions --
    def condition(self, condition: nodes.Condition) -> None:
        deepest = _too_deep(condition)
        if deepest is not None:
            self.error("RF307", f"conditions nest more than {MAX_NESTING} deep here", deepest.span)
            return
        for node in _walk(condition):
            match node:
                case nodes.Is() | nodes.Presence() | nodes.Compare() | nodes.FieldAge():
                    self.field_use(node)
                case nodes.OnList(name=name, span=span) | nodes.ListChecked(name=name, span=span) \
                        | nodes.OnListAtWash(name=name, span=span):
                    self.list_name(name, span)
                case nodes.Consent(kind=kind, purpose=purpose, span=span):
                    if kind is not None and kind not in CONSENT_TYPES:
                        self.error("RF305", f"'{kind}' is not a kind of consent", span,
                                   did_you_mean(kind, CONSENT_TYPES))
                    if purpose is not None:
                        self.purpose(purpose, "consent.purposes", span)
                case nodes.OptedOut(purpose=purpose, span=span) if purpose is not None:
                    self.purpose(purpose, "opt_outs.purposes", span)
                case nodes.LastEvent():
                    if node.event not in EVENTS:
                        self.error("RF305", f"'{node.event}' is not an event Ringfence knows",
                                   node.event_span, did_you_mean(node.event, EVENTS))
                    self.filters(node.filters)
                case nodes.HolidayToday():
                    check_calendar_uses(self.policy, node, self.error)
                case nodes.CountAttempts():
                    self.filters(node.filters)
                    self.duration(node.window)
                    if node.number < 0:
                        self.error("RF306", f"'{node.written}' is not a whole number from 0 to "
                                   f"{LARGEST_NUMBER:,} written with the digits 0-9", node.span)
                    if node.op not in (">=", ">", "=", "<", "<=", "!="):
                        self.error("RF303", f"'{node.op}' cannot compare a count", node.span)
            for duration in _durations(node):
                self.duration(duration)

    def list_name(self, name: str, span: Span) -> None:
        if name not in self.lists:
            self.error("RF304", f"the list '{name}' is not declared (uses list {name})", span,
                       did_you_mean(name, self.lists))

    def filters(self, filters: tuple[nodes.Filter, ...]) -> None:
        for item in filters:
            if isinstance(item, nodes.Same) and item.what not in SAME:
                self.error("RF305", f"'with same {item.what}' is not a history filter", item.span,
                           did_you_mean(item.what, SAME))
            if isinstance(item, nodes.Outcome):
                for value in item.values:
                    if value.raw not in OUTCOMES:
                        self.error("RF302", f"'{value.raw}' is not a call outcome", value.span,
                                   did_you_mean(value.raw, OUTCOMES))

    def duration(self, duration: nodes.Duration) -> None:
        check_calendar_uses(self.policy, duration, self.error)
        if duration.amount < 0:
            self.error("RF306", f"'{duration.written}' is not a whole number from 1 to "
                       f"{LARGEST_NUMBER:,} written with the digits 0-9", duration.span)
            return
        if duration.amount * _UNIT_DAYS[duration.unit] > _LONGEST_DAYS:
            self.error("RF306", f"a duration of {duration} is longer than the 100 years a rule "
                       "may measure", duration.span)
        if duration.amount == 0:
            self.error("RF306", f"a duration of {duration} is always over", duration.span)
        if duration.kind != "plain" and duration.unit not in _DAY_UNITS:
            self.error("RF306", f"'{duration.kind}' goes with days, not {duration.unit}s",
                       duration.span)

    def field_use(self, node: nodes.Is | nodes.Presence | nodes.Compare | nodes.FieldAge) -> None:
        name = node.field.name
        field = FIELDS.get(name)
        kind = None if field is None else field.kind
        if kind is None:
            self.error("RF301", f"'{name}' is not a field of a call", node.field.span,
                       did_you_mean(name, FIELDS))
            return
        if isinstance(node, nodes.Is):
            for value in node.values:
                self.value(name, kind, value)
        elif isinstance(node, nodes.Compare):
            if kind != "time" or node.value.kind != "date":
                self.error("RF303", f"'{name}' cannot be compared with '{node.op}' to "
                           f"{node.value.raw}; only timestamps compare, with dates", node.span)
        elif isinstance(node, nodes.FieldAge) and kind != "time":
            self.error("RF303", f"'{name}' is not a timestamp, so it has no age", node.span)

    def value(self, name: str, kind: str, value: nodes.Value) -> None:
        if kind == "enum":
            allowed = FIELDS[name].vocabulary or frozenset()
            if value.raw not in allowed:
                self.error("RF302", f"'{value.raw}' is not a value of {name}", value.span,
                           did_you_mean(value.raw, allowed))
        elif kind == "bool":
            if value.raw not in ("true", "false"):
                self.error("RF303", f"{name} is true or false, not '{value.raw}'", value.span)
        elif kind == "time":
            self.error("RF303", f"{name} is a timestamp: compare it with a date (<, >=) or "
                       "give its age (within …)", value.span)
        elif kind == "name" and FIELDS[name].words == PURPOSES.name:
            self.purpose(value.raw, name, value.span)
        elif kind == "region" and not _REGION.match(value.raw):
            self.error("RF303", f"{name} holds codes like US or US-FL, not '{value.raw}'",
                       value.span)


@functools.cache
def _subdivisions(country: str) -> frozenset[str]:
    """ISO 3166-2 subdivision codes of a country, as the holidays package knows them."""
    try:
        return frozenset(holidays.country_holidays(country).subdivisions)
    except NotImplementedError:
        return frozenset()


@dataclasses.dataclass(frozen=True, slots=True)
class _Test:
    """A field test every call a rule (or policy) applies to passes: ``atom``, negated or not,
    as ``written`` (the atom itself, or ``not`` it; an ``unless`` line when ``exempts``)."""

    written: nodes.Condition
    atom: nodes.Is
    negated: bool
    exempts: bool = False

    @property
    def values(self) -> frozenset[object]:
        """The values as the engine compares them with the call's (``true`` is a boolean)."""
        return frozenset(literal(v) for v in self.atom.values)

    @property
    def text(self) -> str:
        return ("unless " if self.exempts else "") + self.written.unparse()


def _tests(condition: nodes.Condition) -> Iterator[_Test]:
    """The field tests a condition's top-level ``and``s require (``not`` of a test flips it:
    not unknown is unknown, so a missing field passes neither)."""
    match condition:
        case nodes.And():
            for item in condition.items:
                yield from _tests(item)
        case nodes.Is():
            yield _Test(condition, condition, condition.negated)
        case nodes.Not(item=nodes.Is() as atom):
            yield _Test(condition, atom, not atom.negated)


def _required(conditions: Iterable[nodes.Condition]) -> list[_Test]:
    """The field tests ``when`` lines (all must hold) require."""
    return [test for condition in conditions for test in _tests(condition)]


def _exempting(conditions: Iterable[nodes.Condition]) -> list[_Test]:
    """The field tests ``unless`` lines require: an ``unless`` that is a single test exempts
    every call that passes it, so the rule applies only to calls that fail it. (An ``unless``
    of several tests joined by ``and`` fails in more than one way: no single test follows.)"""
    found = []
    for condition in conditions:
        tests = list(_tests(condition))
        if len(tests) == 1 and tests[0].written is condition:
            test = tests[0]
            found.append(_Test(condition, test.atom, not test.negated, exempts=True))
    return found


def _satisfiable(tests: list[_Test]) -> bool:
    """Whether some value of one field passes all of ``tests`` (an unconstrained field can
    always take a value none of the ``is not`` tests name)."""
    allowed: frozenset[object] | None = None
    excluded: set[object] = set()
    for test in tests:
        if test.negated:
            excluded |= test.values
        else:
            allowed = test.values if allowed is None else allowed & test.values
    return allowed is None or bool(allowed - excluded)


def _culprits(earlier: list[_Test], last: _Test) -> list[_Test]:
    """As few of the ``earlier`` tests as still contradict ``last`` (each one needed)."""
    kept = list(earlier)
    for test in earlier:
        rest = [t for t in kept if t is not test]
        if not _satisfiable([*rest, last]):
            kept = rest
    return kept


class _Meaning(NamedTuple):
    """What a rule does to a decision, as text (see :func:`_meaning`)."""

    does: str
    level: str
    when: tuple[str, ...]
    unless: tuple[str, ...]
    citations: tuple[str, ...]
    effective: tuple[dt.date | None, dt.date | None]
    pending: bool


def _meaning(rule: nodes.Rule) -> _Meaning | None:
    """What a rule does to a decision, as text: two rules with the same meaning are one rule
    written twice. None for a rule without exactly one effect (reported on its own)."""
    if len(rule.effects) != 1:
        return None
    effect = rule.effects[0]
    match effect:
        case nodes.DenyIf():
            does = f"{effect.level} if {effect.condition.unparse()}"
        case nodes.Require():
            does = f"require {effect.condition.unparse()}"
        case nodes.AllowOnly():
            does = "allow only " + "; ".join(effect.window.lines())
    return _Meaning(does, rule.level, tuple(sorted(c.unparse() for c in rule.when)),
                    tuple(sorted(c.unparse() for c in rule.unless)), rule.citations,
                    rule.effective, rule.pending)


def _covers(broad: _Meaning, narrow: _Meaning) -> bool:
    """Whether the rule of meaning ``broad`` is violated wherever that of ``narrow`` is: the
    same effect, level, ``when`` lines, citations and status; ``narrow`` has every ``unless`` of
    ``broad`` (and maybe more) and is in force only within ``broad``'s dates. (A rule with more
    ``when`` lines is not covered: a ``when`` that is unknown violates it on its own.)"""
    (start, end), (n_start, n_end) = broad.effective, narrow.effective
    return (broad[:3] == narrow[:3] and broad.pending == narrow.pending
            and set(broad.unless) <= set(narrow.unless)
            and set(broad.citations) == set(narrow.citations)
            and (start is None or (n_start is not None and n_start >= start))
            and (end is None or (n_end is not None and n_end <= end)))


def _too_deep(condition: nodes.Condition) -> nodes.Condition | None:
    """The first condition nested deeper than :data:`MAX_NESTING` and/or/not, if any."""
    stack = [(condition, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            return node
        if isinstance(node, nodes.And | nodes.Or):
            stack.extend((item, depth + 1) for item in node.items)
        elif isinstance(node, nodes.Not):
            stack.append((node.item, depth + 1))
    return None


def _walk(condition: nodes.Condition) -> Iterator[nodes.Condition]:
    yield condition
    if isinstance(condition, nodes.And | nodes.Or):
        for item in condition.items:
            yield from _walk(item)
    elif isinstance(condition, nodes.Not):
        yield from _walk(condition.item)


def _durations(node: nodes.Condition) -> Iterator[nodes.Duration]:
    age = getattr(node, "age", None) or getattr(node, "listed", None)
    if isinstance(age, nodes.Age):
        yield age.first
        if age.second is not None:
            yield age.second


def check(policy: nodes.Policy, text: str) -> list[Diagnostic]:
    """Every problem in a parsed policy (empty when it is valid)."""
    checker = _Checker(policy, source_lines(text))
    checker.header()
    checker.rules()
    return sorted(checker.out, key=lambda d: (d.span.line, d.span.column))
