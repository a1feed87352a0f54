"""Reading number-list text files (one E.164 number per line, or CSV ``number,listed_at``).

A file is read in blocks cut at line ends. pyarrow's string kernels check and convert a whole
block at once (a line-by-line Python loop costs about 6 µs a number). Whatever the kernels do
not settle (a byte outside ASCII, a line no pattern below matches, a date Python does not read)
sends that block to :func:`reference_block`, the line-by-line reader, so that an error names its
file and line exactly and the two readers accept the same files: the kernels only ever take the
plain cases, never decide that a line is wrong.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # imported where a text list is read: deciding without one never needs it
    import pyarrow as pa

from ringfence.errors import InputError, excerpt

Keys = npt.NDArray[np.int64]

BLOCK = 1 << 26  # bytes read at a time: bounds the memory a huge file needs while it is read
NO_DATE = -(1 << 62)
# A bare date (no time of day) is kept as this base plus the date's ordinal: the day starts at
# midnight in the callee's zone, which only the evaluator knows.
DATE_BASE = 1 << 61
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()

_E164 = re.compile(r"\+[1-9][0-9]{6,14}\Z")
_HEADER_WORDS = ("number", "e164", "phone")
# The kernels' patterns (RE2), for lines that keep their line feed. Only space and tab count as
# blanks around fields here; a line with any other white space goes to the reference reader,
# which strips as str.strip does.
_PLAIN = r"^\+[1-9][0-9]{6,14}\n$"
_ROW = r"^[ \t]*\+(?P<number>[1-9][0-9]{6,14})[ \t]*(?:,[ \t]*(?P<date>[^,\n]*?)[ \t]*)?\n$"
_SKIP = r"^[ \t]*(?:#[^\n]*)?\n$"
_HEADER = r"(?i)^[ \t]*(?:number|e164|phone)[ \t]*(?:,[^\n]*)?\n$"


@dataclass
class _State:
    """What the reader carries from block to block."""

    line: int = 0  # lines read so far
    has_entry: bool = False  # a header may only come before the first number
    seen_header: bool = False
    keys: list[Keys] = field(default_factory=list)
    # per block: the stored listing of each key, or None when the block has no date at all
    stored: list[Keys | None] = field(default_factory=list)


def encode(when: float | dt.date) -> int:
    """A listing as stored: POSIX seconds, or ``DATE_BASE`` plus the ordinal of a bare date."""
    return DATE_BASE + when.toordinal() if isinstance(when, dt.date) else int(when)


def read_text_list(path: Path) -> tuple[Keys, Keys | None, str]:
    """Sorted unique keys (the number's digits), their stored listings (None when the file has
    no date) and the file's SHA-256; InputError naming file and line for a bad line."""
    import pyarrow as pa

    try:
        fh = path.open("rb")
    except OSError as err:
        raise InputError(f"cannot read list file {path}: {err.strerror}") from None
    state = _State()
    digest = hashlib.sha256()
    with fh:
        for block in _blocks(fh, digest):
            if not _fast_block(block, state):
                reference_block(block, path, state)
    # the kernels' buffers are free now: give them back rather than keep them in arrow's pool
    pa.default_memory_pool().release_unused()
    keys = np.concatenate(state.keys) if state.keys else np.empty(0, np.int64)
    stored = None
    if any(s is not None for s in state.stored):
        stored = np.concatenate([np.full(len(k), NO_DATE, np.int64) if s is None else s
                                 for k, s in zip(state.keys, state.stored, strict=True)])
    return *finish(keys, stored), digest.hexdigest()


def finish(keys: Keys, stored: Keys | None) -> tuple[Keys, Keys | None]:
    """Keys sorted (in place: give a fresh array) and unique; a number listed twice keeps its
    earliest listing (the one that makes the listing oldest), a known date before an unknown
    one, the first line on a tie."""
    if stored is None:
        keys.sort()  # in place: the caller's array is a fresh one
        return keys[_firsts(keys)], None
    order = np.lexsort((utc_seconds(stored), keys))  # stable: ties keep the file's order
    keys = keys[order]
    first = _firsts(keys)
    return keys[first], stored[order][first]


def utc_seconds(stored: Keys) -> Keys:
    """Stored listings as POSIX seconds (a bare date from 00:00 UTC; unknown: the largest)."""
    dates = stored >= DATE_BASE
    out = np.where(dates, (stored - DATE_BASE - _EPOCH_ORDINAL) * 86400, stored)
    out[stored == NO_DATE] = np.iinfo(np.int64).max
    return out


