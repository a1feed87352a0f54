"""The syntax tree of a policy: frozen dataclasses, each with the span it came from.

Rules and policies keep their clauses in source order (the formatter and the checker need them);
properties give the compiler the structured view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from ringfence.errors import Span

# ---- values and durations ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Value:
    """A literal in a condition: a bare word, a quoted string, a number or a date."""

    kind: Literal["word", "string", "number", "date"]
    raw: str
    span: Span

    @property
    def text(self) -> str:
        """The value as text (quotes removed from strings)."""
        return self.raw


@dataclass(frozen=True, slots=True)
class Duration:
    """``31 days``, ``10 business days``, ``7 calendar days``."""

    amount: int
    unit: str  # singular: second minute hour day week month year
    kind: Literal["plain", "calendar", "business"]
    span: Span

    def __str__(self) -> str:
        prefix = "" if self.kind == "plain" else f"{self.kind} "
        plural = "" if self.amount == 1 else "s"
        return f"{self.amount} {prefix}{self.unit}{plural}"


@dataclass(frozen=True, slots=True)
class Age:
    """How long ago something happened, relative to the call: ``within 3 months`` and friends."""

    kind: Literal["within", "more_than_ago", "at_least_ago", "less_than_ago", "between_ago"]
    first: Duration
    second: Duration | None
    span: Span

    def __str__(self) -> str:
        match self.kind:
            case "within":
                return f"within {self.first}"
            case "more_than_ago":
                return f"more than {self.first} ago"
            case "at_least_ago":
                return f"at least {self.first} ago"
            case "less_than_ago":
                return f"less than {self.first} ago"
            case _:
                return f"between {self.first} and {self.second} ago"


# ---- conditions --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A call field: ``purpose``, ``relationship.contract_active``."""

    path: tuple[str, ...]
    span: Span

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Condition, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Condition, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition
    span: Span


@dataclass(frozen=True, slots=True)
class Is:
    """``FIELD is V`` / ``is not V`` / ``is one of V, …`` / ``is not one of …``."""

    field: FieldRef
    values: tuple[Value, ...]
    negated: bool
    one_of: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Presence:
    """``FIELD is present`` / ``FIELD is missing``."""

    field: FieldRef
    present: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Compare:
    """``FIELD >= VALUE`` and the other operators."""

    field: FieldRef
    op: str
    value: Value
    span: Span


@dataclass(frozen=True, slots=True)
class FieldAge:
    """``relationship.last_transaction_at within 18 months``."""

    field: FieldRef
    age: Age
    span: Span


@dataclass(frozen=True, slots=True)
class OnList:
    """``callee on list NAME [listed AGE]``."""

    name: str
    listed: Age | None
    span: Span


@dataclass(frozen=True, slots=True)
class ListChecked:
    """``list NAME checked AGE``."""

    name: str
    age: Age
    span: Span


# ``None`` purpose means "this purpose": the call's own purpose.
@dataclass(frozen=True, slots=True)
class Consent:
    """``consent [TYPE] for PURPOSE``."""

    kind: str | None
    purpose: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class OptedOut:
    """``opted out [for PURPOSE] [AGE]``; ``any_purpose`` when no ``for`` is given."""

    any_purpose: bool
    purpose: str | None
    age: Age | None
    span: Span


@dataclass(frozen=True, slots=True)
class Same:
    """History filter ``with same subject`` (or campaign, purpose)."""

    what: str
    span: Span


@dataclass(frozen=True, slots=True)
class Outcome:
    """History filter ``with outcome conversation, voicemail``."""

    values: tuple[Value, ...]
    span: Span


Filter = Same | Outcome


@dataclass(frozen=True, slots=True)
class LastEvent:
    """``last EVENT [FILTER…] AGE``, or ``any EVENT [FILTER…]`` (``age`` None: ever before)."""

    event: str
    filters: tuple[Filter, ...]
    age: Age | None
    span: Span
    event_span: Span


@dataclass(frozen=True, slots=True)
class CountAttempts:
    """``count of attempts [FILTER…] in last DURATION OP N``."""

    filters: tuple[Filter, ...]
    window: Duration
    op: str
    number: int
    span: Span


Condition = (
    And | Or | Not | Is | Presence | Compare | FieldAge | OnList | ListChecked | Consent | OptedOut
    | LastEvent | CountAttempts
)

# ---- calling windows ---------------------------------------------------------------------

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """``08:00`` or ``20:30:00``; ``seconds`` may exceed a day only in a malformed policy."""

    raw: str
    seconds: int
    span: Span


@dataclass(frozen=True, slots=True)
class Interval:
    start: TimeOfDay
    end: TimeOfDay
    end_inclusive: bool
    span: Span


