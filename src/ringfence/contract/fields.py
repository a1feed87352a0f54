"""The fields a policy condition may name (``purpose``, ``relationship.last_inquiry_at``...), with
their kind, vocabulary and where the engine reads them.

This table is the one place the checker (which names and values are valid) and the engine (how a
value is read) learn about the call's fields. The call's own fields are derived from the call
schema (the places marked ``"x-ringfence": {"condition": KIND}``, see ``contract/schema.py``);
the facts the engine establishes per judgement (the judged instant, the callee's country and
region) are listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ringfence.contract.request import CONTRACT
from ringfence.contract.schema import ConditionKind

#: How the checker treats a field's values: free text, a caller id, a word from a vocabulary, a
#: region code, a purpose or sector name, an instant, a boolean.
Kind = ConditionKind


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
    #: The name of the field's word vocabulary (``purpose``), which a policy may extend.
    words: str | None = None


FIELDS: Mapping[str, Field] = {f.name: f for f in (
    *(Field(c.name, c.kind, "call", c.attribute, c.vocabulary, c.words)
      for c in CONTRACT.condition_fields),
    Field("at", "time", "context", "t"),
    Field("country", "region", "context", "country"),
    Field("region", "region", "context", "region"),
)}

#: Closed vocabularies of values that are not call fields of their own ("consent.type",
#: "history.outcome"), from the schema's enums.
VOCABULARIES: Mapping[str, frozenset[str]] = {
    name: values for name, values in CONTRACT.vocabularies.items() if name not in FIELDS}
