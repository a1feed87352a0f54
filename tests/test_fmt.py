"""The formatter: canonical layout, comments kept, idempotent, meaning unchanged."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ringfence.errors import PolicyError
from ringfence.language import formatter
from ringfence.language.formatter import FormatError, fmt_command, format_text, shape
from ringfence.language.parser import parse_text
from ringfence.tools.highlight import _TOKEN_RE

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "policies").glob("*.rf"))


def _same_meaning(a: str, b: str) -> None:
    pa, pb = parse_text(a), parse_text(b)
    assert shape(pa) == shape(pb)
    assert [c for _, c in pa.comments] == [c for _, c in pb.comments]


# ---- shipped policies -----------------------------------------------------------------------


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_policy_keeps_its_meaning_and_is_idempotent(path: Path):
    text = path.read_text("utf-8")
    once = format_text(text, str(path))
    _same_meaning(text, once)
    assert format_text(once, str(path)) == once


def test_there_are_shipped_policies():
    assert SHIPPED, "no policies/*.rf to format"


# ---- the canonical layout ----------------------------------------------------------------------

MESSY = """\


# top comment

# second top comment
policy   messy "Messy"   # trailing on policy
version 1 applies to US ,US-FL
    # comment before source
  source "a",
     "b"


  uses lists x
rule r1 "R1" cite "c1" when purpose is marketing # why
  allow only between 08:00 and 21:00 inclusive callee local time
# between rules

rule r2 "R2"
  cite "c2"   # citation comment
  deny if (purpose is marketing
     # inner comment
     or purpose is informational) and callee on list x
  message "has # inside"
rule r3 "R3"
  cite "c3"
  allow only weekdays 09:00 to 17:00 inclusive in time zone "America/Chicago"
# end comment
   # indented end comment
"""

TIDY = """\
# top comment

# second top comment
policy messy "Messy"  # trailing on policy
  version 1
  applies to US, US-FL
  # comment before source
  source "a", "b"

  uses list x

rule r1 "R1"
  cite "c1"
  when purpose is marketing  # why
  allow only between 08:00 and 21:00 inclusive, callee local time

# between rules

rule r2 "R2"
  cite "c2"  # citation comment
  deny if (purpose is marketing
    # inner comment
    or purpose is informational) and callee on list x
  message "has # inside"

rule r3 "R3"
  cite "c3"
  allow only
    weekdays 09:00 to 17:00 inclusive
    in time zone "America/Chicago"
# end comment
  # indented end comment