def _firsts(sorted_keys: Keys) -> npt.NDArray[np.bool_]:
    # np.unique would do, but numpy 2.4's takes a minute over ten million int64 (measured)
    first = np.ones(len(sorted_keys), bool)
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:])
    return first


def _blocks(fh: BinaryIO, digest: hashlib._Hash) -> Iterator[bytes]:
    """The file in pieces of about BLOCK bytes, each ending at a line feed (or the file's end)."""
    rest = b""
    while chunk := fh.read(BLOCK):
        digest.update(chunk)
        data = rest + chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]
            data = data[cut:]
        rest = data
    if rest:
        yield rest


def _fast_block(block: bytes, state: _State) -> bool:
    """Read a block with the kernels into ``state``; False (state untouched) if they cannot."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not block.isascii() or len(block) >= 1 << 31:  # (binary arrays take 32-bit offsets)
        return False
    lines = _line_array(block)
    if _all_plain(lines):  # a registry's own form: no line needs a pattern
        plain = np.ones(len(lines), bool)
    else:
        plain = pc.match_substring_regex(lines, _PLAIN).to_numpy(zero_copy_only=False)
    others = np.flatnonzero(~plain)
    rest = lines.take(pa.array(others))
    rows = pc.extract_regex(rest, _ROW)
    is_row = rows.is_valid().to_numpy(zero_copy_only=False)
    left = rest.filter(pa.array(~is_row))
    skip = pc.match_substring_regex(left, _SKIP).to_numpy(zero_copy_only=False)
    header = np.flatnonzero(~skip)
    if len(header):
        # at most one header, before any number of this file, and nothing else unread
        first_entry = min(int(np.argmax(plain)) if plain.any() else len(plain),
                          int(others[np.argmax(is_row)]) if is_row.any() else len(plain))
        where = int(others[np.flatnonzero(~is_row)[header[0]]])
        if (len(header) > 1 or state.has_entry or state.seen_header or where > first_entry
                or not pc.all(pc.match_substring_regex(left.take(pa.array(header)),
                                                       _HEADER)).as_py()):
            return False
    row_fields = rows.filter(pa.array(is_row))
    dates = pc.fill_null(row_fields.field("date"), b"")
    stored = None
    if pc.any(pc.greater(pc.binary_length(dates), 0)).as_py():
        found = _read_dates(dates)
        if found is None:
            return False
        stored = np.concatenate([np.full(int(plain.sum()), NO_DATE, np.int64), found])
    numbers = pc.binary_slice(lines if plain.all() else lines.filter(pa.array(plain)), 1, -1)
    keys = np.concatenate([_integers(numbers), _integers(row_fields.field("number"))])
    state.keys.append(keys)
    state.stored.append(stored)
    state.seen_header = state.seen_header or bool(len(header))
    state.has_entry = state.has_entry or bool(len(keys))
    state.line += _line_count(block, len(lines))
    return True


def _all_plain(lines: pa.BinaryArray) -> bool:
    """Whether every line (of :func:`_line_array`) is a number alone, as ``_PLAIN`` matches it:
    ``+``, 7 to 15 digits not starting with 0, and its line feed. Checked on the block's bytes
    at once, without a pattern per line (which costs about 50 ns a line)."""
    offsets = np.frombuffer(lines.buffers()[1], np.int32, len(lines) + 1)
    data = np.frombuffer(lines.buffers()[2], np.uint8, int(offsets[-1]))
    starts, widths = offsets[:-1], np.diff(offsets)  # a width counts "+", digits and LF
    # Each line ends with its LF (the array is cut there) and is checked to start with "+":
    # neither is a digit, so when the block holds no other byte that is not a digit, every
    # line is "+" and digits, as many as its width says. (Below "0", a byte wraps past 9.)
    return bool(len(lines) and widths.min() >= 9 and widths.max() <= 17
                and (data[starts] == ord("+")).all() and (data[starts + 1] != ord("0")).all()
                and np.count_nonzero(data - np.uint8(ord("0")) > 9) == 2 * len(lines))


def _line_count(block: bytes, pieces: int) -> int:
    """How many lines the reference reader counts in a block (which ends at a line feed or at
    the end of the file) that split into ``pieces`` at CR and LF."""
    if b"\r" not in block:
        return pieces
    if block.count(b"\r") == block.count(b"\r\n"):  # CR only before LF: Windows line ends
        return block.count(b"\n") + (not block.endswith(b"\n"))
    return sum(1 for _ in _lines(io.BytesIO(block)))


def _line_array(block: bytes) -> pa.BinaryArray:
    """The block's lines, each with its line feed, as a binary array over the block's bytes."""
    import pyarrow as pa

    # a lone CR ends a line too; CR LF becomes an extra blank line, which is skipped
    if b"\r" in block:
        block = block.replace(b"\r", b"\n")
    if not block.endswith(b"\n"):
        block += b"\n"
    ends = np.flatnonzero(np.frombuffer(block, np.uint8) == ord("\n"))
    offsets = np.zeros(len(ends) + 1, np.int32)
    np.add(ends, 1, out=offsets[1:], casting="unsafe")  # (a block is under 2 GiB: int32 holds)
    return pa.BinaryArray.from_buffers(pa.binary(), len(offsets) - 1,
                                       [None, pa.py_buffer(offsets), pa.py_buffer(block)])


def _integers(digits: pa.Array) -> Keys:
    """ASCII digit strings (already matched) as int64, without a second UTF-8 check."""
    import pyarrow as pa
    import pyarrow.compute as pc

    keys: Keys = pc.cast(digits.view(pa.string()), pa.int64()).to_numpy(zero_copy_only=False)
    return keys


def _read_dates(dates: pa.Array) -> Keys | None:
    """Each row's stored listing (NO_DATE when empty), each distinct text read once by
    :func:`parse_when`; None when one is not a date (the reference reader reports it)."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(dates)
    values: list[int] = []
    for raw in encoded.dictionary.to_pylist():
        text = raw.decode("ascii").strip()
        if not text:
            values.append(NO_DATE)
            continue
        try:
            values.append(encode(parse_when(text)))
        except ValueError:
            return None
    table = np.array(values, np.int64)
    stored: Keys = table[encoded.indices.to_numpy(zero_copy_only=False)]
    return stored


