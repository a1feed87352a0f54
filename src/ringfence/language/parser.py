"""Parse policy text into the syntax tree, turning Lark's errors into plain-words diagnostics.

Lark's internal token names never reach the user: every expected token is described in words
(:data:`_TOKEN_WORDS`). After a syntax error the parser skips to the next clause keyword and goes
on, so one run reports every syntax error in a file.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import functools
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lark import Lark, TextSlice, Token, Transformer, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.parsers.lalr_interactive_parser import InteractiveParser
from lark.parsers.lalr_parser_state import ParserState
from lark.tree import Meta

from ringfence.cachefiles import cache_dir
from ringfence.errors import CODES, Diagnostic, PolicyError, Span, did_you_mean, source_lines
from ringfence.language import nodes
from ringfence.resources import grammar_path

# Words that start a clause: after a syntax error, parsing resumes at the next one of these.
_CLAUSE_KEYWORDS = {
    "rule", "cite", "level", "effective", "when", "unless", "message", "deny", "warn", "require",
    "allow", "version", "applies", "source", "disclaimer", "note", "include", "exclude", "uses",
    "holidays", "changelog", "url", "verification", "reviewed", "status",
}

_TOKEN_WORDS = {
    "WORD": "a name", "STRING": 'a text in double quotes ("…")', "DATE": "a date (YYYY-MM-DD)",
    "TIME": "a time (HH:MM)", "NUMBER": "a number", "UNIT": "a unit (days, hours, months, …)",
    "DAY": "a weekday (monday … sunday)", "END_MARK": "'inclusive' or 'exclusive'",
    "OP": "a comparison (>=, <=, =, !=, <, >)", "LEVEL": "'deny' or 'warn'",
    "VERSION": "a version", "LIST_KW": "'list'", "PURPOSE_KW": "'purpose'", "LPAR": "'('",
    "RPAR": "')'", "COMMA": "','",
    "DOT": "'.'", "$END": "the end of the file", "MONTH": "a month (january … december)",
    "ORDINAL": "first, second, third, fourth, fifth or last",
    "VERIFICATION": "'verified', 'secondary' or 'unverified'", "STATUS": "'pending'",
}

@functools.cache
def _lark() -> Lark:
    text = grammar_path().read_text(encoding="utf-8")
    return Lark(text, parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=False, cache=_parser_cache(text))


def _parser_cache(grammar: str) -> str | bool:
    """Where Lark keeps the parser's tables between processes (building them takes a tenth of
    a second or more, loading them a hundredth), or False when the cache folder cannot be made.
    Lark checks the file against the grammar, its options and its own version, and builds the
    tables anew when it is stale or damaged; the name carries the grammar's hash, so that
    versions of Ringfence with different grammars keep a file each."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    digest = hashlib.sha256(grammar.encode("utf-8")).hexdigest()[:16]
    return str(folder / f"grammar-{digest}.lark")


def _describe(token_type: str, parser: Lark) -> str:
    if token_type in _TOKEN_WORDS:
        return _TOKEN_WORDS[token_type]
    try:
        pattern = parser.get_terminal(token_type).pattern
    except KeyError:
        return token_type.lower()
    if pattern.type == "str":
        return f"'{pattern.value}'"
    return token_type.lower()


def _expected_words(expected: set[str], parser: Lark) -> str:
    words = sorted({_describe(t, parser) for t in expected})
    if len(words) > 6:
        keywords = [w for w in words if w.startswith("'")]
        words = [*keywords[:6], "…"] if keywords else words[:6]
    return ", ".join(words)


