"""How many leading digits of a number decide everything ``phonenumbers`` says about it.

Looking a number up costs about 60 µs; a dialer's millions of numbers fall in a few thousand
blocks, so :class:`~ringfence.facts.callee.StandardFacts` caches its answers per block. A block
must be exactly as long as libphonenumber's metadata looks: its validity and type patterns,
national-prefix rules and region choice are regular expressions that may test any digit (San
Marino's fixed lines test the sixth national digit), and its time-zone table is keyed by prefixes.
This module reads those patterns and finds, per country calling code, length and first national
digits, the deepest digit any of them can test, so numbers that agree up to there (and in length)
get the same answers.
"""

from __future__ import annotations

import bisect
import functools
import re._constants as sre  # type: ignore[import-not-found]  # no stubs: see _Item below
import re._parser as _parser  # type: ignore[import-not-found]
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.tzdata import TIMEZONE_DATA  # the table phonenumbers.timezone looks zones up in

from ringfence.facts.diskmemo import DiskMemo

_DESCS = ("general_desc", "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost",
          "personal_number", "voip", "pager", "uan", "voicemail")
_DIGITS = frozenset("0123456789")

# One parsed pattern item as re._parser builds it: (opcode, argument), the argument's shape
# depending on the opcode (a character, a range, sub-items, ...). typeshed has no stubs for re's
# private parser modules, so they and what they build are Any. They are imported with plain
# `import`, which mypy always reports as missing: `from re import _parser` is reported only while
# nothing else in the build imports them (lark does), so an ignore on it would be flagged unused.
_Item = tuple[Any, Any]

# One way a pattern can match: (digits consumed, deepest digit it tested + 1, whether a `$` ended
# it). A national number has at most 17 digits, so longer matches are dropped.
_Way = tuple[int, int, bool]
_LONGEST = 17
_START: frozenset[_Way] = frozenset({(0, 0, False)})
_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
# Answers are worked out per country code, length and first national digits: most of a country's
# patterns only look deep under a few prefixes (Jamaica's 876-606-0 fixed lines, say).
PREFIX_DIGITS = 3


def _class_digits(items: list[_Item]) -> frozenset[str] | None:
    """The digits a character class ``[...]`` accepts, or None when it is not simple to tell."""
    found: set[str] = set()
    negate = False
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            found.add(chr(av))
        elif op is sre.RANGE:
            found.update(chr(c) for c in range(av[0], av[1] + 1))
        elif op is sre.CATEGORY and av is sre.CATEGORY_DIGIT:
            found.update(_DIGITS)
        else:
            return None
    return _DIGITS - found if negate else frozenset(found & _DIGITS)


