"""The calls of ``ringfence decide`` as a stream of blocks of whole lines.

The input is read a block at a time (what is there to read without waiting, at most
:data:`BLOCK` bytes, or :data:`FANOUT_BLOCK` for ``--jobs``), cut after its last line break, so
deciding starts with the first block, memory does not grow with the input, and a block can be
sent whole to another process. Lines end at ``\\n`` only (see
:func:`ringfence.tools.jsonlines.calls_in`).

One JSON call written over several lines (a pretty-printed file, or inline JSON) is still one
call, as when the whole input was read at once: when the first line that is not blank opens an
object it does not close, the input is gathered, up to :data:`MAX_OBJECT` bytes, and if all of it
is one JSON value it becomes a single line 1. Otherwise it is read as JSON Lines.

A regular file of JSON Lines read by ``--jobs`` worker processes is cut into :class:`Span` s
instead: where each block of lines lies in the file, which a worker reads itself, so the input
does not pass through this process and a pipe.
"""

from __future__ import annotations

import contextlib
import io
import os
import select
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ringfence.errors import InputError
from ringfence.tools.jsonlines import JSON_SPACE, NotJson, parse_json

BLOCK = 1 << 16
# The block of ``decide --jobs N``: about a thousand calls, so that sending a block to a worker
# process and its decisions back costs little beside deciding them.
FANOUT_BLOCK = 1 << 20
# The largest call read as one JSON value written over several lines.
MAX_OBJECT = 1 << 20


def line_breaks(data: bytes) -> int:
    """How many ``\\n`` ``data`` holds (what ``data.count(b"\\n")`` says), compared a vector of
    bytes at a time: bytes.count looks at them one by one, four times as long (19 µs for a
    64 kB block of about 70 calls, 1% of deciding them), however long the lines are."""
    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == _LINE_BREAK))


_LINE_BREAK = ord("\n")


@dataclass(frozen=True, slots=True)
class Block:
    """Whole lines of input: ``data`` (each line ends in ``\\n``, the input's last perhaps not)
    and the number of its first line."""

    first: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Span:
    """Whole lines of a regular file, by place: bytes ``start`` to ``end`` of the file open as
    ``fd`` (named ``name``), the first of them line ``first``."""

    fd: int
    name: str
    first: int
    start: int
    end: int


@contextlib.contextmanager
def open_calls(source: str) -> Iterator[BinaryIO]:
    """The byte stream a CALLS argument stands for: inline JSON (it starts with ``{`` or ``[``),
    a file, or ``-`` for stdin. An unreadable one is an InputError."""
    if source.lstrip().startswith(("{", "[")):
        # surrogateescape: undecodable bytes of the command line come back as they were given,
        # so they are reported as "not UTF-8" rather than failing here.
        yield io.BytesIO(source.encode("utf-8", "surrogateescape"))
        return
    if source == "-":
        if sys.stdin is None:
            raise InputError("standard input is closed; give the calls as a file")
        yield sys.stdin.buffer
        return
    try:
        stream = Path(source).open("rb")  # noqa: SIM115 (closed below, after the last block)
    except OSError as err:
        raise InputError(f"cannot read {source}: {err.strerror or err}") from None
    with stream:
        yield stream


def read_all(source: str) -> bytes:
    """All the bytes a CALLS argument stands for (one call, for ``explain``)."""
    with open_calls(source) as stream:
        return b"".join(_reader(stream, BLOCK))


def _reader(stream: BinaryIO, size: int) -> Iterator[bytes]:
    read = getattr(stream, "read1", stream.read)  # read1: what is there, without waiting for more
    name = getattr(stream, "name", "standard input")
    ready = _ready_check(stream)
    while True:
        try:
            data = read(size)
            if ready is not None and data and len(data) < size:
                data = _gather(data, read, ready, size)
        except OSError as err:
            raise InputError(f"cannot read {name}: {err.strerror or err}") from None
        if not data:
            return
        yield data


