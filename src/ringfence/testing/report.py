"""Reports of a run: readable text, JSON and JUnit XML."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from ringfence.testing.expect import finding_id
from ringfence.testing.runner import CaseResult, RunResult
from ringfence.testing.suite import SUITE_SUFFIX

_DECIDING = ("violated", "exempt")


def _where(result: CaseResult) -> str:
    case = result.case
    return f"{case.file}:{case.line}" if case.line else case.file


def _named_rules(expect: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for key in (
        "violations",
        "violations_include",
        "violations_exclude",
        "warnings",
        "warnings_include",
    ):
        names.update(expect.get(key) or [])
    return names


def deciding_trace(result: CaseResult) -> list[dict[str, Any]]:
    """The trace entries that explain the outcome: violated and exempt rules, plus any rule
    the expectations name (so "expected to fire but passed" shows why it passed)."""
    if not result.actual:
        return []
    named = _named_rules(result.case.expect)
    out = []
    for item in result.actual.get("trace") or []:
        ident = finding_id(item)
        if item.get("outcome") in _DECIDING or ident in named or item.get("rule") in named:
            out.append(item)
    return out


def trace_lines(result: CaseResult, indent: str = "    ") -> list[str]:
    """``policy/rule outcome [level]: detail`` for each deciding trace entry."""
    lines = []
    for item in deciding_trace(result):
        level = f" [{item['level']}]" if item.get("level") else ""
        detail = f": {item['detail']}" if item.get("detail") else ""
        lines.append(f"{indent}{finding_id(item)} {item.get('outcome')}{level}{detail}")
    if result.actual:
        # Findings the trace does not hold (a subdivision policy undetermined for lack of a
        # region, say) are shown with their message and the facts they miss.
        traced = {finding_id(t) for t in result.actual.get("trace") or []}
        for finding in result.actual.get("violations", []) + result.actual.get("warnings", []):
            if finding_id(finding) in traced:
                continue
            missing = finding.get("missing_facts") or []
            extra = f" (missing: {', '.join(missing)})" if missing else ""
            lines.append(
                f"{indent}{finding_id(finding)} violated [{finding.get('level', 'deny')}]: "
                f"{finding.get('message', '')}{extra}"
            )
    return lines


def failure_text(result: CaseResult) -> str:
    """The readable explanation of one failed or errored case (first line, then the trace)."""
    if result.status == "error":
        return f"{_where(result)}: {result.case.name}: {result.error}"
    head = "; ".join(d.render() for d in result.differences)
    lines = [f"{_where(result)}: {result.case.name}: {head}"]
    lines.extend(trace_lines(result))
    return "\n".join(lines)


def render_text(run: RunResult, *, verbose: bool = False) -> str:
    """One line per failing case (with its trace), skipped cases, the coverage when collected,
    then the summary line alone on the last line."""
    lines = []
    for result in run.results:
        if result.status == "failed":
            lines.append("FAILED " + failure_text(result))
        elif result.status == "error":
            lines.append("ERROR " + failure_text(result))
        elif result.status == "skipped":
            lines.append(f"SKIPPED {_where(result)}: {result.case.name}: {result.reason}")
        elif verbose:
            lines.append(f"PASSED {_where(result)}: {result.case.name}")
    if run.coverage is not None:
        lines.append(run.coverage.render())
    lines.append(run.summary())
    return "\n".join(lines) + "\n"


def _result_dict(result: CaseResult) -> dict[str, Any]:
    case = result.case
    data: dict[str, Any] = {
        "id": case.nodeid,
        "file": case.file,
        "line": case.line,
        "name": case.name,
        "status": result.status,
        "duration": round(result.duration, 6),
        "expected": case.expect,
    }
    if result.status == "skipped":
        data["reason"] = result.reason
    if result.error:
        data["error"] = result.error
    if result.actual is not None:
        actual = result.actual
        data["actual"] = {
            "decision": actual.get("decision"),
            "violations": sorted({finding_id(f) for f in actual.get("violations", [])}),
            "warnings": sorted({finding_id(f) for f in actual.get("warnings", [])}),
            "next_allowed_at": actual.get("next_allowed_at"),
        }
        data["differences"] = [d.to_dict() for d in result.differences]
        if result.status == "failed":
            data["trace"] = deciding_trace(result)
    return data


def render_json(run: RunResult) -> str:
    """The whole run as one JSON document."""
    doc: dict[str, Any] = {
        "summary": {
            "passed": run.count("passed"),
            "failed": run.count("failed"),
            "skipped": run.count("skipped"),
            "errors": run.count("error"),
            "text": run.summary(),
        },
        "cases": [_result_dict(r) for r in run.results],
    }
    if run.coverage is not None:
        doc["coverage"] = run.coverage.to_dict()
    return json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\n"


def _classname(file: str) -> str:
    stem = file[: -len(SUITE_SUFFIX)] if file.endswith(SUITE_SUFFIX) else file
    return stem.replace("\\", "/").lstrip("/").replace("/", ".")


def render_junit(run: RunResult) -> str:
    """JUnit XML: one <testsuite> per file, one <testcase> per case, <failure>/<skipped>/<error>."""
    root = ET.Element("testsuites", name="ringfence")
    by_file: dict[str, list[CaseResult]] = {}
    for result in run.results:
        by_file.setdefault(result.case.file, []).append(result)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    total_time = 0.0
    for file, results in by_file.items():
        counts = {
            "tests": len(results),
            "failures": sum(r.status == "failed" for r in results),
            "errors": sum(r.status == "error" for r in results),
            "skipped": sum(r.status == "skipped" for r in results),
        }
        seconds = sum(r.duration for r in results)
        suite = ET.SubElement(
            root,
            "testsuite",
            {"name": file, "time": f"{seconds:.6f}", **{k: str(v) for k, v in counts.items()}},
        )
        for result in results:
            _testcase(suite, result)
        for key, value in counts.items():
            totals[key] += value
        total_time += seconds
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.6f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _testcase(parent: ET.Element, result: CaseResult) -> None:
    case = result.case
    node = ET.SubElement(
        parent,
        "testcase",
        classname=_classname(case.file),
        name=case.name,
        file=case.file,
        line=str(case.line or 0),
        time=f"{result.duration:.6f}",
    )
    if result.status == "failed":
        failure = ET.SubElement(
            node,
            "failure",
            type="PolicyTestFailure",
            message="; ".join(d.render() for d in result.differences),
        )
        failure.text = failure_text(result)
    elif result.status == "error":
        error = ET.SubElement(node, "error", type="PolicyTestError", message=result.error or "")
        error.text = failure_text(result)
    elif result.status == "skipped":
        ET.SubElement(node, "skipped", message=result.reason or "")
