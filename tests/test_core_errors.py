"""Every error code, where it points, how it renders, and that all errors come at once."""

from __future__ import annotations

import re

import pytest
from test_core_support import FIXTURES, policy_text, rule, write

import ringfence
from ringfence.errors import CODES, PolicyError
from ringfence.language.parser import _lark, parse_text

# For each code with an example: (a text that identifies the line at fault in example_wrong,
# the text the caret must sit under on that line).
WHERE = {
    "RF101": ("alow only", "alow"),
    "RF102": ("between 08:00 and", None),          # None: just past the end of the line
    "RF103": ("message 'Calls", "'"),
    "RF201": ('rule calling-hours "Calls only from 8 a.m. to 9 p.m."\n  cite "47 CFR 64.1200(c)(1)"\n'
              "  allow only between 09:00", "calling-hours"),
    "RF203": ("rule calling-hours", "calling-hours"),
    "RF204": ("rule calling-hours", "calling-hours"),
    "RF205": ('message "Too late"', "message"),
    "RF206": ("level warn", "level"),
    "RF207": ("policy example", "example"),
    "RF208": ('cite " "', "cite"),
    "RF209": ('rule calling-hours-2', "calling-hours-2"),
    "RF210": ("holidays legal: december", "legal"),
    "RF211": ('changelog 2025-01-01 "First"', "changelog"),
    "RF212": ('rule calling-hours-2', "calling-hours-2"),
    "RF301": ("purpse", "purpse"),
    "RF302": ("autodailer", "autodailer"),
    "RF303": ("is marketing", "marketing"),
    # the caret sits under the start of the list condition (not under the list's name)
    "RF304": ("national_dcn", "callee"),
    "RF305": ("purchse", "purchse"),
    "RF306": ("within 0 months", "0 months"),
    # the caret sits under the first condition past the 16th level
    "RF307": ("purpose is marketing)", "purpose"),
    "RF308": ("closed on legl", "legl"),
    "RF309": ("Fundraising", "Fundraising"),
    "RF401": ("between 21:00 and 08:00", "08:00"),
    "RF402": ("25:00", "25:00"),
    "RF403": ("friday 14:00", "14:00"),
    "RF404": ("13:00 to 20:00", "13:00"),
    "RF405": ("America/Chicgo", '"America/Chicgo"'),
    "RF406": ("2025-02-30", "2025-02-30"),
    "RF407": ("US-FLA", "US-FLA"),
    "RF408": ("february 30", "february"),
    "RF409": ("sunday -> tuesday", "sunday -> tuesday"),
    "RF410": ('url "ecfr', "url"),
    "RF501": ("until 2025-01-01", "effective"),
}
WITH_EXAMPLE = sorted(c for c, e in CODES.items() if e.example_wrong)


def _place(text: str, marker: str, token: str | None) -> tuple[int, int]:
    """(line, column) of ``token`` on the line where ``marker`` starts (1-based)."""
    offset = text.index(marker)
    if "\n" in marker:  # a multi-line marker: the line at fault is its first line
        marker = marker.split("\n")[0]
    line = text.count("\n", 0, offset) + 1
    source = text.splitlines()[line - 1]
    column = len(source) + 1 if token is None else source.index(token) + 1
    return line, column


def _diagnostics(tmp_path, text: str, name: str = "p.rf") -> list:
    with pytest.raises(PolicyError) as err:
        ringfence.load(write(tmp_path, text, name))
    return err.value.diagnostics


def test_every_code_has_a_title_hint_and_a_place_in_this_table():
    for code, entry in CODES.items():
        assert re.fullmatch(r"RF\d{3}", code) and entry.code == code
        assert entry.title and entry.hint
        assert bool(entry.example_wrong) == bool(entry.example_fix)
    assert set(WHERE) == set(WITH_EXAMPLE)


@pytest.mark.parametrize("code", WITH_EXAMPLE)
def test_example_gives_exactly_its_code_at_the_right_place(tmp_path, code):
    entry = CODES[code]
    (diag,) = _diagnostics(tmp_path, entry.example_wrong)
    assert diag.code == code
    assert (diag.span.line, diag.span.column) == _place(entry.example_wrong, *WHERE[code])
    assert diag.source_line == entry.example_wrong.splitlines()[diag.span.line - 1]
    assert diag.hint == entry.hint
    assert diag.span.file.endswith("p.rf")


@pytest.mark.parametrize("code", WITH_EXAMPLE)
def test_example_fix_is_valid(tmp_path, code):
    ps = ringfence.load(write(tmp_path, CODES[code].example_fix))
    assert ps.policies[0].id == "example"


# ---- the codes without an example ---------------------------------------------------------