def _ready_check(stream: BinaryIO) -> Callable[[], bool] | None:
    """Whether more of the stream can be read at once, without waiting (None when that cannot
    be asked: no file descriptor, or not POSIX)."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError):  # BytesIO: io.UnsupportedOperation
        return None
    if os.name != "posix":
        return None
    return lambda: bool(select.select([fd], [], [], 0)[0])


def _gather(data: bytes, read: Callable[[int], bytes], ready: Callable[[], bool],
            size: int) -> bytes:
    """``data`` and what else is there to read now, up to ``size`` bytes: a pipe gives at most
    its buffer (64 kB) a read, far less than a block of ``--jobs``."""
    pieces = [data]
    got = len(data)
    while got < size and ready():
        more = read(size - got)
        if not more:  # the end: the next read says so again
            break
        pieces.append(more)
        got += len(more)
    return b"".join(pieces) if len(pieces) > 1 else data


def _one_value(head: bytes, rest: Iterator[bytes]) -> tuple[bytes | None, bytes]:
    """Gather the input after ``head``, up to MAX_OBJECT bytes: (the whole input as one line
    when it is one JSON value, else None; the bytes gathered)."""
    pieces = [head]
    size = len(head)
    for data in rest:
        if size > MAX_OBJECT:
            return None, b"".join((*pieces, data))
        pieces.append(data)
        size += len(data)
    gathered = b"".join(pieces)
    whole = gathered.strip(JSON_SPACE)
    if isinstance(parse_json(whole), NotJson):
        return None, gathered
    # A JSON text holds no raw line break inside a string: as spaces they change nothing.
    return whole.replace(b"\n", b" ") + b"\n", gathered


def _opens_an_object(head: bytes) -> bool:
    """Whether the first line that is not blank opens a JSON object it does not close."""
    for line in head.split(b"\n"):
        text = line.strip(JSON_SPACE)
        if text:
            return text.startswith(b"{") and isinstance(parse_json(text), NotJson)
    return False


def _first_line(reads: Iterator[bytes]) -> bytes:
    """The reads up to the end of the first line that is not blank (all of them if none is)."""
    pieces: list[bytes] = []
    seen = False  # text of the first line that is not blank
    for data in reads:
        pieces.append(data)
        after = data if seen else data.lstrip(JSON_SPACE)
        seen = seen or bool(after)
        if seen and b"\n" in after:
            break
    return b"".join(pieces)


def blocks(stream: BinaryIO, size: int = BLOCK) -> Iterator[Block]:
    """The input as blocks of whole lines, in order (see the module's docstring)."""
    reads = _reader(stream, size)
    head = _first_line(reads)
    if _opens_an_object(head):
        whole, head = _one_value(head, reads)
        if whole is not None:
            yield Block(1, whole)
            return
    number = 1
    pending: list[bytes] = []
    for data in _chain(head, reads):
        cut = data.rfind(b"\n") + 1
        if not cut:  # no line ends here: keep it for the next read (joined once, not re-copied)
            pending.append(data)
            continue
        if pending:
            pending.append(data[:cut])
            whole_lines = b"".join(pending)
            pending.clear()
        else:
            whole_lines = data[:cut] if cut < len(data) else data
        if cut < len(data):
            pending.append(data[cut:])
        yield Block(number, whole_lines)
        number += line_breaks(whole_lines)
    if pending:
        yield Block(number, b"".join(pending))


def _chain(head: bytes, reads: Iterator[bytes]) -> Iterator[bytes]:
    if head:
        yield head
    yield from reads


def spans(stream: BinaryIO, size: int) -> Iterator[Span] | None:
    """The rest of the input as spans of whole lines of about ``size`` bytes, in order, when it
    is a regular file of JSON Lines; None when it is not (a pipe, inline JSON, one call written
    over several lines): :func:`blocks` reads it then. The stream itself is not moved."""
    try:
        fd = stream.fileno()
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        start = stream.tell()
    except (OSError, ValueError):  # BytesIO: io.UnsupportedOperation
        return None
    if not regular or not hasattr(os, "pread"):
        return None
    name = str(getattr(stream, "name", "standard input"))
    if _opens_an_object(_first_line(_preads(fd, name, start, size))):
        return None
    return _spans(fd, name, start, size)


def _spans(fd: int, name: str, start: int, size: int) -> Iterator[Span]:
    number = 1
    while data := _pread(fd, name, start, size):
        cut = data.rfind(b"\n") + 1
        if cut:
            end, lines = start + cut, line_breaks(data)
        else:  # one line longer than a block: the span runs to its end
            end, lines = _line_end(fd, name, start + len(data), size), 1
        yield Span(fd, name, number, start, end)
        number += lines
        start = end


def _line_end(fd: int, name: str, at: int, size: int) -> int:
    """Where the line going on at ``at`` ends: after its ``\\n``, or at the end of the file."""
    for data in _preads(fd, name, at, size):
        found = data.find(b"\n")
        if found >= 0:
            return at + found + 1
        at += len(data)
    return at


def _preads(fd: int, name: str, at: int, size: int) -> Iterator[bytes]:
    """The file from ``at`` on, ``size`` bytes a read."""
    while data := _pread(fd, name, at, size):
        yield data
        at += len(data)


def _pread(fd: int, name: str, at: int, size: int) -> bytes:
    try:
        return os.pread(fd, size, at)
    except OSError as err:
        raise InputError(f"cannot read {name}: {err.strerror or err}") from None


def read_span(span: Span) -> Block:
    """The lines a span stands for (fewer if the file has shrunk since)."""
    want = span.end - span.start
    data = _pread(span.fd, span.name, span.start, want)
    while len(data) < want and (more := _pread(span.fd, span.name, span.start + len(data),
                                               want - len(data))):
        data += more  # a read of a regular file stops short only at its end or past 2 GB
    return Block(span.first, data)


def pieces(block: Block, size: int) -> Iterator[Block]:
    """A block as blocks of whole lines of at most ``size`` bytes (a longer line alone), in
    order."""
    data, number, start = block.data, block.first, 0
    while start < len(data):
        end = (data.rfind(b"\n", start, start + size) + 1
               or data.find(b"\n", start + size) + 1 or len(data))
        piece = data[start:end]
        yield Block(number, piece)
        number += line_breaks(piece)
        start = end
