"""Syntax-error recovery: one parse reports every error, exactly as re-parsing would.

The parser once recovered by blanking the broken clause and parsing the whole text again, once per
error (50 errors: 50 parses). It now goes on from the next clause with the parser's state kept from
where the broken clause began. :func:`_reparse_reference` is that old algorithm, kept here as the
reference: on mutated shipped policies both must give the same diagnostics, in the same order.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from lark import Token, Tree
from lark.exceptions import UnexpectedInput
from lark.parsers.lalr_parser_state import ParserState
from test_core_support import policy_text, rule

from ringfence.errors import Diagnostic, PolicyError, source_lines
from ringfence.language import parser
from ringfence.language.parser import parse_text

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "policies").glob("*.rf"))


def _reparse_reference(text: str, file: str) -> tuple[Tree[Token] | None, list[Diagnostic]]:
    """The recovery as it was: after each error, blank the broken clause and parse it all again."""
    lark, lines = parser._lark(), source_lines(text)
    diagnostics: list[Diagnostic] = []
    current = text
    for _ in range(50):
        try:
            return lark.parse(current), diagnostics
        except UnexpectedInput as err:
            diag = parser._syntax_diagnostic(err, file, lines, lark)
            if any(d.span == diag.span for d in diagnostics):
                return None, diagnostics
            diagnostics.append(diag)
            if diag.code == "RF102":
                return None, diagnostics
            current = _blank_clause(current, err)
    return None, diagnostics


def _blank_clause(text: str, err: UnexpectedInput) -> str:
    """Blank from the start of the clause holding the error to the start of the next clause."""
    pos = getattr(err, "pos_in_stream", None)
    if pos is None:
        pos = getattr(getattr(err, "token", None), "start_pos", 0) or 0
    words = list(parser._word_positions(text))
    start = 0
    for wpos, word in words:
        if wpos > pos:
            break
        if word in parser._CLAUSE_KEYWORDS:
            start = wpos
    end = next((wpos for wpos, word in words if wpos > pos and word in parser._CLAUSE_KEYWORDS),
               len(text))
    blanked = "".join(ch if ch == "\n" else " " for ch in text[start:end])
    return text[:start] + blanked + text[end:]


def _recovered(text: str, file: str = "p.rf") -> tuple[Tree[Token] | None, list[Diagnostic]]:
    return parser._recovering_parse(text, file, source_lines(text))


def _assert_same_as_reference(text: str) -> list[Diagnostic]:
    tree, diagnostics = _recovered(text)
    ref_tree, ref_diagnostics = _reparse_reference(text, "p.rf")
    assert diagnostics == ref_diagnostics
    if not diagnostics:  # only an error-free parse's tree is ever used
        assert tree == ref_tree
    return diagnostics


# -- mutations: the slips people make --------------------------------------------------------
KEYWORDS = sorted(parser._CLAUSE_KEYWORDS | {"if", "is", "and", "or", "not", "between", "to"})


def _words(text: str) -> list[re.Match[str]]:
    return list(re.finditer(r"\S+", text))


def _delete_word(text: str, rng: random.Random) -> str:
    word = rng.choice(_words(text))
    return text[:word.start()] + text[word.end():]


def _duplicate_keyword(text: str, rng: random.Random) -> str:
    word = rng.choice([w for w in _words(text) if w.group() in KEYWORDS] or _words(text))
    return text[:word.end()] + " " + word.group() + text[word.end():]


def _insert_iff(text: str, rng: random.Random) -> str:
    ifs = [w for w in _words(text) if w.group() == "if"]
    if ifs and rng.random() < 0.5:
        word = rng.choice(ifs)
        return text[:word.start()] + "iff" + text[word.end():]
    word = rng.choice(_words(text))
    return text[:word.start()] + "iff " + text[word.start():]


def _break_time(text: str, rng: random.Random) -> str:
    times = list(re.finditer(r"\d{1,2}:\d{2}", text))
    if not times:
        return _delete_word(text, rng)
    time = rng.choice(times)
    broken = rng.choice(["0800", time.group()[:-1], time.group() + ":", ":00"])
    return text[:time.start()] + broken + text[time.end():]


def _truncate(text: str, rng: random.Random) -> str:
    return text[:rng.randrange(len(text))]


MUTATIONS: list[Callable[[str, random.Random], str]] = [
    _delete_word, _duplicate_keyword, _insert_iff, _break_time, _truncate]


def _variants(count: int, seed: int) -> list[str]:
    """Shipped policies with one to five slips each, from a fixed seed."""
    rng = random.Random(seed)
    texts = [path.read_text(encoding="utf-8") for path in SHIPPED]
    variants = []
    for _ in range(count):
        text = rng.choice(texts)
        for _ in range(rng.randint(1, 5)):
            if not _words(text):  # truncated to nothing: nothing left to slip on
                break
            text = rng.choice(MUTATIONS)(text, rng)
        variants.append(text)
    return variants


def test_mutated_shipped_policies_give_the_diagnostics_of_a_whole_text_reparse():
    counts = [len(_assert_same_as_reference(text)) for text in _variants(200, seed=18)]
    # The corpus really exercises recovery: clean files, one error, several, and the file's end.
    assert counts.count(0) > 10 and counts.count(1) > 10 and sum(c > 1 for c in counts) > 10


def test_every_shipped_policy_parses_to_the_same_tree_as_a_plain_parse():
    for path in SHIPPED:
        text = path.read_text(encoding="utf-8")
        tree, diagnostics = _recovered(text)
        assert diagnostics == [] and tree == parser._lark().parse(text)


def _many_broken_rules(count: int, every: int = 1) -> str:
    return policy_text("\n".join(
        rule(f"deny {'iff' if i % every == 0 else 'if'} purpose is marketing", rid=f"r{i}")
        for i in range(count)))


def test_at_most_fifty_errors_are_reported_as_before():
    diagnostics = _assert_same_as_reference(_many_broken_rules(60))
    assert len(diagnostics) == 50 and {d.code for d in diagnostics} == {"RF101"}


def test_the_file_ending_too_early_is_the_last_error_reported():
    text = _many_broken_rules(3) + 'rule late "Late"\n  allow only between 08:00 and'
    diagnostics = _assert_same_as_reference(text)
    assert [d.code for d in diagnostics] == ["RF101"] * 3 + ["RF102"]


def test_a_clause_the_lexer_stops_at_is_skipped_from_the_state_before_it():
    # The title is missing: wanting a string, the lexer stops at 'cite' itself, before the parser
    # is fed it. Each clause after it then meets the same want, as in a whole-text re-parse: an
    # error at every clause start, then the end of the file.
    text = policy_text('rule a\n  cite "C"\n  deny if purpose is marketing\n'
                       'rule b\n  cite "C"\n  deny iff purpose is marketing\n')
    diagnostics = _assert_same_as_reference(text)
    assert [(d.code, d.span.line) for d in diagnostics] == \
        [("RF101", line) for line in range(7, 12)] + [("RF102", 11)]


def test_errors_after_recovery_are_still_reported_through_parse_text():
    text = _many_broken_rules(4, every=2)
    with pytest.raises(PolicyError) as err:
        parse_text(text, "p.rf")
    iff_lines = [number for number, line in enumerate(text.splitlines(), 1) if "iff" in line]
    assert len(iff_lines) == 2
    assert [(d.code, d.span.line) for d in err.value.diagnostics] == [("RF101", n) for n in iff_lines]


def test_recovering_from_many_errors_reads_the_text_about_once(monkeypatch):
    """Not a timing: the tokens fed to the parser. Re-parsing per error fed ~25x the text's."""
    fed = 0
    feed = ParserState.feed_token

    def counting(self: ParserState[int], token: Token, is_end: bool = False) -> object:
        nonlocal fed
        fed += 1
        return feed(self, token, is_end)

    monkeypatch.setattr(ParserState, "feed_token", counting)
    _recovered(_many_broken_rules(50, every=2))
    broken = fed
    fed = 0
    _recovered(_many_broken_rules(50, every=1000))  # one error only, in the first rule
    assert broken <= fed
