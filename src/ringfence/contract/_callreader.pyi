"""Types of the compiled call reader (``_callreader.c``); see ``request.py``."""

from collections.abc import Mapping
from typing import Any

from .request import Call

def read(raw: object) -> Call | None:
    """The call converted, or None when the reference path must judge it."""

def configure(call: type[Call], consent: type[tuple[Any, ...]], opt_out: type[tuple[Any, ...]],
              empty: Mapping[str, Any]) -> None:
    """The classes the reader builds, and the empty mapping of a call without lists."""
