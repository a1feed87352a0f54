"""Conditions: each kind is built from its grammar rule(s) and prints itself back to text.

Adding a kind of condition:

1. ``grammar/ringfence.lark``: an alternative of ``?atom`` ending in ``-> its_alias``.
2. Here: a frozen dataclass deriving from :class:`Condition`, decorated ``@syntax("its_alias")``,
   whose last field is ``span``; a ``build`` classmethod (not needed when the fields are the
   rule's items in order), and ``unparse`` (explain quotes it). The parser, the formatter
   (which works on tokens) and :mod:`ringfence.language.unparse` need no change.
3. ``checker.py``: a ``case`` in ``_Checker.condition`` if its words or fields need checking.
4. The engine: how it is evaluated.
5. ``docs/language.md``: the user's reference.

A new keyword word (a literal in the grammar) must also be known to the highlighters
(``tools/highlight.py`` ``KEYWORDS``, the TextMate grammar in ``editors/``); tests keep them in step.

``tests/test_language.py`` adds one this way (``dialed by WORD``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ringfence.errors import Span
from ringfence.language.nodes.base import Builder, Condition, Node, syntax
from ringfence.language.nodes.values import Age, Duration, FieldRef, Value, whole_number

__all__ = [
    "And",
    "Compare",
    "Consent",
    "CountAttempts",
    "FieldAge",
    "Filter",
    "Is",
    "Junction",
    "LastEvent",
    "ListChecked",
    "Not",
    "OnList",
    "OnListAtWash",
    "OptedOut",
    "Or",
    "Outcome",
    "Presence",
    "Same",
]


def _operand(item: Condition, parent: Condition) -> str:
    """A sub-condition's text, in parentheses when it binds less tightly than its parent."""
    text = item.unparse()
    return f"({text})" if item.binding < parent.binding else text


def _values(values: Sequence[Value]) -> str:
    return ", ".join(v.unparse() for v in values)


def _purpose(purpose: str | None) -> str:
    return "this purpose" if purpose is None else purpose


# ---- junctions -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Junction(Condition):
    """``A or B`` / ``A and B``: two or more operands joined by one word."""

    items: tuple[Condition, ...]
    span: Span
    word: ClassVar[str]

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Condition:
        # The rule also matches a single operand (no `or`/`and`): that is the operand itself.
        return items[0] if len(items) == 1 else cls(tuple(items), span)

    def unparse(self) -> str:
        return f" {self.word} ".join(_operand(i, self) for i in self.items)


@syntax("or_")
@dataclass(frozen=True, slots=True)
class Or(Junction):
    binding: ClassVar[int] = 0
    word: ClassVar[str] = "or"


@syntax("and_")
@dataclass(frozen=True, slots=True)
class And(Junction):
    binding: ClassVar[int] = 1
    word: ClassVar[str] = "and"


@syntax("not_")
@dataclass(frozen=True, slots=True)
class Not(Condition):
    item: Condition
    span: Span
    binding: ClassVar[int] = 2

    def unparse(self) -> str:
        return f"not {_operand(self.item, self)}"


# ---- call fields -----------------------------------------------------------------------------


@syntax("is_", "is_not", "one_of", "not_one_of")
@dataclass(frozen=True, slots=True)
class Is(Condition):
    """``FIELD is V`` / ``is not V`` / ``is one of V, …`` / ``is not one of …``."""

    field: FieldRef
    values: tuple[Value, ...]
    negated: bool
    one_of: bool
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Is:
        field, values = items
        one_of = rule in ("one_of", "not_one_of")
        negated = rule in ("is_not", "not_one_of")
        return cls(field, tuple(values) if one_of else (values,), negated, one_of, span)

    def unparse(self) -> str:
        verb = "is not" if self.negated else "is"
        if self.one_of:
            return f"{self.field.name} {verb} one of {_values(self.values)}"
        return f"{self.field.name} {verb} {self.values[0].unparse()}"


@syntax("is_present", "is_missing")
@dataclass(frozen=True, slots=True)
class Presence(Condition):
    """``FIELD is present`` / ``FIELD is missing``."""

    field: FieldRef
    present: bool
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Presence:
        return cls(items[0], rule == "is_present", span)

    def unparse(self) -> str:
        return f"{self.field.name} is {'present' if self.present else 'missing'}"


@syntax("compare")
@dataclass(frozen=True, slots=True)
class Compare(Condition):
    """``FIELD >= VALUE`` and the other operators."""

    field: FieldRef
    op: str
    value: Value
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Compare:
        field, op, value = items
        return cls(field, str(op), value, span)

    def unparse(self) -> str:
        return f"{self.field.name} {self.op} {self.value.unparse()}"