class _Literals:
    """What nodes use from the parser while they build themselves (:class:`nodes.Builder`):
    places, strings and dates, and the diagnostics for malformed literals (dates, times)."""

    def __init__(self, file: str, lines: list[str]):
        self.file = file
        self.lines = lines
        self.diagnostics: list[Diagnostic] = []

    def span(self, token: Token) -> Span:
        line, column = token.line or 1, token.column or 1
        return Span(self.file, line, column, token.end_line or line, token.end_column or column)

    def error(self, code: str, message: str, span: Span) -> None:
        line = self.lines[span.line - 1] if 0 < span.line <= len(self.lines) else ""
        self.diagnostics.append(Diagnostic(code, message, span, line, CODES[code].hint))

    def date(self, token: Token) -> dt.date | None:
        try:
            return dt.date.fromisoformat(str(token))
        except ValueError:
            self.error("RF406", f"{token} is not a date in the calendar", self.span(token))
            return None

    @staticmethod
    def string(token: Token) -> str:
        # Strings allow \" and \\ escapes; anything else after a backslash is kept as written.
        body = str(token)[1:-1]
        return body.replace('\\"', '"').replace("\\\\", "\\")


class _Builder(Transformer[Token, nodes.Policy]):
    """Lark tree -> syntax tree.

    A grammar rule that builds a node is looked up in the node classes (:func:`nodes.builder_for`);
    the methods here (named after their grammar rules) handle only the rules that give plain
    values (lists, names, day sets).
    """

    def __init__(self, literals: _Literals):
        super().__init__()
        self.literals = literals

    def __default__(self, data: str, children: list[Any], meta: Meta) -> nodes.Node:
        cls = nodes.builder_for(data)
        if cls is None:  # a grammar rule nothing builds: the grammar and the nodes disagree
            raise TypeError(f"no node class is built from grammar rule {data!r}")
        file = self.literals.file
        if meta.empty:
            span = Span(file, 1, 1)
        else:
            span = Span(file, meta.line, meta.column, meta.end_line, meta.end_column)
        return cls.build(data, children, span, self.literals)

    # -- rules that give plain values --
    def start(self, items: list[nodes.Policy]) -> nodes.Policy:
        return items[0]

    def version_value(self, items: list[Token]) -> Token:
        return items[0]

    def jurisdiction(self, items: list[Token]) -> Token:
        return items[0]

    def policy_ref(self, items: list[Token]) -> Token:
        return items[0]

    def values(self, items: list[nodes.Value]) -> tuple[nodes.Value, ...]:
        return tuple(items)

    def named_purpose(self, items: list[Token]) -> str:
        return str(items[0])

    def this_purpose(self, _items: list[Token]) -> None:
        return None

    def closed(self, items: list[nodes.Closed]) -> list[nodes.Closed]:
        # One ``closed on a, b, c`` clause holds several parts; AllowOnly flattens lists.
        return items

    def days(self, items: list[tuple[str, tuple[int, ...]]]) -> tuple[str, tuple[int, ...]]:
        texts: list[str] = []
        days: list[int] = []
        for text, span_days in items:
            texts.append(text)
            days.extend(d for d in span_days if d not in days)
        return ", ".join(texts), tuple(days)

    def day_span(self, items: list[Token]) -> tuple[str, tuple[int, ...]]:
        first = nodes.WEEKDAYS.index(str(items[0]))
        if len(items) == 1:
            return str(items[0]), (first,)
        last = nodes.WEEKDAYS.index(str(items[1]))
        # "friday to monday" wraps around the weekend, as people mean it.
        days = [(first + i) % 7 for i in range((last - first) % 7 + 1)]
        return f"{items[0]} to {items[1]}", tuple(days)

    def every_day_span(self, _items: list[Token]) -> tuple[str, tuple[int, ...]]:
        return "every day", tuple(range(7))

    def weekdays_span(self, _items: list[Token]) -> tuple[str, tuple[int, ...]]:
        return "weekdays", (0, 1, 2, 3, 4)

    def weekends_span(self, _items: list[Token]) -> tuple[str, tuple[int, ...]]:
        return "weekends", (5, 6)

    def shift(self, items: list[Token]) -> tuple[int, int, Span]:
        return nodes.calendars.shift(items, self.literals)