class _Ways:
    """Every way a parsed pattern (over digits only) can match, for numbers starting ``prefix``.

    Each way has an exact width, so every item's position is known: an item over a digit of the
    prefix either accepts that digit or ends the way.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._memo: dict[tuple[int, int], frozenset[_Way]] = {}

    def sequence(self, items: Iterable[_Item], start: int) -> frozenset[_Way]:
        ways = _START
        for item in items:
            ways = self._then(ways, item, start)
        return ways

    def _then(self, ways: frozenset[_Way], item: _Item, start: int) -> frozenset[_Way]:
        out = set()
        for w1, d1, end1 in ways:
            for w2, d2, end2 in self._item(item, start + w1):
                if (end1 and w2) or w1 + w2 > _LONGEST:
                    continue
                out.add((w1 + w2, max(d1, w1 + d2 if d2 else 0), end1 or end2))
        return frozenset(out)

    def _item(self, item: _Item, at: int) -> frozenset[_Way]:
        key = (id(item), at)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = self._compute(item, at)
        return found

    def _digit(self, accepted: frozenset[str] | None, at: int) -> frozenset[_Way]:
        """One digit matched against the digits ``accepted`` (None: not known, so tested)."""
        if at < len(self.prefix) and accepted is not None and self.prefix[at] not in accepted:
            return frozenset()
        return frozenset({(1, 0 if accepted == _DIGITS else 1, False)})

    def _compute(self, item: _Item, at: int) -> frozenset[_Way]:
        op, av = item
        if op is sre.AT:
            return frozenset({(0, 0, av is sre.AT_END)})
        if op is sre.ANY:
            return self._digit(_DIGITS, at)
        if op is sre.LITERAL:
            return self._digit(frozenset(chr(av)) & _DIGITS, at)
        if op is sre.NOT_LITERAL:
            return self._digit(_DIGITS - {chr(av)}, at)
        if op is sre.IN:
            return self._digit(_class_digits(av), at)
        if op is sre.SUBPATTERN:
            return self.sequence(av[3], at)
        if op is sre.ATOMIC_GROUP:
            return self.sequence(av, at)
        if op is sre.BRANCH:
            return frozenset().union(*(self.sequence(branch, at) for branch in av[1]))
        if op in _REPEATS:
            least, most, body = av
            found = _START if least == 0 else frozenset()
            reps, count = _START, 0
            while reps and count < min(most, _LONGEST + 1):
                step = set()
                for w, d, end in reps:
                    for w2, d2, end2 in self.sequence(body, at + w):
                        if not (end and w2) and w + w2 <= _LONGEST:
                            step.add((w + w2, max(d, w + d2 if d2 else 0), end or end2))
                reps, count = frozenset(step), count + 1
                if count >= least:
                    found |= reps
            return found
        if op in (sre.ASSERT, sre.ASSERT_NOT) and av[0] == 1:
            # A look-ahead consumes nothing but tests every digit it spans.
            inside = self.sequence(av[1], at)
            if not inside:
                return frozenset() if op is sre.ASSERT else _START
            return frozenset({(0, max(w for w, _, _ in inside), False)})
        return frozenset({(0, _LONGEST, False)})  # look-behind, back-reference: assume the worst


@functools.cache
def _parsed(text: str) -> list[_Item]:
    return list(_parser.parse(text))


@functools.cache
def _pattern(text: str, prefix: str) -> frozenset[_Way]:
    return _Ways(prefix).sequence(_parsed(text), 0)


def _patterns_depth(meta: PhoneMetadata, length: int, prefix: str) -> int:
    """Digits the validity and type patterns may test in a whole national number."""
    depth = 0
    for name in _DESCS:
        desc = getattr(meta, name, None)
        if desc is not None and desc.national_number_pattern:
            ways = _pattern(desc.national_number_pattern, prefix)
            depth = max([depth, *(d for w, d, _ in ways if w == length)])
    return depth


def _prefix_ways(ways: frozenset[_Way], length: int) -> list[_Way]:
    """The ways of a prefix rule (matched at the start, not whole) that fit ``length`` digits."""
    return [(w, d, end) for w, d, end in ways if w <= length and (w == length or not end)]


def _has_group(items: list[_Item]) -> bool:
    for op, av in items:
        if op is sre.SUBPATTERN and av[0] is not None:
            return True
        children = ([av[3]] if op is sre.SUBPATTERN else av[1] if op is sre.BRANCH
                    else [av[2]] if op in _REPEATS else [])
        if any(_has_group(list(child)) for child in children):
            return True
    return False


@functools.cache
def _alternatives(text: str, prefix: str) -> tuple[tuple[frozenset[_Way], bool], ...]:
    """A national-prefix rule's top-level alternatives: the ways each matches, and whether it
    captures (parse() rewrites the number with the transform rule only then)."""
    parsed = _parsed(text)
    single = len(parsed) == 1 and parsed[0][0] is sre.BRANCH
    branches = [list(b) for b in parsed[0][1][1]] if single else [parsed]
    ways = _Ways(prefix)
    return tuple((ways.sequence(branch, 0), _has_group(branch)) for branch in branches)


@functools.cache
def _zone_keys() -> list[str]:
    """The keys of the time-zone table, sorted: those starting with one text stand together."""
    return sorted(TIMEZONE_DATA)


@functools.cache
def _zones_depth(country_code: int, prefix: str) -> int:
    """National digits the time-zone table may look at for numbers starting ``prefix``."""
    start = f"{country_code}{prefix}"
    # The keys starting ``start`` from where it would be sorted in: not a walk of the whole
    # table (thousands of keys) for each new prefix, as numbers abroad bring them.
    keys = _zone_keys()
    depth = 0
    for at in range(bisect.bisect_left(keys, start), len(keys)):
        if not keys[at].startswith(start):
            break
        depth = max(depth, len(keys[at]) - len(str(country_code)))
    return depth


def _after(meta: PhoneMetadata, length: int, prefix: str) -> int:
    """Digits tested once the national number is settled: its patterns and its time zones."""
    return max(_patterns_depth(meta, length, prefix), _zones_depth(meta.country_code, prefix))


def _metadata_depth(meta: PhoneMetadata, length: int, prefix: str) -> int:
    """National digits that one region's patterns, prefix rules and zone table may test."""
    depth = _after(meta, length, prefix)
    if meta.leading_digits:
        leading = _prefix_ways(_pattern(meta.leading_digits, prefix), length)
        depth = max([depth, *(d for _, d, _ in leading)])
    if meta.national_prefix_for_parsing:
        # Every region's metadata has a general description (phonenumbers' own parse() reads
        # its possible lengths unchecked); the stub's None is only the constructor default.
        assert meta.general_desc is not None
        possible = set(meta.general_desc.possible_length or ())
        longest = max(possible, default=_LONGEST)
        for ways, captures in _alternatives(meta.national_prefix_for_parsing, prefix):
            for w, d, _ in _prefix_ways(ways, length):
                depth = max(depth, d)
                if captures and meta.national_prefix_transform_rule:
                    # The rewritten number may have any length: assume its deepest test.
                    depth = max(depth, w + max(_after(meta, n, "") for n in range(_LONGEST + 1)))
                elif length - w in possible or length - w > longest:
                    # parse() keeps the stripped number only when its length is possible (or
                    # too long); then every later test is shifted by the w digits stripped.
                    depth = max(depth, w + _after(meta, length - w, prefix[w:]))
    return depth


