"""Reading calls for the command line: one JSON call, or JSON Lines, from bytes of any quality.

Every line is judged on its own: a line that is not UTF-8, not JSON, or JSON that Python cannot
hold (a number of thousands of digits, nesting deeper than the parser's stack, ``NaN``) becomes a
:class:`NotJson` for that line, and the lines after it are still read.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ringfence.errors import InputError

# Python refuses to turn longer digit strings into an int (a guard against quadratic time).
MAX_DIGITS = 4300
# JSON whitespace (RFC 8259); str.strip() would also drop U+2028 and other Unicode spaces.
_JSON_SPACE = b" \t\r\n"


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
    """The JSON value of ``raw`` (UTF-8), or a :class:`NotJson` saying why it is not one."""
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


def read_bytes(source: str) -> bytes:
    """All bytes of a file, or of standard input for ``-``; an unreadable one is an InputError."""
    try:
        if source == "-":
            if sys.stdin is None:
                raise InputError("standard input is closed; give the calls as a file")
            return sys.stdin.buffer.read()
        return Path(source).read_bytes()
    except OSError as err:
        name = "standard input" if source == "-" else source
        raise InputError(f"cannot read {name}: {err.strerror or err}") from None


def read_calls(data: bytes) -> Iterator[tuple[int, Any | NotJson]]:
    """(line number, call or :class:`NotJson`) for one JSON call or JSON Lines.

    Lines end at ``\\n`` only: U+2028, U+0085 and the other Unicode line breaks may stand raw
    inside a JSON string, so splitting on them would cut one call into bogus pieces.
    """
    stripped = data.strip(_JSON_SPACE)
    if stripped.startswith(b"{") and b"\n" in stripped:
        whole = parse_json(stripped)
        if not isinstance(whole, NotJson):
            yield 1, whole
            return
        # not one (multi-line) object: read it as JSON Lines
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip(_JSON_SPACE):
            yield number, parse_json(line)