@dataclass(frozen=True, slots=True)
class DayHours:
    """Hours for some weekdays (0 = Monday); ``every_day`` comes from ``between … and …``."""

    days: tuple[int, ...]
    days_text: str
    intervals: tuple[Interval, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Closed:
    """``closed on …``: weekdays, ``public holidays``, ``national public holidays``, dates."""

    kind: Literal["day", "public_holidays", "national_holidays", "date"]
    day: int | None
    date: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    """Where the window's clock is: the callee's local time (``zone`` None) or a fixed zone."""

    zone: str | None
    span: Span


WindowPart = DayHours | Closed | ZoneSpec


@dataclass(frozen=True, slots=True)
class Window:
    parts: tuple[WindowPart, ...]
    span: Span

    @property
    def day_hours(self) -> tuple[DayHours, ...]:
        return tuple(p for p in self.parts if isinstance(p, DayHours))

    @property
    def closed(self) -> tuple[Closed, ...]:
        return tuple(p for p in self.parts if isinstance(p, Closed))

    @property
    def zone(self) -> str | None:
        zones = [p.zone for p in self.parts if isinstance(p, ZoneSpec) and p.zone]
        return zones[-1] if zones else None


# ---- rules and policies ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DenyIf:
    """``deny if C`` (level deny) or ``warn if C`` (level warn)."""

    condition: Condition
    level: Literal["deny", "warn"]
    span: Span


@dataclass(frozen=True, slots=True)
class Require:
    condition: Condition
    span: Span


@dataclass(frozen=True, slots=True)
class AllowOnly:
    window: Window
    span: Span


Effect = DenyIf | Require | AllowOnly


@dataclass(frozen=True, slots=True)
class Clause:
    """A simple keyword clause: cite, level, effective, when, unless, message, and header ones."""

    keyword: str
    args: tuple[object, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    clauses: tuple[Clause | DenyIf | Require | AllowOnly, ...]
    span: Span
    id_span: Span

    def _all(self, keyword: str) -> list[Clause]:
        return [c for c in self.clauses if isinstance(c, Clause) and c.keyword == keyword]

    @property
    def citations(self) -> tuple[str, ...]:
        return tuple(str(a) for c in self._all("cite") for a in c.args)

    @property
    def effects(self) -> tuple[Effect, ...]:
        return tuple(c for c in self.clauses if isinstance(c, DenyIf | Require | AllowOnly))

    @property
    def level(self) -> Literal["deny", "warn"]:
        effects = self.effects
        if effects and isinstance(effects[0], DenyIf):
            return effects[0].level
        levels = self._all("level")
        return levels[-1].args[0] if levels else "deny"  # type: ignore[return-value]

    @property
    def when(self) -> tuple[Condition, ...]:
        return tuple(c.args[0] for c in self._all("when"))  # type: ignore[misc]

    @property
    def unless(self) -> tuple[Condition, ...]:
        return tuple(c.args[0] for c in self._all("unless"))  # type: ignore[misc]

    @property
    def message(self) -> str | None:
        found = self._all("message")
        return str(found[0].args[0]) if found else None

    @property
    def effective(self) -> tuple[dt.date | None, dt.date | None]:
        return _effective(self._all("effective"))


def _effective(clauses: list[Clause]) -> tuple[dt.date | None, dt.date | None]:
    if not clauses:
        return None, None
    start, end = clauses[-1].args
    return start, end  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class Policy:
    id: str
    title: str
    clauses: tuple[Clause, ...]
    rules: tuple[Rule, ...]
    span: Span
    id_span: Span
    comments: tuple[tuple[int, str], ...] = ()

    def _all(self, keyword: str) -> list[Clause]:
        return [c for c in self.clauses if c.keyword == keyword]

    def _strings(self, keyword: str) -> tuple[str, ...]:
        return tuple(a.raw if isinstance(a, Value) else str(a)
                     for c in self._all(keyword) for a in c.args)

    @property
    def version(self) -> str | None:
        found = self._all("version")
        return str(found[-1].args[0]) if found else None

    @property
    def jurisdictions(self) -> tuple[str, ...]:
        return self._strings("applies to")

    @property
    def sources(self) -> tuple[str, ...]:
        return self._strings("source")

    @property
    def disclaimer(self) -> str | None:
        found = self._all("disclaimer")
        return str(found[-1].args[0]) if found else None

    @property
    def notes(self) -> tuple[str, ...]:
        return self._strings("note")

    @property
    def lists(self) -> tuple[str, ...]:
        return self._strings("uses")

    @property
    def includes(self) -> tuple[Clause, ...]:
        return tuple(self._all("include"))

    @property
    def excludes(self) -> tuple[Clause, ...]:
        return tuple(self._all("exclude"))

    @property
    def when(self) -> tuple[Condition, ...]:
        return tuple(c.args[0] for c in self._all("when"))  # type: ignore[misc]

    @property
    def effective(self) -> tuple[dt.date | None, dt.date | None]:
        return _effective(self._all("effective"))