"""


def test_messy_policy_gets_the_canonical_layout():
    assert format_text(MESSY) == TIDY
    assert format_text(TIDY) == TIDY


def test_long_conditions_break_at_the_top_level_connective():
    cond = " and ".join(f"purpose is not p{i}" for i in range(8))
    text = f'policy p "P"\nrule r "R"\n  cite "c"\n  deny if {cond} or opted out\n'
    out = format_text(text)
    lines = out.splitlines()
    assert lines[4].startswith("  deny if purpose is not p0 and")
    assert lines[5] == "    or opted out"
    short = 'policy p "P"\nrule r "R"\n  cite "c"\n  deny if a is b\n    and c is d\n'
    assert format_text(short).splitlines()[4] == "  deny if a is b and c is d"


def test_long_lists_wrap_after_commas():
    dates = ", ".join(f"2026-01-{d:02d}" for d in range(1, 29))
    text = f'policy p "P"\nrule r "R"\n  cite "c"\n  allow only\n    closed on {dates}\n'
    out = format_text(text)
    assert max(len(line) for line in out.splitlines()) <= formatter.MAX_WIDTH
    assert all(line.endswith(",") for line in out.splitlines()[5:-1])
    _same_meaning(text, out)


def test_bad_policy_raises_the_parser_diagnostics():
    with pytest.raises(PolicyError) as err:
        format_text('policy p "P"\nrule r "R"\n  cite "c"\n  alow only between\n', "x.rf")
    assert "x.rf:4:3" in str(err.value)


def test_a_formatter_bug_cannot_change_a_policy(monkeypatch: pytest.MonkeyPatch):
    original = formatter._Formatter.run

    def drop_not(self, tree):  # a broken formatter that loses a `not`
        return original(self, tree).replace(" not ", " ")

    monkeypatch.setattr(formatter._Formatter, "run", drop_not)
    with pytest.raises(FormatError):
        format_text('policy p "P"\nrule r "R"\n  cite "c"\n  deny if purpose is not x\n')


# ---- generated policies --------------------------------------------------------------------------

ATOMS = [
    "purpose is marketing", "purpose is not marketing", "technology is one of autodialer, x",
    "line_type is not one of wireless, landline", "to_region is missing", "subject is present",
    "relationship.contract_active is true", "relationship.last_transaction_at within 18 months",
    "callee on list dnc", "callee on list dnc listed at least 31 days ago",
    "list dnc checked within 31 days", "consent express_written for marketing",
    "consent for this purpose", "opted out", "opted out for marketing within 5 years",
    "last purchase within 18 months", "from is present", "at >= 2026-01-01",
    "last conversation with same subject between 1 day and 7 calendar days ago",
    "count of attempts with same campaign with outcome voicemail in last 24 hours >= 3",
    "last attempt less than 2 business days ago", 'campaign is "spring sale"',
]  # fmt: skip
WINDOWS = [
    "between 08:00 and 21:00 inclusive",
    "between 08:00 and 21:00 inclusive, callee local time",
    'between 09:00 and 20:00 exclusive in time zone "Europe/Paris"',
    "monday to friday 10:00 to 13:00 inclusive, 14:00 to 20:00 inclusive closed on public holidays",
    "weekdays 09:00 to 21:30 inclusive weekends 10:00 to 18:00 inclusive",
    "monday, wednesday 08:00 to 12:00:30 exclusive closed on sunday, 2026-12-24 in callee local time",
    "every day 08:00 to 24:00 exclusive closed on national public holidays",
]  # fmt: skip


def _condition(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 2 or roll < 0.4:
        return rng.choice(ATOMS)
    if roll < 0.6:
        return f"not {_condition(rng, depth + 1)}"
    if roll < 0.75:
        return f"({_condition(rng, depth + 1)})"
    joiner = rng.choice([" and ", " or "])
    return joiner.join(_condition(rng, depth + 1) for _ in range(rng.randint(2, 4)))


def _policy(rng: random.Random) -> str:
    out = [f'policy gen-{rng.randint(0, 999)} "Generated \\"policy\\""']
    header = [
        "version " + rng.choice(["1", "2026.11", "1.2.3", "draft", '"v1"']),
        "applies to US, US-FL", "effective from 2020-01-01 until 2030-01-01",
        'source "a", "b"', 'disclaimer "Not legal advice."', 'note "n"', "uses lists dnc, other",
        "uses purposes fundraising", "uses purpose alumni, membership",
        "include us-federal", "exclude rule old", f"when {_condition(rng)}",
    ]  # fmt: skip
    out += rng.sample(header, rng.randint(1, len(header)))
    for r in range(rng.randint(1, 4)):
        out.append(f'rule r-{r} "Rule {r}"')
        out.append("cite " + ", ".join(f'"47 CFR 64.1200({c})"' for c in "abc"[: rng.randint(1, 3)]))
        extras = ["level warn", "effective until 2027-01-01", 'message "m"']
        extras += [f"when {_condition(rng)}" for _ in range(rng.randint(0, 2))]
        extras += [f"unless {_condition(rng)}" for _ in range(rng.randint(0, 2))]
        out += rng.sample(extras, rng.randint(0, len(extras)))
        effect = rng.choice(["deny if", "warn if", "require", "allow only"])
        out.append(f"allow only {rng.choice(WINDOWS)}" if effect == "allow only"
                   else f"{effect} {_condition(rng)}")  # fmt: skip
    return "\n".join(out) + "\n"


def _relayout(text: str, rng: random.Random, comments: bool) -> str:
    """The same tokens with random spacing, line breaks, blank lines and (maybe) comments."""
    tokens = [m.group() for m in _TOKEN_RE.finditer(text) if not m.group().isspace()]
    out = []
    for i, token in enumerate(tokens):
        out.append(token)
        roll = rng.random()
        if comments and roll < 0.08:
            out.append(f'  # c{i} "quoted" # more\n' + " " * rng.randint(0, 6))
        elif comments and roll < 0.12:
            out.append(f"\n\n   # own line {i}\n")
        elif roll < 0.3:
            out.append("\n" + " " * rng.randint(0, 8))
        else:
            out.append(" " * rng.randint(1, 3))
    return "".join(out)


@pytest.mark.parametrize("seed", range(60))
def test_generated_policy_keeps_its_meaning_and_comments(seed: int):
    rng = random.Random(seed)
    canonical_source = _policy(rng)
    messy = _relayout(canonical_source, rng, comments=True)
    once = format_text(messy)
    _same_meaning(messy, once)
    assert format_text(once) == once
    for line in once.splitlines():
        assert line == line.rstrip(), "trailing spaces"
        if line and not line.lstrip().startswith("#"):
            assert re.match(r"^(  )*\S", line), f"odd indent: {line!r}"


@pytest.mark.parametrize("seed", range(60, 90))
def test_layout_does_not_depend_on_the_input_layout(seed: int):
    rng = random.Random(seed)
    source = _policy(rng)
    text = _relayout(source, rng, comments=False).replace("\n\n", "\n")
    assert format_text(text) == format_text(source)


# ---- the command -----------------------------------------------------------------------------


def test_fmt_check_shows_a_diff_and_changes_nothing(tmp_path: Path):
    path = tmp_path / "messy.rf"
    path.write_text(MESSY, "utf-8")
    result = CliRunner().invoke(fmt_command, ["--check", str(path)])
    assert result.exit_code == 1
    assert "+  version 1" in result.output and "would reformat" in result.output
    assert path.read_text("utf-8") == MESSY


def test_fmt_rewrites_then_check_passes(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "messy.rf"
    path.write_text(MESSY, "utf-8")
    result = CliRunner().invoke(fmt_command, [str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert path.read_text("utf-8") == TIDY
    assert CliRunner().invoke(fmt_command, ["--check", str(path)]).exit_code == 0


def test_fmt_reports_bad_input(tmp_path: Path):
    missing = CliRunner().invoke(fmt_command, [str(tmp_path / "nope.rf")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    assert CliRunner().invoke(fmt_command, []).exit_code == 2
    bad = tmp_path / "bad.rf"
    bad.write_text('policy p "P"\nrule r "R"\n  alow only\n', "utf-8")
    result = CliRunner().invoke(fmt_command, [str(bad)])
    assert result.exit_code == 1
    assert "bad.rf:3:3" in result.output and "Traceback" not in result.output


def test_fmt_stdin_to_stdout():
    result = CliRunner().invoke(fmt_command, ["-"], input=MESSY)
    assert result.exit_code == 0
    assert result.output == TIDY


# ---- pre-commit hooks ------------------------------------------------------------------------------


def test_pre_commit_hooks_run_real_commands():
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"ringfence-check", "ringfence-fmt", "ringfence-test"}
    from ringfence.tools.cli import cli

    for hook in hooks.values():
        assert hook["language"] == "python"
        prog, command, *options = hook["entry"].split()
        assert prog == "ringfence" and command in cli.commands, hook["entry"]
        known = {o for p in cli.commands[command].params for o in getattr(p, "opts", [])}
        assert set(options) <= known, hook["entry"]
        re.compile(hook["files"])
    assert re.search(hooks["ringfence-fmt"]["files"], "policies/us-fl.rf")
    assert re.search(hooks["ringfence-test"]["files"], "policies/us-fl.test.yaml")


def test_uses_purpose_round_trips_and_its_keyword_agrees_with_the_names():
    messy = ('policy p "P"\n  applies to US\n  uses purposes   fundraising\n'
             "  uses purpose alumni ,membership\n")
    tidy = format_text(messy)
    assert tidy == ('policy p "P"\n  applies to US\n  uses purpose fundraising\n'
                    "  uses purposes alumni, membership\n")
    assert format_text(tidy) == tidy
    assert parse_text(tidy).purposes == ("fundraising", "alumni", "membership")