def parse_when(text: str) -> float | dt.date:
    """A listing date: YYYY-MM-DD as a bare date, RFC 3339 as POSIX seconds (UTC if no offset)."""
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    when = dt.datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def reference_block(block: bytes, path: Path, state: _State) -> None:
    """Read a block line by line into ``state``: the reference reader.

    Blank lines and ``#`` comments are skipped, as is a ``number,listed_at`` header. A line
    that is not a number (or whose date is not YYYY-MM-DD or RFC 3339) stops the load with
    an error naming the file and line: a silently skipped number would be a call allowed.
    """
    keys: list[int] = []
    stored: list[int] = []
    for raw in _lines(io.BytesIO(block)):
        state.line += 1
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError as err:
            raise InputError(f"{path}:{state.line}: not UTF-8 text (byte "
                             f"0x{raw[err.start]:02x}); is this a list file?") from None
        if not text or text.startswith("#"):
            continue
        fields = [f.strip() for f in text.split(",")]
        # A header may follow leading comments (a source note), but only come first.
        if not state.has_entry and not state.seen_header and fields[0].lower() in _HEADER_WORDS:
            state.seen_header = True
            continue
        number, when = _entry(fields, f"{path}:{state.line}")
        keys.append(int(number[1:]))
        stored.append(NO_DATE if when is None else encode(when))
        state.has_entry = True
    state.keys.append(np.array(keys, np.int64))
    state.stored.append(np.array(stored, np.int64) if any(s != NO_DATE for s in stored)
                        else None)


def _lines(fh: Iterable[bytes]) -> Iterator[bytes]:
    """Lines ending at \\n, \\r\\n or a lone \\r (as spreadsheets on the Mac write them),
    read as bytes so that a line that is not UTF-8 is reported with its number."""
    for raw in fh:
        yield from raw.rstrip(b"\r\n").split(b"\r")


def _entry(fields: list[str], where: str) -> tuple[str, float | dt.date | None]:
    if len(fields) > 2 or not _E164.match(fields[0]):
        raise InputError(f"{where}: expected an E.164 number like +12125550101, optionally "
                         f"followed by ,YYYY-MM-DD; found {excerpt(','.join(fields))}")
    if len(fields) == 1 or not fields[1]:
        return fields[0], None
    try:
        return fields[0], parse_when(fields[1])
    except ValueError:
        raise InputError(f"{where}: {excerpt(fields[1])} is not a date (YYYY-MM-DD)") from None
