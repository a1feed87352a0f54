"""The language front end: typed nodes built from their grammar rules, spans with an end, lines
counted as the parser counts them, and a new condition kind added without parser changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from lark import Lark
from test_core_support import policy_text, rule, write

import ringfence
from ringfence.errors import PolicyError, Span, source_lines
from ringfence.language import formatter, nodes, parser, unparse
from ringfence.language.checker import check
from ringfence.language.formatter import format_text, shape
from ringfence.language.nodes import base
from ringfence.language.parser import parse_text
from ringfence.resources import grammar_path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "policies").glob("*.rf"))

# Characters str.splitlines() breaks lines at, besides \n and \r: each may stand raw in a string.
ODD_BREAKS = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]


def _odd_policy(sep: str, bad_line: str) -> str:
    """A policy whose title holds ``sep``, with ``bad_line`` as line 6."""
    return (f'policy p "Title{sep}with a break"\n  applies to US\n\n'
            f'rule r "Rule"\n  cite "Test citation"\n{bad_line}\n'
            "  allow only between 08:00 and 21:00 inclusive\n")


# ---- lines are counted on \n only ------------------------------------------------------------


@pytest.mark.parametrize("sep", ODD_BREAKS, ids=repr)
def test_syntax_error_after_an_odd_line_break_in_a_string_names_the_right_line(sep):
    with pytest.raises(PolicyError) as err:
        parse_text(_odd_policy(sep, "  alow only between 08:00 and 21:00 inclusive"), "p.rf")
    (diag,) = err.value.diagnostics
    assert (diag.code, diag.span.line, diag.span.column) == ("RF101", 6, 3)
    assert diag.source_line == "  alow only between 08:00 and 21:00 inclusive"


@pytest.mark.parametrize("sep", ODD_BREAKS, ids=repr)
def test_bad_character_after_an_odd_line_break_is_reported_not_a_traceback(sep):
    # Before the fix, the diagnostic looked the character up in the wrong (shorter) line.
    text = _odd_policy(sep, '  message "m"').replace("inclusive\n", "inclusive $\n")
    with pytest.raises(PolicyError) as err:
        parse_text(text, "p.rf")
    (diag,) = err.value.diagnostics
    assert (diag.code, diag.span.line) == ("RF103", 7)
    assert diag.message == "the character '$' is not allowed here"
    assert diag.source_line.endswith("inclusive $")


@pytest.mark.parametrize("sep", ODD_BREAKS, ids=repr)
def test_check_error_after_an_odd_line_break_quotes_the_right_line(tmp_path, sep):
    path = write(tmp_path, _odd_policy(sep, "  when purpse is marketing"), "p.rf")
    with pytest.raises(PolicyError) as err:
        ringfence.load(path)
    (diag,) = err.value.diagnostics
    assert (diag.code, diag.span.line, diag.span.column) == ("RF301", 6, 8)
    assert diag.source_line == "  when purpse is marketing"


def test_comments_and_formatting_after_an_odd_line_break_keep_their_lines():
    text = _odd_policy("\u2028", "  # about the message\n  message \"m\"  # trailing")
    policy = parse_text(text)
    assert policy.comments == ((6, "# about the message"), (7, "# trailing"))
    once = format_text(text)
    assert "Title\u2028with a break" in once
    assert "  # about the message\n  message \"m\"  # trailing\n" in once
    assert format_text(once) == once


def test_source_lines_splits_at_newline_only():
    assert source_lines("a\u2028b\x0cc\nd") == ["a\u2028b\x0cc", "d"]
    assert source_lines("a\r\nb\n") == ["a", "b"]
    assert source_lines("a\n\n") == ["a", ""]
    assert source_lines("") == []


# ---- spans -----------------------------------------------------------------------------------


def test_a_span_given_only_a_start_is_a_point_and_prints_as_before():
    span = Span("p.rf", 3, 7)
    assert (span.end_line, span.end_column) == (3, 7)
    assert span == Span("p.rf", 3, 7, 3, 7)
    assert str(span) == "p.rf:3:7"
    assert span.to_dict() == {"file": "p.rf", "line": 3, "column": 7}
    assert span.through(Span("p.rf", 5, 2, 5, 9)) == Span("p.rf", 3, 7, 5, 9)


def test_nodes_span_from_their_first_to_just_past_their_last_character():
    text = policy_text(rule("deny if callee on list dnc\n    or purpose is marketing",
                            "when purpose is marketing"), extra="  uses list dnc")
    lines = source_lines(text)
    policy = parse_text(text, "p.rf")
    (r,) = policy.rules

    def covered(span: Span) -> str:
        if span.line == span.end_line:
            return lines[span.line - 1][span.column - 1 : span.end_column - 1]
        return "\n".join([lines[span.line - 1][span.column - 1 :],
                          *lines[span.line : span.end_line - 1],
                          lines[span.end_line - 1][: span.end_column - 1]])

    (when,) = r.all(nodes.When)
    assert covered(when.span) == "when purpose is marketing"
    assert covered(r.when[0].span) == "purpose is marketing"
    assert isinstance(r.when[0], nodes.Is)
    assert covered(r.when[0].values[0].span) == "marketing"
    effect = r.effects[0]
    assert covered(effect.span) == "deny if callee on list dnc\n    or purpose is marketing"
    assert covered(r.span).startswith('rule r "Rule r"') and covered(r.span).endswith("marketing")
    assert covered(r.id_span) == "r"
    assert covered(policy.id_span) == "t"


# ---- typed clauses ---------------------------------------------------------------------------


def test_clauses_are_typed_and_kept_in_source_order():
    text = ('policy p "P"\n  version 2\n  applies to US, US-FL\n  uses lists a, b\n'
            '  source "s1", "s2"\n  note "n"\n  include other\n  include "x/y.rf"\n'
            "  exclude rule gone\n  effective from 2025-01-01 until 2026-01-01\n"
            "  when purpose is marketing\n\n"
            'rule r "R"\n  cite "c1", "c2"\n  level warn\n  message "m"\n'
            "  unless callee on list a\n  require consent for this purpose\n")
    policy = parse_text(text)
    assert [type(c).__name__ for c in policy.clauses] == [
        "Version", "AppliesTo", "UsesLists", "Source", "Note", "Include", "Include", "Exclude",
        "Effective", "When"]
    assert policy.version == "2" and policy.jurisdictions == ("US", "US-FL")
    assert policy.lists == ("a", "b") and policy.sources == ("s1", "s2")
    assert [(i.target, i.is_path) for i in policy.includes] == [("other", False), ("x/y.rf", True)]
    assert [e.rule_id for e in policy.excludes] == ["gone"]
    assert [str(d) for d in policy.effective] == ["2025-01-01", "2026-01-01"]
    (r,) = policy.rules
    assert [type(c).__name__ for c in r.clauses] == ["Cite", "Level", "Message", "Unless",
                                                     "Require"]
    assert r.citations == ("c1", "c2") and r.level == "warn" and r.message == "m"
    assert [unparse.condition(c) for c in r.unless] == ["callee on list a"]


# ---- node classes and the grammar ------------------------------------------------------------


def _tree_names(lark: Lark) -> set[str]:
    """The names of the parse-tree nodes the grammar makes (aliases, or rules kept as nodes)."""
    names = set()
    for r in lark.rules:
        name = r.alias or (None if r.options.expand1 else r.origin.name)
        if name and not name.startswith("_"):
            names.add(name)
    return names


def test_every_grammar_rule_is_built_by_a_node_class_or_the_parser():
    names = _tree_names(parser._lark())
    plain = {n for n in names if n in vars(parser._Builder)}  # rules giving plain values
    unbuilt = {n for n in names - plain if nodes.builder_for(n) is None}
    assert unbuilt == set()
    assert {n for n in plain if nodes.builder_for(n) is not None} == set()  # one builder each
    # ...and every rule a node class names exists (a misspelt alias would never be built).
    assert set(base._BUILDERS) <= names


def _condition_classes() -> list[type[nodes.Condition]]:
    return sorted({c for c in base._BUILDERS.values() if issubclass(c, nodes.Condition)},
                  key=lambda c: c.__name__)


def test_every_condition_class_prints_itself():
    assert {c.__name__ for c in _condition_classes()} >= {
        "And", "Or", "Not", "Is", "Presence", "Compare", "FieldAge", "OnList", "ListChecked",
        "Consent", "OptedOut", "LastEvent", "CountAttempts"}
    for cls in _condition_classes():
        assert any("unparse" in vars(k) for k in cls.__mro__[:-1] if k is not nodes.Condition), \
            cls.__name__


def _conditions(node: nodes.Condition):
    yield node
    for item in getattr(node, "items", ()):
        yield from _conditions(item)
    if isinstance(node, nodes.Not):
        yield from _conditions(node.item)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_printed_conditions_parse_back_to_the_same_condition(path):
    policy = parse_text(path.read_text("utf-8"))
    header = "\n".join(f"  uses list {name}" for name in policy.lists)
    for r in policy.rules:
        effects = [e.condition for e in r.effects if not isinstance(e, nodes.AllowOnly)]
        for top in (*r.when, *r.unless, *effects):
            for node in _conditions(top):
                text = policy_text(rule("require " + unparse.condition(node)), extra=header)
                (back,) = parse_text(text).rules[0].effects
                assert isinstance(back, nodes.Require)
                assert shape(back.condition) == shape(node)


# ---- a new condition kind: its grammar alternative and its node class, nothing else ----------

_NEW_ALTERNATIVE = '    | "dialed" "by" WORD                               -> dialed_by\n'


@pytest.fixture
def dialed_by(monkeypatch):
    """The language with one more condition, ``dialed by WORD``, added as a contributor would:
    a grammar alternative and a node class (registered in a copy of the registry)."""
    grammar = grammar_path().read_text("utf-8")
    anchor = '?atom: "(" condition ")"\n'
    assert anchor in grammar
    grammar = grammar.replace(anchor, anchor + _NEW_ALTERNATIVE)
    options: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": False}
    monkeypatch.setattr(parser, "_lark", lambda: Lark(grammar, propagate_positions=True, **options))
    monkeypatch.setattr(formatter, "_lark", lambda: Lark(grammar, keep_all_tokens=True, **options))
    monkeypatch.setattr(base, "_BUILDERS", dict(base._BUILDERS))

    @nodes.syntax("dialed_by")
    @dataclasses.dataclass(frozen=True, slots=True)
    class DialedBy(nodes.Condition):
        agent: str
        span: Span

        @classmethod
        def build(cls, rule: str, items: Sequence[Any], span: Span, b: nodes.Builder) -> DialedBy:
            return cls(str(items[0]), span)

        def unparse(self) -> str:
            return f"dialed by {self.agent}"

    return DialedBy


def test_a_new_condition_kind_needs_no_parser_formatter_or_unparse_change(dialed_by):
    text = policy_text(rule("deny if   dialed  by robot or (purpose is marketing)"))
    policy = parse_text(text)
    (effect,) = policy.rules[0].effects
    assert isinstance(effect, nodes.DenyIf) and isinstance(effect.condition, nodes.Or)
    first = effect.condition.items[0]
    assert isinstance(first, dialed_by) and first.agent == "robot"
    assert unparse.condition(effect.condition) == "dialed by robot or purpose is marketing"
    assert "  deny if dialed by robot or (purpose is marketing)\n" in format_text(text)
    assert check(policy, text) == []