def _syntax_diagnostic(err: UnexpectedInput, file: str, lines: list[str], parser: Lark) -> Diagnostic:
    line_no = getattr(err, "line", 0) or len(lines) or 1
    column = getattr(err, "column", 0) or 1
    if isinstance(err, UnexpectedEOF) or (
        isinstance(err, UnexpectedToken) and err.token.type == "$END"
    ):
        line_no = len(lines) or 1
        column = len(lines[-1]) + 1 if lines else 1
        expected = _expected_words(set(err.expected), parser)
        code, message = "RF102", f"the file ends too early; expected {expected}"
    elif isinstance(err, UnexpectedCharacters):
        ch = err.char
        code, message = "RF103", f"the character {ch!r} is not allowed here"
    else:
        assert isinstance(err, UnexpectedToken)
        got = str(err.token)
        expected_set = set(err.expected)
        expected = _expected_words(expected_set, parser)
        code, message = "RF101", f"unexpected '{got}'; expected {expected}"
        keywords = [parser.get_terminal(t).pattern.value for t in expected_set
                    if t in parser._terminals_dict
                    and parser.get_terminal(t).pattern.type == "str"]
        suggestion = did_you_mean(got, keywords + sorted(_CLAUSE_KEYWORDS))
        source = lines[line_no - 1] if 0 < line_no <= len(lines) else ""
        return Diagnostic(code, message, Span(file, line_no, column), source, CODES[code].hint,
                          suggestion if suggestion != got else None)
    source = lines[line_no - 1] if 0 < line_no <= len(lines) else ""
    return Diagnostic(code, message, Span(file, line_no, column), source, CODES[code].hint)


# At most this many syntax errors are reported in one file.
_MAX_SYNTAX_ERRORS = 50


def _recovering_parse(text: str, file: str, lines: list[str]
                      ) -> tuple[Tree[Token] | None, list[Diagnostic]]:
    """Parse; on each syntax error record it, skip the broken clause and go on.

    The broken clause runs from the last clause keyword at or before the error to the next one
    after it (:func:`_clause_around`). Parsing goes on at the next clause from the parser's state
    as it was where the broken clause began. That is exactly what parsing the whole text again
    with the clause blanked out would do (it would go as before up to the clause, then see only
    whitespace until the next one), which is how this worked until a file with 50 errors cost 50
    parses. Keeping the LALR state at each clause start while parsing makes recovering cost no
    more than the one parse, and each error lies past the clause skipped for the one before, so
    the diagnostics come in order and never repeat. (Lark's ``on_error`` can only go on from the
    error itself, not from the start of its clause, so it would report different errors.)
    """
    parser = _lark()
    clause_starts = [pos for pos, word in _word_positions(text) if word in _CLAUSE_KEYWORDS]
    session = parser.parse_interactive(text)
    marks = _ClauseStates(clause_starts, session)
    diagnostics: list[Diagnostic] = []
    while len(diagnostics) < _MAX_SYNTAX_ERRORS:
        try:
            return marks.parse(session), diagnostics
        except UnexpectedInput as err:
            diag = _syntax_diagnostic(err, file, lines, parser)
            diagnostics.append(diag)
            if diag.code == "RF102":
                break
            start, end = _clause_around(_error_offset(err), clause_starts, len(text))
            state = marks.state_before(start, session)
            session = parser.parse_interactive(TextSlice(text, end, len(text)))
            session.parser_state = state
    return None, diagnostics


class _ClauseStates:
    """Parses a session's text, keeping the parser's state at the start of the latest clause."""

    def __init__(self, clause_starts: list[int], session: InteractiveParser):
        self._starts = set(clause_starts)
        # Before any clause (offset 0) the state is the initial one.
        self._offset = 0
        self._state = session.parser_state.copy(deepcopy_values=False)

    def parse(self, session: InteractiveParser) -> Tree[Token]:
        """The tree of the session's text, parsed to its end; raise on a syntax error."""
        last: Token | None = None
        for token in session.iter_parse():  # each token is fed to the parser after it is seen
            if token.start_pos in self._starts:
                # A shallow copy, cheap (the stacks are as deep as the syntax is nested), which
                # shares subtrees with the parse going on; that parse may add to them in place.
                # Harmless: the copy is only used after an error, and then no tree is used.
                self._offset = token.start_pos
                self._state = session.parser_state.copy(deepcopy_values=False)
            last = token
        end = Token.new_borrow_pos("$END", "", last) if last else Token("$END", "", 0, 1, 1)
        tree: Tree[Token] = session.feed_token(end)
        return tree

    def state_before(self, offset: int, session: InteractiveParser) -> ParserState[Any]:
        """The parser's state before the clause at ``offset``, which holds the last error."""
        if offset == self._offset:
            return self._state
        # No token was read at this clause start: the lexer stopped right there, at the error,
        # before the parser was fed anything, so the session's state is the one before it.
        return session.parser_state


