"""Errors and diagnostics: every mistake a user can make gets a code, a place and a plain hint.

The error catalog (:data:`CODES`) is the single source of the codes: the checker and parser only
raise codes registered here, and the documentation's error catalog is generated from it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of a policy file: where it starts and where it ends.

    Lines and columns are 1-based and counted as the parser counts them: a line ends at ``\\n``
    only (see :func:`source_lines`). ``end_column`` is the column just past the last character.
    A span made with only a start is a point: its end is its start.
    """

    file: str
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def __post_init__(self) -> None:
        if self.end_line == 0:  # only a start was given: a point
            object.__setattr__(self, "end_line", self.line)
            object.__setattr__(self, "end_column", self.column)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def to_dict(self) -> dict[str, object]:
        """The start only: decisions and diagnostics print this, and their format is fixed."""
        return {"file": self.file, "line": self.line, "column": self.column}

    def through(self, other: Span) -> Span:
        """The span from this one's start to ``other``'s end."""
        return Span(self.file, self.line, self.column, other.end_line, other.end_column)


def source_lines(text: str) -> list[str]:
    """The lines of a policy text, split at ``\\n`` only, as the parser numbers them.

    ``str.splitlines`` also splits at U+2028, U+0085, form feeds and the like, which may stand
    inside a quoted string; numbering lines that way would quote the wrong line in a diagnostic.
    A ``\\r`` before the ``\\n`` is dropped; a final newline does not start another line.
    """
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


@dataclass(frozen=True, slots=True)
class ErrorCode:
    """One entry of the error catalog."""

    code: str
    title: str
    hint: str
    example_wrong: str
    example_fix: str


def _policy(body: str) -> str:
    return (
        'policy example "An example policy"\n  applies to US\n  uses list national_dnc\n\n'
        + body
    )


_RULE_HEAD = 'rule calling-hours "Calls only from 8 a.m. to 9 p.m."\n  cite "47 CFR 64.1200(c)(1)"\n'

