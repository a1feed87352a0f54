"""The fields a policy condition may name (``purpose``, ``relationship.last_inquiry_at``...), with
their kind, vocabulary and where the engine reads them.

This table is the one place the checker (which names and values are valid) and the engine (how a
value is read) learn about the call's fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ringfence.contract.request import CONSENT_TYPES, LINE_TYPES, OUTCOMES, TECHNOLOGIES

#: How the checker treats a field's values: free text, a caller id, a word from a vocabulary, a
#: region code, a purpose or sector name, an instant, a boolean.
Kind = Literal["text", "caller", "enum", "name", "region", "time", "bool"]


@dataclass(frozen=True, slots=True)
class Field:
    """One field a condition may read.

    ``owner`` says what holds the value: ``"call"`` (the converted :class:`Call`, attribute
    ``attribute``) or ``"context"`` (a fact the engine establishes per judgement: the judged
    instant, the callee's country and region). A value of None means the fact is not known.
    """

    name: str
    kind: Kind
    owner: Literal["call", "context"]
    attribute: str
    vocabulary: frozenset[str] | None = None


FIELDS: Mapping[str, Field] = {f.name: f for f in (
    Field("to", "text", "call", "to"),
    Field("from", "caller", "call", "from_"),
    Field("to_timezone", "text", "call", "to_timezone"),
    Field("to_region", "region", "call", "to_region"),
    Field("line_type", "enum", "call", "line_type", LINE_TYPES),
    Field("purpose", "name", "call", "purpose"),
    Field("sector", "name", "call", "sector"),
    Field("technology", "enum", "call", "technology", TECHNOLOGIES),
    Field("subject", "text", "call", "subject"),
    Field("campaign", "text", "call", "campaign"),
    Field("at", "time", "context", "t"),
    Field("country", "region", "context", "country"),
    Field("region", "region", "context", "region"),
    Field("relationship.contract_active", "bool", "call", "contract_active"),
    Field("relationship.last_transaction_at", "time", "call", "last_transaction_at"),
    Field("relationship.last_inquiry_at", "time", "call", "last_inquiry_at"),
)}

#: Closed vocabularies of values that are not call fields of their own.
VOCABULARIES: Mapping[str, frozenset[str]] = {
    "consent.type": CONSENT_TYPES,
    "history.outcome": OUTCOMES,
}
