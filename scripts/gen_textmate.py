"""Regenerate ``editors/vscode/syntaxes/ringfence.tmLanguage.json``, the TextMate grammar of ``*.rf``.

The grammar's structure (which scopes, in which order) is written out below; its word lists (day
names, end marks, units, operator and clause words, every other keyword) are read from
``grammar/ringfence.lark`` through :mod:`ringfence.tools.vocabulary`, so a keyword added to the
language is coloured after one run of this script. ``tests/test_highlight_editors.py`` fails when
the committed file differs from what this script writes. Run: ``python scripts/gen_textmate.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ringfence.tools.vocabulary import Vocabulary, vocabulary

OUT = Path(__file__).resolve().parent.parent / "editors" / "vscode" / "syntaxes" / "ringfence.tmLanguage.json"

# Whole words only: not inside a longer word, nor a part of a hyphenated id (`summer-to-fall`).
_BEFORE, _AFTER = r"(?<![\w-])", r"(?![\w]|-\w)"
_ID = r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*"

# The TextMate grammar's own choices, not facts of the language grammar: the words that declare
# (coloured as storage), the phrases that are a rule's effect, and the values read as constants.
DECLARATIONS = ("policy", "rule")
EFFECTS = (r"deny\s+if", r"warn\s+if", "require", r"allow\s+only")
BOOLEANS = ("true", "false")


def _words(words: Iterable[str]) -> str:
    """A regex group matching any of ``words`` (longest first, so none is cut short)."""
    return "(?:" + "|".join(sorted(set(words), key=lambda w: (-len(w), w))) + ")"


def _whole(regex: str) -> str:
    return _BEFORE + regex + _AFTER


def _scope(name: str, match: str, comment: str | None = None) -> dict[str, Any]:
    """A pattern giving ``match`` the scope ``name.ringfence``."""
    head = {"comment": comment} if comment else {}
    return {**head, "name": f"{name}.ringfence", "match": match}


def _declaration(comment: str, keyword: str, keyword_scope: str, id_scope: str) -> dict[str, Any]:
    """A pattern for ``KEYWORD ID``, giving each its scope (``… .ringfence``)."""
    return {
        "comment": comment,
        "match": _BEFORE + f"({keyword})\\s+({_ID})" + _AFTER,
        "captures": {"1": {"name": f"{keyword_scope}.ringfence"}, "2": {"name": f"{id_scope}.ringfence"}},
    }


def textmate_grammar(words: Vocabulary) -> dict[str, Any]:
    """The TextMate grammar for a language of these words."""
    other = words.keywords - words.clause_words - words.operator_words - words.field_constants
    other -= set(DECLARATIONS)
    return {
        "$schema": "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
        "name": "Ringfence",
        "scopeName": "source.ringfence",
        "fileTypes": ["rf"],
        "patterns": [
            {"include": f"#{name}"}
            for name in ("comment", "string", "declaration", "literal", "keyword", "field", "punctuation")
        ],
        "repository": {
            "comment": _scope("comment.line.number-sign", "#.*$"),
            "string": {
                "name": "string.quoted.double.ringfence",
                "begin": '"',
                "end": '"|$',
                "beginCaptures": {"0": {"name": "punctuation.definition.string.begin.ringfence"}},
                "endCaptures": {"0": {"name": "punctuation.definition.string.end.ringfence"}},
                "patterns": [_scope("constant.character.escape", r"\\.")],
            },
            "declaration": {
                "patterns": [
                    _declaration("policy ID: the policy's id", "policy",
                                 "storage.type.policy", "entity.name.namespace.policy"),
                    _declaration("rule ID and exclude rule ID", "rule",
                                 "storage.type.rule", "entity.name.function.rule"),
                    _declaration("include ID: another policy", "include",
                                 "keyword.control.import", "entity.name.namespace.policy"),
                    {
                        "comment": "list NAME, uses list(s) NAME",
                        "match": _BEFORE + r"(lists?)\s+(?!checked" + _AFTER + f")({_ID})" + _AFTER,
                        "captures": {
                            "1": {"name": "keyword.other.list.ringfence"},
                            "2": {"name": "variable.other.list.ringfence"},
                        },
                    },
                ]
            },
            "literal": {
                "patterns": [
                    _scope("constant.numeric.date", _BEFORE + r"\d{4}-\d{2}-\d{2}(?![\d:])"),
                    _scope("constant.numeric.time", _BEFORE + r"\d{1,2}:\d{2}(?::\d{2})?(?![\d:])"),
                    {
                        "comment": "a duration: 31 days, 7 calendar days, 2 business days",
                        "match": _BEFORE + r"(\d+)\s+(?:(" + "|".join(sorted(words.duration_modifiers))
                        + r")\s+)?(" + _words(words.units) + ")" + _AFTER,
                        "captures": {
                            "1": {"name": "constant.numeric.duration.ringfence"},
                            "2": {"name": "storage.modifier.duration.ringfence"},
                            "3": {"name": "keyword.other.unit.ringfence"},
                        },
                    },
                    _scope("constant.numeric.version", _BEFORE + r"\d+(?:\.\d+){2,}[0-9A-Za-z.+-]*"),
                    _scope("constant.numeric", _whole(r"\d+(?:\.\d+)?")),
                    _scope("constant.language.day", _whole(_words(words.days))),
                    _scope("constant.language.end-mark", _whole(_words(words.end_marks))),
                    _scope("constant.language", _whole(_words(words.field_constants | set(BOOLEANS)))),
                ]
            },
            "keyword": {
                "patterns": [
                    _scope("keyword.operator.comparison", ">=|<=|!=|=|<|>"),
                    _scope("keyword.operator.observance", "->", "a weekday moved: saturday -> friday"),
                    _scope("keyword.operator.word", _whole(_words(words.operator_words))),
                    _scope(
                        "storage.type", _whole(_words(DECLARATIONS)),
                        "policy and rule without an id (the declaration patterns take them with one)",
                    ),
                    _scope("keyword.control.effect", _whole(f"(?:{'|'.join(EFFECTS)})"), "a rule's effect"),
                    _scope("keyword.other.clause", _whole(_words(words.clause_words))),
                    _scope("keyword.other", _whole(_words(other))),
                ]
            },
            "field": _scope(
                "variable.other.property", _whole(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+"),
                "a dotted field path: relationship.contract_active",
            ),
            "punctuation": {
                "patterns": [
                    _scope("punctuation.separator.comma", ","),
                    _scope("punctuation.separator.colon", ":", "holidays NAME: and observed:"),
                    _scope("punctuation.section.parens", "[()]"),
                ]
            },
        },
    }


def render(words: Vocabulary) -> str:
    """The file's text: the grammar as JSON, two-space indented, with a final newline."""
    return json.dumps(textmate_grammar(words), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OUT.write_text(render(vocabulary()), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
