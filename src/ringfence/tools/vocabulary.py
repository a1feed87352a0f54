"""The words of the policy language and the parts they play, read from its grammar.

The syntax highlighters (the Pygments lexer in ``highlight.py`` and the TextMate grammar that
``scripts/gen_textmate.py`` writes) colour a word by the part it plays in
``grammar/ringfence.lark``. Reading those parts from the grammar itself, rather than from lists kept
beside it, means a keyword added to the grammar is coloured with no change to the highlighters.

The grammar is compiled by Lark in lexer-only mode (no parse table is built): its terminals give
the keywords and the word sets of ``DAY``, ``END_MARK`` and ``UNIT``; its rules, in Lark's
plain-BNF form, give the keywords' roles (which join conditions, which open a value, ...).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lark import Lark
from lark.grammar import NonTerminal, Rule, Symbol, Terminal
from lark.lexer import PatternStr, TerminalDef

from ringfence.resources import grammar_path

__all__ = ["GrammarShapeError", "Vocabulary", "read_vocabulary", "vocabulary"]

# The grammar's names that the roles below are read from. Renaming one of them in the grammar
# makes read_vocabulary fail (GrammarShapeError) rather than quietly colour words differently.
_DAY, _END_MARK, _UNIT = "DAY", "END_MARK", "UNIT"
_CONDITION, _FIELD, _VALUES = "condition", "field", ("value", "values")
_CLAUSES, _EFFECTIVE = ("header_item", "rule_item"), "effective"

_WORD_RE = re.compile(r"[a-z]+")
# A named terminal of finitely many words, as Lark compiles `LEVEL: "deny" | "warn"` ("(?:deny|warn)")
# or as the grammar writes DAY and UNIT ("(monday|tuesday)\b", "(seconds?|minutes?)\b").
_ALTERNATION_RE = re.compile(r"\((?:\?:)?([a-z?|]+)\)(?:\\b)?")
_ALTERNATIVE_RE = re.compile(r"([a-z]+?)([a-z]\?)?")


class GrammarShapeError(ValueError):
    """The grammar lacks a rule or terminal that the vocabulary is read from."""


@dataclass(frozen=True)
class Vocabulary:
    """The words of the language, grouped by the part they play in the grammar."""

    #: Every keyword: the grammar's quoted words and the words of its keyword terminals
    #: (``LEVEL``, ``LIST_KW``), but not day names, end marks or units (``day``, of ``every day``,
    #: is a keyword and a unit).
    keywords: frozenset[str]
    #: The words of the ``DAY``, ``END_MARK`` and ``UNIT`` terminals.
    days: frozenset[str]
    end_marks: frozenset[str]
    units: frozenset[str]
    #: Keywords between a duration's number and its unit (``7 calendar days``).
    duration_modifiers: frozenset[str]
    #: Logical and comparison words: those joining conditions (``and``, ``or``, ``not``) and those
    #: between a field and its value (``is``, ``not``, ``one``, ``of``).
    operator_words: frozenset[str]
    #: Keywords right before a condition or an operand of ``and``/``or``/``not``.
    condition_openers: frozenset[str]
    #: Keywords that start a condition (``callee on list``, ``consent``, ``not``, ...).
    condition_starts: frozenset[str]
    #: Keywords right before a value or a list of values (``is``, ``of``, ``outcome``, ...).
    value_openers: frozenset[str]
    #: Keywords that end a test of a field in place of a value (``is missing``, ``is present``).
    field_constants: frozenset[str]
    #: Keywords that head a clause: the first word of each header and rule clause, and the
    #: words of ``effective from ... until ...`` (each of which introduces its own date).
    clause_words: frozenset[str]


@functools.cache
def vocabulary() -> Vocabulary:
    """The vocabulary of the shipped grammar (read once, on first use)."""
    return read_vocabulary(grammar_path())


def read_vocabulary(path: Path) -> Vocabulary:
    """Read the vocabulary of the Lark grammar at ``path``.

    Raises:
        GrammarShapeError: the grammar lacks a rule or terminal the vocabulary is read from.
    """
    # parser=None: lexer-only mode, which compiles the grammar to terminals and BNF rules but
    # builds no parse table.
    lark = Lark(path.read_text(encoding="utf-8"), parser=None, lexer="basic")
    # Lark names a quoted word after itself when the name is free ("day" -> DAY if the grammar
    # defines no DAY), so a terminal's name alone does not say the grammar defined it.
    named = {name for name, _ in lark.grammar.term_defs}
    return _Reader(lark.terminals, named, lark.rules).vocabulary()


class _Reader:
    """Reads the roles of words off a compiled grammar."""

    def __init__(self, terminals: Iterable[TerminalDef], named: set[str], rules: Iterable[Rule]) -> None:
        #: The words of each terminal of finitely many words, by terminal name.
        self.words: dict[str, frozenset[str]] = {}
        for terminal in terminals:
            words = _words_of(terminal)
            if words is not None:
                self.words[terminal.name] = words
        # The terminals that are day names, end marks or units rather than keywords.
        self.special = {_DAY, _END_MARK, _UNIT} & named
        self.rules = list(rules)
        self.origins = {rule.origin.name for rule in self.rules}

    def vocabulary(self) -> Vocabulary:
        levels = self._condition_levels()
        self._rules_of({_FIELD, *_VALUES})  # they must exist
        field_forms = [r.expansion for r in self.rules if _is_symbol(r.expansion[:1], _FIELD)]
        operators = set(self._keywords_before(levels - {_CONDITION}))
        constants: set[str] = set()
        for form in field_forms:
            if isinstance(form[-1], Terminal):  # `field is missing`: no value follows
                constants |= self._keyword(form[-1])
                form = form[:-1]
            operators.update(w for symbol in form for w in self._keyword(symbol))
        return Vocabulary(
            keywords=frozenset(w for name, ws in self.words.items() if name not in self.special for w in ws),
            days=self._terminal(_DAY),
            end_marks=self._terminal(_END_MARK),
            units=self._terminal(_UNIT),
            duration_modifiers=frozenset(self._keywords_before({_UNIT})),
            operator_words=frozenset(operators),
            condition_openers=frozenset(self._keywords_before(levels)),
            condition_starts=frozenset(
                w for r in self._rules_of(levels) for w in self._keyword(r.expansion[0])
            ),
            value_openers=frozenset(self._keywords_before(set(_VALUES))),
            field_constants=frozenset(constants),
            clause_words=frozenset(
                [w for r in self._rules_of(set(_CLAUSES)) for w in self._keyword(r.expansion[0])]
                + [w for r in self._rules_of({_EFFECTIVE}) for s in r.expansion for w in self._keyword(s)]
            ),
        )

    def _terminal(self, name: str) -> frozenset[str]:
        if name not in self.special or name not in self.words:
            raise GrammarShapeError(f"the grammar has no terminal {name} of a fixed set of words")
        return self.words[name]

    def _keyword(self, symbol: Symbol) -> frozenset[str]:
        """The words of ``symbol`` if it is a keyword terminal, else nothing."""
        if isinstance(symbol, Terminal) and symbol.name not in self.special:
            return self.words.get(symbol.name, frozenset())
        return frozenset()

    def _rules_of(self, names: set[str]) -> list[Rule]:
        missing = names - self.origins
        if missing:
            raise GrammarShapeError(f"the grammar has no rule {', '.join(sorted(missing))}")
        return [rule for rule in self.rules if rule.origin.name in names]

    def _condition_levels(self) -> set[str]:
        """``condition`` and the rules it narrows to by single steps (or_cond, and_cond, ...)."""
        levels = {_CONDITION}
        todo = [_CONDITION]
        while todo:
            for rule in self._rules_of({todo.pop()}):
                (only, *rest) = rule.expansion
                if not rest and isinstance(only, NonTerminal) and only.name not in levels:
                    levels.add(only.name)
                    todo.append(only.name)
        return levels

    def _keywords_before(self, names: set[str]) -> Iterator[str]:
        """Keywords that directly precede one of the rules or terminals ``names``, anywhere."""
        for rule in self.rules:
            for before, symbol in zip(rule.expansion, rule.expansion[1:], strict=False):
                if symbol.name in names:
                    yield from self._keyword(before)


def _is_symbol(symbols: Sequence[Symbol], name: str) -> bool:
    return bool(symbols) and isinstance(symbols[0], NonTerminal) and symbols[0].name == name


def _words_of(terminal: TerminalDef) -> frozenset[str] | None:
    """The words a terminal matches, if it matches finitely many lowercase words; else None."""
    pattern = terminal.pattern
    if isinstance(pattern, PatternStr):
        return frozenset([pattern.value]) if _WORD_RE.fullmatch(pattern.value) else None
    alternation = _ALTERNATION_RE.fullmatch(pattern.value)
    if alternation is None:
        return None
    words: set[str] = set()
    for alternative in alternation.group(1).split("|"):
        parts = _ALTERNATIVE_RE.fullmatch(alternative)
        if parts is None:
            return None
        stem, optional = parts.group(1), parts.group(2)
        words.add(stem)
        if optional:  # `seconds?`: with and without the last letter
            words.add(stem + optional[0])
    # A shape this reading does not foresee would show here, as a word the terminal rejects.
    regex = re.compile(pattern.to_regexp())
    return frozenset(words) if all(regex.fullmatch(word) for word in words) else None
