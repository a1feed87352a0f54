"""The two evaluators agree: the generated function (what ``decide`` runs) and the reference
interpreter (what ``explain`` and traces read).

Both are built from the same intermediate form and answer every atom through the same runtime
functions, so these tests compare how each walks the logic: three-valued and/or/not, when and
unless, rule and policy applicability, missing facts. They run on every shipped test case, on the
bundled example calls, and on random policies built from every kind of condition with random
calls that leave facts out (Hypothesis, which shrinks a disagreement to a small policy and call),
and require identical violations (with their missing facts), warnings and policy refs.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import traceback
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import ringfence
from ringfence.errors import CallError
from ringfence.facts.numberlist import NumberList
from ringfence.language.formatter import format_text
from ringfence.language.parser import parse_text
from ringfence.testing.cli import load_suites
from ringfence.testing.runner import PolicyCache

ROOT = Path(__file__).resolve().parent.parent
SUITES = sorted((ROOT / "policies").glob("*.test.yaml"))


def _both_agree(policyset: ringfence.PolicySet, call: dict, hours: tuple[int, ...] = (0,)) -> int:
    """Judge ``call`` both ways at its own time and ``hours`` later; the number of judgements."""
    evaluator = policyset._evaluator
    try:
        ctx = evaluator.context(call)
    except CallError:
        return 0
    for h in hours:
        at = ctx if h == 0 else ctx.at(ctx.t_dt + dt.timedelta(hours=h))
        fast = evaluator.judge(at)
        reference = evaluator.interpreter.judge(at.at(at.t_dt))
        assert fast == reference, (call, h, evaluator.source)
    # decide judges the call with its bare dates as given (the atoms place what they read)
    assert evaluator.judge(evaluator.gather(call)) == evaluator.judge(ctx.at(ctx.t_dt)), call
    return len(hours)


@pytest.mark.parametrize("path", SUITES, ids=[p.name for p in SUITES])
def test_shipped_cases_agree(path: Path) -> None:
    cache = PolicyCache()
    judged = 0
    for suite in load_suites([path]):
        policyset = cache.get(suite)
        for case in suite.cases:
            judged += _both_agree(policyset, case.call, hours=(0, 1, 7, 30, 200))
    assert judged > 0


def test_example_calls_agree_with_the_whole_library() -> None:
    policyset = ringfence.load_library()
    lines = (ROOT / "examples" / "calls.jsonl").read_text(encoding="utf-8").splitlines()
    judged = sum(_both_agree(policyset, json.loads(line), hours=(0, 5, 13)) for line in lines)
    assert judged == 3 * len(lines)


# ---- random policies and calls ------------------------------------------------------------

ATOMS = [
    "purpose is marketing", "purpose is not marketing", "purpose is one of marketing, charity",
    "technology is autodialer", "technology is not one of manual, prerecorded",
    "sector is life_insurance", "sector is present", "from is withheld", "from is missing",
    "line_type is landline", "relationship.contract_active is true",
    "subject is \"s1\"", "campaign is not \"c1\"",
    "callee on list dnc", "callee on list dnc listed at least 31 days ago",
    "consent express for marketing", "consent express_written for marketing",
    "consent for this purpose", "consent express for this purpose",
    "count of attempts with same subject in last 24 hours >= 2",
    "count of attempts in last 2 hours >= 1",
    "count of attempts with same campaign in last 7 days < 2",
    "count of attempts with same subject in last 3 hours = 1",
    "count of attempts in last 7 calendar days >= 2",
    "last conversation with same subject within 7 calendar days",
    "opted out for marketing", "opted out for this purpose within 30 days",
    "last purchase within 18 months", "list dnc checked within 31 days",
    "callee on list dnc as of last wash", "relationship.last_inquiry_at more than 30 days ago",
    "relationship.last_transaction_at < 2026-06-01", "at >= 2026-06-20",
    "last attempt within 2 hours", "any refusal with same campaign", "opted out",
    "count of attempts with outcome no_answer, busy in last 3 days >= 2",
    "count of attempts in last 2 business days >= 1", "last inquiry within 3 months",
    "opted out within 10 business days", "last attempt between 1 hours and 3 days ago",
    "today is a holiday in test-days", "opted out within 3 business days excluding test-days",
    "last attempt between 2 business days excluding test-days and 9 days ago",
    "count of attempts with same subject with same campaign in last 7 calendar days >= 1",
    "count of attempts with outcome no_answer in last 3 calendar days >= 1",
    "any attempt with same subject with same campaign with outcome conversation",
]
# A holiday calendar every random policy defines: in the calls' fortnight (2026-06-15 to 06-29)
# it closes 06-15, 06-19 (and, observed, 06-22 and 06-26 for 06-21 and 06-27).
CALENDAR = ("  holidays test-days: june 19, third monday of june, june 27,\n"
            "    sunday after third monday of june observed: saturday -> friday, sunday -> monday")
WINDOWS = [
    "allow only between 08:00 and 21:00 inclusive, callee local time",
    "allow only\n    weekdays 09:00 to 20:00 inclusive\n    saturday 10:00 to 13:00 exclusive\n"
    "    closed on sunday, public holidays",
    "allow only between 00:00 and 08:00:30 exclusive, callee local time",
    "allow only\n    monday to friday 08:00:30 to 24:00 inclusive\n    saturday 00:00 to 24:00 exclusive",
    "allow only\n    every day 09:00 to 21:00 exclusive\n    closed on test-days, saturday\n"
    "    callee local time",
]
NUMBERS = ["+13057654321", "+18504320123", "+12122345678", "+14165550123", "+33612345678"]


def conditions(atoms: list[str]) -> st.SearchStrategy[str]:
    """Conditions built from ``atoms`` with and, or and not."""
    return st.recursive(
        st.sampled_from(atoms),
        lambda inner: st.one_of(
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " and ".join(xs) + ")"),
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " or ".join(xs) + ")"),
            inner.map(lambda c: f"not {c}")),
        max_leaves=5)


@st.composite
def policies(draw: st.DrawFn, atoms: list[str] = ATOMS) -> str:
    """A policy text over every kind of condition (of ``atoms``), window, effect and date."""
    CONDITIONS = conditions(atoms)
    place = draw(st.sampled_from(["US", "US, CA", "US-FL", "US-FL, US-NY, FR", "FR", "any"]))
    lines = ['policy random "Random policy"', "  version 1", f"  applies to {place}",
             "  uses list dnc", CALENDAR, ""]
    if draw(st.booleans()) and draw(st.booleans()):
        lines.insert(3, "  effective from 2026-03-01")
    if draw(st.integers(0, 4)) == 0:
        lines.insert(3, f"  when {draw(CONDITIONS)}")
    for r in range(draw(st.integers(1, 4))):
        lines += [f'rule r{r} "Random rule {r}"', '  cite "Test"']
        dates = draw(st.sampled_from([None, None, None, "  effective from 2026-06-10",
                                      "  effective until 2026-06-20",
                                      "  effective from 2026-06-01 until 2026-07-01"]))
        if dates:
            lines.append(dates)
        lines += [f"  when {c}" for c in draw(st.lists(CONDITIONS, max_size=2))]
        lines += [f"  unless {c}" for c in draw(st.lists(CONDITIONS, max_size=1))]
        effect = draw(st.sampled_from(["window", "require", "deny", "warn"]))
        if effect == "window":
            lines.append("  " + draw(st.sampled_from(WINDOWS)))
        elif effect == "require":
            lines.append(f"  require {draw(CONDITIONS)}")
        else:
            lines.append(f"  {effect} if {draw(CONDITIONS)}")
        lines.append("")
    return "\n".join(lines)


def _instant(base: dt.datetime, rng: random.Random, spread_hours: int) -> str:
    moment = base - dt.timedelta(minutes=rng.randint(-60, spread_hours * 60))
    return moment.isoformat()


def _instant_or_date(base: dt.datetime, rng: random.Random, spread_hours: int) -> str:
    """An instant, or a bare date (midnight in the callee's zone, placed by the engine)."""
    moment = _instant(base, rng, spread_hours)
    return moment[:10] if rng.random() < 0.5 else moment


def _call(rng: random.Random) -> dict:
    at = dt.datetime(2026, 6, 15, tzinfo=dt.UTC) + dt.timedelta(minutes=rng.randint(0, 14 * 1440))
    call: dict = {"to": rng.choice(NUMBERS), "at": at.isoformat()}
    optional = {
        "purpose": lambda: rng.choice(["marketing", "charity", "research"]),
        "technology": lambda: rng.choice(["manual", "autodialer", "prerecorded"]),
        "subject": lambda: rng.choice(["s1", "s2"]),
        "campaign": lambda: rng.choice(["c1", "c2"]),
        "sector": lambda: rng.choice(["life_insurance", "energy"]),
        "from": lambda: rng.choice(["withheld", "+13055550100"]),
        "line_type": lambda: rng.choice(["landline", "mobile", "unknown"]),
        "to_region": lambda: rng.choice(["US-FL", "US-NY", "US", "FR"]),
        "relationship": lambda: {"contract_active": rng.random() < 0.5,
                                 "last_transaction_at": _instant(at, rng, 24 * 400)},
        "seller": lambda: rng.choice(["s1", "s2"]),
        "consent": lambda: [{"type": rng.choice(["express", "express_written"]),
                             "purposes": [rng.choice(["marketing", "charity"])],
                             "at": _instant(at, rng, 24 * 30),
                             **({"seller": rng.choice(["s1", "s2"])} if rng.random() < 0.3
                                else {}),
                             **({"number": rng.choice(NUMBERS)} if rng.random() < 0.3 else {})}
                            for _ in range(rng.randint(0, 2))],
        "history": lambda: [{"at": _instant(at, rng, 24 * 9),
                             "outcome": rng.choice(["no_answer", "conversation", "refused"]),
                             **({"subject": rng.choice(["s1", "s2"])} if rng.random() < 0.8
                                else {}),
                             **({"campaign": "c1"} if rng.random() < 0.5 else {})}
                            for _ in range(rng.randint(0, 5))],
        "opt_outs": lambda: [{"at": _instant(at, rng, 24 * 60),
                              **({"purposes": ["marketing"]} if rng.random() < 0.5 else {})}
                             for _ in range(rng.randint(0, 1))],
        "lists": lambda: [{"name": "dnc", "listed_at": _instant_or_date(at, rng, 24 * 60)}
                          for _ in range(rng.randint(0, 1))],
        "lists_checked_at": lambda: {"dnc": _instant_or_date(at, rng, 24 * 40)},
    }
    for name, make in optional.items():
        if rng.random() < 0.5:
            call[name] = make()
    return call


EDGE_WINDOWS = [
    "allow only between 08:00:30 and 21:00 inclusive",
    "allow only between 08:00:30 and 21:00 exclusive",
    "allow only between 00:00 and 12:00 exclusive",
    "allow only between 12:00 and 24:00 inclusive",
    "allow only\n    weekdays 00:00 to 08:00:30 inclusive\n    saturday 21:00 to 24:00 exclusive",
]


@pytest.mark.parametrize("window", EDGE_WINDOWS)
def test_window_bounds_agree_to_the_microsecond(tmp_path: Path, window: str) -> None:
    # The generated function compares times of day; the closures sum the fields into seconds.
    path = tmp_path / "edges.rf"
    path.write_text(f'policy edges "Edges"\n  version 1\n  applies to US\n\n'
                    f'rule w "Window"\n  cite "Test"\n  {window}\n', encoding="utf-8")
    policyset = ringfence.load(path)
    judged = 0
    for day in ("2026-06-12", "2026-06-13", "2026-06-14"):  # a Friday, Saturday and Sunday
        for clock in ("00:00:00", "08:00:29.999999", "08:00:30", "08:00:30.000001",
                      "11:59:59.999999", "12:00:00", "20:59:59.999999", "21:00:00",
                      "21:00:00.000001", "23:59:59.999999"):
            call = {"to": NUMBERS[2], "at": f"{day}T{clock}-04:00"}
            judged += _both_agree(policyset, call)
    assert judged == 30


DNC = NumberList([(NUMBERS[0], None), (NUMBERS[3], dt.date(2026, 5, 1))])


def load_random(path: Path, text: str, loaded: bool = True) -> ringfence.PolicySet:
    """A random policy written to ``path`` and loaded with the ``dnc`` list (or without it:
    ``loaded``); a combination the checker rejects (a rule that can never apply, say) is not an
    example (Hypothesis skips it)."""
    path.write_text(text, encoding="utf-8")
    try:
        return ringfence.load(path, lists={"dnc": DNC} if loaded else None)
    except ringfence.PolicyError:
        assume(False)
        raise


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(), seed=st.integers(0, 2**32 - 1), loaded=st.booleans())
def test_random_policies_and_calls_agree(tmp_path_factory: pytest.TempPathFactory, text: str,
                                         seed: int, loaded: bool) -> None:
    # the list loaded, or answered (or not) by each call
    policyset = load_random(tmp_path_factory.mktemp("random") / "random.rf", text, loaded)
    rng = random.Random(seed)
    judged = sum(_both_agree(policyset, _call(rng), hours=(0, 9, 50)) for _ in range(12))
    assume(judged > 0)


