"""Which calls of a batch get the same decision: rows grouped by every fact ``decide`` looks at.

A batch of calls (a campaign list: columns of ``to``, ``purpose``, ``technology``...) mostly
repeats a few thousand distinct situations. :func:`group_calls` computes, with whole-column
operations, a key per row from everything the decision can depend on:

* every column's value, except the number itself and the fields only copied to the decision
  (``id``, ``meta``);
* what the number tells (country, region, zones), found once per numbering block (the blocks
  :class:`~ringfence.facts.callee.StandardFacts` caches by, :func:`~ringfence.facts.numberblocks.
  block_keys`), and
* whether the number is on each loaded list, and its listing there (``searchsorted`` over the
  list's sorted numbers).

The numbers are put in ascending order once: the location table's runs and every list are then
searched in step with them, several times faster than a million searches at random.

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
        codes = [column.is_valid().to_numpy(zero_copy_only=False).view(np.int8)]
        for index in range(kind.num_fields):
            codes.extend(_column_codes(column.field(index), by_row))
        return codes
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        # An empty list (no attempts, no consent: a fact, not a missing one) is keyed by being
        # empty; a row whose list holds items is judged on its own.
        length = pc.fill_null(pc.list_value_length(column), -1).to_numpy(zero_copy_only=False)
        by_row |= length > 0
        return [length]
    if pa.types.is_dictionary(kind) and not pa.types.is_nested(kind.value_type):
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
    """The codes of the numbers, for the key; with the standard fact source, also the numbers
    (0 where malformed), the same in ascending order and the place of each of those (an index
    in ``answers``; -1 where the number is malformed or not valid)."""

    codes: list[Codes]
    numbers: Codes | None = None
    ordered: Codes | None = None
    place: Codes | None = None
    answers: tuple[NumberFacts, ...] = ()

    def located(self, rows: Codes) -> list[NumberFacts | None]:
        """What the number of each of ``rows`` (valid numbers) tells; None when not known."""
        if self.numbers is None or self.ordered is None or self.place is None:
            return [None] * len(rows)
        at = np.searchsorted(self.ordered, self.numbers[rows])  # an equal number: its place
        return [self.answers[place] for place in self.place[at].tolist()]


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
    # In ascending order the location table and every list are searched with the numbers in
    # step, not at random: a few times faster over a million numbers, more for a big list.
    order = ascending(numbers)
    ordered = numbers[order]
    places: dict[NumberFacts, int] = {}
    place = _places(facts, ordered, places)
    parts = [place]
    lists = facts.lists  # one snapshot: a list swapped meanwhile is not half used
    for name in sorted(lists):
        parts.append(_listing_codes(lists[name].keys, lists[name].dates, ordered))
    key = np.empty(rows, dtype=np.int64)
    key[order] = _combine(parts, rows)
    by_row[order[place < 0]] = True
    return _Numbers([key], numbers, ordered, place, tuple(places))


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


def _places(facts: StandardFacts, ordered: Codes, places: dict[NumberFacts, int]) -> Codes:
    """For each of the ascending ``ordered`` numbers (0 for a malformed one), the index in
    ``places`` of the answer :meth:`StandardFacts.number` gives it (added there when new); -1
    where the number is malformed or not valid."""
    place = np.full(len(ordered), -1, dtype=np.int64)
    # +1 and ten national digits: by their run in the location table, which is what
    # StandardFacts.number answers them from (valid numbers have no leading zero, so these
    # are exactly the numbers from 10**10 to 2 * 10**10 - 1, one stretch of the order)
    low, high = np.searchsorted(ordered, [10**NATIONAL_DIGITS, 2 * 10**NATIONAL_DIGITS])
    table = nanp_table()
    codes = np.array([_place(answer, places) for answer in table.answers], dtype=np.int64)
    place[low:high] = codes[table.find_sorted(ordered[low:high] - 10**NATIONAL_DIGITS)]
    # the rest (other countries): facts.number once per numbering block, as the standard
    # source caches them
    rest = np.concatenate([np.flatnonzero(ordered[:low] > 0), np.arange(high, len(ordered))])
    digits = np.searchsorted(_POWERS, ordered[rest], side="right")
    where, first = distinct(block_keys(ordered[rest], digits))
    found = np.empty(len(first), dtype=np.int64)
    for index, at in enumerate(rest[first]):
        try:
            found[index] = _place(facts.number(f"+{ordered[at]}"), places)
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


def _listing_codes(keys: npt.NDArray[np.int64], dates: npt.NDArray[np.int64] | None,
                   ordered: npt.NDArray[np.int64]) -> Codes:
    """-1 for a number not on the list, else a code equal for equal listings (``ordered``:
    ascending, so the list's keys are searched in step)."""
    if len(keys) == 0:
        return np.full(len(ordered), -1, dtype=np.int64)
    at = np.minimum(np.searchsorted(keys, ordered), len(keys) - 1)
    hit = keys[at] == ordered
    codes = np.full(len(ordered), -1, dtype=np.int64)
    if dates is None:
        codes[hit] = 0
    else:
        _, listing = np.unique(dates[at[hit]], return_inverse=True)
        codes[hit] = listing.reshape(-1)
    return codes


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