CODES: dict[str, ErrorCode] = {
    c.code: c
    for c in [
        ErrorCode(
            "RF101", "Syntax error",
            "Check the spelling of the keyword and the order of the words on this line.",
            _policy(_RULE_HEAD + "  alow only between 08:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF102", "Unexpected end of file",
            "The file ends in the middle of a clause; finish the clause or remove it.",
            _policy(_RULE_HEAD + "  allow only between 08:00 and\n"),
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF103", "Character not allowed here",
            "Text must be inside double quotes; only letters, digits, '-', '_' and ':' appear "
            "outside quotes.",
            _policy(_RULE_HEAD + "  message 'Calls only in the day'\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + '  message "Calls only in the day"\n'
                    "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF201", "Duplicate rule id",
            "Every rule in a policy needs its own id; rename one of them.",
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n\n"
                    + _RULE_HEAD + "  allow only between 09:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n\n"
                    + _RULE_HEAD.replace("calling-hours", "calling-hours-2")
                    + "  allow only between 09:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF202", "Duplicate policy id",
            "Two loaded policies have the same id; each policy file needs its own id.",
            "", "",
        ),
        ErrorCode(
            "RF203", "Rule without a citation",
            "Every rule cites its legal source: add a line like cite \"47 CFR 64.1200(c)(1)\".",
            _policy('rule calling-hours "Calls only from 8 a.m. to 9 p.m."\n'
                    "  allow only between 08:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF204", "Rule without exactly one effect",
            "A rule says what it does with exactly one of: deny if …, warn if …, require …, "
            "allow only ….",
            _policy(_RULE_HEAD + "  when purpose is marketing\n"),
            _policy(_RULE_HEAD + "  when purpose is marketing\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF205", "Clause given twice",
            "This clause may appear only once here; keep one of them.",
            _policy(_RULE_HEAD + '  message "Too early"\n  message "Too late"\n'
                    "  allow only between 08:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + '  message "Outside calling hours"\n'
                    "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF206", "Level contradicts the effect",
            "'deny if' is always a deny rule and 'warn if' always a warning; drop the level line "
            "or use 'require'/'allow only' with it.",
            _policy(_RULE_HEAD + "  level warn\n  deny if purpose is marketing\n"),
            _policy(_RULE_HEAD + "  warn if purpose is marketing\n"),
        ),
        ErrorCode(
            "RF207", "Policy applies nowhere",
            "A policy without 'applies to' applies to no call at all; name where it applies "
            "(applies to US, US-FL) or write 'applies to any' for every call.",
            'policy example "An example policy"\n  uses list national_dnc\n\n'
            + _RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n",
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF208", "Empty citation",
            "A citation names the legal source, like \"47 CFR 64.1200(c)(1)\"; an empty or "
            "blank text cites nothing.",
            _policy('rule calling-hours "Calls only from 8 a.m. to 9 p.m."\n  cite " "\n'
                    "  allow only between 08:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF209", "Rule written twice",
            "This rule repeats an earlier one: the same effect, when/unless conditions, level, "
            "dates and citations, so it never changes a decision. Delete it, or change what it "
            "was meant to say.",
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n\n"
                    + _RULE_HEAD.replace("calling-hours", "calling-hours-2")
                    + "  allow only between 08:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n\n"
                    + _RULE_HEAD.replace("calling-hours", "calling-hours-2")
                    + "  allow only between 09:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF210", "Holiday calendar or holiday given twice",
            "Each holiday calendar of a policy needs its own name, and each holiday appears once "
            "in its calendar.",
            'policy example "An example policy"\n  applies to US\n'
            '  holidays legal: january 1, july 4\n  holidays legal: december 25\n',
            'policy example "An example policy"\n  applies to US\n'
            '  holidays legal: january 1, july 4, december 25\n',
        ),
        ErrorCode(
            "RF211", "Changelog out of order",
            "Changelog entries run oldest first, one line per change: changelog DATE \"what "
            "changed and why\".",
            'policy example "An example policy"\n  applies to US\n'
            '  changelog 2026-11-30 "Holidays as a calendar"\n  changelog 2025-01-01 "First"\n',
            'policy example "An example policy"\n  applies to US\n'
            '  changelog 2025-01-01 "First"\n  changelog 2026-11-30 "Holidays as a calendar"\n',
        ),
        ErrorCode(
            "RF212", "Rule shadowed by another",
            "Another rule has the same effect, conditions, level and citations, and this one only "
            "adds 'unless' exemptions or narrower dates: wherever it is violated the other one is "
            "too, so it never changes a decision. Delete it, or change what it was meant to say.",
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n\n"
                    + _RULE_HEAD.replace("calling-hours", "calling-hours-2")
                    + "  unless purpose is research\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + "  unless purpose is research\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF301", "Unknown field",
            "Conditions can only use the fields of a call request; see the list in the language "
            "reference.",
            _policy(_RULE_HEAD + "  when purpse is marketing\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + "  when purpose is marketing\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF302", "Unknown value",
            "This field only takes the values of its vocabulary in the call-request format; a "
            "policy that needs another purpose declares it in its header: uses purpose NAME.",
            _policy(_RULE_HEAD + "  when technology is autodailer\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + "  when technology is autodialer\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF303", "Type mismatch",
            "The value must be of the field's kind: a word for text fields, true/false for "
            "yes-no fields, a date for timestamps.",
            _policy(_RULE_HEAD + "  when relationship.contract_active is marketing\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + "  when relationship.contract_active is true\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF304", "Unknown list name",
            "Declare every list the policy uses in its header: uses list NAME.",
            _policy(_RULE_HEAD + "  deny if callee on list national_dcn\n"),
            _policy(_RULE_HEAD + "  deny if callee on list national_dnc\n"),
        ),
        ErrorCode(
            "RF305", "Unknown word in a condition",
            "This part of a condition takes one of a few fixed words; see the language reference.",
            _policy(_RULE_HEAD + "  deny if last purchse within 18 months\n"),
            _policy(_RULE_HEAD + "  deny if last purchase within 18 months\n"),
        ),
        ErrorCode(
            "RF306", "Bad duration",
            "Durations are a whole number and a unit, like 31 days, 18 months or 24 hours; "
            "'business' and 'calendar' go with days only.",
            _policy(_RULE_HEAD + "  deny if last purchase within 0 months\n"),
            _policy(_RULE_HEAD + "  deny if last purchase within 18 months\n"),
        ),
        ErrorCode(
            "RF307", "Condition nested too deeply",
            "Conditions may nest and/or/not at most 16 deep; write a long condition as several "
            "'when' or 'unless' lines, or as several rules.",
            _policy(_RULE_HEAD + "  deny if " + "not (" * 17 + "purpose is marketing"
                    + ")" * 17 + "\n"),
            _policy(_RULE_HEAD + "  deny if not (purpose is marketing)\n"),
        ),
        ErrorCode(
            "RF308", "Unknown holiday calendar",
            "A rule names a holiday calendar defined in its policy's header: "
            "holidays NAME: january 1, last monday of may, ….",
            'policy example "An example policy"\n  applies to US\n'
            '  holidays legal: january 1, july 4\n\n'
            + _RULE_HEAD + "  allow only\n    every day 08:00 to 21:00 inclusive\n"
            "    closed on legl\n",
            'policy example "An example policy"\n  applies to US\n'
            '  holidays legal: january 1, july 4\n\n'
            + _RULE_HEAD + "  allow only\n    every day 08:00 to 21:00 inclusive\n"
            "    closed on legal\n",
        ),
        ErrorCode(
            "RF309", "Bad declared purpose",
            "A policy declares only purposes the call contract lacks, each once, in lowercase "
            "(calls are read in lowercase): uses purposes fundraising, membership.",
            _policy("  uses purpose Fundraising\n\n" + _RULE_HEAD
                    + "  when purpose is fundraising\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
            _policy("  uses purpose fundraising\n\n" + _RULE_HEAD
                    + "  when purpose is fundraising\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF401", "Calling window ends before it starts",
            "A calling window needs a start and an end time, like 08:00 to 21:00, with the end "
            "after the start.",
            _policy(_RULE_HEAD + "  allow only between 21:00 and 08:00 inclusive\n"),
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF402", "Not a time of day",
            "Times are HH:MM or HH:MM:SS on a 24-hour clock, from 00:00 to 24:00.",
            _policy(_RULE_HEAD + "  allow only between 08:00 and 25:00 inclusive\n"),
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF403", "Day given twice in a calling window",
            "Each day may appear in only one line of a calling window; put all its hours on that "
            "line, separated by commas.",
            _policy(_RULE_HEAD + "  allow only\n    monday to friday 10:00 to 13:00 inclusive\n"
                    "    friday 14:00 to 20:00 inclusive\n"),
            _policy(_RULE_HEAD + "  allow only\n"
                    "    monday to friday 10:00 to 13:00 inclusive, 14:00 to 20:00 inclusive\n"),
        ),
        ErrorCode(
            "RF404", "Overlapping hours",
            "Two intervals of the same day overlap; merge them into one.",
            _policy(_RULE_HEAD + "  allow only\n"
                    "    weekdays 10:00 to 14:00 inclusive, 13:00 to 20:00 inclusive\n"),
            _policy(_RULE_HEAD + "  allow only\n    weekdays 10:00 to 20:00 inclusive\n"),
        ),
        ErrorCode(
            "RF405", "Unknown time zone",
            "Use an IANA time zone name such as America/Chicago or Europe/Paris.",
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n"
                    '    in time zone "America/Chicgo"\n'),
            _policy(_RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n"
                    '    in time zone "America/Chicago"\n'),
        ),
        ErrorCode(
            "RF406", "Not a date",
            "Dates are written YYYY-MM-DD and must exist in the calendar.",
            _policy(_RULE_HEAD + "  effective from 2025-02-30\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + "  effective from 2025-03-01\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF407", "Unknown jurisdiction",
            "Jurisdictions are ISO 3166-1 country codes (US, FR) or ISO 3166-2 subdivisions "
            "(US-FL, CA-BC), or 'any'.",
            'policy example "An example policy"\n  applies to US-FLA\n\n'
            + _RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n",
            'policy example "An example policy"\n  applies to US-FL\n\n'
            + _RULE_HEAD + "  allow only between 08:00 and 21:00 inclusive\n",
        ),
        ErrorCode(
            "RF408", "Not a date of every year",
            "A holiday recurs every year: a month and a day that exist (not february 30 or 29), "
            "an ordinal weekday of a month (first … fifth, or last), a weekday after one of "
            "those, or days before or after easter.",
            'policy example "An example policy"\n  applies to US\n'
            '  holidays legal: february 30\n',
            'policy example "An example policy"\n  applies to US\n'
            '  holidays legal: february 28\n',
        ),
        ErrorCode(
            "RF409", "Bad observance rule",
            "An observance moves a holiday on one weekday to another, once per weekday: "
            "observed: saturday -> friday, sunday -> monday.",
            'policy example "An example policy"\n  applies to US\n'
            '  holidays legal: july 4\n    observed: sunday -> monday, sunday -> tuesday\n',
            'policy example "An example policy"\n  applies to US\n'
            '  holidays legal: july 4\n    observed: saturday -> friday, sunday -> monday\n',
        ),
        ErrorCode(
            "RF410", "Not a web address",
            "A rule's url is where its legal text can be read: a full http:// or https:// "
            "address in double quotes.",
            _policy(_RULE_HEAD + '  url "ecfr.gov/current/title-47"\n'
                    "  allow only between 08:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + '  url "https://www.ecfr.gov/current/title-47"\n'
                    "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF501", "Rule can never apply",
            "The rule's conditions or dates contradict each other, so it would never be used; "
            "fix the dates or the conditions.",
            _policy(_RULE_HEAD + "  effective from 2026-01-01 until 2025-01-01\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
            _policy(_RULE_HEAD + "  effective from 2025-01-01 until 2026-01-01\n"
                    "  allow only between 08:00 and 21:00 inclusive\n"),
        ),
        ErrorCode(
            "RF601", "Policy not found",
            "Give the path of a .rf file, a folder of them, or the id of a shipped policy "
            "(ringfence policies lists them).",
            "", "",
        ),
        ErrorCode(
            "RF602", "Include cycle or bad exclude",
            "A policy cannot include itself (directly or through others), and 'exclude rule' must "
            "name a rule that an included policy has.",
            "", "",
        ),
    ]
}


class RingfenceError(Exception):
    """Base of every error Ringfence raises on bad input."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a policy file, with its place and a plain-words hint."""

    code: str
    message: str
    span: Span
    source_line: str = ""
    hint: str = ""
    suggestion: str | None = None

    def render(self) -> str:
        """The human text: ``file:line:col: CODE message``, the line, a caret, the hint."""
        out = [f"{self.span}: error {self.code}: {self.message}"]
        if self.source_line:
            out.append(f"    {self.source_line.rstrip()}")
            prefix = self.source_line[: max(self.span.column - 1, 0)]
            # Keep tabs so the caret lines up under the same columns as the source line.
            pad = "".join(ch if ch == "\t" else " " for ch in prefix)
            out.append(f"    {pad}^")
        if self.suggestion:
            out.append(f"  did you mean '{self.suggestion}'?")
        hint = self.hint or CODES[self.code].hint
        out.append(f"  hint: {hint}")
        return "\n".join(out)

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            **self.span.to_dict(),
            "hint": self.hint or CODES[self.code].hint,
            "suggestion": self.suggestion,
        }


class PolicyError(RingfenceError):
    """A policy could not be loaded: holds every diagnostic found, not just the first."""

    def __init__(self, diagnostics: Sequence[Diagnostic]):
        self.diagnostics = list(diagnostics)
        super().__init__(self.render())

    def render(self) -> str:
        """All diagnostics, one block each, followed by a count."""
        blocks = [d.render() for d in self.diagnostics]
        n = len(self.diagnostics)
        blocks.append(f"{n} error{'s' if n != 1 else ''} found")
        return "\n\n".join(blocks)


@dataclass
class CallError(RingfenceError):
    """A call request that does not satisfy the call-request schema."""

    path: str
    message: str
    index: int | None = field(default=None)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or "(call)"
        return f"invalid call at {where}: {self.message}"


class InputError(RingfenceError):
    """Any other bad input: an unreadable list file, an unknown policy id, a bad option."""


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest known word to a misspelled one, if any is close enough."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def excerpt(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, cut to ``limit`` characters: input may be any size."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"
