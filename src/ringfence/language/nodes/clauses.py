"""Clauses, rules and policies.

Each keyword clause is its own class (``keyword`` is how diagnostics name it). Rules and policies
keep their clauses in source order (the formatter and the checker need them); their properties
give the compiler the structured view.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar, cast

from ringfence.errors import Span
from ringfence.language.nodes.base import Builder, Condition, Node, syntax
from ringfence.language.nodes.values import Value
from ringfence.language.nodes.windows import Window, WindowPart

# ---- effects ---------------------------------------------------------------------------------


@syntax("deny_if", "warn_if")
@dataclass(frozen=True, slots=True)
class DenyIf(Node):
    """``deny if C`` (level deny) or ``warn if C`` (level warn)."""

    condition: Condition
    level: Literal["deny", "warn"]
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> DenyIf:
        return cls(items[0], "warn" if rule == "warn_if" else "deny", span)


@syntax("require")
@dataclass(frozen=True, slots=True)
class Require(Node):
    condition: Condition
    span: Span


@syntax("allow_only")
@dataclass(frozen=True, slots=True)
class AllowOnly(Node):
    window: Window
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> AllowOnly:
        # One `closed on a, b, c` part stands for several (the parser gives it as a list).
        parts: list[WindowPart] = []
        for item in items:
            parts.extend(item if isinstance(item, list) else [item])
        return cls(Window(tuple(parts), span), span)


Effect = DenyIf | Require | AllowOnly

# ---- keyword clauses -------------------------------------------------------------------------


class Clause(Node):
    """A keyword clause of a rule or of a policy's header."""

    __slots__ = ()
    #: The clause's keyword, as diagnostics name it.
    keyword: ClassVar[str]


def _strings(items: Sequence[Any], b: Builder) -> tuple[str, ...]:
    return tuple(b.string(t) for t in items)


@syntax("cite")
@dataclass(frozen=True, slots=True)
class Cite(Clause):
    """``cite "…", "…"``: the legal sources of a rule."""

    texts: tuple[str, ...]
    span: Span
    keyword: ClassVar[str] = "cite"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Cite:
        return cls(_strings(items, b), span)


@syntax("level")
@dataclass(frozen=True, slots=True)
class Level(Clause):
    """``level deny`` / ``level warn``."""

    level: Literal["deny", "warn"]
    span: Span
    keyword: ClassVar[str] = "level"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Level:
        return cls("warn" if str(items[0]) == "warn" else "deny", span)


@syntax("effective_from", "effective_until")
@dataclass(frozen=True, slots=True)
class Effective(Clause):
    """``effective from D [until D]`` / ``effective until D`` (``None``: open, or not a date)."""

    start: dt.date | None
    end: dt.date | None
    span: Span
    keyword: ClassVar[str] = "effective"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Effective:
        if rule == "effective_until":
            return cls(None, b.date(items[0]), span)
        return cls(b.date(items[0]), b.date(items[1]) if len(items) > 1 else None, span)


@syntax("when")
@dataclass(frozen=True, slots=True)
class When(Clause):
    """``when C``: the rule (or, in the header, the policy) applies only to calls where C holds."""

    condition: Condition
    span: Span
    keyword: ClassVar[str] = "when"


@syntax("unless")
@dataclass(frozen=True, slots=True)
class Unless(Clause):
    condition: Condition
    span: Span
    keyword: ClassVar[str] = "unless"


@dataclass(frozen=True, slots=True)
class TextClause(Clause):
    """A clause that holds one quoted text: ``message``, ``disclaimer``, ``note``."""

    text: str
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> TextClause:
        return cls(b.string(items[0]), span)


@syntax("message")
@dataclass(frozen=True, slots=True)
class Message(TextClause):
    keyword: ClassVar[str] = "message"


@syntax("version")
@dataclass(frozen=True, slots=True)
class Version(Clause):
    text: str
    span: Span
    keyword: ClassVar[str] = "version"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Version:
        (token,) = items
        return cls(b.string(token) if token.type == "STRING" else str(token), span)


@syntax("applies_to")
@dataclass(frozen=True, slots=True)
class AppliesTo(Clause):
    """``applies to US, US-FL``: each code keeps its own span for diagnostics."""

    jurisdictions: tuple[Value, ...]
    span: Span
    keyword: ClassVar[str] = "applies to"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> AppliesTo:
        return cls(tuple(Value("word", str(t), b.span(t)) for t in items), span)


