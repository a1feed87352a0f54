"""The pieces conditions are made of: literals, call fields, durations and ages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from ringfence.errors import Span
from ringfence.language.nodes.base import Builder, Node, syntax

if TYPE_CHECKING:
    from ringfence.language.nodes.calendars import HolidayCalendar

_UNIT_SINGULAR = {
    "seconds": "second", "minutes": "minute", "hours": "hour", "days": "day", "weeks": "week",
    "months": "month", "years": "year",
}


def quoted(text: str) -> str:
    """``text`` as a policy string literal, with ``"`` and ``\\`` escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@syntax("word", "string_value", "number", "date_value")
@dataclass(frozen=True, slots=True)
class Value(Node):
    """A literal in a condition: a bare word, a quoted string, a number or a date."""

    kind: Literal["word", "string", "number", "date"]
    raw: str
    span: Span

    @property
    def text(self) -> str:
        """The value as text (quotes removed from strings)."""
        return self.raw

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Value:
        (token,) = items
        match rule:
            case "string_value":
                return cls("string", b.string(token), span)
            case "date_value":
                b.date(token)  # reports a date that is not in the calendar
                return cls("date", str(token), span)
            case "number":
                return cls("number", str(token), span)
        return cls("word", str(token), span)

    def unparse(self) -> str:
        """The literal as written in a policy (strings quoted)."""
        return quoted(self.raw) if self.kind == "string" else self.raw


@syntax("field", "from_field")
@dataclass(frozen=True, slots=True)
class FieldRef(Node):
    """A call field: ``purpose``, ``relationship.contract_active``."""

    path: tuple[str, ...]
    span: Span

    @property
    def name(self) -> str:
        return ".".join(self.path)

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> FieldRef:
        # `from` is a keyword of the language, so the grammar spells that field out.
        return cls(("from",) if rule == "from_field" else tuple(str(t) for t in items), span)


DurationKind = Literal["plain", "calendar", "business"]


@syntax("plain_duration", "calendar_duration", "business_duration")
@dataclass(frozen=True, slots=True)
class Duration(Node):
    """``31 days``, ``10 business days``, ``7 calendar days``."""

    amount: int
    unit: str  # singular: second minute hour day week month year
    kind: DurationKind
    span: Span
    written: str = ""  # the number as written; the checker rejects one that is not whole
    # ``10 business days excluding NAME``: business days are then Monday to Friday except the
    # days of the policy's holiday calendar NAME (bound to ``definition`` once the policy is
    # built), instead of the public holidays of the ``holidays`` package.
    calendar: str | None = None
    definition: HolidayCalendar | None = None

    def __str__(self) -> str:
        prefix = "" if self.kind == "plain" else f"{self.kind} "
        plural = "" if self.amount == 1 else "s"
        excluding = f" excluding {self.calendar}" if self.calendar else ""
        return f"{self.amount} {prefix}{self.unit}{plural}{excluding}"

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Duration:
        number, unit, *calendar = items
        kind = cast(DurationKind, rule.removesuffix("_duration"))
        unit_text = str(unit)
        return cls(whole_number(str(number)), _UNIT_SINGULAR.get(unit_text, unit_text), kind, span,
                   str(number), str(calendar[0]) if calendar else None)


# Larger counts and amounts than any law states, and than the engine's instant arithmetic takes.
LARGEST_NUMBER = 1_000_000


def whole_number(text: str) -> int:
    """A number as written, when it is a whole number in the digits 0-9 no larger than
    :data:`LARGEST_NUMBER`; else -1 (the checker says what is wrong with it)."""
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(LARGEST_NUMBER)):
        return -1
    return int(text) if int(text) <= LARGEST_NUMBER else -1


AgeKind = Literal["within", "more_than_ago", "at_least_ago", "less_than_ago", "between_ago"]


@syntax("within", "more_than_ago", "at_least_ago", "less_than_ago", "between_ago")
@dataclass(frozen=True, slots=True)
class Age(Node):
    """How long ago something happened, relative to the call: ``within 3 months`` and friends."""

    kind: AgeKind
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

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Age:
        # The grammar rules are named after the kinds.
        return cls(cast(AgeKind, rule), items[0], items[1] if len(items) > 1 else None, span)
