"""The words of a call checked against the word vocabularies of a policy set.

The call schema names the vocabularies of words (``purpose``: marketing, research, ...) and the
places that take them (``purpose``, ``consent[].purposes``...); a policy may declare more words
(``uses purposes fundraising``), which calls to a policy set that loads it may then give. The
readers give these words in lowercase and mark a call that has a word outside the contract's own
(``Call.new_words``); such a word that is not declared either would match no rule, so the call
is rejected, naming the field, the word and the closest known one, rather than judged as if it
had no purpose.
"""

from __future__ import annotations

from collections.abc import Mapping

from ringfence.contract.request import CONTRACT, WORD_PLACES, Call, first_unknown_word
from ringfence.contract.schema import Place, WordVocabulary
from ringfence.contract.wordscan import words_at
from ringfence.errors import CallError, did_you_mean, excerpt


def _vocabulary(place: Place) -> WordVocabulary:
    vocabulary = CONTRACT.vocabulary_of(place.name)
    assert vocabulary is not None  # WORD_PLACES are the places of the vocabularies
    return vocabulary


class Words:
    """The words calls may give to a policy set: each vocabulary's, with ``declared`` (by
    vocabulary name: the words its policies declare)."""

    def __init__(self, declared: Mapping[str, frozenset[str]]):
        self.declared = {name: frozenset(declared.get(name, ()))
                         for name in CONTRACT.word_vocabularies}
        self.vocabularies = tuple(_vocabulary(p) for p in WORD_PLACES)
        self.known = tuple(v.at(p.name, self.declared[v.name])
                           for p, v in zip(WORD_PLACES, self.vocabularies, strict=True))

    def check(self, call: Call) -> None:
        """Raise :class:`CallError` naming the first word of ``call`` no vocabulary knows.
        (A call whose words are all the contract's own, ``not call.new_words``, has none.)"""
        number = first_unknown_word(call, self.known)
        if number < 0:
            return
        known, what = self.known[number], self.vocabularies[number].name
        for where, word in words_at(call, WORD_PLACES[number]):
            if word not in known:
                hint = did_you_mean(word, known)
                declared = self.declared[what]
                raise CallError(where, f"{excerpt(word)} is not a {what} of the call contract"
                                + (" nor one the loaded policies declare "
                                   f"({', '.join(sorted(declared))})" if declared else
                                   f" (a policy may declare it: uses {what} NAME)")
                                + (f"; did you mean {hint!r}?" if hint else ""))
