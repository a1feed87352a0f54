"""The policy formatter: one canonical layout for every ``.rf`` file.

Layout: ``policy`` and ``rule`` lines at column 0, their clauses indented by 2, one blank line
before each rule, one space between words (none inside ``a.b``, ``(x)``, before ``,``). A calling
window ``between T and T END`` (with its zone) stays on the ``allow only`` line; any other window
puts each part on its own line, indented by 4. A condition clause longer than :data:`MAX_WIDTH`
breaks before its top-level ``or``s (or, when it has none, its ``and``s). Comments stay where they
were, next to the same code; blank lines inside a header or rule are kept (at most one).

The formatter works on the parse tree (every token, in order), never on the meaning, and
:func:`format_text` re-parses its output and compares the syntax trees, so formatting can never
change what a policy says.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
from lark import Lark, Token, Tree

from ringfence.errors import RingfenceError, Span, source_lines
from ringfence.language.parser import _comment_in, parse_text
from ringfence.resources import grammar_path

__all__ = ["MAX_WIDTH", "FormatError", "fmt_command", "format_text", "shape"]

#: Lines longer than this get their conditions broken at ``or`` / ``and``.
MAX_WIDTH = 100

_INDENT = "  "
_CONDITION_CLAUSES = {"when", "unless", "deny_if", "warn_if", "require"}
_ZONE_PARTS = {"callee_time", "fixed_zone"}
_NO_SPACE_BEFORE = {",", ")", ".", ":"}
_NO_SPACE_AFTER = {"(", "."}


class FormatError(RingfenceError):
    """Formatting would have changed a policy's meaning (a bug in the formatter)."""


@functools.cache
def _lark() -> Lark:
    # The parser's own grammar, keeping every token (keywords and commas too) so nothing is lost.
    return Lark(grammar_path().read_text(encoding="utf-8"), parser="lalr", lexer="contextual",
                keep_all_tokens=True, maybe_placeholders=False)  # fmt: skip


# ---- public API ------------------------------------------------------------------------------


def format_text(text: str, file: str = "<text>") -> str:
    """Return ``text`` in the canonical layout.

    Raises :class:`~ringfence.errors.PolicyError` (with every diagnostic) when the text does not
    parse, and :class:`FormatError` if the result would not mean exactly the same as the input.
    """
    before = parse_text(text, file)  # the parser's diagnostics for bad input
    out = _Formatter(text).run(_lark().parse(text))
    after = parse_text(out, file)
    if shape(after) != shape(before) or _comments(after) != _comments(before):
        raise FormatError(f"{file}: formatting would change the policy; the file was left as is")
    return out


