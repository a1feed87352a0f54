"""Layering of call fragments: defaults, then fixtures in order, then the case's own call.

Lists are concatenated (a fixture's consent adds to the defaults' consent), mappings are merged
key by key, and anything else is replaced by the later layer. A ``null`` in a later layer removes
the key, so a case can take away a default (``purpose: null`` to test a missing purpose).
Line marks are kept on the result so errors found after merging still point at a line.
"""

from __future__ import annotations

from typing import Any

from ringfence.testing.yamlload import MDict, MList


def copy_marked(value: Any) -> Any:
    """A deep copy of ``value`` that keeps MDict/MList line marks."""
    if isinstance(value, dict):
        out = MDict(line=getattr(value, "line", 0))
        lines = getattr(value, "key_lines", {})
        for key, item in value.items():
            out[key] = copy_marked(item)
            if key in lines:
                out.key_lines[key] = lines[key]
        return out
    if isinstance(value, list):
        out_list = MList((copy_marked(v) for v in value), line=getattr(value, "line", 0))
        out_list.item_lines = list(getattr(value, "item_lines", [0] * len(value)))
        return out_list
    return value


def merge(base: Any, over: Any) -> Any:
    """``over`` layered on ``base`` (neither is modified)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = copy_marked(base)
        lines = getattr(over, "key_lines", {})
        for key, value in over.items():
            if value is None:
                out.pop(key, None)
                out.key_lines.pop(key, None)
                continue
            out[key] = merge(out[key], value) if key in out else copy_marked(value)
            if key in lines:
                out.key_lines[key] = lines[key]
        return out
    if isinstance(base, list) and isinstance(over, list):
        out_list = copy_marked(base)
        extra = copy_marked(over)
        out_list.extend(extra)
        out_list.item_lines.extend(extra.item_lines)
        out_list.line = getattr(over, "line", out_list.line)
        return out_list
    return copy_marked(over)


def merge_all(layers: list[Any]) -> MDict:
    """All ``layers`` merged in order into one call mapping."""
    result: MDict = MDict()
    for layer in layers:
        if layer:
            result = merge(result, layer)
    return result


def count_values(value: Any) -> int:
    """How many values ``value`` holds (itself, and each key, item and value inside it)."""
    if isinstance(value, dict):
        return 1 + sum(1 + count_values(v) for v in value.values())
    if isinstance(value, list):
        return 1 + sum(count_values(v) for v in value)
    return 1
