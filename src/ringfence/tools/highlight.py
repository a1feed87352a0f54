"""Pygments lexer for the Ringfence policy language (``*.rf``).

Registered as a Pygments plugin (entry point ``pygments.lexers``), so any tool that uses Pygments
finds it by name::

    pygments.lexers.get_lexer_by_name("ringfence")

The language's keywords are contextual (``to`` is a keyword in ``applies to`` and a field in
``when to is ...``; ``from`` likewise), so a flat keyword regex would colour them wrongly. The lexer
therefore splits the text with one regex and then classifies each word by the words before it,
much like the parser's contextual lexer does. The word sets it classifies by (keywords, day names,
units, the words that join conditions or open a value) are read from the grammar
(:mod:`ringfence.tools.vocabulary`), so a keyword added to the grammar needs no change here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pygments.lexer import Lexer
from pygments.token import (
    Comment,
    Error,
    Keyword,
    Literal,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
    _TokenType,
    is_token_subtype,
)

from ringfence.tools.vocabulary import Vocabulary, vocabulary

__all__ = ["RingfenceLexer"]

# The keyword sets the lexer colours by (keywords, day names, units, operator words, the words
# that open a condition or a value) are read from the grammar: see ringfence.tools.vocabulary.
# The words below are the lexer's own choices of token type, not facts of the grammar.
_DECLARATIONS = frozenset(["policy", "rule"])
_NAMESPACE_WORDS = frozenset(["include", "exclude", "uses"])

_WORD = r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*"
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\d:]))
  | (?P<time>\d{1,2}:\d{2}(?::\d{2})?)
  | (?P<version>\d+(?:\.\d+){2,}[0-9A-Za-z.+-]*)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<word>"""
    + _WORD
    + r""")
  | (?P<op>->|>=|<=|!=|=|<|>)
  | (?P<punct>[(),.:])
  | (?P<error>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPE_RE = re.compile(r"\\.")


class RingfenceLexer(Lexer):
    """Lexer for Ringfence policy files: keywords, ids, fields, values, strings, dates, times,
    durations, numbers, operators and comments.

    The keyword sets are read from the grammar on the first text lexed, not on import: importing
    the lexer (which Pygments does for every plugin when it looks a lexer up) stays cheap."""

    name = "Ringfence"
    aliases = ["ringfence", "rf"]  # noqa: RUF012 - Pygments reads these as plain class attributes
    filenames = ["*.rf"]  # noqa: RUF012
    mimetypes = ["text/x-ringfence"]  # noqa: RUF012

    @staticmethod
    def analyse_text(text: str) -> float:
        """A file that opens (after comments) with ``policy ID "title"`` is Ringfence."""
        if re.match(r"\s*(?:#[^\n]*\n\s*)*policy\s+" + _WORD + r'\s+"', text):
            return 0.9
        return 0.0

    def get_tokens_unprocessed(self, text: str) -> Iterator[tuple[int, _TokenType, str]]:
        """Yield ``(offset, token type, text)`` for the whole text, with no gaps."""
        words = vocabulary()
        # (kind, text, token type) of the last two significant tokens: enough context to tell a
        # rule id from a field, a value or a keyword.
        prev: tuple[str, str, _TokenType] = ("", "", Whitespace)
        prev2: tuple[str, str, _TokenType] = ("", "", Whitespace)
        for match in _TOKEN_RE.finditer(text):
            kind = match.lastgroup or "error"
            value = match.group()
            pos = match.start()
            if kind == "ws":
                yield pos, Whitespace, value
                continue
            if kind == "comment":
                yield pos, Comment.Single, value
                continue
            if kind == "string":
                yield from _string_tokens(pos, value)
                ttype: _TokenType = String.Double
            elif kind == "word":
                ttype = _classify_word(words, value, prev, prev2)
                yield pos, ttype, value
            else:
                ttype = _SIMPLE_TYPES[kind]
                if kind == "number" and "." in value:
                    ttype = Number.Float
                yield pos, ttype, value
            prev2, prev = prev, (kind, value, ttype)


_SIMPLE_TYPES: dict[str, _TokenType] = {
    "date": Literal.Date,
    "time": Literal.Date,
    "version": Number.Float,
    "number": Number.Integer,
    "op": Operator,
    "punct": Punctuation,
    "error": Error,
}


def _string_tokens(pos: int, value: str) -> Iterator[tuple[int, _TokenType, str]]:
    """A string literal, with its backslash escapes marked."""
    last = 0
    for esc in _ESCAPE_RE.finditer(value):
        if esc.start() > last:
            yield pos + last, String.Double, value[last : esc.start()]
        yield pos + esc.start(), String.Escape, esc.group()
        last = esc.end()
    if last < len(value):
        yield pos + last, String.Double, value[last:]


def _classify_word(
    words: Vocabulary, word: str, prev: tuple[str, str, _TokenType], prev2: tuple[str, str, _TokenType]
) -> _TokenType:
    """The token type of one word, from the word itself and the two tokens before it."""
    pkind, ptext, ptype = prev
    # is_token_subtype(a, b) is `a in b`, spelt so that type checkers read it as a token test
    # rather than as a search of a tuple of strings.
    after_keyword = is_token_subtype(ptype, Keyword) or is_token_subtype(ptype, Operator.Word)
    # Ids and names that follow a keyword: `policy ID`, `rule ID`, `include ID`, `list NAME`.
    if after_keyword and ptext in ("policy", "include"):
        return Name.Namespace
    if after_keyword and ptext == "rule":
        return Name.Function
    if after_keyword and ptext in ("list", "lists") and word not in words.keywords:
        return Name.Variable
    if pkind == "punct" and ptext == "," and prev2[2] is Name.Variable:
        return Name.Variable  # `uses lists a, b`
    # A duration's unit: `31 days`, `7 calendar days`.
    if pkind == "number" and word in words.duration_modifiers:
        return Keyword.Type
    if word in words.units and (pkind == "number" or ptype is Keyword.Type):
        return Keyword.Type
    if word in words.days or word in words.end_marks:
        return Keyword.Constant
    if after_keyword and ptext == "level" and word in ("deny", "warn"):
        return Keyword.Constant
    # A field: the first word of a condition (`when to is ...`), or after `with same`.
    at_condition_start = (after_keyword and ptext in words.condition_openers) or (
        pkind == "punct" and ptext == "("
    )
    if ptext == "not" and prev2[1] == "is":
        at_condition_start = False  # `is not VALUE`: a value follows, not a condition
    if at_condition_start and word not in words.condition_starts and word not in words.operator_words:
        return Name.Attribute
    if after_keyword and ptext == "same":
        return Name.Attribute
    if pkind == "punct" and ptext == "." and prev2[2] is Name.Attribute:
        return Name.Attribute  # `relationship.contract_active`
    if word in words.field_constants and after_keyword and ptext in ("is",):
        return Keyword.Constant
    if word in words.operator_words:
        return Operator.Word
    if word in _DECLARATIONS:
        return Keyword.Declaration
    if word in _NAMESPACE_WORDS:
        return Keyword.Namespace
    if word in words.keywords and not _is_value_position(words, pkind, ptext, ptype, prev2):
        return Keyword
    if after_keyword and ptext in ("last", "any"):
        return Name.Builtin  # the event of `last purchase within 18 months`, `any opt_out`
    # Everything else is a value: a jurisdiction, a purpose, a consent type, an enum value.
    return Name.Constant


def _is_value_position(
    words: Vocabulary, pkind: str, ptext: str, ptype: _TokenType, prev2: tuple[str, str, _TokenType]
) -> bool:
    """True where a value is expected, so that a value spelt like a keyword stays a value
    (``purpose is purpose`` is unlikely, but ``technology is not ...`` must not swallow it)."""
    if is_token_subtype(ptype, Operator.Word) and ptext in words.value_openers:
        # `is not VALUE` and `one of VALUES`, but not `not (...)` or `count of attempts`.
        if ptext == "not":
            return prev2[1] == "is"
        return ptext != "of" or prev2[1] == "one"
    if pkind == "op":
        return True
    return pkind == "punct" and ptext == "," and prev2[2] is Name.Constant
