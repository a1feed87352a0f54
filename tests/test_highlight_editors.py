"""The editor support in editors/: the VS Code manifest and the TextMate grammar.

VS Code runs TextMate regexes with Oniguruma; the grammar only uses the subset that Python's `re`
shares with it (classes, groups, look-arounds), so the test compiles and runs them with `re`.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ringfence.tools.vocabulary import read_vocabulary, vocabulary

ROOT = Path(__file__).resolve().parents[1]
VSCODE = ROOT / "editors" / "vscode"
GRAMMAR_JSON = VSCODE / "syntaxes" / "ringfence.tmLanguage.json"
LARK = ROOT / "grammar" / "ringfence.lark"


def _grammar() -> dict[str, Any]:
    return json.loads(GRAMMAR_JSON.read_text("utf-8"))


def _all_rules(node: Any):
    """Every rule object in the grammar (patterns and repository entries, nested)."""
    if isinstance(node, dict):
        if any(k in node for k in ("match", "begin", "include", "patterns")):
            yield node
        for value in node.values():
            yield from _all_rules(value)
    elif isinstance(node, list):
        for item in node:
            yield from _all_rules(item)


def test_manifest_declares_language_and_grammar():
    manifest = json.loads((VSCODE / "package.json").read_text("utf-8"))
    (language,) = manifest["contributes"]["languages"]
    assert language["id"] == "ringfence"
    assert ".rf" in language["extensions"]
    assert (VSCODE / language["configuration"]).is_file()
    (grammar,) = manifest["contributes"]["grammars"]
    assert grammar["language"] == "ringfence"
    assert (VSCODE / grammar["path"]).resolve() == GRAMMAR_JSON
    assert grammar["scopeName"] == _grammar()["scopeName"] == "source.ringfence"


def test_language_configuration():
    config = json.loads((VSCODE / "language-configuration.json").read_text("utf-8"))
    assert config["comments"]["lineComment"] == "#"
    assert ["(", ")"] in config["brackets"]
    re.compile(config["wordPattern"])


def test_regexes_compile_and_includes_resolve():
    grammar = _grammar()
    repository = grammar["repository"]
    rules = list(_all_rules(grammar))
    assert len(rules) > 20
    for rule in rules:
        for key in ("match", "begin", "end"):
            if key in rule:
                re.compile(rule[key])
        if "include" in rule:
            assert rule["include"].startswith("#")
            assert rule["include"][1:] in repository, rule["include"]


# ---- a small TextMate tokenizer: enough to check what scope the grammar gives each word ----------


def _flatten(patterns: list[dict[str, Any]], repository: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for pattern in patterns:
        if "include" in pattern:
            out.extend(_flatten([repository[pattern["include"][1:]]], repository))
        elif "match" in pattern or "begin" in pattern:
            out.append(pattern)
        else:
            out.extend(_flatten(pattern["patterns"], repository))
    return out


def _scopes(line: str) -> dict[str, str]:
    """Text -> scope for every scoped piece of one line, like a TextMate engine: at each position
    the pattern matching earliest wins, ties going to the pattern listed first."""
    grammar = _grammar()
    patterns = _flatten(grammar["patterns"], grammar["repository"])
    found: dict[str, str] = {}
    pos = 0
    while pos < len(line):
        best = None
        for pattern in patterns:
            m = re.compile(pattern.get("match") or pattern["begin"]).search(line, pos)
            if m and m.end() > m.start() and (best is None or m.start() < best[1].start()):
                best = (pattern, m)
        if best is None:
            break
        pattern, m = best
        end = m.end()
        if "begin" in pattern:  # a string: runs to its end pattern, skipping escapes
            inner = [re.compile(p["match"]) for p in pattern.get("patterns", [])]
            end_re = re.compile(pattern["end"])
            while end < len(line):
                if any(r.match(line, end) for r in inner):
                    end = next(r.match(line, end) for r in inner if r.match(line, end)).end()
                    continue
                stop = end_re.match(line, end)
                if stop:
                    end = stop.end()
                    break
                end += 1
        if "name" in pattern:
            found[line[m.start() : end]] = pattern["name"]
        for group, capture in pattern.get("captures", {}).items():
            if m.group(int(group)):
                found[m.group(int(group))] = capture["name"]
        pos = end
    return found


@pytest.mark.parametrize(
    ("line", "text", "scope"),
    [
        ('policy us-federal "US federal rules"', "us-federal", "entity.name.namespace"),
        ('policy us-federal "US federal rules"', '"US federal rules"', "string.quoted.double"),
        ('rule calling-hours "Calls"  # a comment', "calling-hours", "entity.name.function"),
        ('rule calling-hours "Calls"  # a comment', "# a comment", "comment.line.number-sign"),
        ("  exclude rule old-rule", "old-rule", "entity.name.function"),
        ("  include us-base", "us-base", "entity.name.namespace"),
        ('  message "say \\"no\\" # not a comment"', '"say \\"no\\" # not a comment"', "string"),
        ("  effective from 2003-10-01", "2003-10-01", "constant.numeric.date"),
        ("    weekdays 08:00 to 20:00:30 inclusive", "08:00", "constant.numeric.time"),
        ("    weekdays 08:00 to 20:00:30 inclusive", "20:00:30", "constant.numeric.time"),
        ("    weekdays 08:00 to 20:00:30 inclusive", "inclusive", "constant.language"),
        ("    monday to friday 10:00 to 13:00 exclusive", "friday", "constant.language.day"),
        ("  deny if last purchase within 18 months", "18", "constant.numeric.duration"),
        ("  deny if last purchase within 18 months", "months", "keyword.other.unit"),
        ("  deny if last purchase within 18 months", "deny if", "keyword.control.effect"),
        ("  require x within 7 calendar days", "calendar", "storage.modifier.duration"),
        ("  deny if callee on list national_dnc", "national_dnc", "variable.other.list"),
        ("  when relationship.contract_active is true", "relationship.contract_active",
         "variable.other.property"),
        ("  when relationship.contract_active is true", "is", "keyword.operator.word"),
        ("  deny if count of attempts in last 1 day >= 3", ">=", "keyword.operator.comparison"),
        ("  version 2026.11", "2026.11", "constant.numeric"),
    ],
)
def test_scopes(line: str, text: str, scope: str):
    scopes = _scopes(line)
    assert text in scopes, f"{text!r} not scoped in {line!r}: {scopes}"
    assert scopes[text].startswith(scope) and scopes[text].endswith(".ringfence")


def test_hyphenated_ids_are_not_split_into_keywords():
    scopes = _scopes("  when campaign is summer-to-fall")
    assert "to" not in scopes


def test_every_grammar_keyword_is_scoped():
    words = vocabulary()
    unscoped = sorted(w for w in words.keywords | words.days | words.end_marks if w not in _scopes(w))
    assert not unscoped, f"grammar keywords the TextMate grammar does not colour: {unscoped}"
    assert all(_scopes(f"3 {unit}").get(unit, "").startswith("keyword.other.unit") for unit in words.units)


# ---- the TextMate grammar is generated from the language grammar ---------------------------------


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_textmate", ROOT / "scripts" / "gen_textmate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_textmate_grammar_is_what_the_script_writes():
    assert GRAMMAR_JSON.read_text("utf-8") == _generator().render(vocabulary()), (
        "editors/vscode/syntaxes/ringfence.tmLanguage.json is out of date with grammar/ringfence.lark:"
        " run `python scripts/gen_textmate.py`"
    )


def test_a_keyword_added_to_the_grammar_reaches_the_textmate_grammar(tmp_path):
    grammar = LARK.read_text("utf-8")
    edited = tmp_path / "edited.lark"
    edited.write_text(grammar.replace("-> require\n", '-> require\n | "forbid" "always" -> forbid\n'))
    patterns = _generator().textmate_grammar(read_vocabulary(edited))["repository"]["keyword"]["patterns"]
    scope_of = {word: p["name"] for p in patterns if "name" in p for word in ("forbid", "always")
                if re.fullmatch(p["match"], word)}
    assert scope_of == {"forbid": "keyword.other.clause.ringfence", "always": "keyword.other.ringfence"}