@syntax("source")
@dataclass(frozen=True, slots=True)
class Source(Clause):
    texts: tuple[str, ...]
    span: Span
    keyword: ClassVar[str] = "source"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Source:
        return cls(_strings(items, b), span)


@syntax("disclaimer")
@dataclass(frozen=True, slots=True)
class Disclaimer(TextClause):
    keyword: ClassVar[str] = "disclaimer"


@syntax("note")
@dataclass(frozen=True, slots=True)
class Note(TextClause):
    keyword: ClassVar[str] = "note"


@dataclass(frozen=True, slots=True)
class Declaration(Clause):
    """``uses KIND a, b``: names the policy declares (``KIND`` agrees with their number)."""

    names: tuple[Value, ...]
    span: Span
    keyword: ClassVar[str] = "uses"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Declaration:
        _kind_keyword, *names = items
        return cls(tuple(Value("word", str(t), b.span(t)) for t in names), span)


@syntax("uses_lists")
@dataclass(frozen=True, slots=True)
class UsesLists(Declaration):
    """``uses list a`` / ``uses lists a, b``: the number lists the policy's conditions name."""


@syntax("uses_purposes")
@dataclass(frozen=True, slots=True)
class UsesPurposes(Declaration):
    """``uses purpose a`` / ``uses purposes a, b``: purposes the policy names besides those of
    the call contract's vocabulary; calls to a policy set that loads it may then give them."""


@syntax("include")
@dataclass(frozen=True, slots=True)
class Include(Clause):
    """``include ID`` (a policy beside this one, or shipped) or ``include "PATH"``."""

    target: str
    is_path: bool
    span: Span
    keyword: ClassVar[str] = "include"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Include:
        (token,) = items
        is_path = token.type == "STRING"
        return cls(b.string(token) if is_path else str(token), is_path, span)


@syntax("exclude")
@dataclass(frozen=True, slots=True)
class Exclude(Clause):
    """``exclude rule ID``: drop an included rule."""

    rule_id: str
    span: Span
    keyword: ClassVar[str] = "exclude"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Exclude:
        # Placed at the rule id, which is what a diagnostic points at.
        return cls(str(items[0]), b.span(items[0]))


# ---- kept like law: where a rule's text is, how sure it is, when it was read, its changes ----

VerificationLevel = Literal["verified", "secondary", "unverified"]


@syntax("url")
@dataclass(frozen=True, slots=True)
class Url(TextClause):
    """``url "https://…"``: where the rule's legal text can be read."""

    keyword: ClassVar[str] = "url"


@syntax("verification")
@dataclass(frozen=True, slots=True)
class Verification(Clause):
    """``verification verified|secondary|unverified``: the law's own text was read (FACTS.md H,
    V1), only secondary sources agree (M, V2), or nobody confirmed it (L)."""

    level: VerificationLevel
    span: Span
    keyword: ClassVar[str] = "verification"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Verification:
        return cls(cast(VerificationLevel, str(items[0])), span)


@syntax("reviewed")
@dataclass(frozen=True, slots=True)
class Reviewed(Clause):
    """``reviewed DATE``: when the rule was last checked against the law."""

    date: dt.date | None
    span: Span
    keyword: ClassVar[str] = "reviewed"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Reviewed:
        return cls(b.date(items[0]), span)


@syntax("status")
@dataclass(frozen=True, slots=True)
class Status(Clause):
    """``status pending``: the rule is not law in force yet (a bill, a waived or stayed rule);
    it only ever warns, with its expected start (``effective from``) when known."""

    status: Literal["pending"]
    span: Span
    keyword: ClassVar[str] = "status"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Status:
        return cls("pending", span)


@syntax("changelog")
@dataclass(frozen=True, slots=True)
class Changelog(Clause):
    """``changelog DATE "what changed and why"``: one entry of the policy's change history."""

    date: dt.date | None
    text: str
    span: Span
    keyword: ClassVar[str] = "changelog"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Changelog:
        return cls(b.date(items[0]), b.string(items[1]), span)


RuleClause = (
    Cite | Level | Effective | When | Unless | Message | DenyIf | Require | AllowOnly | Url
    | Verification | Reviewed | Status
)
# (A policy's header also holds holiday calendars: nodes.calendars.HolidayCalendar, which
# derives from Clause and is kept out of this union only because it is defined after it.)
HeaderClause = (
    Version | AppliesTo | Effective | Source | Disclaimer | Note | UsesLists | UsesPurposes
    | Include | Exclude | When | Changelog
)