def shape(node: object) -> object:
    """A syntax tree without its places (spans) and comments: equal shapes mean equal meaning."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        values = (getattr(node, f.name) for f in dataclasses.fields(node) if f.name != "comments")
        return (type(node).__name__, *(shape(v) for v in values if not isinstance(v, Span)))
    if isinstance(node, list | tuple):
        return tuple(shape(x) for x in node if not isinstance(x, Span))
    return node


def _comments(policy: object) -> list[str]:
    return [text for _, text in getattr(policy, "comments", ())]


# ---- the formatter ---------------------------------------------------------------------------


@dataclass
class _Comment:
    line: int
    column: int
    text: str
    trailing: bool  # code before it on the same line


@dataclass
class _Segment:
    """Tokens meant for one output line, with the indent of that line and of its continuations."""

    indent: int
    tokens: list[Token]
    blank_before: bool = False

    @property
    def cont(self) -> int:
        """The indent of a continuation line (after a comment interrupted the segment)."""
        return self.indent + 1


class _Formatter:
    def __init__(self, text: str):
        self.lines = source_lines(text)
        self.comments = list(_scan_comments(self.lines))
        self.out: list[str] = []

    # -- layout: the tree to segments --

    def run(self, tree: Tree[Token]) -> str:
        # A trailing comment belongs to the last token of its line: (line, column) -> comment.
        last: dict[int, Token] = {}
        for token in _tokens(tree):
            line, column = _at(token)
            if line not in last or column > _at(last[line])[1]:
                last[line] = token
        self.trailing = {
            _at(last[c.line]): c
            for c in self.comments
            if c.trailing and c.line in last
        }
        (policy,) = tree.children
        assert isinstance(policy, Tree)
        head = [c for c in policy.children if isinstance(c, Token)]
        segments = [_Segment(0, head)]
        for child in policy.children:
            if isinstance(child, Tree) and child.data == "rule":
                segments += self.rule(child)
            elif isinstance(child, Tree):
                segments += self.clause(child, 1)
        self.write(segments)
        return "\n".join(self.out).rstrip("\n") + "\n"

    def rule(self, tree: Tree[Token]) -> list[_Segment]:
        head = [c for c in tree.children if isinstance(c, Token)]
        segments = [_Segment(0, head, blank_before=True)]
        for child in tree.children:
            if isinstance(child, Tree):
                segments += self.clause(child, 1)
        return segments

    def clause(self, tree: Tree[Token], indent: int) -> list[_Segment]:
        if tree.data == "allow_only":
            return self.window(tree, indent)
        if tree.data == "calendar":
            return self.calendar(tree, indent)
        if tree.data in _DECLARATIONS:
            return [_Segment(indent, _canonical_declaration(_tokens(tree), tree.data))]
        one_line = _Segment(indent, _tokens(tree))
        if tree.data not in _CONDITION_CLAUSES or _width(one_line) <= MAX_WIDTH:
            return [one_line]
        return self.long_condition(tree, indent)

    def window(self, tree: Tree[Token], indent: int) -> list[_Segment]:
        head = [c for c in tree.children if isinstance(c, Token)]  # allow only
        parts = [c for c in tree.children if isinstance(c, Tree)]
        # `between T and T END[, zone]` reads as one sentence and stays on one line. (A comma
        # after a day line would start another interval, so other windows always break.)
        if parts[0].data == "every_day" and all(p.data in _ZONE_PARTS for p in parts[1:]):
            tokens = list(head)
            for part in parts:
                part_tokens = _without_leading_comma(_tokens(part))
                if part.data in _ZONE_PARTS:
                    part_tokens = [_comma_before(part_tokens[0]), *part_tokens]
                tokens += part_tokens
            single = _Segment(indent, tokens)
            if _width(single) <= MAX_WIDTH:
                return [single]
        segments = [_Segment(indent, head)]
        segments += [
            _Segment(indent + 1, _without_leading_comma(_tokens(p))) for p in parts
        ]
        return segments

    def calendar(self, tree: Tree[Token], indent: int) -> list[_Segment]:
        """``holidays NAME: …`` on one line when it fits; else one holiday a line (its comma
        after it), then the ``observed:`` line."""
        single = _Segment(indent, _tokens(tree))
        if _width(single) <= MAX_WIDTH:
            return [single]
        head: list[Token] = []
        lines: list[list[Token]] = []
        for child in tree.children:
            if isinstance(child, Token) and not lines:
                head.append(child)
                if str(child) == ":":
                    lines.append([])
            elif isinstance(child, Token):  # the comma after a holiday
                lines[-1].append(child)
                lines.append([])
            elif child.data == "observance":
                lines.append(_tokens(child))
            else:
                lines[-1] += _tokens(child)
        return [_Segment(indent, head)] + [_Segment(indent + 1, line) for line in lines if line]

    def long_condition(self, tree: Tree[Token], indent: int) -> list[_Segment]:
        """Break before the top-level ``or``s, or (when there are none) the ``and``s."""
        head = [c for c in tree.children if isinstance(c, Token)]
        (condition,) = [c for c in tree.children if isinstance(c, Tree)]
        pieces = _split(condition, "or")
        if len(pieces) == 1:
            pieces = _split(condition, "and")
        segments = [_Segment(indent, head + pieces[0])]
        segments += [_Segment(indent + 1, piece) for piece in pieces[1:]]
        return segments

    # -- writing: segments to lines, with the comments put back --

    def write(self, segments: list[_Segment]) -> None:
        pending = list(self.comments)
        for segment in segments:
            first = segment.tokens[0]
            above = [c for c in pending if (c.line, c.column) < _at(first)]
            self.blank_line(segment.blank_before)
            for comment in above:
                pending.remove(comment)
                self.blank_line(self.blank_above(comment.line))
                self.out.append(_INDENT * segment.indent + comment.text)
            self.blank_line(self.blank_above(_at(first)[0]))
            self.write_segment(segment, pending)
        for comment in pending:  # after the last clause
            self.blank_line(self.blank_above(comment.line))
            self.out.append(_INDENT * (0 if comment.column == 1 else 1) + comment.text)

    def write_segment(self, segment: _Segment, pending: list[_Comment]) -> None:
        line = _INDENT * segment.indent
        fresh = True
        tokens = segment.tokens
        for i, token in enumerate(tokens):
            inside = [c for c in pending if (c.line, c.column) < _at(token)]
            if inside:  # a comment line in the middle of a clause: keep it there
                if not fresh:
                    self.out.append(line)
                for comment in inside:
                    pending.remove(comment)
                    self.out.append(_INDENT * segment.cont + comment.text)
                line, fresh = _INDENT * segment.cont, True
            # A long list (citations, dates, values) wraps after a comma.
            wrap = not fresh and tokens[i - 1] == "," and token != ","
            if wrap and len(line) + 1 + len(_join(_chunk(tokens, i))) > MAX_WIDTH:
                self.out.append(line)
                line, fresh = _INDENT * segment.cont, True
            if not fresh and token not in _NO_SPACE_BEFORE and tokens[i - 1] not in _NO_SPACE_AFTER:
                line += " "
            line += str(token)
            fresh = False
            trailing = self.trailing.get(_at(token))
            if trailing is not None and trailing in pending:
                pending.remove(trailing)
                self.out.append(f"{line}  {trailing.text}")
                line, fresh = _INDENT * segment.cont, True
        if not fresh:
            self.out.append(line)

    def blank_line(self, wanted: bool) -> None:
        if wanted and self.out and self.out[-1] != "":
            self.out.append("")

    def blank_above(self, line: int) -> bool:
        """Whether the source has a blank line just above ``line``."""
        return line > 1 and self.lines[line - 2].strip() == ""


# ---- helpers ---------------------------------------------------------------------------------


def _scan_comments(lines: list[str]) -> Iterator[_Comment]:
    for number, line in enumerate(lines, start=1):
        # The parser finds the comment of a line (a '#' outside double quotes); it is the end of
        # the line, which gives its column.
        for _, text in _comment_in(line, number):
            column = len(line.rstrip()) - len(text)
            yield _Comment(number, column + 1, text, trailing=bool(line[:column].strip()))


def _at(token: Token) -> tuple[int, int]:
    """A token's line and column (every token the parser made has them)."""
    return token.line or 0, token.column or 0


