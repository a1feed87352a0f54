"""Finding the words of a call that a set of known words lacks, at every place of a vocabulary
of words (``purpose``, ``consent[].purposes``, ``opt_outs[].purposes``, ``history[].purpose``).

Used twice on every call that the reference path reads (is any word not the contract's own?)
and by a policy set for calls that have such words (is any word neither the contract's nor one
its policies declare?), so the scan is written out once as one function of plain loops, as
``request.py`` writes the conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

from ringfence.contract.schema import Place

#: first_unknown(call, known): the position of the first place whose words are not all in its
#: set of ``known`` words (one set per place, in order), or -1.
FirstUnknown = Callable[[Any, Sequence[frozenset[str]]], int]


def _loop(number: int, place: Place, records: Collection[str]) -> list[str]:
    """The lines that scan one place: ``return number`` at the first unknown word."""
    head, *rest = place.path
    if not rest:
        return [f"    word = call.{place.attribute}",
                f"    if word is not None and word not in known[{number}]:",
                f"        return {number}"]
    key = rest[-1]
    if head == "history":  # the attempts are read from the request (see Call.history)
        # (``or ()``: an array the call left out is None, see request.DEFAULTS)
        return ["    for item in call.history_items or ():",
                f"        word = item.get({key!r})",
                f"        if word is not None and word not in known[{number}]:",
                f"            return {number}"]
    if head not in records or place.kind != "terms":
        raise ValueError(f"{place.name}: no reader for the words at this place")
    return [f"    for record in call.{head} or ():",
            f"        if record.{key} is not None and not known[{number}].issuperset("
            f"record.{key}):",
            f"            return {number}"]


def compile_scan(places: Sequence[Place], records: Collection[str]) -> FirstUnknown:
    """The scan of ``places`` (``records``: the arrays a Call holds as records)."""
    lines = ["def first_unknown(call, known):"]
    for number, place in enumerate(places):
        lines += _loop(number, place, records)
    lines.append("    return -1")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines) + "\n", "<ringfence call words>", "exec"), namespace)
    found: FirstUnknown = namespace["first_unknown"]
    return found


def words_at(call: Any, place: Place) -> Iterator[tuple[str, str]]:
    """(where in the call, word) for each word at ``place`` (run only to word an error)."""
    head, *rest = place.path
    if not rest:
        word = getattr(call, place.attribute)
        if word is not None:
            yield head, word
        return
    key = rest[-1]
    if head == "history":
        for i, item in enumerate(call.history_items or ()):
            if item.get(key) is not None:
                yield f"history[{i}].{key}", item[key]
        return
    for i, record in enumerate(getattr(call, head) or ()):
        for j, word in enumerate(getattr(record, key) or ()):
            yield f"{head}[{i}].{key}[{j}]", word
