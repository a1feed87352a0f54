"""What every syntax-tree node shares: its span, and the grammar rules it is built from.

A node class names the grammar rules (their ``-> alias`` names) it is built from with
:func:`syntax`, and builds itself from the pieces of such a rule in ``build``. The parser looks the
class up by the rule's name (:func:`builder_for`), so a new node needs no parser code. Conditions
also print themselves back to policy text (:meth:`Condition.unparse`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol, TypeVar

from lark import Token

from ringfence.errors import Span


class Builder(Protocol):
    """What a node needs from the parser while it builds itself."""

    def span(self, token: Token) -> Span:
        """The span of one token."""

    def string(self, token: Token) -> str:
        """The text of a quoted string token, quotes and escapes removed."""

    def date(self, token: Token) -> dt.date | None:
        """The date of a date token; ``None`` (with an RF406 diagnostic recorded) if invalid."""

    def error(self, code: str, message: str, span: Span) -> None:
        """Record a diagnostic: the node is built anyway, and parsing fails at the end."""


class Node:
    """A syntax-tree node. Subclasses are frozen dataclasses with a ``span`` field."""

    __slots__ = ()
    span: Span

    @classmethod
    def build(cls, rule: str, items: Sequence[Any], span: Span, b: Builder) -> Node:
        """The node for one match of grammar rule ``rule``.

        ``items`` are the rule's children as the parser left them (tokens for terminals, nodes
        or plain values for sub-rules; keywords dropped); ``span`` covers the whole match.
        The default passes the items, then the span, to the constructor.
        """
        make: Any = cls  # the subclass's dataclass constructor
        node: Node = make(*items, span)
        return node


class Condition(Node):
    """A condition: ``purpose is marketing``, ``callee on list x``, ``a and b``, …"""

    __slots__ = ()
    #: How tightly the node binds when printed: a sub-condition binding less tightly than its
    #: parent gets parentheses. ``or`` 0, ``and`` 1, ``not`` 2, everything else 3.
    binding: ClassVar[int] = 3

    def unparse(self) -> str:
        """The condition in canonical policy text (explain output quotes it)."""
        raise NotImplementedError(type(self).__name__)


N = TypeVar("N", bound=type[Node])

_BUILDERS: dict[str, type[Node]] = {}


def syntax(*rules: str) -> Callable[[N], N]:
    """Class decorator: the node is built from these grammar rules (their ``-> alias`` names)."""

    def register(cls: N) -> N:
        for rule in rules:
            if rule in _BUILDERS:
                raise ValueError(f"grammar rule {rule!r} already builds {_BUILDERS[rule].__name__}")
            _BUILDERS[rule] = cls
        return cls

    return register


def builder_for(rule: str) -> type[Node] | None:
    """The node class built from grammar rule ``rule``, if any."""
    return _BUILDERS.get(rule)