def _tokens(tree: Tree[Token]) -> list[Token]:
    return [t for t in tree.scan_values(lambda v: isinstance(v, Token))]


def _join(tokens: list[Token]) -> str:
    """Tokens as one line of text, spaced as the formatter spaces them."""
    text = ""
    for i, token in enumerate(tokens):
        if i and token not in _NO_SPACE_BEFORE and tokens[i - 1] not in _NO_SPACE_AFTER:
            text += " "
        text += str(token)
    return text


def _chunk(tokens: list[Token], start: int) -> list[Token]:
    """The tokens from ``start`` up to and including the next comma."""
    end = start
    while end < len(tokens) and tokens[end] != ",":
        end += 1
    return tokens[start : end + 1]


def _width(segment: _Segment) -> int:
    return len(_INDENT * segment.indent) + len(_join(segment.tokens))


def _split(condition: Tree[Token], connective: str) -> list[list[Token]]:
    """The tokens of a condition, cut before each top-level ``connective``."""
    node: Tree[Token] | Token = condition
    # Descend through single-child wrappers (or_ -> and_) to the level holding the connective.
    while isinstance(node, Tree) and node.data in ("or_", "and_"):
        kids = node.children
        if any(isinstance(k, Token) and str(k) == connective for k in kids):
            break
        if len(kids) != 1:
            return [_tokens(condition)]
        node = kids[0]
    pieces: list[list[Token]] = [[]]
    if not isinstance(node, Tree):
        return [_tokens(condition)]
    for kid in node.children:
        if isinstance(kid, Token) and str(kid) == connective:
            pieces.append([kid])
        else:
            pieces[-1] += [kid] if isinstance(kid, Token) else _tokens(kid)
    return pieces


