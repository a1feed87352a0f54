"""The Pygments lexer: token types of a sample, no Error tokens on real policies, plugin lookup."""

from __future__ import annotations

import re
from pathlib import Path

import pygments
import pygments.lexers
import pytest
from pygments.formatters import HtmlFormatter
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
)

from ringfence.tools.highlight import RingfenceLexer

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = """\
# Federal rules
policy us-federal "US \\"federal\\" rules"
  version 2026.11
  applies to US, US-FL
  effective from 2003-10-01 until 2030-01-01
  uses list national_dnc
  include us-base
  exclude rule old-rule

rule calling-hours "Calls only from 8 a.m. to 9 p.m."
  cite "47 CFR 64.1200(c)(1)"
  level warn
  when to is not one of a, b and (from is missing or purpose is marketing)
  unless relationship.contract_active is true
  allow only
    monday to friday 10:00 to 20:00:30 inclusive
    closed on sunday, 2026-12-24
    in time zone "America/Chicago"

rule dnc "DNC"
  cite "47 CFR 64.1200(c)(2)"
  deny if callee on list national_dnc listed at least 31 days ago
    and not consent express_written for this purpose
    and last purchase within 18 months
    and count of attempts with same subject in last 7 calendar days >= 3
"""

# Every non-blank token of SAMPLE, in order.
EXPECTED = [
    (Comment.Single, "# Federal rules"),
    (Keyword.Declaration, "policy"), (Name.Namespace, "us-federal"),
    (String.Double, '"US '), (String.Escape, '\\"'), (String.Double, "federal"),
    (String.Escape, '\\"'), (String.Double, ' rules"'),
    (Keyword, "version"), (Number.Float, "2026.11"),
    (Keyword, "applies"), (Keyword, "to"), (Name.Constant, "US"), (Punctuation, ","),
    (Name.Constant, "US-FL"),
    (Keyword, "effective"), (Keyword, "from"), (Literal.Date, "2003-10-01"),
    (Keyword, "until"), (Literal.Date, "2030-01-01"),
    (Keyword.Namespace, "uses"), (Keyword, "list"), (Name.Variable, "national_dnc"),
    (Keyword.Namespace, "include"), (Name.Namespace, "us-base"),
    (Keyword.Namespace, "exclude"), (Keyword.Declaration, "rule"), (Name.Function, "old-rule"),
    (Keyword.Declaration, "rule"), (Name.Function, "calling-hours"),
    (String.Double, '"Calls only from 8 a.m. to 9 p.m."'),
    (Keyword, "cite"), (String.Double, '"47 CFR 64.1200(c)(1)"'),
    (Keyword, "level"), (Keyword.Constant, "warn"),
    (Keyword, "when"), (Name.Attribute, "to"), (Operator.Word, "is"), (Operator.Word, "not"),
    (Operator.Word, "one"), (Operator.Word, "of"), (Name.Constant, "a"), (Punctuation, ","),
    (Name.Constant, "b"), (Operator.Word, "and"), (Punctuation, "("), (Name.Attribute, "from"),
    (Operator.Word, "is"), (Keyword.Constant, "missing"), (Operator.Word, "or"),
    (Name.Attribute, "purpose"), (Operator.Word, "is"), (Name.Constant, "marketing"),
    (Punctuation, ")"),
    (Keyword, "unless"), (Name.Attribute, "relationship"), (Punctuation, "."),
    (Name.Attribute, "contract_active"), (Operator.Word, "is"), (Name.Constant, "true"),
    (Keyword, "allow"), (Keyword, "only"),
    (Keyword.Constant, "monday"), (Keyword, "to"), (Keyword.Constant, "friday"),
    (Literal.Date, "10:00"), (Keyword, "to"), (Literal.Date, "20:00:30"),
    (Keyword.Constant, "inclusive"),
    (Keyword, "closed"), (Keyword, "on"), (Keyword.Constant, "sunday"), (Punctuation, ","),
    (Literal.Date, "2026-12-24"),
    (Keyword, "in"), (Keyword, "time"), (Keyword, "zone"), (String.Double, '"America/Chicago"'),
    (Keyword.Declaration, "rule"), (Name.Function, "dnc"), (String.Double, '"DNC"'),
    (Keyword, "cite"), (String.Double, '"47 CFR 64.1200(c)(2)"'),
    (Keyword, "deny"), (Keyword, "if"), (Keyword, "callee"), (Keyword, "on"), (Keyword, "list"),
    (Name.Variable, "national_dnc"), (Keyword, "listed"), (Keyword, "at"), (Keyword, "least"),
    (Number.Integer, "31"), (Keyword.Type, "days"), (Keyword, "ago"),
    (Operator.Word, "and"), (Operator.Word, "not"), (Keyword, "consent"),
    (Name.Constant, "express_written"), (Keyword, "for"), (Keyword, "this"), (Keyword, "purpose"),
    (Operator.Word, "and"), (Keyword, "last"), (Name.Builtin, "purchase"), (Keyword, "within"),
    (Number.Integer, "18"), (Keyword.Type, "months"),
    (Operator.Word, "and"), (Keyword, "count"), (Operator.Word, "of"), (Keyword, "attempts"),
    (Keyword, "with"), (Keyword, "same"), (Name.Attribute, "subject"), (Keyword, "in"),
    (Keyword, "last"), (Number.Integer, "7"), (Keyword.Type, "calendar"),
    (Keyword.Type, "days"), (Operator, ">="), (Number.Integer, "3"),
]  # fmt: skip


