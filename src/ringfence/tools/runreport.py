"""What ``ringfence decide`` tells on standard error: a progress bar while a long run goes on
(on a terminal only), and a summary at the end."""

from __future__ import annotations

import sys
from typing import Any

from ringfence.tools.decidework import Tally

# A run shorter than this shows no bar; the bar is redrawn at most this often (seconds).
_BAR_DELAY = 1.0
_REDRAW = 0.5


class Progress:
    """Calls decided so far and their rate, drawn by tqdm on standard error when it is a
    terminal; nothing otherwise.

    The bar is made at the first advance: by then the worker processes of ``--jobs`` are
    forked, and tqdm's monitor thread is not copied into them half-way through something.
    """

    def __init__(self, enabled: bool):
        stream = sys.stderr
        self._on = enabled and stream is not None and stream.isatty()
        self._bar: Any = None

    def advance(self, calls: int) -> None:
        if not self._on:
            return
        if self._bar is None:
            from tqdm import tqdm  # only for a terminal: a pipe never pays for the import

            self._bar = tqdm(unit=" calls", delay=_BAR_DELAY, mininterval=_REDRAW, leave=False,
                             file=sys.stderr, desc="deciding")
        self._bar.update(calls)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def summary(tally: Tally) -> str:
    """The end-of-run summary: calls, allowed, denied, malformed, and the denials by rule."""
    head = (f"decided {_plural(tally.calls, 'call')}: {tally.allowed:,} allowed, "
            f"{tally.denied:,} denied")
    if tally.errors:
        head += f", {_plural(tally.errors, 'malformed call')} (see the error records)"
    lines = [head]
    if tally.rules:
        lines.append("denials by rule (a call denied by several rules counts for each):")
        width = len(f"{max(tally.rules.values()):,}")
        lines.extend(f"  {count:>{width},}  {rule}"
                     for rule, count in sorted(tally.rules.items(), key=lambda kv: (-kv[1], kv[0])))
    return "\n".join(lines)
