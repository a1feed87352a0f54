"""The words of a call checked against the word vocabularies of a policy set.

The call schema names the vocabularies of words (``purpose``: marketing, research, ...) and the
places that take them (``purpose``, ``consent[].purposes``...); a policy may declare more words
(``uses purposes fundraising``), which calls to a policy set that loads it may then give. The
readers give these words in lowercase; a word that is in neither the vocabulary nor the declared
words would match no rule, so the call is rejected, naming the field, the word and the closest
known one, rather than judged as if it had no purpose.

The check runs on every call: it is written out once per policy set (as ``request.py`` writes
the conversion), one loop per place, so that a call costs a few set lookups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ringfence.contract.request import CONTRACT, RECORDS, Call
from ringfence.contract.schema import Place, WordVocabulary
from ringfence.errors import CallError, did_you_mean, excerpt

# The places that take words of a vocabulary, in the schema's order.
_PLACES: tuple[Place, ...] = tuple(
    CONTRACT.place(*path) for vocabulary in CONTRACT.word_vocabularies.values()
    for path in (p.path for p in CONTRACT.places if p.name in vocabulary.places))


def _loop(number: int, place: Place) -> list[str]:
    """The lines that check one place: ``return number`` at the first unknown word."""
    head, *rest = place.path
    if not rest:
        return [f"    word = call.{place.attribute}",
                f"    if word is not None and word not in known[{number}]:",
                f"        return {number}"]
    key = rest[-1]
    if head == "history":  # the attempts are read from the request (see Call.history)
        return ["    for item in call.history_items:",
                f"        word = item.get({key!r})",
                f"        if word is not None and word not in known[{number}]:",
                f"            return {number}"]
    if head not in RECORDS or place.kind != "terms":
        raise ValueError(f"{place.name}: no reader for the words at this place")
    return [f"    for record in call.{head}:",
            f"        if record.{key} is not None and not known[{number}].issuperset("
            f"record.{key}):",
            f"            return {number}"]


def _compile() -> Callable[[Call, tuple[frozenset[str], ...]], int]:
    lines = ["def first_unknown(call, known):"]
    for number, place in enumerate(_PLACES):
        lines += _loop(number, place)
    lines.append("    return -1")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines) + "\n", "<ringfence call words>", "exec"), namespace)
    found: Callable[[Call, tuple[frozenset[str], ...]], int] = namespace["first_unknown"]
    return found


#: first_unknown(call, known): the position in _PLACES of the first place holding a word not in
#: its set of ``known`` words, or -1.
_first_unknown = _compile()


def _words(call: Call, place: Place) -> Iterator[tuple[str, str]]:
    """(where in the call, word) for each word at ``place`` (only run to word an error)."""
    head, *rest = place.path
    if not rest:
        word = getattr(call, place.attribute)
        if word is not None:
            yield head, word
        return
    key = rest[-1]
    if head == "history":
        for i, item in enumerate(call.history_items):
            if item.get(key) is not None:
                yield f"history[{i}].{key}", item[key]
        return
    for i, record in enumerate(getattr(call, head)):
        for j, word in enumerate(getattr(record, key) or ()):
            yield f"{head}[{i}].{key}[{j}]", word


class Words:
    """The words calls may give to a policy set: each vocabulary's, with ``declared`` (by
    vocabulary name: the words its policies declare)."""

    def __init__(self, declared: Mapping[str, frozenset[str]]):
        self.declared = {name: frozenset(declared.get(name, ()))
                         for name in CONTRACT.word_vocabularies}
        self.vocabularies = tuple(_vocabulary(p) for p in _PLACES)
        self.known = tuple(v.at(p.name, self.declared[v.name])
                           for p, v in zip(_PLACES, self.vocabularies, strict=True))

    def check(self, call: Call) -> None:
        """Raise :class:`CallError` naming the first word of ``call`` no vocabulary knows."""
        number = _first_unknown(call, self.known)
        if number < 0:
            return
        known, what = self.known[number], self.vocabularies[number].name
        for where, word in _words(call, _PLACES[number]):
            if word not in known:
                hint = did_you_mean(word, known)
                declared = self.declared[what]
                raise CallError(where, f"{excerpt(word)} is not a {what} of the call contract"
                                + (" nor one the loaded policies declare "
                                   f"({', '.join(sorted(declared))})" if declared else
                                   f" (a policy may declare it: uses {what} NAME)")
                                + (f"; did you mean {hint!r}?" if hint else ""))


def _vocabulary(place: Place) -> WordVocabulary:
    vocabulary = CONTRACT.vocabulary_of(place.name)
    assert vocabulary is not None  # _PLACES are the places of the vocabularies
    return vocabulary
