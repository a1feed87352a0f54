"""Types of the compiled line writer (``_linewriter.c``); see ``tools/decidework.py``."""

from typing import Any

from .decision import Decision, Finding

def write_lines(out: bytearray, made: list[Any], start: int, compact: bool,
                decision_type: type[Decision], denials: list[Finding]) -> tuple[int, int]:
    """``decidework.write_lines``, for the lines it is sure to write as that does."""
