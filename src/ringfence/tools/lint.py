"""What the checker cannot call an error but a reviewer should see.

:func:`lint` loads policies (files, folders or shipped ids) and the test suites found under the
same folders, and returns :class:`LintWarning` s of two kinds:

``window-adds-nothing``
    A rule of a subdivision's policy (``applies to US-FL``) that closes calendar slots, none of
    which stays open under the policies of the whole country (``applies to US``) loaded with it:
    while those apply, the rule changes no decision. Judged on the probe calls of
    :data:`PROBES` (each purpose without consent and with written consent for it, from a caller
    ID, with a fresh ``national_dnc`` scrub) at the middle of every 15-minute slot of one week
    in the region, and three times a day for the year that follows (closures by date); a rule
    broken at every instant of a probe (a fact the probe lacks) is no window and is left out.
    Say, a state window 8:00-21:00 under a federal window 8:00-21:00 with the same exemptions.
``never-fires``
    A rule no case of the suites violates: nothing shows the rule can deny. A policy no suite
    loads has all its rules listed.

``no-verification``
    A rule without a ``verification`` line (how sure its encoding is) or a ``reviewed`` date (when
    it was last checked against the law).
``pending``
    A rule with ``status pending``: not law in force, it only warns; the warning gives its
    expected start (its ``effective from``), so a reviewer sees when to look again.
``no-changelog``
    A policy with rules but no ``changelog`` line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ringfence
from ringfence.api import PolicySet, resolve
from ringfence.errors import InputError
from ringfence.tools.calendar_view import sample_number

__all__ = ["PROBES", "LintWarning", "lint"]

PROBES = ("marketing", "debt_collection")  # the purposes the shipped policies name
_STEP = dt.timedelta(minutes=15)
_WEEK = dt.date(2026, 6, 8)  # a week without US federal holidays; any will do for hours
_DAY_PROBES = (dt.time(10, 7), dt.time(14, 7), dt.time(19, 7))


@dataclass(frozen=True)
class LintWarning:
    """One thing a reviewer should look at."""

    code: str  # "window-adds-nothing" | "never-fires" | "no-verification" | "pending" | ...
    policy: str
    rule: str
    file: str
    line: int
    message: str

    def render(self) -> str:
        """``file:line: warning[code] policy/rule: message``."""
        return f"{self.file}:{self.line}: warning[{self.code}] {self.policy}/{self.rule}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"code": self.code, "policy": self.policy, "rule": self.rule, "file": self.file,
                "line": self.line, "message": self.message}  # fmt: skip


def lint(paths: list[str | Path]) -> list[LintWarning]:
    """Every lint warning of the policies named by ``paths`` (suites: those under the paths
    that are files or folders). Raises :class:`~ringfence.errors.PolicyError` for an invalid
    policy and :class:`~ringfence.errors.InputError` for an unreadable suite."""
    policies = ringfence.load(*paths)
    warnings = _windows(policies)
    # A file's suites are beside it; a shipped id's, in the shipped folder.
    named = [Path(p) if Path(p).exists() else resolve([p])[0] for p in paths]
    folders = list(dict.fromkeys(p if p.is_dir() else p.parent for p in named))
    warnings += _never_fired(policies, folders)
    warnings += _kept_like_law(policies)
    return sorted(warnings, key=lambda w: (w.file, w.line, w.code))


def _where(policies: PolicySet) -> dict[str, tuple[str, Any]]:
    """``policy/rule`` -> (the owning policy's id, the rule's info)."""
    return {f"{p.id}/{r.id}": (p.id, r) for p in policies.policies for r in p.rules}


def _windows(policies: PolicySet) -> list[LintWarning]:
    infos = {p.id: p for p in policies.policies}
    out = []
    subdivisions = sorted({j for p in infos.values() for j in p.jurisdictions if "-" in j})
    where = _where(policies)
    for region in subdivisions:
        country = region.split("-")[0]
        national = {pid for pid, p in infos.items() if country in p.jurisdictions}
        local = {pid for pid, p in infos.items() if region in p.jurisdictions}
        if not national or not local:
            continue
        closing, alone = _probe_region(policies, region, national)
        for ref in sorted(closing - alone):
            pid, rule = where[ref]
            if pid not in local:
                continue
            out.append(LintWarning(
                "window-adds-nothing", pid, rule.id, rule.span.file, rule.span.line,
                f"in {region} every slot this rule closes is also closed by "
                f"{', '.join(sorted(national))} (a week of 15-minute slots and a year of days, "
                f"{', '.join(PROBES)} calls with and without written consent): it changes no decision while "
                f"{'they apply' if len(national) > 1 else 'that applies'}"))  # fmt: skip
    return out


def _probe_region(policies: PolicySet, region: str, national: set[str]) -> tuple[set[str], set[str]]:
    """(rules that close some slot, rules that close some slot no national rule closes)."""
    closing: set[str] = set()
    alone: set[str] = set()
    number = sample_number(region)
    probe = policies.decide({"to": number, "to_region": region, "at": f"{_WEEK}T12:00:00Z"})
    zone = ZoneInfo(probe.timezones[0]) if probe.timezones else ZoneInfo("UTC")
    start = dt.datetime.combine(_WEEK, dt.time(), zone) + _STEP / 2
    instants = [(start + i * _STEP).isoformat() for i in range(7 * 96)]
    # Closures by date (holidays, listed dates) fall outside one week: a year of days, each
    # probed in the morning, afternoon and evening.
    instants += [dt.datetime.combine(_WEEK + dt.timedelta(days=d), clock, zone).isoformat()
                 for d in range(7, 371) for clock in _DAY_PROBES]  # fmt: skip
    for purpose in PROBES:
        written = {"type": "express_written", "purposes": [purpose], "at": "2000-01-01T00:00:00Z"}
        for consent in ([], [written]):
            base = {"to": number, "to_region": region, "purpose": purpose, "from": "+18005550100",
                    "consent": consent}
            # the do-not-call scrub made the same day, so that no probe goes stale
            slots = [{f"{f.policy}/{f.rule}" for f in policies.decide(
                {**base, "at": at, "lists_checked_at": {"national_dnc": at[:10]}}).violations}
                for at in instants]  # fmt: skip
            always = set.intersection(*slots)
            for broken in slots:
                broken -= always
                closing |= broken
                if not any(ref.split("/")[0] in national for ref in broken):
                    alone |= broken
    return closing, alone


def _never_fired(policies: PolicySet, folders: list[Path]) -> list[LintWarning]:
    from ringfence.testing.coverage import Coverage
    from ringfence.testing.problems import SuiteError
    from ringfence.testing.runner import PolicyCache, run
    from ringfence.testing.suite import discover, load_suite

    files, _ = discover(folders)
    coverage = Coverage()
    try:
        run([load_suite(f) for f in files], PolicyCache(), coverage=coverage)
    except SuiteError as err:
        raise InputError("; ".join(p.render() for p in err.problems)) from None
    out = []
    for pid, rule in _where(policies).values():
        seen = coverage.rules.get((pid, rule.id))
        if seen is not None and seen.fired:
            continue
        why = ("no case of the suites violates it" if seen is not None
               else "no suite under the paths loads this policy")  # fmt: skip
        out.append(LintWarning("never-fires", pid, rule.id, rule.span.file, rule.span.line,
                               f"{why}: nothing shows this rule can deny"))
    return out


def _kept_like_law(policies: PolicySet) -> list[LintWarning]:
    """Rules without verification or review date, pending rules, policies without a changelog."""
    out = []
    for policy in policies.policies:
        own = [r for r in policy.rules if r.origin == policy.id]
        if own and not policy.changelog:
            out.append(LintWarning("no-changelog", policy.id, "-", policy.span.file,
                                   policy.span.line, "the policy has no changelog line "
                                   '(changelog DATE "what changed and why")'))
        for rule in own:
            file, line = rule.span.file, rule.span.line
            missing = [w for w, v in (("verification", rule.verification),
                                      ("reviewed", rule.reviewed)) if v is None]
            if missing:
                out.append(LintWarning("no-verification", policy.id, rule.id, file, line,
                                       f"no {' and no '.join(missing)} line: say how sure the "
                                       "encoding is and when it was last checked against the law"))
            if rule.pending:
                start = rule.effective_from
                out.append(LintWarning("pending", policy.id, rule.id, file, line,
                                       "pending, not law in force (it only warns); expected from "
                                       f"{start}" if start else "pending, not law in force (it "
                                       "only warns); no expected start is known"))
    return out