def test_rf202_duplicate_policy_id(tmp_path):
    text = policy_text(rule("deny if technology is manual"), pid="same")
    one, two = write(tmp_path, text, "one.rf"), write(tmp_path, text, "two.rf")
    with pytest.raises(PolicyError) as err:
        ringfence.load(one, two)
    assert [d.code for d in err.value.diagnostics] == ["RF202"]
    assert err.value.diagnostics[0].span.file.endswith("two.rf")


def test_rf601_policy_not_found_suggests_a_shipped_id(tmp_path):
    with pytest.raises(PolicyError) as err:
        ringfence.load("us-federall")
    (diag,) = err.value.diagnostics
    assert diag.code == "RF601" and diag.suggestion == "us-federal"
    with pytest.raises(PolicyError) as err:
        ringfence.load(tmp_path / "nothing.rf")
    assert err.value.diagnostics[0].code == "RF601"
    include = policy_text("", extra='  include "missing.rf"')
    assert [d.code for d in _diagnostics(tmp_path, include)] == ["RF601"]


def test_rf602_include_cycle_and_bad_exclude(tmp_path):
    write(tmp_path, policy_text(rule("deny if technology is manual"), pid="a",
                                extra='  include "b.rf"'), "a.rf")
    cycle = policy_text("", pid="b", extra='  include "a.rf"')
    (diag,) = _diagnostics(tmp_path, cycle, "b.rf")
    assert diag.code == "RF602"
    write(tmp_path, policy_text(rule("deny if technology is manual"), pid="base"), "base.rf")
    bad = policy_text("", pid="c", extra='  include "base.rf"\n  exclude rule nope')
    (diag,) = _diagnostics(tmp_path, bad, "c.rf")
    assert diag.code == "RF602" and diag.span.line == 5


# ---- more ways to reach the codes ---------------------------------------------------------


@pytest.mark.parametrize(("body", "code"), [
    (rule("deny if purpose is marketing") + rule("warn if purpose is marketing"), "RF201"),
    (rule("deny if purpose is marketing\n  require purpose is research"), "RF204"),
    (rule("deny if count of attempts in last 3 calendar hours >= 1"), "RF306"),
    (rule("deny if at >= marketing"), "RF303"),
    (rule("deny if purpose within 3 days"), "RF303"),
    (rule("deny if to_region is florida"), "RF303"),
    (rule("deny if consent implied for marketing"), "RF305"),
    (rule("deny if count of attempts with same colour in last 1 days >= 1"), "RF305"),
    (rule("deny if last attempt with outcome hangup within 1 days"), "RF302"),
    (rule("require list tsp checked within 31 days"), "RF304"),
    (rule("allow only between 08:60 and 21:00 inclusive"), "RF402"),
    (rule("allow only weekdays 08:00 to 12:00 inclusive, 12:00 to 13:00 inclusive"), "RF404"),
    (rule("allow only monday 08:00 to 12:00 inclusive\n    closed on monday"), "RF501"),
    (rule("deny if purpose is marketing and purpose is research", rid="never")
     .replace("deny if purpose is marketing and purpose is research",
              "when purpose is marketing and purpose is research\n  deny if country is US"),
     "RF501"),
    (rule("allow only between 08:00 and 21:00 inclusive", "effective until 2020-01-01"),
     "RF501"),
])
def test_other_triggers(tmp_path, body, code):
    text = policy_text(body, extra="  effective from 2021-01-01" if code == "RF501" else "")
    codes = [d.code for d in _diagnostics(tmp_path, text)]
    assert codes == [code]


def test_exclusive_end_meeting_the_next_start_is_not_an_overlap(tmp_path):
    text = policy_text(rule("allow only weekdays 08:00 to 12:00 exclusive, "
                            "12:00 to 13:00 inclusive"))
    ringfence.load(write(tmp_path, text))


def test_level_warn_with_warn_if_is_allowed(tmp_path):
    ringfence.load(write(tmp_path, policy_text(rule("warn if purpose is marketing",
                                                    "level warn"))))


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.rf"
    path.write_bytes(policy_text(rule("deny if purpose is marketing")).replace(
        "Rule r", "Règle r").encode("latin-1"))
    with pytest.raises(PolicyError) as err:
        ringfence.load(path)
    assert err.value.diagnostics[0].code == "RF103"


# ---- rendering ----------------------------------------------------------------------------


