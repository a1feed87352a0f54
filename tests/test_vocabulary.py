"""The vocabulary read from the grammar: what it holds for the shipped grammar, and that a word added
to (a copy of) the grammar reaches the vocabulary and the Pygments lexer with no other change."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygments.token import Keyword, Name, Operator, String

from ringfence.resources import grammar_path
from ringfence.tools import highlight
from ringfence.tools.vocabulary import GrammarShapeError, Vocabulary, read_vocabulary, vocabulary

GRAMMAR = grammar_path().read_text(encoding="utf-8")


def _edited(tmp_path: Path, old: str, new: str, count: int = 1) -> Vocabulary:
    """The vocabulary of a copy of the grammar with ``old`` replaced by ``new`` (``count`` times;
    -1: everywhere)."""
    assert old in GRAMMAR
    path = tmp_path / "edited.lark"
    path.write_text(GRAMMAR.replace(old, new, count), encoding="utf-8")
    return read_vocabulary(path)


def _types(words: Vocabulary, text: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Word -> token type, lexing ``text`` with ``words`` in place of the shipped vocabulary."""
    monkeypatch.setattr(highlight, "vocabulary", lambda: words)
    return {v: t for t, v in highlight.RingfenceLexer().get_tokens(text) if v.strip()}


def test_the_shipped_vocabulary_is_read_from_the_shipped_grammar():
    assert vocabulary() == read_vocabulary(grammar_path())
    assert vocabulary() is vocabulary()  # read once


def test_shipped_word_sets():
    words = vocabulary()
    assert words.days == {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
    assert words.end_marks == {"inclusive", "exclusive"}
    assert words.units == {u + s for u in ("second", "minute", "hour", "day", "week", "month", "year")
                           for s in ("", "s")}
    assert words.duration_modifiers == {"calendar", "business"}
    # quoted words, and the words of the keyword terminals LEVEL and LIST_KW
    assert {"policy", "rule", "zone", "calendar", "deny", "warn", "list", "lists"} <= words.keywords
    # day names and end marks have their own sets ("day" is a keyword and a unit)
    assert not words.keywords & (words.days | words.end_marks)
    # ("second" is an ordinal too: second monday of october)
    assert words.keywords & words.units == {"day", "second"}
    assert words.operator_words == {"and", "or", "not", "is", "one", "of"}
    assert words.condition_openers == {"when", "unless", "if", "require", "and", "or", "not"}
    assert words.condition_starts == {"not", "callee", "list", "consent", "opted", "last", "any", "count",
                                      "today"}
    assert words.value_openers == {"is", "not", "of", "outcome"}
    assert words.field_constants == {"missing", "present"}
    assert {"version", "applies", "effective", "from", "until", "cite", "deny", "allow"} <= words.clause_words
    assert not {"if", "only", "to", "rule"} & words.clause_words


def test_a_keyword_added_to_the_grammar_is_a_keyword_and_is_coloured(tmp_path, monkeypatch):
    words = _edited(tmp_path, "-> require\n", '-> require\n | "forbid" "always" -> forbid\n')
    assert {"forbid", "always"} <= words.keywords
    assert "forbid" in words.clause_words and "always" not in words.clause_words
    assert _types(words, "rule r \"R\"\n  forbid always\n", monkeypatch)["forbid"] is Keyword
    # the shipped vocabulary has neither word, so the lexer took them from the edited grammar
    assert not {"forbid", "always"} & vocabulary().keywords


def test_a_condition_form_added_to_the_grammar(tmp_path, monkeypatch):
    words = _edited(tmp_path, "-> any_event\n", '-> any_event\n | "callee" "roaming" -> roaming\n')
    assert "roaming" in words.keywords
    assert "callee" in words.condition_starts
    text = 'rule r "R"\n  deny if callee roaming\n'
    assert _types(words, text, monkeypatch)["roaming"] is Keyword


def test_an_operator_added_to_the_grammar(tmp_path, monkeypatch):
    words = _edited(tmp_path, "-> compare\n", '-> compare\n | field "matches" value -> matches\n')
    assert "matches" in words.operator_words and "matches" in words.value_openers
    types = _types(words, 'rule r "R"\n  when campaign matches summer\n', monkeypatch)
    assert types == {"rule": Keyword.Declaration, "r": Name.Function, '"R"': String.Double,
                     "when": Keyword, "campaign": Name.Attribute, "matches": Operator.Word,
                     "summer": Name.Constant}


def test_a_constant_added_to_the_grammar(tmp_path):
    words = _edited(tmp_path, "-> is_present\n", '-> is_present\n | field "is" "blank" -> is_blank\n')
    assert "blank" in words.field_constants and "blank" not in words.operator_words


def test_a_unit_a_duration_modifier_and_a_day_added_to_the_grammar(tmp_path, monkeypatch):
    words = _edited(tmp_path, "|years?)", "|years?|fortnights?)")
    assert {"fortnight", "fortnights"} <= words.units
    assert _types(words, "within 2 fortnights", monkeypatch)["fortnights"] is Keyword.Type
    words = _edited(tmp_path, "-> business_duration\n",
                    '-> business_duration\n | NUMBER "working" UNIT -> working_duration\n')
    assert "working" in words.duration_modifiers
    assert _types(words, "within 2 working days", monkeypatch)["working"] is Keyword.Type
    words = _edited(tmp_path, "|sunday)", "|sunday|holiday)")
    assert "holiday" in words.days


def test_a_keyword_terminal_added_to_the_grammar(tmp_path):
    words = _edited(tmp_path, 'LEVEL: "deny" | "warn"', 'LEVEL: "deny" | "warn" | "notice"')
    assert "notice" in words.keywords


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ("DAY", "WEEKDAY", "terminal DAY"),
        ("END_MARK", "ENDING", "terminal END_MARK"),
        ("UNIT.2: /(seconds?", "UNIT.2: /([0-9]+|seconds?", "terminal UNIT"),  # not a set of words
        ("condition", "test", "rule condition"),
        ("field", "path", "rule field"),
        ("values", "value_list", "rule values"),
    ],
)
def test_a_grammar_without_what_the_vocabulary_is_read_from_is_an_error(tmp_path, old, new, named):
    with pytest.raises(GrammarShapeError, match=named):
        _edited(tmp_path, old, new, count=-1)