# Working a block's length out reads the metadata's patterns (about a millisecond each; a
# campaign list abroad meets a few hundred): the answers depend only on phonenumbers' metadata and
# this module (and the Python whose re parser reads them), so they are kept on disk under a name
# that hashes all three.
_LENGTHS = DiskMemo("number-blocks", f"{phonenumbers.__version__} {sys.version}".encode()
                    + Path(__file__).read_bytes())


def block_length(country_code: int, length: int, prefix: str) -> int:
    """Leading national digits that decide validity, type, region and zones of a number with
    ``length`` national digits that start with ``prefix`` (worked out once: see
    :func:`save_block_lengths`)."""
    return _LENGTHS.get(f"{country_code} {length} {prefix}",
                        lambda: _block_length(country_code, length, prefix))


def save_block_lengths() -> None:
    """Keep the block lengths worked out in this process in the cache folder, for the next."""
    _LENGTHS.save()


def _block_length(country_code: int, length: int, prefix: str) -> int:
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    metas = [PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
             for region in regions]
    depth = max((_metadata_depth(m, length, prefix) for m in metas if m is not None),
                default=_zones_depth(country_code, prefix))
    # NANP region and multi-zone tables (facts/callee.py) are keyed by the 3-digit area code.
    own_tables = 3 if country_code == 1 else 0
    return min(length, max(len(prefix), depth, own_tables))


def block_key_length(e164: str) -> int:
    """How many leading characters of ``e164`` (with its ``+``) decide its facts, given its
    length."""
    for size in (1, 2, 3):
        code = int(e164[1:1 + size] or 0)
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = e164[1 + size:]
            depth = block_length(code, len(national), national[:PREFIX_DIGITS])
            return 1 + size + depth
    return 4  # no country has this calling code: the first three digits already say so


def block_keys(numbers: npt.NDArray[np.int64], digits: npt.NDArray[np.int64]
               ) -> npt.NDArray[np.int64]:
    """For each number (its digits as an integer, and how many there are), a key equal for two
    numbers exactly when :func:`block_key_length` gives them the same block: the leading
    characters that decide their facts, and their length.

    :func:`block_key_length` is asked once per distinct (first six digits, length), as the
    standard fact source caches it.
    """
    scale = 10 ** np.arange(16, dtype=np.int64)  # 10**n for every n a 15-digit number needs
    heads = numbers // scale[digits - 6] * 16 + digits
    _, first, where = np.unique(heads, return_index=True, return_inverse=True)
    lengths = np.array([block_key_length(f"+{numbers[i]}") - 1 for i in first], dtype=np.int64)
    save_block_lengths()
    kept = lengths[where]  # national and country digits that decide each number's facts
    keys: npt.NDArray[np.int64] = numbers // scale[digits - kept] * 16 + digits
    return keys
