"""The audit as one self-contained HTML page for a compliance team.

Charts are drawn with Plotly, whose JavaScript ships inside the Python package and is written
into the page once (``include_plotlyjs=True``): the page fetches nothing when it is opened, and
can be mailed or archived as one file. Every finding links to its rule's entry, which gives the
rule's title, citations and message.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from typing import Any

from ringfence.tools.audit import AuditFinding, AuditResult

__all__ = ["render_report"]

# The page lists this many findings and malformed rows; the findings file has them all.
MAX_FINDINGS_SHOWN = 2000
MAX_ERRORS_SHOWN = 200
WORST_NUMBERS = 20
TOP_CAMPAIGNS = 20

_STYLE = """
body{font-family:Georgia,'Times New Roman',serif;margin:2em auto;max-width:70em;color:#111}
h1,h2{font-family:Helvetica,Arial,sans-serif;font-weight:600}
h2{border-bottom:1px solid #999;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:.5em 0}
th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#eee} td.n{text-align:right;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.note{color:#444;font-size:.9em} code{font-size:.95em}
@media print{.charts{display:block} .chart{page-break-inside:avoid} a{color:#000}}
"""


def _anchor(ref: str) -> str:
    return "rule-" + ref.replace("/", "--")


def _rule_link(finding: AuditFinding) -> str:
    return f'<a href="#{_anchor(finding.rule_ref)}"><code>{html.escape(finding.rule_ref)}</code></a>'


def _bar(title: str, counts: list[tuple[Any, int]], *, horizontal: bool = False,
         first: bool = False) -> str:  # fmt: skip
    import plotly.graph_objects as go

    labels = [str(k) for k, _ in counts]
    values = [v for _, v in counts]
    bar = (go.Bar(x=values, y=labels, orientation="h") if horizontal
           else go.Bar(x=labels, y=values))  # fmt: skip
    fig = go.Figure(bar)
    fig.update_layout(title=title, template="simple_white", height=max(320, 24 * len(labels) + 120)
                      if horizontal else 320, margin={"l": 10, "r": 10, "t": 50, "b": 40},
                      font={"family": "Helvetica, Arial, sans-serif", "size": 12})  # fmt: skip
    fig.update_traces(marker_color="#555")
    if horizontal:
        fig.update_yaxes(autorange="reversed", automargin=True)
    else:
        fig.update_xaxes(type="category")
    # No tool bar: it would sit over the titles, and a printout has no use for it.
    div = fig.to_html(full_html=False, include_plotlyjs=first, config={"displayModeBar": False})
    return f'<div class="chart">{div}</div>'


def _charts(result: AuditResult) -> str:
    by_hour = result.count("local_hour")
    hours = [(f"{h:02d}", by_hour.get(h, 0)) for h in range(24)]
    if by_hour.get(None):
        hours.append(("zone unknown", by_hour[None]))
    campaigns = Counter({k or "(none)": v for k, v in result.count("campaign").items()})
    charts = [
        _bar("Violations by rule", result.count("rule_ref").most_common(), horizontal=True,
             first=True),
        _bar("Violations by jurisdiction (callee region)", result.count("jurisdiction").most_common()),
        _bar("Violations by hour of day (callee local time)", hours),
        _bar(f"Violations by campaign (top {TOP_CAMPAIGNS})", campaigns.most_common(TOP_CAMPAIGNS),
             horizontal=True),
        _bar("Violations by week (ISO week, UTC)", sorted(result.count("week").items())),
    ]
    return '<div class="charts">' + "".join(charts) + "</div>"


def _rules_table(result: AuditResult) -> str:
    grouped: dict[str, list[AuditFinding]] = defaultdict(list)
    for finding in result.findings:
        grouped[finding.rule_ref].append(finding)
    rows = []
    for ref, items in sorted(grouped.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        f = items[0]
        rows.append(
            f'<tr id="{_anchor(ref)}"><td><code>{html.escape(ref)}</code></td>'
            f"<td>{html.escape(f.title)}</td><td>{html.escape('; '.join(f.citations))}</td>"
            f"<td>{f.level}</td><td class=n>{len(items):,}</td>"
            f"<td>{html.escape(f.message)}</td></tr>"
        )
    return ("<table><tr><th>rule</th><th>title</th><th>citation</th><th>level</th>"
            "<th>findings</th><th>message</th></tr>" + "".join(rows) + "</table>")  # fmt: skip


def _worst_numbers(result: AuditResult) -> str:
    rules: dict[str, dict[str, AuditFinding]] = defaultdict(dict)
    for finding in result.violations:
        rules[finding.to].setdefault(finding.rule_ref, finding)
    rows = []
    for number, count in result.count("to").most_common(WORST_NUMBERS):
        links = ", ".join(_rule_link(f) for f in rules[number].values())
        rows.append(f"<tr><td><code>{html.escape(number)}</code></td><td class=n>{count:,}</td>"
                    f"<td>{links}</td></tr>")  # fmt: skip
    return ("<table><tr><th>number</th><th>violations</th><th>rules broken</th></tr>"
            + "".join(rows) + "</table>")  # fmt: skip


def _findings_table(result: AuditResult) -> str:
    rows = []
    for f in sorted(result.findings, key=lambda f: f.line)[:MAX_FINDINGS_SHOWN]:
        call_id = "" if f.call_id is None else html.escape(str(f.call_id))
        rows.append(
            f"<tr><td class=n>{f.line}</td><td>{call_id}</td><td>{f.at.isoformat()}</td>"
            f"<td><code>{html.escape(f.to)}</code></td><td>{html.escape(f.jurisdiction)}</td>"
            f"<td>{f.level}</td><td>{_rule_link(f)} {html.escape(f.title)}"
            f"<br><span class=note>{html.escape('; '.join(f.citations))}</span></td></tr>"
        )
    more = len(result.findings) - MAX_FINDINGS_SHOWN
    note = (f"<p class=note>The first {MAX_FINDINGS_SHOWN:,} findings by log line; {more:,} more "
            "are in the findings file (<code>--findings</code>).</p>" if more > 0 else "")  # fmt: skip
    return (note + "<table><tr><th>line</th><th>id</th><th>at</th><th>number</th>"
            "<th>jurisdiction</th><th>level</th><th>rule</th></tr>" + "".join(rows) + "</table>")


def _errors_table(result: AuditResult) -> str:
    if not result.errors:
        return ""
    rows = "".join(f"<tr><td class=n>{e.line}</td><td><code>{html.escape(e.field)}</code></td>"
                   f"<td>{html.escape(e.message)}</td></tr>"
                   for e in result.errors[:MAX_ERRORS_SHOWN])  # fmt: skip
    return (f"<h2>Rows that could not be judged ({len(result.errors):,})</h2>"
            "<table><tr><th>line</th><th>field</th><th>problem</th></tr>" + rows + "</table>")


def render_report(result: AuditResult, source: str) -> str:
    """The whole report as one HTML page (about 5 MB: Plotly's JavaScript is inside)."""
    esc = html.escape
    period = (f"{result.first.isoformat()} to {result.last.isoformat()}"
              if result.first and result.last else "no calls")  # fmt: skip
    policies = "".join(f"<tr><td><code>{esc(p['id'])}</code></td><td>{esc(p['title'])}</td>"
                       f"<td>{esc(p['version'] or '')}</td><td><code>{esc(p['hash'][:19])}</code>"
                       "</td></tr>" for p in result.policies)  # fmt: skip
    warnings = len(result.findings) - len(result.violations)
    body = "<p>No call broke a rule.</p>"
    if result.findings:
        body = (f"{_charts(result) if result.violations else ''}"
                f"<h2>Rules broken</h2>{_rules_table(result)}"
                f"<h2>Numbers with the most violations</h2>{_worst_numbers(result)}"
                f"<h2>Findings</h2>{_findings_table(result)}")  # fmt: skip
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Call audit: {esc(source)}</title>
<style>{_STYLE}</style></head><body>
<h1>Call audit</h1>
<p>Log <code>{esc(source)}</code>: {result.calls:,} calls judged, {period}.
<strong>{result.calls_in_breach:,}</strong> calls broke at least one rule
({len(result.violations):,} violations); {warnings:,} warnings;
{len(result.errors):,} rows could not be judged.</p>
<p class=note>Each call was judged by the law in force on its date, with the earlier calls of the log
to the same number as its history. Hours are the callee's local time.</p>
{body}
{_errors_table(result)}
<h2>Policies applied</h2>
<table><tr><th>policy</th><th>title</th><th>version</th><th>hash</th></tr>{policies}</table>
</body></html>
"""
