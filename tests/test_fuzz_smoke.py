"""The fuzzing harness itself (``benchmarks/fuzz.py``), run small with a fixed seed.

The campaign of issue #12 runs millions of inputs by hand; this runs a few thousand so that CI
fails when the harness breaks or when one of these inputs crashes an entry point.
"""

from __future__ import annotations

import importlib.util
import io
import signal
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

HARNESS = Path(__file__).resolve().parent.parent / "benchmarks" / "fuzz.py"
SMOKE = {"call": 1000, "list": 2000, "policy": 100, "suite": 40}


@pytest.fixture(scope="module")
def fuzz() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ringfence_fuzz", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_a_small_campaign_finds_no_crash_and_reaches_every_stage(fuzz, tmp_path):
    out = io.StringIO()
    ok = fuzz.campaign(SMOKE, seed=12, jobs=1, limit=30.0, seconds=None,
                       crash_dir=tmp_path / "crashes", out=out)
    report = out.getvalue()
    assert ok, report
    assert "0 crashes, 0 hangs, 0 reader mismatches" in report
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in report.splitlines()
            if line.split()[:1] and line.split()[0] in SMOKE}
    # Every stage is reached, and the mutations both pass and fail the first one.
    for kind, stages in {"policy": ["parse", "load", "decide"], "call": ["read", "decide"],
                         "list": ["read", "lookup"], "suite": ["load", "run"]}.items():
        for stage in stages:
            accepted = int(rows[(kind, stage)][0].replace(",", ""))
            assert accepted > 0, (kind, stage, report)
        assert int(rows[(kind, stages[0])][1].replace(",", "")) > 0, (kind, report)


def test_a_crash_is_counted_written_down_and_fails_the_run(fuzz, tmp_path, monkeypatch):
    def broken(path):
        raise KeyError("planted")

    monkeypatch.setattr(fuzz.NumberList, "from_file", broken)
    out = io.StringIO()
    ok = fuzz.campaign({"list": 20}, seed=1, jobs=1, limit=30.0, seconds=None,
                       crash_dir=tmp_path / "crashes", out=out)
    assert not ok
    assert "20 failure(s), 1 distinct" in out.getvalue()
    written = sorted(p.suffix for p in (tmp_path / "crashes").iterdir())
    assert written == [".input", ".txt"]
    assert "KeyError: 'planted'" in next((tmp_path / "crashes").glob("*.txt")).read_text()


def test_the_reader_comparison_reports_a_reader_that_accepts_too_much(fuzz, monkeypatch):
    from ringfence.contract import request
    good = {"to": "+13055550123", "at": "2026-06-15T12:00:00-04:00"}
    lenient = request.parse_call_reference(good)
    monkeypatch.setattr(request, "read_compiled", lambda raw: lenient)
    with pytest.raises(fuzz.Mismatch, match="accepted what the reference rejects"):
        fuzz.compare_readers({"to": "nonsense"})


def test_a_stage_over_the_time_limit_is_a_hang(fuzz, tmp_path):
    alarm = signal.getsignal(signal.SIGALRM)
    try:
        runner = fuzz.Runner(0.05, tmp_path)
        outcome = fuzz.Outcome()
        runner.stage(outcome, "slow", lambda: time.sleep(2))
    finally:
        signal.signal(signal.SIGALRM, alarm)
    assert outcome.stages == [("slow", "hang")]
    assert "Hang" in outcome.failures[0][2]