def test_source_shows_every_rule_and_a_trace_keeps_the_verdict() -> None:
    policyset = ringfence.load(ROOT / "benchmarks" / "bench.rf")
    rules = policyset.policies[0].rules
    for rule in rules:
        assert f"# rule bench/{rule.id}\n" in policyset.source
    # 22:30 in New York, on the list given in the call, autodialed without consent.
    call = {"to": "+12122345678", "at": "2026-06-16T02:30:00Z", "technology": "autodialer",
            "lists": [{"name": "dnc"}], "history": [], "consent": []}
    plain, traced = policyset.decide(call), policyset.decide(call, trace=True)
    assert [v.rule for v in plain.violations] == ["calling-hours", "dnc", "consent"]
    assert traced.violations == plain.violations
    assert [(t.rule, t.outcome) for t in traced.trace] == [
        ("calling-hours", "violated"), ("dnc", "violated"), ("consent", "violated"),
        ("cap", "passed")]


def test_a_traceback_inside_the_generated_function_names_the_policy_line(tmp_path: Path) -> None:
    # The generated source is registered with linecache; each statement names its policy line.
    class Broken(NumberList):
        def __init__(self) -> None:
            super().__init__([])
            self.contains = self._fail  # type: ignore[method-assign]

        def _fail(self, number: str) -> bool:
            raise RuntimeError("list store down")

    path = tmp_path / "lines.rf"
    path.write_text('policy lines "Lines"\n  version 1\n  applies to US\n  uses list dnc\n\n'
                    'rule dnc "No listed numbers"\n  cite "Test"\n  deny if callee on list dnc\n',
                    encoding="utf-8")
    policyset = ringfence.load(path, lists={"dnc": Broken()})
    with pytest.raises(RuntimeError) as raised:
        policyset.decide({"to": NUMBERS[2], "at": "2026-06-16T15:00:00Z"})
    frames = [f for f in traceback.extract_tb(raised.value.__traceback__)
              if f.filename.startswith("<ringfence policy set")]
    assert frames and frames[-1].line is not None
    assert frames[-1].line.endswith("# lines.rf:8")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=policies(), seed=st.integers(0, 2**32 - 1))