def _without_leading_comma(tokens: list[Token]) -> list[Token]:
    return tokens[1:] if tokens and str(tokens[0]) == "," else tokens


def _comma_before(token: Token) -> Token:
    """A ',' token placed just before ``token`` (for the one-line window form)."""
    return Token("COMMA", ",", line=token.line, column=token.column, end_line=token.line,
                 end_column=token.column)  # fmt: skip


# `uses list a` / `uses purposes a, b`: the declarations and their keyword for one name.
_DECLARATIONS = {"uses_lists": "list", "uses_purposes": "purpose"}


def _canonical_declaration(tokens: list[Token], rule: str) -> list[Token]:
    """``uses list a`` / ``uses lists a, b``: the keyword agrees with the number of names."""
    names = [t for t in tokens[2:] if str(t) != ","]
    word = _DECLARATIONS[rule] + ("" if len(names) == 1 else "s")
    return [tokens[0], tokens[1].update(value=word), *tokens[2:]]


# ---- the command -----------------------------------------------------------------------------


def _policy_files(paths: tuple[Path, ...]) -> tuple[list[Path], list[str]]:
    """The .rf files named or found (recursively) under ``paths``; the paths that don't exist."""
    found: dict[Path, None] = {}
    missing: list[str] = []
    for path in paths:
        if path.is_dir():
            found.update(dict.fromkeys(sorted(path.rglob("*.rf"))))
        elif path.is_file():
            found[path] = None
        else:
            missing.append(str(path))
    return list(found), missing


def _diff(path: Path, old: str, new: str) -> str:
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 f"{path} (current)", f"{path} (formatted)")  # fmt: skip
    return "".join(lines)


@click.command("fmt")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--check",
    is_flag=True,
    help="Change nothing; show a diff and exit 1 when a file is not in the canonical layout.",
)
def fmt_command(paths: tuple[Path, ...], check: bool) -> None:
    """Rewrite policy files in the canonical layout.

    PATHS are .rf files or folders (searched recursively); "-" formats standard input to standard
    output. Comments are kept, and a file is only rewritten when the result parses to exactly the
    same policy.

    Exit status: 0 when every file is (now) formatted, 1 when a file does not parse or (with
    --check) is not formatted, 2 for bad usage or a missing path.
    """
    if paths == (Path("-"),):
        text = sys.stdin.read()
        try:
            click.echo(format_text(text, "<stdin>"), nl=False)
        except RingfenceError as err:
            click.echo(str(err), err=True)
            raise SystemExit(1) from None
        return
    files, missing = _policy_files(paths)
    for name in missing:
        click.echo(f"error: {name}: no such file or folder", err=True)
    if missing or not files:
        if not files and not missing:
            click.echo("error: no .rf files found under " + ", ".join(map(str, paths)), err=True)
        raise SystemExit(2)
    failed = changed = 0
    for path in files:
        try:
            old = path.read_text(encoding="utf-8")
            new = format_text(old, str(path))
        except (RingfenceError, OSError, UnicodeDecodeError) as err:
            click.echo(str(err), err=True)
            failed += 1
            continue
        if new == old:
            continue
        changed += 1
        if check:
            click.echo(_diff(path, old, new), nl=False)
            click.echo(f"would reformat {path}", err=True)
        else:
            path.write_text(new, encoding="utf-8")
            click.echo(f"reformatted {path}", err=True)
    verb = "would be reformatted" if check else "reformatted"
    click.echo(f"{changed} of {len(files)} file(s) {verb}, {failed} could not be formatted", err=True)
    if failed or (check and changed):
        raise SystemExit(1)
