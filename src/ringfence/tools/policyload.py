"""The policy set the ``--policy/--jurisdiction/--list`` options name, loaded the same way by
every command that takes them (and by each worker process of ``decide --jobs``)."""

from __future__ import annotations

from ringfence.api import PolicySet, load, load_library, shipped_ids
from ringfence.errors import InputError
from ringfence.tools.listoption import parse_lists


def policy_set(policies: tuple[str, ...], jurisdiction: str | None,
               lists: tuple[str, ...]) -> PolicySet:
    """Load the policies the options name (InputError or PolicyError when they are wrong)."""
    named = parse_lists(lists)
    if jurisdiction is not None:
        if jurisdiction != "auto":
            raise InputError("--jurisdiction takes 'auto' (every library policy that matches)")
        if policies:
            return load(*shipped_ids(), *policies, lists=named)
        return load_library(lists=named)
    if not policies:
        raise InputError("give --policy PATH_OR_ID (repeatable) or --jurisdiction auto")
    return load(*policies, lists=named)