def test_formatting_a_policy_never_changes_a_decision(tmp_path_factory: pytest.TempPathFactory,
                                                       text: str, seed: int) -> None:
    folder = tmp_path_factory.mktemp("fmt")
    original, formatted = folder / "original.rf", folder / "formatted.rf"
    original.write_text(text, encoding="utf-8")
    try:
        before = ringfence.load(original, lists={"dnc": DNC})
    except ringfence.PolicyError:
        assume(False)
        return
    formatted.write_text(format_text(text), encoding="utf-8")
    after = ringfence.load(formatted, lists={"dnc": DNC})
    rng = random.Random(seed)
    for _ in range(10):
        call = _call(rng)
        try:
            one, two = before.decide(call), after.decide(call)
        except CallError:
            continue
        assert (one.decision, [v.rule for v in one.violations], [w.rule for w in one.warnings]) \
            == (two.decision, [v.rule for v in two.violations], [w.rule for w in two.warnings])
        assert one.next_allowed_at == two.next_allowed_at


@settings(max_examples=200, deadline=None)
@given(start=st.integers(0, 86399), length=st.integers(1, 86400), inclusive=st.booleans(),
       minutes=st.integers(0, 60 * 24 * 400), micro=st.integers(0, 999_999))
def test_the_daily_window_means_what_the_general_window_means(
        start: int, length: int, inclusive: bool, minutes: int, micro: int) -> None:
    # window_open's every-day branch answers as its weekday table does.
    from ringfence.engine import runtime

    end = min(start + length, 86400)
    text = (f"allow only between {start // 3600:02d}:{start // 60 % 60:02d}:{start % 60:02d} "
            f"and {end // 3600:02d}:{end // 60 % 60:02d}:{end % 60:02d} "
            f"{'inclusive' if inclusive else 'exclusive'}")
    spec, applied = runtime.lower_window(parse_text(
        f'policy w "W"\n  version 1\n  applies to US\n\nrule w "W"\n  cite "T"\n  {text}\n'
    ).rules[0].effects[0].window)  # type: ignore[union-attr]
    at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes, microseconds=micro)
    evaluator = ringfence.load("us-fl")._evaluator
    ctx = evaluator.context({"to": NUMBERS[1], "at": at.isoformat()})  # two zones (850)
    general = runtime.window_check(ctx, spec, set())
    assert applied.fn(*[ctx if a == runtime.CTX else set() if a == runtime.MISSING
                        else a.value for a in applied.args]) == general  # type: ignore[union-attr]


