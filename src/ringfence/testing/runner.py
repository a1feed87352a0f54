"""Running test cases against the policies their suite names."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ringfence.errors import RingfenceError
from ringfence.testing.coverage import Coverage
from ringfence.testing.expect import Difference, compare, decision_dict
from ringfence.testing.problems import Problem, SuiteError
from ringfence.testing.suite import Case, Suite

# How a PolicySet is loaded: ringfence.load by default; replaceable for tests of the runner.
Loader = Callable[..., Any]


@dataclass
class CaseResult:
    """The outcome of one case."""

    case: Case
    status: str  # "passed" | "failed" | "skipped" | "error"
    differences: list[Difference] = field(default_factory=list)
    actual: dict[str, Any] | None = None
    error: str | None = None
    duration: float = 0.0

    @property
    def reason(self) -> str | None:
        """The skip reason of a skipped case."""
        return self.case.skip if self.status == "skipped" else None


@dataclass
class RunResult:
    """All case results of a run, in order, and the coverage when asked for."""

    results: list[CaseResult]
    coverage: Coverage | None = None

    def count(self, status: str) -> int:
        """How many cases ended with ``status``."""
        return sum(1 for r in self.results if r.status == status)

    def summary(self) -> str:
        """``N passed, M failed`` (plus skipped and errors when there are any)."""
        text = f"{self.count('passed')} passed, {self.count('failed')} failed"
        if self.count("skipped"):
            text += f", {self.count('skipped')} skipped"
        if self.count("error"):
            errors = self.count("error")
            text += f", {errors} error{'s' if errors != 1 else ''}"
        return text


def _default_loader() -> Loader:
    import ringfence  # the engine; imported late so the loader and plugin import cheaply

    return ringfence.load


def _render_error(exc: BaseException) -> str:
    render = getattr(exc, "render", None)
    if callable(render):
        try:
            return str(render())
        except Exception:  # a broken renderer must not hide the error itself
            pass
    diagnostics = getattr(exc, "diagnostics", None)
    if diagnostics:
        return "\n".join(d.render() if hasattr(d, "render") else str(d) for d in diagnostics)
    return str(exc) or type(exc).__name__


class PolicyCache:
    """Loads each distinct set of policies once per run (suites often share them)."""

    def __init__(self, loader: Loader | None = None) -> None:
        self._loader = loader
        self._sets: dict[Any, Any] = {}

    @property
    def loader(self) -> Loader:
        """The function that loads policies."""
        if self._loader is None:
            self._loader = _default_loader()
        return self._loader

    def get(self, suite: Suite) -> Any:
        """The PolicySet of ``suite``; raises SuiteError naming the policy that failed."""
        key = suite.policy_key
        if key not in self._sets:
            self._sets[key] = self._load(suite)
        return self._sets[key]

    def _load(self, suite: Suite) -> Any:
        targets = [p.target for p in suite.policies]
        try:
            return self.loader(*targets, lists=suite.lists or None)
        except Exception as exc:
            first_error = exc
        # Load each policy alone to tell which one is at fault.
        problems = []
        for ref in suite.policies:
            try:
                self.loader(ref.target)
            except Exception as exc:
                problems.append(
                    Problem(
                        suite.file,
                        ref.line,
                        f"cannot load policy {ref.text!r}: {_render_error(exc)}",
                        "policies",
                    )
                )
        if not problems:
            line = suite.policies[0].line if suite.policies else None
            problems.append(
                Problem(
                    suite.file,
                    line,
                    f"cannot load the policies: {_render_error(first_error)}",
                    "policies",
                )
            )
        raise SuiteError(problems) from first_error


def run_case(case: Case, policyset: Any, coverage: Coverage | None = None) -> CaseResult:
    """Decide ``case``'s call with trace and compare with its expectations."""
    if case.skip is not None:
        return CaseResult(case, "skipped")
    start = time.perf_counter()
    try:
        decision = policyset.decide(case.call, trace=True)
        actual = decision_dict(decision)
    except Exception as exc:  # reported with the case, never as a traceback
        if isinstance(exc, RingfenceError):
            text = _render_error(exc)  # a call the engine rejects: "invalid call at to: ..."
        else:
            text = f"internal error while deciding the call: {type(exc).__name__}: {exc}"
        return CaseResult(case, "error", error=text, duration=time.perf_counter() - start)
    duration = time.perf_counter() - start
    if coverage is not None:
        coverage.add_trace(actual["trace"])
    differences = compare(case.expect, actual)
    status = "failed" if differences else "passed"
    return CaseResult(case, status, differences, actual, duration=duration)


def matches(case: Case, patterns: Iterable[str]) -> bool:
    """Whether ``case`` is selected by ``-k`` patterns (case-insensitive substrings; any one)."""
    patterns = list(patterns)
    if not patterns:
        return True
    nodeid = case.nodeid.lower()
    return any(p.lower() in nodeid for p in patterns)


def run(
    suites: list[Suite],
    cache: PolicyCache,
    *,
    patterns: Iterable[str] = (),
    coverage: Coverage | None = None,
) -> RunResult:
    """Run the selected cases of ``suites``.

    Policies are loaded before any case runs, so a missing or broken policy is an input error
    (SuiteError listing every such problem) rather than a series of failed cases.
    """
    patterns = list(patterns)
    selected = [(s, [c for c in s.cases if matches(c, patterns)]) for s in suites]
    selected = [(s, cases) for s, cases in selected if cases]
    problems: list[Problem] = []
    sets: dict[int, Any] = {}
    for index, (suite, _cases) in enumerate(selected):
        try:
            sets[index] = cache.get(suite)
        except SuiteError as exc:
            problems.extend(exc.problems)
    if problems:
        raise SuiteError(problems)
    results: list[CaseResult] = []
    for index, (_suite, cases) in enumerate(selected):
        policyset = sets[index]
        if coverage is not None:
            coverage.add_policies(policyset)
        results.extend(run_case(case, policyset, coverage) for case in cases)
    return RunResult(results, coverage)
