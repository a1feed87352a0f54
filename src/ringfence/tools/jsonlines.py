"""Reading calls for the command line: one JSON call, or JSON Lines, from bytes of any quality.

Every line is judged on its own: a line that is not UTF-8, not JSON, or JSON that Python cannot
hold (a number of thousands of digits, nesting deeper than the parser's stack, ``NaN``) becomes a
:class:`NotJson` for that line, and the lines after it are still read.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

# Python refuses to turn longer digit strings into an int (a guard against quadratic time).
MAX_DIGITS = 4300
# JSON whitespace (RFC 8259); str.strip() would also drop U+2028 and other Unicode spaces.
JSON_SPACE = b" \t\r\n"
# orjson reads an integer past 64 bits as a float, silently rounded: a line with a run of this
# many digits goes to the exact parser.
LONG_RUN = 19
_DIGITS_ONLY = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_RUN_OF_ZEROS = b"0" * LONG_RUN


def long_digit_run(raw: bytes) -> bool:
    """Whether ``raw`` holds a run of :data:`LONG_RUN` ASCII digits (the reference: digits as
    "0" and all else as " " by one bytes.translate, then a search)."""
    return _RUN_OF_ZEROS in raw.translate(_DIGITS_ONLY)


def split_lines(data: bytes) -> list[bytes]:
    """The lines of ``data``, cut at ``\\n`` (the reference: ``bytes.split``)."""
    return data.split(b"\n")


def as_array(data: bytes, separator: bytes) -> bytes:
    """The lines of ``data`` (a last line break ends the last line) joined by ``separator``
    inside ``[`` and ``]`` (the reference: this expression)."""
    return b"[" + data.removesuffix(b"\n").replace(b"\n", separator) + b"]"


def _compiled() -> Any:
    """The compiled reader (whose ``digit_run`` gives :func:`long_digit_run`'s answer for a
    tenth of the cost: it looks at one byte in 19 and measures the runs of digits found there;
    whose ``split_lines`` is :func:`split_lines`'s for a sixth; and whose ``as_array`` is
    :func:`as_array`'s in one copy, not four), or None when the
    package was built without it or ``RINGFENCE_PURE_PYTHON`` is set."""
    if os.environ.get("RINGFENCE_PURE_PYTHON"):
        return None
    try:
        from ringfence.contract import _callreader
    except ImportError:  # built without a C compiler
        return None
    return _callreader


_reader = _compiled()
_digit_run = None if _reader is None else _reader.digit_run
_split_lines = split_lines if _reader is None else _reader.split_lines
_as_array = as_array if _reader is None else _reader.as_array


@dataclass(frozen=True, slots=True)
class NotJson:
    """Why one line is not a call; where in it (1-based line and column) when it is known."""

    message: str
    column: int | None = None
    line: int | None = None


def _number(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"a number of more than {MAX_DIGITS} digits")
    return int(text)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # 1e999 reads as infinity, which JSON cannot write back: the decision would not be JSON.
        raise ValueError(f"{text[:30]} is too large for a number")
    return value


def _constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON number")


def parse_json(raw: bytes) -> Any | NotJson:
    """The JSON value of ``raw`` (UTF-8), or a :class:`NotJson` saying why it is not one.

    orjson reads a call (about 4x faster than the standard library); anything it refuses or may
    read differently, and any value that is not an object, is read again by the standard
    library, whose messages and limits (:data:`MAX_DIGITS`, nesting) are the ones reported.
    """
    if not _has_digit_run(raw):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            if type(value) is dict:
                return value
    return _parse_exactly(raw)


def _has_digit_run(raw: bytes) -> bool:
    """Whether ``raw`` holds a run of :data:`LONG_RUN` digits (orjson may misread it)."""
    return long_digit_run(raw) if _digit_run is None else _digit_run(raw, LONG_RUN)


def _parse_exactly(raw: bytes) -> Any | NotJson:
    """:func:`parse_json` by the standard library alone."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return NotJson(f"not UTF-8: byte 0x{raw[err.start]:02x} at byte {err.start + 1}")
    try:
        return json.loads(text, parse_int=_number, parse_float=_finite, parse_constant=_constant)
    except json.JSONDecodeError as err:
        return NotJson(f"not JSON: {err.msg}", err.colno, err.lineno)
    except ValueError as err:
        return NotJson(f"not JSON: {err}")
    except RecursionError:
        return NotJson("not JSON: nested too deeply")


def not_a_call(value: Any) -> str | None:
    """Why a parsed JSON value cannot be a call (said in JSON's terms), or None for an object.

    The call schema would say "[1, 2] is not of type 'object'", a Python repr of the value.
    """
    if isinstance(value, dict):
        return None
    if isinstance(value, list):
        kind = "an array"
    elif isinstance(value, str):
        kind = "a string"
    elif isinstance(value, bool):  # before int: True is an int to Python
        kind = "true" if value else "false"
    elif value is None:
        kind = "null"
    else:
        kind = "a number"
    return f"a call is a JSON object, not {kind}"


def calls_in(first: int, data: bytes) -> list[tuple[int, Any | NotJson]]:
    """(line number, call or :class:`NotJson`) for each line of ``data`` that is not blank; its
    first line is line ``first``: what :func:`parse_json` gives for each line.

    Lines end at ``\\n`` only: U+2028, U+0085 and the other Unicode line breaks may stand raw
    inside a JSON string, so splitting on them would cut one call into bogus pieces.
    """
    if _has_digit_run(data):  # rare: some line needs the exact parser (no run spans lines)
        return [(number, parse_json(line))
                for number, line in enumerate(_split_lines(data), start=first)
                if line.strip(JSON_SPACE)]
    found = _calls_at_once(first, data)
    if found is not None:
        return found
    # What parse_json does, for a block at once: the digits looked at once, no call per line.
    found = []
    loads, refused = orjson.loads, orjson.JSONDecodeError
    for number, line in enumerate(_split_lines(data), start=first):
        try:
            value = loads(line)
        except refused:  # a blank line (nothing to read), or one for the exact parser
            if line.strip(JSON_SPACE):
                found.append((number, _parse_exactly(line)))
            continue
        found.append((number, value if type(value) is dict else _parse_exactly(line)))
    return found


def lines_read(first: int, data: bytes, read_lines: Callable[[bytes, int], Any]
               ) -> list[tuple[int, Any | NotJson]]:
    """What :func:`calls_in` gives for ``data``, but each line that ``read_lines`` reads (into
    a Call: ``request.read_lines``) as it reads it; each line it hands over (as its bytes) as
    :func:`parse_json` reads it."""
    found: list[tuple[int, Any | NotJson]]
    found, others = read_lines(data, first)
    for at in others:
        number, line = found[at]
        found[at] = (number, parse_json(line))
    return found


# Between two lines of a block read as one JSON array: an integer of LONG_RUN digits, which no
# line of a block without such a run of digits can hold (a JSON integer is written in its
# digits alone) and no float equals (1e18 does equal 10**18: floats there are 128 apart), then
# a line break, which no JSON string can hold.
_MARK = 10 ** (LONG_RUN - 1) + 1
_BETWEEN = b",%d,\n" % _MARK


def _calls_at_once(first: int, data: bytes) -> list[tuple[int, Any]] | None:
    """What :func:`calls_in` gives for ``data`` (which holds no run of :data:`LONG_RUN`
    digits) when every line of it is a JSON object, read by one call of orjson (a block's
    lines read one by one cost a seventh more); None when some line is not (or is blank).

    The lines are read as one array, :data:`_MARK` between each two. Where every mark stands
    alone between two values of the array, each line is exactly one value, the one it is
    alone: no line can write the mark, nor a string across a line break; a line that is not
    one value alone (``{"a": [1``, ``{}, {}``) moves or hides a mark, or makes the array no
    JSON at all.
    """
    text = _as_array(data, _BETWEEN)
    # the lines, told by the text's length (bytes.count looks at a block byte by byte): each
    # line break between two lines became _BETWEEN, the last one of the block went
    lines = (len(text) - 2 - len(data) + data.endswith(b"\n")) // (len(_BETWEEN) - 1) + 1
    try:
        values = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    calls = values[::2]
    if (len(values) != 2 * lines - 1 or values[1::2].count(_MARK) != lines - 1
            or set(map(type, calls)) != {dict}):
        return None
    return list(zip(range(first, first + lines), calls, strict=True))