C = TypeVar("C", bound=Node)


def _of_kind(clauses: Sequence[Node], kind: type[C]) -> list[C]:
    return [c for c in clauses if isinstance(c, kind)]


def _last(found: list[C]) -> C | None:
    return found[-1] if found else None


def _dates(found: list[Effective]) -> tuple[dt.date | None, dt.date | None]:
    """The dates of the last ``effective`` clause (the checker reports any other)."""
    return (found[-1].start, found[-1].end) if found else (None, None)


# ---- rules and policies ----------------------------------------------------------------------


@syntax("rule")
@dataclass(frozen=True, slots=True)
class Rule(Node):
    id: str
    title: str
    clauses: tuple[RuleClause, ...]
    span: Span
    id_span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Rule:
        rid, title, *clauses = items
        return cls(str(rid), b.string(title), tuple(clauses), span, b.span(rid))

    def all(self, kind: type[C]) -> list[C]:
        """The clauses of one kind, in source order."""
        return _of_kind(self.clauses, kind)

    @property
    def citations(self) -> tuple[str, ...]:
        return tuple(text for c in self.all(Cite) for text in c.texts)

    @property
    def effects(self) -> tuple[Effect, ...]:
        return tuple(c for c in self.clauses if isinstance(c, DenyIf | Require | AllowOnly))

    @property
    def level(self) -> Literal["deny", "warn"]:
        effects = self.effects
        if effects and isinstance(effects[0], DenyIf):
            return effects[0].level
        level = _last(self.all(Level))
        return level.level if level else "deny"

    @property
    def when(self) -> tuple[Condition, ...]:
        return tuple(c.condition for c in self.all(When))

    @property
    def unless(self) -> tuple[Condition, ...]:
        return tuple(c.condition for c in self.all(Unless))

    @property
    def message(self) -> str | None:
        found = self.all(Message)
        return found[0].text if found else None

    @property
    def effective(self) -> tuple[dt.date | None, dt.date | None]:
        return _dates(self.all(Effective))

    @property
    def pending(self) -> bool:
        """``status pending``: not law in force; the rule only warns."""
        return bool(self.all(Status))

    @property
    def url(self) -> str | None:
        found = _last(self.all(Url))
        return found.text if found else None

    @property
    def verification(self) -> VerificationLevel | None:
        found = _last(self.all(Verification))
        return found.level if found else None

    @property
    def reviewed(self) -> dt.date | None:
        found = _last(self.all(Reviewed))
        return found.date if found else None


@syntax("policy")
@dataclass(frozen=True, slots=True)
class Policy(Node):
    id: str
    title: str
    clauses: tuple[HeaderClause, ...]
    rules: tuple[Rule, ...]
    span: Span
    id_span: Span
    comments: tuple[tuple[int, str], ...] = ()

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Policy:
        pid, title, *rest = items
        clauses = tuple(cast(HeaderClause, x) for x in rest if not isinstance(x, Rule))
        rules = tuple(x for x in rest if isinstance(x, Rule))
        return cls(str(pid), b.string(title), clauses, rules, span, b.span(pid))

    def all(self, kind: type[C]) -> list[C]:
        """The header clauses of one kind, in source order."""
        return _of_kind(self.clauses, kind)

    @property
    def version(self) -> str | None:
        found = _last(self.all(Version))
        return found.text if found else None

    @property
    def jurisdictions(self) -> tuple[str, ...]:
        return tuple(v.raw for c in self.all(AppliesTo) for v in c.jurisdictions)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(text for c in self.all(Source) for text in c.texts)

    @property
    def disclaimer(self) -> str | None:
        found = _last(self.all(Disclaimer))
        return found.text if found else None

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(c.text for c in self.all(Note))

    @property
    def lists(self) -> tuple[str, ...]:
        return tuple(v.raw for c in self.all(UsesLists) for v in c.names)

    @property
    def purposes(self) -> tuple[str, ...]:
        """The purposes the policy declares (``uses purposes …``)."""
        return tuple(v.raw for c in self.all(UsesPurposes) for v in c.names)

    @property
    def includes(self) -> tuple[Include, ...]:
        return tuple(self.all(Include))

    @property
    def excludes(self) -> tuple[Exclude, ...]:
        return tuple(self.all(Exclude))

    @property
    def when(self) -> tuple[Condition, ...]:
        return tuple(c.condition for c in self.all(When))

    @property
    def effective(self) -> tuple[dt.date | None, dt.date | None]:
        return _dates(self.all(Effective))