def test_render_shows_place_source_caret_suggestion_and_hint(tmp_path):
    (diag,) = _diagnostics(tmp_path, CODES["RF301"].example_wrong)
    lines = diag.render().splitlines()
    assert lines[0] == f"{diag.span.file}:7:8: error RF301: 'purpse' is not a field of a call"
    assert lines[1] == "    " + "  when purpse is marketing"
    assert lines[2].index("^") == lines[1].index("purpse")
    assert lines[2].strip() == "^"
    assert "did you mean 'purpose'?" in lines[3]
    assert lines[4] == f"  hint: {CODES['RF301'].hint}"


def test_caret_keeps_tabs_aligned(tmp_path):
    text = 'policy p "P"\n\tapplies to US\n\nrule a "A"\n\tcite "C"\n\twhen purpse is x\n' \
           "\tdeny if technology is manual\n"
    (diag,) = _diagnostics(tmp_path, text)
    source, caret = diag.render().splitlines()[1:3]
    assert caret.index("^") == source.index("purpse")
    assert caret[:caret.index("^")].replace(" ", "") == "\t"


def test_render_of_syntax_error_suggests_the_keyword(tmp_path):
    (diag,) = _diagnostics(tmp_path, CODES["RF101"].example_wrong)
    text = diag.render()
    assert "did you mean 'allow'?" in text
    assert "unexpected 'alow'" in diag.message


def test_policy_error_renders_every_diagnostic_and_a_count(tmp_path):
    with pytest.raises(PolicyError) as err:
        ringfence.load(FIXTURES / "bad3.rf")
    text = err.value.render()
    assert text.count("error RF") == 3
    assert text.endswith("3 errors found")
    assert str(err.value) == text


# ---- all errors at once -------------------------------------------------------------------


def test_three_check_errors_in_one_file():
    with pytest.raises(PolicyError) as err:
        ringfence.load(FIXTURES / "bad3.rf")
    found = [(d.code, d.span.line) for d in err.value.diagnostics]
    assert found == [("RF301", 8), ("RF401", 13), ("RF304", 17)]
    suggestions = {d.code: d.suggestion for d in err.value.diagnostics}
    assert suggestions["RF301"] == "purpose" and suggestions["RF304"] == "dnc"


def test_three_syntax_errors_in_one_file(tmp_path):
    text = policy_text(
        rule("alow only between 08:00 and 21:00 inclusive", rid="a")
        + rule("deny iff purpose is marketing", rid="b")
        + rule("deny if purpose is marketing", "whenn technology is manual", rid="c"))
    diags = _diagnostics(tmp_path, text)
    assert [d.code for d in diags] == ["RF101", "RF101", "RF101"]
    lines = text.splitlines()
    assert [lines[d.span.line - 1].strip().split()[0] for d in diags] == ["alow", "deny", "whenn"]


def test_errors_in_several_files_are_all_reported(tmp_path):
    write(tmp_path, CODES["RF301"].example_wrong, "one.rf")
    write(tmp_path, CODES["RF401"].example_wrong.replace("policy example", "policy other"),
          "two.rf")
    with pytest.raises(PolicyError) as err:
        ringfence.load(tmp_path)
    assert sorted(d.code for d in err.value.diagnostics) == ["RF301", "RF401"]


# ---- Lark's internals never reach the user ------------------------------------------------

_TERMINALS = sorted({t.name for t in _lark().terminals})
_INTERNAL = re.compile(r"\$END|__ANON|\b(" + "|".join(map(re.escape, _TERMINALS)) + r")\b")


def _broken_texts() -> list[str]:
    """Every example plus hours.rf cut short after each word and with each word dropped."""
    base = (FIXTURES / "hours.rf").read_text(encoding="utf-8")
    words = [m.end() for m in re.finditer(r"\S+", base)]
    cuts = [base[:end] for end in words[::3]]
    starts = [m.span() for m in re.finditer(r"\S+", base)]
    drops = [base[:a] + base[b:] for a, b in starts[::4]]
    examples = [e.example_wrong for e in CODES.values() if e.example_wrong]
    extras = ["", "policy", 'policy p "P"\n  applies to', 'policy p "P" rule', "rule r",
              'policy p "P"\nrule r "R"\n  deny if (purpose is x', 'policy p "P" @',
              'policy p "P"\nrule r "R"\n  cite "C"\n  deny if count of attempts in last >= 3',
              'policy p "unterminated\n']
    return [*examples, *cuts, *drops, *extras]


def test_lark_token_names_never_appear():
    checked = 0
    for text in _broken_texts():
        try:
            parse_text(text, "x.rf")
            continue
        except PolicyError as err:
            diags = err.diagnostics
        for diag in diags:
            checked += 1
            shown = f"{diag.message}\n{diag.suggestion or ''}\n{diag.hint}"
            assert not _INTERNAL.search(shown), f"{text!r}\n-> {diag.render()}"
    assert checked > 50
