"""pytest plugin: collects ``*.test.yaml`` policy suites as pytest items, one per case.

Registered through the ``pytest11`` entry point, so a project that runs ``pytest`` gets its policy
tests with pytest's own reporting, ``-k`` selection and ``--junitxml``. Only files whose name ends
in ``.test.yaml`` are touched; Python test collection is left alone. The engine is imported only
when a suite is collected, so the plugin costs nothing in projects without suites.

``--ringfence-coverage`` adds the rule coverage table to the terminal summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

SUITE_SUFFIX = ".test.yaml"
_CACHE = pytest.StashKey[Any]()
_COVERAGE = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--ringfence-coverage``: report rule coverage of the collected policy suites."""
    group = parser.getgroup("ringfence", "Ringfence policy tests")
    group.addoption(
        "--ringfence-coverage",
        action="store_true",
        default=False,
        help="report which policy rules the *.test.yaml cases saw both fire and pass",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Nothing is loaded here: the engine is imported on the first suite collected."""
    config.stash[_CACHE] = None
    config.stash[_COVERAGE] = None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Collect policy suites (``*.test.yaml``); every other file is left to other plugins."""
    if file_path.name.endswith(SUITE_SUFFIX):
        return PolicySuiteFile.from_parent(parent, path=file_path)
    return None


def _cache(config: pytest.Config) -> Any:
    if config.stash[_CACHE] is None:
        from ringfence.testing.runner import PolicyCache

        config.stash[_CACHE] = PolicyCache()
        if config.getoption("ringfence_coverage"):
            from ringfence.testing.coverage import Coverage

            config.stash[_COVERAGE] = Coverage()
    return config.stash[_CACHE]


class PolicySuiteFile(pytest.File):
    """A ``*.test.yaml`` file; its cases are the items."""

    def collect(self) -> Any:
        """One :class:`PolicyCaseItem` per case; input problems become a collection error."""
        from ringfence.testing.problems import SuiteError
        from ringfence.testing.suite import load_suite

        _cache(self.config)
        try:
            suite = load_suite(self.path)
        except SuiteError as exc:
            # CollectError is shown as its message alone, without a Python traceback.
            raise self.CollectError(f"invalid policy test suite:\n{exc}") from None
        for case in suite.cases:
            item = PolicyCaseItem.from_parent(self, name=case.name, case=case)
            if case.skip is not None:
                item.add_marker(pytest.mark.skip(reason=case.skip))
            yield item


class PolicyCaseFailed(Exception):
    """A case whose expectations did not hold (or whose call the engine rejected)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class PolicyCaseItem(pytest.Item):
    """One case of a policy test suite."""

    def __init__(self, *, case: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        """Load the suite's policies (cached), decide the call and compare."""
        from ringfence.testing.problems import SuiteError
        from ringfence.testing.report import failure_text
        from ringfence.testing.rulenames import rule_problems
        from ringfence.testing.runner import run_case

        cache = _cache(self.config)
        coverage = self.config.stash[_COVERAGE]
        try:
            policyset = cache.get(self.case.suite)
        except SuiteError as exc:
            raise PolicyCaseFailed(str(exc)) from None
        unknown = rule_problems([self.case], policyset.policies)
        if unknown:
            raise PolicyCaseFailed(str(SuiteError(unknown)))
        if coverage is not None:
            coverage.add_policies(policyset)
        result = run_case(self.case, policyset, coverage)
        if result.status in ("failed", "error"):
            raise PolicyCaseFailed(failure_text(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        """Expected vs actual and the deciding rules, instead of a Python traceback."""
        if isinstance(excinfo.value, PolicyCaseFailed):
            return excinfo.value.text
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Where the case is written (pytest counts lines from 0)."""
        line = self.case.line - 1 if self.case.line else None
        return self.path, line, f"policy case: {self.case.name}"


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print rule coverage when ``--ringfence-coverage`` was given and suites ran."""
    coverage = config.stash.get(_COVERAGE, None)
    if coverage is None or not coverage.total:
        return
    terminalreporter.section("ringfence rule coverage")
    for line in coverage.render().splitlines():
        terminalreporter.write_line(line)
