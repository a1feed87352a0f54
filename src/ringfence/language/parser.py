"""Parse policy text into the syntax tree, turning Lark's errors into plain-words diagnostics.

Lark's internal token names never reach the user: every expected token is described in words
(:data:`_TOKEN_WORDS`). After a syntax error the parser skips to the next clause keyword and goes
on, so one run reports every syntax error in a file.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from ringfence.errors import CODES, Diagnostic, PolicyError, Span, did_you_mean
from ringfence.language import nodes
from ringfence.resources import grammar_path

# Words that start a clause: after a syntax error, parsing resumes at the next one of these.
_CLAUSE_KEYWORDS = {
    "rule", "cite", "level", "effective", "when", "unless", "message", "deny", "warn", "require",
    "allow", "version", "applies", "source", "disclaimer", "note", "include", "exclude", "uses",
}

_TOKEN_WORDS = {
    "WORD": "a name", "STRING": 'a text in double quotes ("…")', "DATE": "a date (YYYY-MM-DD)",
    "TIME": "a time (HH:MM)", "NUMBER": "a number", "UNIT": "a unit (days, hours, months, …)",
    "DAY": "a weekday (monday … sunday)", "END_MARK": "'inclusive' or 'exclusive'",
    "OP": "a comparison (>=, <=, =, !=, <, >)", "LEVEL": "'deny' or 'warn'",
    "VERSION": "a version", "LIST_KW": "'list'", "LPAR": "'('", "RPAR": "')'", "COMMA": "','",
    "DOT": "'.'", "$END": "the end of the file",
}

_UNIT_SINGULAR = {
    "seconds": "second", "minutes": "minute", "hours": "hour", "days": "day", "weeks": "week",
    "months": "month", "years": "year",
}


@functools.cache
def _lark() -> Lark:
    text = grammar_path().read_text(encoding="utf-8")
    return Lark(text, parser="lalr", lexer="contextual", propagate_positions=True,
                maybe_placeholders=False)


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


class _Builder(Transformer):
    """Lark tree -> syntax tree. Records diagnostics for malformed literals (dates, times)."""

    def __init__(self, file: str, lines: list[str]):
        super().__init__()
        self.file = file
        self.lines = lines
        self.diagnostics: list[Diagnostic] = []

    # -- helpers --
    def span_of(self, item: Tree | Token | object) -> Span:
        if isinstance(item, Token):
            return Span(self.file, item.line or 1, item.column or 1)
        meta = getattr(item, "meta", None)
        if meta is not None and not getattr(meta, "empty", True):
            return Span(self.file, meta.line, meta.column)
        span = getattr(item, "span", None)
        return span if isinstance(span, Span) else Span(self.file, 1, 1)

    def error(self, code: str, message: str, span: Span, suggestion: str | None = None) -> None:
        line = self.lines[span.line - 1] if 0 < span.line <= len(self.lines) else ""
        self.diagnostics.append(Diagnostic(code, message, span, line, CODES[code].hint, suggestion))

    def date(self, token: Token) -> dt.date | None:
        try:
            return dt.date.fromisoformat(str(token))
        except ValueError:
            self.error("RF406", f"{token} is not a date in the calendar", self.span_of(token))
            return None

    @staticmethod
    def string(token: Token) -> str:
        # Strings allow \" and \\ escapes; anything else after a backslash is kept as written.
        body = str(token)[1:-1]
        return body.replace('\\"', '"').replace("\\\\", "\\")

    # -- policy --
    @v_args(meta=True)
    def policy(self, meta, items):
        pid, title, *rest = items
        clauses = tuple(x for x in rest if isinstance(x, nodes.Clause))
        rules = tuple(x for x in rest if isinstance(x, nodes.Rule))
        span = Span(self.file, meta.line, meta.column)
        return nodes.Policy(str(pid), self.string(title), clauses, rules, span, self.span_of(pid))

    def start(self, items):
        return items[0]

    @v_args(meta=True)
    def version(self, meta, items):
        (inner,) = items
        tok = inner.children[0] if isinstance(inner, Tree) else inner
        text = self.string(tok) if tok.type == "STRING" else str(tok)
        return nodes.Clause("version", (text,), Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def applies_to(self, meta, items):
        codes = tuple(self.word([j.children[0]]) for j in items)
        return nodes.Clause("applies to", codes, Span(self.file, meta.line, meta.column))

    def _strings_clause(self, keyword, meta, items):
        return nodes.Clause(keyword, tuple(self.string(t) for t in items),
                          Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def source(self, meta, items):
        return self._strings_clause("source", meta, items)

    @v_args(meta=True)
    def disclaimer(self, meta, items):
        return self._strings_clause("disclaimer", meta, items)

    @v_args(meta=True)
    def note(self, meta, items):
        return self._strings_clause("note", meta, items)

    @v_args(meta=True)
    def cite(self, meta, items):
        return self._strings_clause("cite", meta, items)

    @v_args(meta=True)
    def message(self, meta, items):
        return self._strings_clause("message", meta, items)

    @v_args(meta=True)
    def uses_lists(self, meta, items):
        names = tuple(self.word([t]) for t in items[1:])
        return nodes.Clause("uses", names, Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def include(self, meta, items):
        (ref,) = items
        tok = ref.children[0]
        target = self.string(tok) if tok.type == "STRING" else str(tok)
        is_path = tok.type == "STRING"
        return nodes.Clause("include", (target, is_path), Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def exclude(self, meta, items):
        return nodes.Clause("exclude", (str(items[0]),), self.span_of(items[0]))

    @v_args(meta=True)
    def effective_from(self, meta, items):
        start = self.date(items[0])
        end = self.date(items[1]) if len(items) > 1 else None
        return nodes.Clause("effective", (start, end), Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def effective_until(self, meta, items):
        return nodes.Clause("effective", (None, self.date(items[0])),
                          Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def when(self, meta, items):
        return nodes.Clause("when", (items[0],), Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def unless(self, meta, items):
        return nodes.Clause("unless", (items[0],), Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def level(self, meta, items):
        return nodes.Clause("level", (str(items[0]),), Span(self.file, meta.line, meta.column))

    # -- rules --
    @v_args(meta=True)
    def rule(self, meta, items):
        rid, title, *clauses = items
        return nodes.Rule(str(rid), self.string(title), tuple(clauses),
                        Span(self.file, meta.line, meta.column), self.span_of(rid))

    @v_args(meta=True)
    def deny_if(self, meta, items):
        return nodes.DenyIf(items[0], "deny", Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def warn_if(self, meta, items):
        return nodes.DenyIf(items[0], "warn", Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def require(self, meta, items):
        return nodes.Require(items[0], Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def allow_only(self, meta, items):
        span = Span(self.file, meta.line, meta.column)
        parts = [p for item in items for p in (item if isinstance(item, list) else [item])]
        return nodes.AllowOnly(nodes.Window(tuple(parts), span), span)

    # -- windows --
    def time(self, token: Token) -> nodes.TimeOfDay:
        parts = [int(p) for p in str(token).split(":")]
        hours, minutes = parts[0], parts[1]
        secs = parts[2] if len(parts) > 2 else 0
        span = self.span_of(token)
        if minutes > 59 or secs > 59:
            self.error("RF402", f"{token} is not a time of day", span)
        return nodes.TimeOfDay(str(token), hours * 3600 + minutes * 60 + secs, span)

    def interval_of(self, start: Token, end: Token, mark: Token) -> nodes.Interval:
        return nodes.Interval(self.time(start), self.time(end), str(mark) == "inclusive",
                            self.span_of(start))

    def every_day(self, items):
        start, end, mark = items
        interval = self.interval_of(start, end, mark)
        return nodes.DayHours(tuple(range(7)), "every day", (interval,), self.span_of(start))

    def interval(self, items):
        return self.interval_of(*items)

    def day_hours(self, items):
        (days_text, days), *intervals = items
        return nodes.DayHours(days, days_text, tuple(intervals), intervals[0].span)

    def days(self, items):
        texts, days = [], []
        for text, span_days in items:
            texts.append(text)
            days.extend(d for d in span_days if d not in days)
        return ", ".join(texts), tuple(days)

    def day_span(self, items):
        first = nodes.WEEKDAYS.index(str(items[0]))
        if len(items) == 1:
            return str(items[0]), (first,)
        last = nodes.WEEKDAYS.index(str(items[1]))
        # "friday to monday" wraps around the weekend, as people mean it.
        days = [(first + i) % 7 for i in range((last - first) % 7 + 1)]
        return f"{items[0]} to {items[1]}", tuple(days)

    def every_day_span(self, _items):
        return "every day", tuple(range(7))

    def weekdays_span(self, _items):
        return "weekdays", (0, 1, 2, 3, 4)

    def weekends_span(self, _items):
        return "weekends", (5, 6)

    def closed(self, items):
        # One ``closed on a, b, c`` clause holds several parts; allow_only flattens lists.
        return items

    def closed_day(self, items):
        return nodes.Closed("day", nodes.WEEKDAYS.index(str(items[0])), None, self.span_of(items[0]))

    @v_args(meta=True)
    def closed_public_holidays(self, meta, _items):
        return nodes.Closed("public_holidays", None, None, Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def closed_national_holidays(self, meta, _items):
        return nodes.Closed("national_holidays", None, None, Span(self.file, meta.line, meta.column))

    def closed_date(self, items):
        self.date(items[0])
        return nodes.Closed("date", None, str(items[0]), self.span_of(items[0]))

    @v_args(meta=True)
    def callee_time(self, meta, _items):
        return nodes.ZoneSpec(None, Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def fixed_zone(self, meta, items):
        return nodes.ZoneSpec(self.string(items[-1]), self.span_of(items[-1]))

    # -- conditions --
    def _junction(self, cls, meta, items):
        if len(items) == 1:
            return items[0]
        return cls(tuple(items), Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def or_(self, meta, items):
        return self._junction(nodes.Or, meta, items)

    @v_args(meta=True)
    def and_(self, meta, items):
        return self._junction(nodes.And, meta, items)

    @v_args(meta=True)
    def not_(self, meta, items):
        return nodes.Not(items[0], Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def field(self, meta, items):
        return nodes.FieldRef(tuple(str(t) for t in items), Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def from_field(self, meta, _items):
        return nodes.FieldRef(("from",), Span(self.file, meta.line, meta.column))

    def word(self, items):
        return nodes.Value("word", str(items[0]), self.span_of(items[0]))

    def string_value(self, items):
        return nodes.Value("string", self.string(items[0]), self.span_of(items[0]))

    def date_value(self, items):
        self.date(items[0])
        return nodes.Value("date", str(items[0]), self.span_of(items[0]))

    def number(self, items):
        return nodes.Value("number", str(items[0]), self.span_of(items[0]))

    def values(self, items):
        return tuple(items)

    def _is(self, meta, field, values, negated, one_of):
        return nodes.Is(field, tuple(values), negated, one_of, Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def is_(self, meta, items):
        return self._is(meta, items[0], [items[1]], False, False)

    @v_args(meta=True)
    def is_not(self, meta, items):
        return self._is(meta, items[0], [items[1]], True, False)

    @v_args(meta=True)
    def one_of(self, meta, items):
        return self._is(meta, items[0], items[1], False, True)

    @v_args(meta=True)
    def not_one_of(self, meta, items):
        return self._is(meta, items[0], items[1], True, True)

    @v_args(meta=True)
    def is_missing(self, meta, items):
        return nodes.Presence(items[0], False, Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def is_present(self, meta, items):
        return nodes.Presence(items[0], True, Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def compare(self, meta, items):
        field, op, value = items
        return nodes.Compare(field, str(op), value, Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def field_age(self, meta, items):
        return nodes.FieldAge(items[0], items[1], Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def on_list(self, meta, items):
        listed = items[1] if len(items) > 1 else None
        return nodes.OnList(str(items[0]), listed, Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def list_checked(self, meta, items):
        return nodes.ListChecked(str(items[0]), items[1], Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def consent(self, meta, items):
        kind = str(items[0]) if len(items) > 1 else None
        return nodes.Consent(kind, items[-1], Span(self.file, meta.line, meta.column))

    def named_purpose(self, items):
        return str(items[0])

    def this_purpose(self, _items):
        return None

    @v_args(meta=True)
    def opted_out(self, meta, items):
        span = Span(self.file, meta.line, meta.column)
        age = items[-1] if items and isinstance(items[-1], nodes.Age) else None
        purposes = [x for x in items if not isinstance(x, nodes.Age)]
        if not purposes:
            return nodes.OptedOut(True, None, age, span)
        return nodes.OptedOut(False, purposes[0], age, span)

    @v_args(meta=True)
    def last_event(self, meta, items):
        event, *filters, age = items
        return nodes.LastEvent(str(event), tuple(filters), age, Span(self.file, meta.line, meta.column),
                             self.span_of(event))

    @v_args(meta=True)
    def any_event(self, meta, items):
        event, *filters = items
        return nodes.LastEvent(str(event), tuple(filters), None, Span(self.file, meta.line, meta.column),
                             self.span_of(event))

    @v_args(meta=True)
    def count_attempts(self, meta, items):
        *filters, window, op, number = items
        return nodes.CountAttempts(tuple(filters), window, str(op), int(float(str(number))),
                                 Span(self.file, meta.line, meta.column))

    def same(self, items):
        return nodes.Same(str(items[0]), self.span_of(items[0]))

    @v_args(meta=True)
    def outcome(self, meta, items):
        return nodes.Outcome(tuple(items[0]), Span(self.file, meta.line, meta.column))

    def _age(self, kind, meta, items):
        second = items[1] if len(items) > 1 else None
        return nodes.Age(kind, items[0], second, Span(self.file, meta.line, meta.column))

    @v_args(meta=True)
    def within(self, meta, items):
        return self._age("within", meta, items)

    @v_args(meta=True)
    def more_than_ago(self, meta, items):
        return self._age("more_than_ago", meta, items)

    @v_args(meta=True)
    def at_least_ago(self, meta, items):
        return self._age("at_least_ago", meta, items)

    @v_args(meta=True)
    def less_than_ago(self, meta, items):
        return self._age("less_than_ago", meta, items)

    @v_args(meta=True)
    def between_ago(self, meta, items):
        return self._age("between_ago", meta, items)

    def _duration(self, kind, items):
        number, unit = items
        unit_text = str(unit)
        singular = _UNIT_SINGULAR.get(unit_text, unit_text)
        return nodes.Duration(int(float(str(number))), singular, kind, self.span_of(number))

    def plain_duration(self, items):
        return self._duration("plain", items)

    def calendar_duration(self, items):
        return self._duration("calendar", items)

    def business_duration(self, items):
        return self._duration("business", items)


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
        ch = lines[line_no - 1][column - 1] if line_no <= len(lines) else "?"
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


def _recovering_parse(text: str, file: str, lines: list[str]) -> tuple[Tree | None, list[Diagnostic]]:
    """Parse; on each syntax error record it, blank out the broken clause and parse again.

    Blanking (replacing the clause's characters with spaces) keeps every line and column where it
    was, so the next error is reported at its true place.
    """
    parser = _lark()
    diagnostics: list[Diagnostic] = []
    current = text
    for _ in range(50):
        try:
            return parser.parse(current), diagnostics
        except UnexpectedInput as err:
            diag = _syntax_diagnostic(err, file, lines, parser)
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
        token = getattr(err, "token", None)
        pos = getattr(token, "start_pos", 0) or 0
    words = list(_word_positions(text))
    start = 0
    for wpos, word in words:
        if wpos > pos:
            break
        if word in _CLAUSE_KEYWORDS:
            start = wpos
    end = len(text)
    for wpos, word in words:
        if wpos > pos and word in _CLAUSE_KEYWORDS:
            end = wpos
            break
    blanked = "".join(ch if ch == "\n" else " " for ch in text[start:end])
    return text[:start] + blanked + text[end:]


def _word_positions(text: str):
    """(offset, word) for words at the start of a line: where clauses begin, by layout."""
    offset = 0
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        if stripped and not stripped.startswith("#"):
            word = stripped.split(None, 1)[0]
            yield offset + len(line) - len(stripped), word
        offset += len(line)


def parse_text(text: str, file: str = "<text>") -> nodes.Policy:
    """Parse one policy from text; raise :class:`PolicyError` with every problem found."""
    lines = text.splitlines()
    comments: list[tuple[int, str]] = []
    tree, diagnostics = _recovering_parse(text, file, lines)
    if tree is None or diagnostics:
        raise PolicyError(diagnostics)
    builder = _Builder(file, lines)
    policy = builder.transform(tree)
    if builder.diagnostics:
        raise PolicyError(builder.diagnostics)
    for number, line in enumerate(lines, start=1):
        if "#" in line:
            comments.extend(_comment_in(line, number))
    return nodes.Policy(policy.id, policy.title, policy.clauses, policy.rules, policy.span,
                      policy.id_span, tuple(comments))


def _comment_in(line: str, number: int):
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