def _significant(text: str) -> list[tuple[object, str]]:
    return [(t, v) for t, v in RingfenceLexer().get_tokens(text) if v.strip()]


def test_sample_tokens_have_the_expected_types():
    assert _significant(SAMPLE) == EXPECTED


def test_tokens_cover_the_text_exactly():
    tokens = list(RingfenceLexer().get_tokens_unprocessed(SAMPLE))
    assert "".join(v for _, _, v in tokens) == SAMPLE
    offsets = [pos for pos, _, _ in tokens]
    assert offsets == sorted(offsets)


def test_bad_characters_are_error_tokens():
    tokens = _significant("rule x 'single quotes' \"unterminated\n")
    errors = [v for t, v in tokens if t is Error]
    assert errors == ["'", "'", '"']


def test_pygments_finds_the_lexer_through_the_entry_point():
    for alias in ("ringfence", "rf"):
        assert isinstance(pygments.lexers.get_lexer_by_name(alias), RingfenceLexer)
    assert isinstance(pygments.lexers.get_lexer_for_filename("us-fl.rf"), RingfenceLexer)
    guessed = pygments.lexers.guess_lexer('# hi\npolicy x "X"\n  applies to US\n')
    assert isinstance(guessed, RingfenceLexer)


def test_html_output_uses_standard_css_classes():
    html = pygments.highlight(SAMPLE, RingfenceLexer(), HtmlFormatter())
    for css, text in [("nf", "calling-hours"), ("nn", "us-federal"), ("c1", "# Federal rules"),
                      ("kt", "days"), ("ld", "2026-12-24"), ("na", "contract_active")]:
        assert f'<span class="{css}">{text}</span>' in html


def _policy_files() -> list[Path]:
    return sorted((ROOT / "policies").glob("**/*.rf"))


def _doc_blocks() -> list[tuple[str, str]]:
    blocks = []
    for md in sorted((ROOT / "docs").glob("*.md")):
        for i, m in enumerate(re.finditer(r"```ringfence\n(.*?)```", md.read_text("utf-8"), re.S)):
            # A block with "…" is a syntax template (`cite "c" [, "c" …]`), not policy text.
            if "…" not in m.group(1):
                blocks.append((f"{md.name}#{i}", m.group(1)))
    return blocks


@pytest.mark.parametrize("path", _policy_files(), ids=lambda p: p.name)
def test_no_error_tokens_in_shipped_policies(path: Path):
    bad = [v for t, v in RingfenceLexer().get_tokens(path.read_text("utf-8")) if t in Error]
    assert not bad, f"{path.name}: error tokens {bad[:5]}"


@pytest.mark.parametrize(("where", "block"), _doc_blocks(), ids=lambda x: str(x)[:40])
def test_no_error_tokens_in_documentation_examples(where: str, block: str):
    bad = [v for t, v in RingfenceLexer().get_tokens(block) if t in Error]
    assert not bad, f"{where}: error tokens {bad[:5]}"


def test_there_is_something_to_check():
    # The parametrized checks above would pass vacuously on an empty tree.
    assert _doc_blocks(), "docs/ has no ```ringfence blocks"