# Places that settle the shipped library's policies every way: a state's number, a toll-free
# number (US, no state: the state policies deny naming to_region, between federal ones), a region
# given against the number (no country: every policy denies), the country alone, one province of
# two, a country no policy covers.
LIBRARY_CALLS = [{"to": "+12125550101"}, {"to": "+18002752273"},
                 {"to": "+12125550101", "to_region": "FR"}, {"to": "+12125550101", "to_region": "US"},
                 {"to": "+16045550123"}, {"to": "+14165550123"}, {"to": "+33612345678"},
                 {"to": "+81312345678"}]


@pytest.mark.parametrize("place", LIBRARY_CALLS, ids=lambda p: "-".join(p.values()))
@pytest.mark.parametrize("purpose", ["marketing", "informational"])
def test_the_library_agrees_wherever_the_callee_is(place: dict[str, str], purpose: str) -> None:
    policyset = ringfence.load_library()
    for at in ("2026-06-15T12:00:00-04:00", "2026-06-20T22:30:00-04:00"):  # a plan made, reused
        call = {**place, "at": at, "purpose": purpose, "technology": "autodialer"}
        assert _both_agree(policyset, call, hours=(0, 30)) == 2
        refs = policyset._evaluator.judge(policyset._evaluator.context(call))[2]
        assert [r.id for r in refs] == [p.id for p in policyset.policies]
    if place.get("to_region") == "FR":  # where the callee is is not known: nothing applies unsaid
        denials = policyset.decide(call).violations
        assert [(v.rule, v.missing_facts) for v in denials] == \
            [("applicability", ("to_region",))] * len(policyset.policies)
