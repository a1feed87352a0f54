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

Rows with equal keys are the same call but for the number, which nothing else reads, so one row
of each group is decided and its decision holds for all. When that cannot be shown the key is
made safe, never guessed: a policy naming the field ``to``, or a fact source other than the
standard one, puts the number itself into the key; a row whose number is malformed or invalid,
whose ``meta``/``id`` needs checking, or with a value no key can hold (a Parquet list that is
not empty) is judged on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

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

# The call schema's pattern for `to`, anchored as RE2 reads it (no newline before the end).
_E164 = r"^\+[1-9][0-9]{6,14}$"
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
    parts: list[Codes] = []
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
    located: list[NumberFacts | None] = [None] * len(first)
    if numbers.place is not None:  # every grouped row's number is valid: its place is >= 0
        located = [numbers.answers[at] for at in numbers.place[first].tolist()]
    return Groups(group, first, located)


def distinct(values: Codes) -> tuple[Codes, Codes]:
    """(for each value the index of its distinct value, the first position of each distinct
    value), by hashing (one pass; sorting a million keys costs several times more)."""
    encoded = pc.dictionary_encode(pa.array(values)).indices.to_numpy(zero_copy_only=False)
    inverse = encoded.astype(np.int64)
    first = np.empty(int(inverse.max(initial=-1)) + 1, dtype=np.int64)
    # written last to first, so each distinct value keeps its first position
    first[inverse[::-1]] = np.arange(len(inverse) - 1, -1, -1, dtype=np.int64)
    return inverse, first


def _column_codes(column: pa.Array, by_row: npt.NDArray[np.bool_]) -> list[Codes]:
    """Small integers equal only where the column's values are (nulls included), and wherever
    they are but in a dictionary holding a value twice."""
    kind = column.type
    if pa.types.is_struct(kind):
        codes = [column.is_valid().to_numpy(zero_copy_only=False).astype(np.int64)]
        for index in range(kind.num_fields):
            codes.extend(_column_codes(column.field(index), by_row))
        return codes
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        # An empty list (no attempts, no consent: a fact, not a missing one) is keyed by being
        # empty; a row whose list holds items is judged on its own.
        length = pc.fill_null(pc.list_value_length(column), -1).to_numpy(zero_copy_only=False)
        by_row |= length > 0
        return [length.astype(np.int64)]
    if pa.types.is_dictionary(kind) and not pa.types.is_nested(kind.value_type):
        # already encoded (text columns of a Parquet file are read so): equal indices into one
        # dictionary are equal values (a value twice in it only splits a group, never merges)
        indices = column.indices
    elif pa.types.is_nested(kind) or pa.types.is_dictionary(kind):
        by_row |= column.is_valid().to_numpy(zero_copy_only=False)
        return []
    else:
        indices = pc.dictionary_encode(column).indices
    return [pc.fill_null(indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)]


class _Numbers(NamedTuple):
    """The codes of the numbers (for the key); with the standard fact source, each row's place
    (an index in ``answers``, -1 where the number is malformed or not valid)."""

    codes: list[Codes]
    place: Codes | None = None
    answers: tuple[NumberFacts, ...] = ()


def _number_codes(policies: PolicySet, to: pa.Array | None, rows: int,
                  by_row: npt.NDArray[np.bool_]) -> _Numbers:
    if to is None or not pa.types.is_string(to.type):
        # no number (or not as text): every row is malformed, each says so itself
        by_row[:] = True
        return _Numbers([])
    valid = pc.fill_null(pc.match_substring_regex(to, _E164), False)
    good = valid.to_numpy(zero_copy_only=False)
    by_row |= ~good
    # a number that is not valid reads as 0 (no valid number is: its first digit is not 0)
    digits_text = pc.utf8_slice_codeunits(pc.if_else(valid, to, "+0000000"), 1)
    numbers = pc.cast(digits_text, pa.int64()).to_numpy(zero_copy_only=False)
    facts = policies.facts
    standard = (isinstance(facts, StandardFacts) and type(facts).number is StandardFacts.number
                and type(facts).listed is StandardFacts.listed)
    if _reads_number(policies) or not standard:
        return _Numbers([numbers])  # the number itself: each distinct number decided once
    assert isinstance(facts, StandardFacts)
    # In ascending order the location table and every list are searched with the numbers in
    # step, not at random: a few times faster over a million numbers, more for a big list.
    order = np.argsort(numbers)
    ordered = numbers[order]
    # ASCII text (the pattern says so): a valid number's digits are its bytes less the "+"
    digits = pc.binary_length(to).to_numpy(zero_copy_only=False).astype(np.int64)[order] - 1
    places: dict[NumberFacts, int] = {}
    place = _places(facts, ordered, digits, places)
    parts = [place]
    lists = facts.lists  # one snapshot: a list swapped meanwhile is not half used
    for name in sorted(lists):
        parts.append(_listing_codes(lists[name].keys, lists[name].dates, ordered))
    key = np.empty(rows, dtype=np.int64)
    key[order] = _combine(parts, rows)
    in_rows = np.empty(rows, dtype=np.int64)
    in_rows[order] = place
    by_row |= in_rows < 0
    return _Numbers([key], in_rows, tuple(places))


def _places(facts: StandardFacts, ordered: Codes, digits: Codes,
            places: dict[NumberFacts, int]) -> Codes:
    """For each of the ascending ``ordered`` numbers (of ``digits`` digits; 0 for a malformed
    one), the index in ``places`` of the answer :meth:`StandardFacts.number` gives it (added
    there when new); -1 where the number is malformed or not valid."""
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
    rest = np.flatnonzero(ordered[:low] > 0)
    rest = np.concatenate([rest, np.arange(high, len(ordered))])
    where, first = distinct(block_keys(ordered[rest], digits[rest]))
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


def _combine(parts: list[Codes], rows: int) -> Codes:
    """One int64 per row, equal exactly where every part is."""
    key = np.zeros(rows, dtype=np.int64)
    if not parts:
        return key
    span = 1
    for part in parts:
        shifted = part + 1  # -1 (null, not listed) becomes 0
        size = int(shifted.max(initial=0)) + 1
        if span * size >= 1 << 62:  # the mixed-radix number would overflow: renumber first
            _, renumbered = np.unique(key, return_inverse=True)
            key = renumbered.reshape(-1).astype(np.int64)
            # now span <= rows, so span * size < 2**62 for any batch that fits in memory
            span = int(key.max(initial=0)) + 1
        key = key * size + shifted
        span *= size
    return key
