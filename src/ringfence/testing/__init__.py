"""Policy test suites in YAML: loader, runner, reports, coverage and the pytest plugin."""