def _error_offset(err: UnexpectedInput) -> int:
    """Where in the text an error is (characters from the start)."""
    pos = getattr(err, "pos_in_stream", None)
    if pos is None:
        token = getattr(err, "token", None)
        pos = getattr(token, "start_pos", 0) or 0
    return int(pos)


def _clause_around(offset: int, clause_starts: list[int], size: int) -> tuple[int, int]:
    """The clause holding an offset: from the clause start at or before it (or the text's start)
    to the next clause start (or the text's end)."""
    index = bisect.bisect_right(clause_starts, offset)
    start = clause_starts[index - 1] if index else 0
    end = clause_starts[index] if index < len(clause_starts) else size
    return start, end


def _word_positions(text: str) -> Iterator[tuple[int, str]]:
    """(offset, word) for words at the start of a line: where clauses begin, by layout."""
    offset = 0
    for line in text.split("\n"):  # lines as the parser counts them
        stripped = line.lstrip()
        if stripped and not stripped.startswith("#"):
            word = stripped.split(None, 1)[0]
            yield offset + len(line) - len(stripped), word
        offset += len(line) + 1


def parse_text(text: str, file: str = "<text>") -> nodes.Policy:
    """Parse one policy from text; raise :class:`PolicyError` with every problem found."""
    lines = source_lines(text)
    comments: list[tuple[int, str]] = []
    tree, diagnostics = _recovering_parse(text, file, lines)
    if tree is None or diagnostics:
        raise PolicyError(diagnostics)
    deep = _too_deep(tree)
    if deep is not None:
        at = Span(file, deep.meta.line, deep.meta.column) if not deep.meta.empty \
            else Span(file, 1, 1)
        raise PolicyError([Diagnostic(
            "RF307", "conditions nest too deeply here", at,
            lines[at.line - 1] if 0 < at.line <= len(lines) else "", CODES["RF307"].hint)])
    literals = _Literals(file, lines)
    policy = _Builder(literals).transform(tree)
    if literals.diagnostics:
        raise PolicyError(literals.diagnostics)
    for number, line in enumerate(lines, start=1):
        if "#" in line:
            comments.extend(_comment_in(line, number))
    return nodes.calendars.bind(dataclasses.replace(policy, comments=tuple(comments)))


# Deeper parse trees than this would exhaust Python's stack in the tree transformer; the
# checker's own bound on nesting (RF307, 16 levels) is far below it.
_MAX_TREE_DEPTH = 200


def _too_deep(tree: Tree[Token]) -> Tree[Token] | None:
    """The first subtree deeper than :data:`_MAX_TREE_DEPTH`, if any (walked without recursion)."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_TREE_DEPTH:
            return node
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))
    return None


def _comment_in(line: str, number: int) -> Iterator[tuple[int, str]]:
    """The comment on a line, if any: a '#' outside double quotes."""
    in_string = escaped = False
    for index, ch in enumerate(line):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "#":
            yield number, line[index:].rstrip()
            return


def parse_file(path: str | Path) -> nodes.Policy:
    """Parse a policy file; the file name is kept in every span."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        span = Span(str(path), 1, 1)
        raise PolicyError([Diagnostic("RF103", f"the file is not UTF-8 text ({err.reason})", span,
                                      "", CODES["RF103"].hint)]) from None
    return parse_text(text, str(path))
