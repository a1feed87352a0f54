"""Which calls of a batch get the same decision: rows grouped by every fact ``decide`` looks at.

A batch of calls (a campaign list: columns of ``to``, ``purpose``, ``technology``...) mostly
repeats a few thousand distinct situations. :func:`group_calls` computes, with whole-column
operations, a key per row from everything the decision can depend on:

* every column's value, except the number itself and the fields only copied to the decision
  (``id``, ``meta``);
* what the number tells (country, region, zones), found once per numbering block (the blocks
  :class:`~ringfence.facts.callee.StandardFacts` caches by, :func:`~ringfence.facts.numberblocks.
  block_keys`), and
* whether the number is on each loaded list, and its listing there (a hash of the list's
  numbers, or for a long list a search in step with the numbers sorted).

A column the same on every row (one value, no nulls; lists all empty) is left out of the key:
it tells no two rows apart.

Rows with equal keys are the same call but for the number, which nothing else reads, so one row
of each group is decided and its decision holds for all. When that cannot be shown the key is
made safe, never guessed: a policy naming the field ``to``, or a fact source other than the
standard one, puts the number itself into the key; a row whose number is malformed or invalid,
whose ``meta``/``id`` needs checking, or with a value no key can hold (a Parquet list that is
not empty) is judged on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from ringfence.api import PolicySet
from ringfence.engine.ir import policy_atoms
from ringfence.errors import CallError
from ringfence.facts.callee import NumberFacts, StandardFacts
from ringfence.facts.locationtable import NATIONAL_DIGITS, nanp_table
from ringfence.facts.numberblocks import block_keys
from ringfence.language import nodes

__all__ = ["Groups", "group_calls"]

# The call schema's pattern for `to`: "+", a digit other than 0, then 6 to 14 more digits.
_SHORTEST, _LONGEST = 8, 16
# Fields the decision copies but never reads; they are checked (so judged alone when present
# in a form the key cannot vouch for).
_COPIED = ("id", "meta")

Codes = npt.NDArray[np.int64]
# Per-row codes of fewer than 2**31 values: half the memory of Codes, for a million rows
Places = npt.NDArray[np.int32]


@dataclass(frozen=True)
class Groups:
    """``group[i]``: the group of row ``i``, or -1 when row ``i`` is judged on its own;
    ``first[g]``: one row of group ``g``, whose decision is every row's of that group;
    ``located[g]``: what the number of every row of group ``g`` tells (its country, region and
    zones, as the standard fact source says), None when that is not worked out here."""

    group: npt.NDArray[np.int64]
    first: npt.NDArray[np.int64]
    located: list[NumberFacts | None]

    @property
    def alone(self) -> npt.NDArray[np.int64]:
        """The rows judged on their own."""
        return np.flatnonzero(self.group < 0)


def group_calls(policies: PolicySet, columns: Mapping[str, pa.Array], rows: int,
                alone: npt.NDArray[np.bool_] | None = None) -> Groups:
    """Group ``rows`` calls given as columns (named as the call's fields; nested fields as
    JSON text or Arrow structs) by the facts their decisions depend on.

    ``alone`` marks rows the caller already knows must be judged on their own.
    """
    by_row = np.zeros(rows, dtype=bool) if alone is None else alone.copy()
    parts: list[npt.NDArray[np.integer[Any]]] = []
    for name, column in columns.items():
        if name == "to":
            continue
        if name in _COPIED:
            # An id of text or integers is valid whatever its value; anything else is checked.
            if not (name == "id" and (pa.types.is_string(column.type)
                                      or pa.types.is_integer(column.type))):
                by_row |= column.is_valid().to_numpy(zero_copy_only=False)
            continue
        parts.extend(_column_codes(column, by_row))
    numbers = _number_codes(policies, columns.get("to"), rows, by_row)
    key = _combine([*parts, *numbers.codes], rows)
    keyed = np.flatnonzero(~by_row)
    inverse, first = distinct(key[keyed])
    group = np.full(rows, -1, dtype=np.int64)
    group[keyed] = inverse
    first = keyed[first]
    return Groups(group, first, numbers.located(first))


def distinct(values: Codes) -> tuple[Codes, Codes]:
    """(for each value the index of its distinct value, the first position of each distinct
    value), by hashing (one pass; sorting a million keys costs several times more)."""
    encoded = pc.dictionary_encode(pa.array(values)).indices.to_numpy(zero_copy_only=False)
    inverse = encoded.astype(np.int64)
    first = np.empty(int(inverse.max(initial=-1)) + 1, dtype=np.int64)
    # written last to first, so each distinct value keeps its first position
    first[inverse[::-1]] = np.arange(len(inverse) - 1, -1, -1, dtype=np.int64)
    return inverse, first


def _column_codes(column: pa.Array, by_row: npt.NDArray[np.bool_]
                  ) -> list[npt.NDArray[np.integer[Any]]]:
    """Small integers (from -1) equal only where the column's values are (nulls included), and
    wherever they are but in a dictionary holding a value twice."""
    kind = column.type
    if pa.types.is_struct(kind):
        # a struct's fields: the values of its valid rows (a null struct's fields are null)
        codes = [column.is_valid().to_numpy(zero_copy_only=False).view(np.int8)
                 ] if column.null_count else []
        for index in range(kind.num_fields):
            codes.extend(_column_codes(column.field(index), by_row))
        return codes
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        if not column.null_count and not len(column.flatten()):
            return []  # every list empty
        # An empty list (no attempts, no consent: a fact, not a missing one) is keyed by being
        # empty; a row whose list holds items is judged on its own.
        length = pc.fill_null(pc.list_value_length(column), -1).to_numpy(zero_copy_only=False)
        by_row |= length > 0
        return [length]
    if pa.types.is_dictionary(kind) and not pa.types.is_nested(kind.value_type):
        if not column.null_count and len(column.dictionary) == 1:
            return []  # one value on every row
        # already encoded (text columns of a Parquet file are read so): equal indices into one
        # dictionary are equal values (a value twice in it only splits a group, never merges)
        indices = column.indices
    elif pa.types.is_nested(kind) or pa.types.is_dictionary(kind):
        by_row |= column.is_valid().to_numpy(zero_copy_only=False)
        return []
    else:
        indices = pc.dictionary_encode(column).indices
    if indices.null_count:
        indices = pc.fill_null(indices, -1)
    return [indices.to_numpy(zero_copy_only=False)]


def e164_numbers(to: pa.Array) -> Codes:
    """Each text of ``to`` that is a number in the call schema's form (``+`` and 7 to 15 ASCII
    digits, the first not 0) as the integer of its digits; 0 for any other text or null.

    Simple whole-column tests (a prefix, a length, every byte a digit) rather than the pattern:
    a regular expression over a million texts costs more than all of them together."""
    plus = pc.fill_null(pc.starts_with(to, "+"), False)
    length = pc.binary_length(to)
    # "+" made "0" (only in texts that start with it, so all stay UTF-8): the digits as a number
    starts = to if pc.all(plus).as_py() else pc.if_else(plus, to, "")
    digits = pc.binary_replace_slice(starts, 0, 1, "0")
    valid = pc.and_kleene(pc.and_kleene(plus, pc.ascii_is_decimal(digits)), pc.and_kleene(
        pc.invert(pc.starts_with(to, "+0")),
        pc.and_kleene(pc.greater_equal(length, _SHORTEST), pc.less_equal(length, _LONGEST))))
    valid = pc.fill_null(valid, False)
    if not pc.all(valid).as_py():
        digits = pc.if_else(valid, digits, "0")
    numbers: Codes = pc.cast(digits, pa.int64()).to_numpy(zero_copy_only=False)
    return numbers


@dataclass(frozen=True)
class _Numbers:
    """The codes of the numbers, for the key; with the standard fact source, also the place of
    each number (an index in ``answers``; -1 where the number is malformed or not valid)."""

    codes: list[npt.NDArray[np.integer[Any]]]
    place: Places | None = None
    answers: tuple[NumberFacts, ...] = ()

    def located(self, rows: Codes) -> list[NumberFacts | None]:
        """What the number of each of ``rows`` (valid numbers) tells; None when not known."""
        if self.place is None:
            return [None] * len(rows)
        return [self.answers[place] for place in self.place[rows].tolist()]


def _number_codes(policies: PolicySet, to: pa.Array | None, rows: int,
                  by_row: npt.NDArray[np.bool_]) -> _Numbers:
    if to is None or not pa.types.is_string(to.type):
        # no number (or not as text): every row is malformed, each says so itself
        by_row[:] = True
        return _Numbers([])
    numbers = e164_numbers(to)
    by_row |= numbers == 0
    facts = policies.facts
    standard = (isinstance(facts, StandardFacts) and type(facts).number is StandardFacts.number
                and type(facts).listed is StandardFacts.listed)
    if _reads_number(policies) or not standard:
        return _Numbers([numbers])  # the number itself: each distinct number decided once
    assert isinstance(facts, StandardFacts)
    places: dict[NumberFacts, int] = {}
    place = _places(facts, numbers, places)
    parts: list[npt.NDArray[np.integer[Any]]] = [place]
    lists = facts.lists  # one snapshot: a list swapped meanwhile is not half used
    ordered = _InStep(numbers)
    for name in sorted(lists):
        parts.append(_listing_codes(lists[name].keys, lists[name].dates, numbers, ordered))
    by_row |= place < 0
    return _Numbers(parts, place, tuple(places))


def ascending(numbers: Codes) -> Codes:
    """The positions of ``numbers`` (none negative) in ascending order, as ``np.argsort``.

    When every number and every position fit in 63 bits together, by sorting the numbers with
    their positions in the low bits: a sort of plain integers costs a third of an argsort."""
    bits = max(len(numbers) - 1, 1).bit_length()
    if int(numbers.max(initial=0)) >= 1 << (63 - bits):
        return np.argsort(numbers)
    packed = np.sort((numbers << bits) | np.arange(len(numbers), dtype=np.int64))
    positions: Codes = packed & ((1 << bits) - 1)
    return positions


# 10**n for every n: how many digits a number has is how many of these it reaches
_POWERS = 10 ** np.arange(16, dtype=np.int64)


def _places(facts: StandardFacts, numbers: Codes, places: dict[NumberFacts, int]) -> Places:
    """For each of ``numbers`` (0 for a malformed one), the index in ``places`` of the answer
    :meth:`StandardFacts.number` gives it (added there when new); -1 where the number is
    malformed or not valid."""
    # +1 and ten national digits: by the location table, which is what StandardFacts.number
    # answers them from (valid numbers have no leading zero, so these are exactly the numbers
    # from 10**10 to 2 * 10**10 - 1). Every row is looked up (the others as some national
    # number, their answers replaced below): a mask costs less than picking the rows out.
    national = numbers - 10**NATIONAL_DIGITS
    nanp = (national >= 0) & (national < 10**NATIONAL_DIGITS)
    np.clip(national, 0, 10**NATIONAL_DIGITS - 1, out=national)
    table = nanp_table()
    codes = np.array([_place(answer, places) for answer in table.answers], dtype=np.int32)
    place: Places = codes[table.find_many(national)]
    place[~nanp] = -1
    # the rest (other countries): facts.number once per numbering block, as the standard
    # source caches them
    rest = np.flatnonzero(~nanp & (numbers > 0))
    others = numbers[rest]
    digits = np.searchsorted(_POWERS, others, side="right")
    where, first = distinct(block_keys(others, digits))
    found = np.empty(len(first), dtype=np.int32)
    for index, number in enumerate(others[first].tolist()):
        try:
            found[index] = _place(facts.number(f"+{number}"), places)
        except CallError:  # an invalid number: its own row says so, with the number
            found[index] = -1
    place[rest] = found[where]
    return place


def _place(answer: NumberFacts | str, places: dict[NumberFacts, int]) -> int:
    """A small integer per distinct answer; -1 for a number that is not valid."""
    return -1 if isinstance(answer, str) else places.setdefault(answer, len(places))


def _reads_number(policies: PolicySet) -> bool:
    """Whether a condition names the field ``to`` (then the number itself is a fact)."""
    refs = (getattr(atom.node, "field", None) for atom in policy_atoms(policies.compiled))
    return any(isinstance(ref, nodes.FieldRef) and ref.name == "to" for ref in refs)


class _InStep:
    """The numbers in ascending order, sorted when first asked: a long list is searched in step
    with them (a hash of its keys would cost more than the sort)."""

    def __init__(self, numbers: Codes) -> None:
        self.numbers = numbers
        self._order: Codes | None = None

    def order(self) -> Codes:
        """The positions of the numbers in ascending order (:func:`ascending`)."""
        if self._order is None:
            self._order = ascending(self.numbers)
        return self._order


def _hashed(keys: Codes, numbers: Codes) -> bool:
    """Whether a list is looked up by a hash of its keys: when it has at most a quarter as many
    as the batch has numbers (measured over a million: a hash of 250,000 keys probed by every
    number costs two thirds of the sort; of 400,000, as much)."""
    return len(keys) * 4 <= len(numbers)


def _list_positions(keys: Codes, numbers: Codes, ordered: _InStep) -> Places:
    """For each number, its position in ``keys`` (sorted, unique); -1 for one not there."""
    if _hashed(keys, numbers):
        found = pc.index_in(pa.array(numbers), value_set=pa.array(keys))
        positions: Places = pc.fill_null(found, -1).to_numpy(zero_copy_only=False)
        return positions
    order = ordered.order()
    at = np.minimum(np.searchsorted(keys, numbers[order]), len(keys) - 1).astype(np.int32)
    positions = np.full(len(numbers), -1, dtype=np.int32)
    hit = keys[at] == numbers[order]
    positions[order[hit]] = at[hit]
    return positions


def _listing_codes(keys: Codes, dates: Codes | None, numbers: Codes, ordered: _InStep
                   ) -> npt.NDArray[np.integer[Any]]:
    """-1 for a number not on the list, else a code equal for equal listings."""
    if len(keys) == 0:
        return np.full(len(numbers), -1, dtype=np.int8)
    if dates is None and _hashed(keys, numbers):
        # whether each number is there is all a list without dates tells: a byte per row
        listed = pc.is_in(pa.array(numbers), value_set=pa.array(keys))
        codes: npt.NDArray[np.int8] = listed.to_numpy(zero_copy_only=False).view(np.int8) - 1
        return codes
    at = _list_positions(keys, numbers, ordered)
    if dates is None:
        return np.minimum(at, 0)
    listings = np.full(len(numbers), -1, dtype=np.int32)
    hit = at >= 0
    _, listing = np.unique(dates[at[hit]], return_inverse=True)
    listings[hit] = listing.reshape(-1)
    return listings


def _combine(parts: Sequence[npt.NDArray[np.integer[Any]]], rows: int) -> Codes:
    """One int64 per row, equal exactly where every part is (parts of codes from -1 up)."""
    key = np.zeros(rows, dtype=np.int64)
    span = 1
    for part in parts:
        size = int(part.max(initial=-1)) + 2
        if span * size >= 1 << 62:  # the mixed-radix number would overflow: renumber first
            _, renumbered = np.unique(key, return_inverse=True)
            key = renumbered.reshape(-1).astype(np.int64)
            # now span <= rows, so span * size < 2**62 for any batch that fits in memory
            span = int(key.max(initial=0)) + 1
        # digits from -1 rather than 0: every key moves by the same amount, still one per
        # combination (and one pass fewer over a million rows)
        key *= size
        key += part
        span *= size
    return key