@syntax("field_age")
@dataclass(frozen=True, slots=True)
class FieldAge(Condition):
    """``relationship.last_transaction_at within 18 months``."""

    field: FieldRef
    age: Age
    span: Span

    def unparse(self) -> str:
        return f"{self.field.name} {self.age}"


# ---- lists and consent -----------------------------------------------------------------------


@syntax("on_list")
@dataclass(frozen=True, slots=True)
class OnList(Condition):
    """``callee on list NAME [listed AGE]``."""

    name: str
    listed: Age | None
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> OnList:
        return cls(str(items[0]), items[1] if len(items) > 1 else None, span)

    def unparse(self) -> str:
        return f"callee on list {self.name}" + (f" listed {self.listed}" if self.listed else "")


@syntax("on_list_at_wash")
@dataclass(frozen=True, slots=True)
class OnListAtWash(Condition):
    """``callee on list NAME as of last wash``: on the list as the caller's last copy of it
    had it, that is listed no later than ``lists_checked_at.NAME`` (a number registered after
    the caller's last wash is not on the list yet for that caller)."""

    name: str
    span: Span

    def unparse(self) -> str:
        return f"callee on list {self.name} as of last wash"


@syntax("list_checked")
@dataclass(frozen=True, slots=True)
class ListChecked(Condition):
    """``list NAME checked AGE``."""

    name: str
    age: Age
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> ListChecked:
        return cls(str(items[0]), items[1], span)

    def unparse(self) -> str:
        return f"list {self.name} checked {self.age}"


# ``None`` purpose means "this purpose": the call's own purpose.
@syntax("consent")
@dataclass(frozen=True, slots=True)
class Consent(Condition):
    """``consent [TYPE] for PURPOSE``."""

    kind: str | None
    purpose: str | None
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Consent:
        return cls(str(items[0]) if len(items) > 1 else None, items[-1], span)

    def unparse(self) -> str:
        return "consent " + (f"{self.kind} " if self.kind else "") + f"for {_purpose(self.purpose)}"


@syntax("opted_out")
@dataclass(frozen=True, slots=True)
class OptedOut(Condition):
    """``opted out [for PURPOSE] [AGE]``; ``any_purpose`` when no ``for`` is given."""

    any_purpose: bool
    purpose: str | None
    age: Age | None
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> OptedOut:
        age = items[-1] if items and isinstance(items[-1], Age) else None
        purposes = [x for x in items if not isinstance(x, Age)]
        if not purposes:
            return cls(True, None, age, span)
        return cls(False, purposes[0], age, span)

    def unparse(self) -> str:
        text = "opted out" + ("" if self.any_purpose else f" for {_purpose(self.purpose)}")
        return text + (f" {self.age}" if self.age else "")


# ---- call history ----------------------------------------------------------------------------


@syntax("same")
@dataclass(frozen=True, slots=True)
class Same(Node):
    """History filter ``with same subject`` (or campaign, purpose)."""

    what: str
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Same:
        # Placed at the word, which is what a diagnostic points at.
        return cls(str(items[0]), b.span(items[0]))

    def unparse(self) -> str:
        return f"with same {self.what}"


@syntax("outcome")
@dataclass(frozen=True, slots=True)
class Outcome(Node):
    """History filter ``with outcome conversation, voicemail``."""

    values: tuple[Value, ...]
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Outcome:
        return cls(tuple(items[0]), span)

    def unparse(self) -> str:
        return f"with outcome {_values(self.values)}"


Filter = Same | Outcome


def _filters(filters: Sequence[Filter]) -> str:
    return "".join(f" {f.unparse()}" for f in filters)


@syntax("last_event", "any_event")
@dataclass(frozen=True, slots=True)
class LastEvent(Condition):
    """``last EVENT [FILTER…] AGE``, or ``any EVENT [FILTER…]`` (``age`` None: ever before)."""

    event: str
    filters: tuple[Filter, ...]
    age: Age | None
    span: Span
    event_span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> LastEvent:
        event, *rest = items
        age = rest.pop() if rule == "last_event" else None
        return cls(str(event), tuple(rest), age, span, b.span(event))

    def unparse(self) -> str:
        if self.age is None:
            return f"any {self.event}{_filters(self.filters)}"
        return f"last {self.event}{_filters(self.filters)} {self.age}"


@syntax("count_attempts")
@dataclass(frozen=True, slots=True)
class CountAttempts(Condition):
    """``count of attempts [FILTER…] in last DURATION OP N``."""

    filters: tuple[Filter, ...]
    window: Duration
    op: str
    number: int
    span: Span
    written: str = ""  # the number as written; the checker rejects one that is not whole

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> CountAttempts:
        *filters, window, op, number = items
        return cls(tuple(filters), window, str(op), whole_number(str(number)), span, str(number))

    def unparse(self) -> str:
        return (f"count of attempts{_filters(self.filters)} in last {self.window} {self.op} "
                f"{self.number}")
