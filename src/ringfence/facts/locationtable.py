"""The location table: NANP number prefix -> country, region (ISO 3166-2) and candidate zones.

Asking ``phonenumbers`` where a number is costs about 50 µs (a parse and a walk through its
patterns), so a process that meets a few hundred thousand numbering blocks would spend seconds
there. The answers only change with ``phonenumbers`` and the project's NANP data, so they are
worked out once, for every 10-digit NANP number (``+1`` and ten digits: the calls a US or
Canadian dialer makes), and kept on disk:

- the blocks come from :func:`~ringfence.facts.numberblocks.block_length`: under each area code,
  the leading digits that decide everything ``phonenumbers`` says (three to seven), so every
  block is answered by asking :func:`~ringfence.facts.locate.reference` about one number of it;
- consecutive blocks with the same answer form one run; the table is the sorted first number of
  each run (an ``array`` of 64-bit integers) and, for each run, an index into a short list of
  distinct answers (a :class:`~ringfence.facts.locate.NumberFacts`, or why the number is not
  valid). A lookup is one binary search: the same cost for the first number of a block as for
  the next one, a few hundred nanoseconds.

The table is built on first use (a few seconds) into the user's cache folder
(``RINGFENCE_CACHE_DIR``, else ``$XDG_CACHE_HOME/ringfence``, else ``~/.cache/ringfence``), under
a name that hashes the ``phonenumbers`` version, the project's data files and this format, so a
new ``phonenumbers`` or new data build a new table instead of reading a stale one. Where the
folder cannot be written, the table is kept in memory. ``python scripts/build_location_table.py``
builds it ahead (an image build, say) and prints where it is.
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import phonenumbers

from ringfence.cachefiles import cache_dir, write_cache_file
from ringfence.contract.request import READER
from ringfence.facts.locate import DATA_FILES, NumberFacts, reference
from ringfence.facts.numberblocks import block_length
from ringfence.resources import data_path

#: Bumped when the file's layout or how it is built changes.
FORMAT = 2
#: National digits of the numbers the table covers (+1 and ten digits).
NATIONAL_DIGITS = 10
#: Leading national digits :meth:`LocationTable.find_many` reads its answers by (area code and
#: exchange: a million prefixes, of which a few split between runs).
PREFIX_DIGITS = 6

Answer = NumberFacts | str


def _compiled_answer() -> Callable[[bytes, dict[str, Answer], str], Answer | None] | None:
    """The compiled reader's ``nanp_answer`` (:meth:`LocationTable.get`'s answer for a third of
    its cost) where the compiled reader reads calls; None where the reference path does (the
    package built without it, or ``RINGFENCE_PURE_PYTHON`` set)."""
    if READER != "compiled":
        return None
    from ringfence.contract._callreader import nanp_answer

    return nanp_answer


_nanp_answer = _compiled_answer()


def block_depths() -> array[int]:
    """For each area code (``000`` to ``999``), the leading national digits that decide every
    10-digit number under it (:func:`~ringfence.facts.numberblocks.block_length`)."""
    return array("B", (block_length(1, NATIONAL_DIGITS, f"{area:03d}") for area in range(1000)))


def blocks(depths: array[int]) -> Iterator[tuple[int, int]]:
    """Every numbering block of 10-digit NANP numbers, in order: (first number, digits that
    decide it). The numbers of one block get the same answers from ``phonenumbers``."""
    for area, depth in enumerate(depths):
        scale = 10 ** (NATIONAL_DIGITS - depth)
        first = area * 10 ** (depth - 3)
        for prefix in range(first, first + 10 ** (depth - 3)):
            yield prefix * scale, depth


def number_of(national: int) -> str:
    """The E.164 text of a 10-digit NANP national number."""
    return f"+1{national:010d}"


class LocationTable:
    """Runs of NANP numbers with the same answer, searched by their first number.

    On disk (and for :meth:`find`) the table is the runs; for :meth:`get`, which every call
    goes through, it is also kept as two dictionaries: area code -> block length, and block
    (``+1`` and its leading digits) -> answer. Two dictionary lookups cost less than a binary
    search of Python integers, and about 70,000 blocks take a few megabytes.

    :attr:`lookup` is :meth:`get`, by the compiled reader's ``nanp_answer`` where the compiled
    reader reads calls: every call asks, and it reads the key's length from a byte per area code."""

    __slots__ = ("_blocks", "_depths", "_prefixes", "answers", "depths", "lookup", "runs",
                 "starts")

    def __init__(self, depths: array[int], starts: array[int], runs: array[int],
                 answers: list[Answer]):
        self.depths = depths  # block length under each area code
        self.starts = starts  # first national number of each run, ascending
        self.runs = runs  # for each run, its answer's index in `answers`
        self.answers = answers
        self._prefixes: npt.NDArray[np.int32] | None = None  # built by find_many when first asked
        self._depths = {f"+1{area:03d}": 2 + depth for area, depth in enumerate(depths)}
        self._blocks: dict[str, Answer] = {}
        ends = iter(self.starts[1:])
        end, at = next(ends, None), 0
        for first, depth in blocks(depths):
            while end is not None and first >= end:
                end, at = next(ends, None), at + 1
            self._blocks[number_of(first)[:2 + depth]] = answers[runs[at]]
        self.lookup: Callable[[str], Answer | None] = self.get if _nanp_answer is None else (
            functools.partial(_nanp_answer, bytes(2 + depth for depth in depths), self._blocks))

    @classmethod
    def build(cls) -> LocationTable:
        """Ask :func:`reference` about one number of every block (a few seconds)."""
        depths = block_depths()
        starts, runs = array("Q"), array("H")
        answers: list[Answer] = []
        index: dict[Answer, int] = {}
        for first, _ in blocks(depths):
            answer = reference(number_of(first))
            at = index.get(answer)
            if at is None:
                at = index[answer] = len(answers)
                answers.append(answer)
            if not runs or runs[-1] != at:
                starts.append(first)
                runs.append(at)
        return cls(depths, starts, runs, answers)

    def get(self, e164: str) -> Answer | None:
        """The answer for ``+1`` and ten ASCII digits; None for any other text."""
        depth = self._depths.get(e164[:5])  # "+1" and an area code: its blocks' length
        if depth is not None and len(e164) == 12 and e164.isascii() and e164[5:].isdigit():
            return self._blocks[e164[:depth]]
        return None

    def find(self, national: int) -> Answer:
        """The answer for a 10-digit national number (0 <= national < 10**10), by its run."""
        return self.answers[self.runs[bisect_right(self.starts, national) - 1]]

    def find_many(self, national: npt.NDArray[np.int64]) -> npt.NDArray[np.int32]:
        """For a column of 10-digit national numbers in any order (each 0 <= n < 10**10), the
        index in :attr:`answers` of each one's answer (:meth:`find` on every number).

        Read from a table of the answer of every prefix of the first :data:`PREFIX_DIGITS`
        digits (a prefix where a run starts after its first number is searched in the runs): a
        gather rather than a million binary searches, or a sort to search the runs in step."""
        prefixes = self._prefixes
        if prefixes is None:
            prefixes = self._prefixes = self._prefix_answers()
        found: npt.NDArray[np.int32] = prefixes[national // 10 ** (NATIONAL_DIGITS - PREFIX_DIGITS)]
        split = np.flatnonzero(found < 0)
        if len(split):
            starts = np.frombuffer(self.starts, dtype=np.uint64).astype(np.int64)
            runs = np.frombuffer(self.runs, dtype=np.uint16)
            found[split] = runs[np.searchsorted(starts, national[split], side="right") - 1]
        return found

    def _prefix_answers(self) -> npt.NDArray[np.int32]:
        """For each prefix of :data:`PREFIX_DIGITS` digits, the answer of all its numbers, or
        -1 where a run starts inside it (a few thousand runs over a million prefixes)."""
        scale = 10 ** (NATIONAL_DIGITS - PREFIX_DIGITS)
        starts = np.frombuffer(self.starts, dtype=np.uint64).astype(np.int64)
        # run i answers the prefixes from the first that starts in it to the next run's first
        first = -(-starts // scale)
        counts = np.diff(first, append=10**PREFIX_DIGITS)
        prefixes = np.repeat(np.frombuffer(self.runs, dtype=np.uint16).astype(np.int32), counts)
        prefixes[starts[starts % scale != 0] // scale] = -1
        return prefixes

    def run_bounds(self) -> Iterator[tuple[int, int, Answer]]:
        """Every run: (first number, last number, answer)."""
        ends = [*self.starts[1:], 10 ** NATIONAL_DIGITS]
        for first, end, at in zip(self.starts, ends, self.runs, strict=True):
            yield first, end - 1, self.answers[at]

    def to_bytes(self) -> bytes:
        """One JSON line (the answers and the number of runs), then the block lengths and the
        two arrays of the runs."""
        head = {"format": FORMAT, "runs": len(self.starts), "answers": [
            a if isinstance(a, str) else [a.country, a.region, list(a.zones)]
            for a in self.answers]}
        return (json.dumps(head).encode() + b"\n" + self.depths.tobytes() + self.starts.tobytes()
                + self.runs.tobytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> LocationTable:
        """The table :meth:`to_bytes` wrote; ValueError when the data is not one."""
        line, _, body = data.partition(b"\n")
        head = json.loads(line)
        if head.get("format") != FORMAT:
            raise ValueError("not a location table of this format")
        count = head["runs"]
        depths, starts, runs = array("B"), array("Q"), array("H")
        depths.frombytes(body[:1000])
        starts.frombytes(body[1000:1000 + count * starts.itemsize])
        runs.frombytes(body[1000 + count * starts.itemsize:])
        if len(depths) != 1000 or len(starts) != count or len(runs) != count:
            raise ValueError("the location table is cut short")
        answers: list[Answer] = [a if isinstance(a, str) else NumberFacts(a[0], a[1], tuple(a[2]))
                                 for a in head["answers"]]
        return cls(depths, starts, runs, answers)


def table_path() -> Path:
    """Where the table for the installed ``phonenumbers`` and the shipped data is kept."""
    digest = hashlib.sha256(f"{FORMAT} {phonenumbers.__version__}".encode())
    for name in DATA_FILES:
        digest.update(data_path(name).read_bytes())
    return cache_dir() / f"nanp-locations-{digest.hexdigest()[:16]}.bin"


def _load_or_build() -> LocationTable:
    path = table_path()
    try:
        return LocationTable.from_bytes(path.read_bytes())
    except (OSError, ValueError):
        pass  # not built yet (or damaged): build it
    table = LocationTable.build()
    write_cache_file(path, table.to_bytes())  # a read-only home: kept in memory only
    return table


_TABLE: list[LocationTable] = []
_LOCK = threading.Lock()


def nanp_table() -> LocationTable:
    """The table, read from the cache folder or built there on first use (once per process)."""
    if not _TABLE:
        with _LOCK:
            if not _TABLE:
                _TABLE.append(_load_or_build())
    return _TABLE[0]

