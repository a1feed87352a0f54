"""MkDocs hook: the pages that must never disagree with the code are generated from it.

- ``errors.md``: one entry per code of :data:`ringfence.errors.CODES`, with its wrong example, the
  message ``ringfence check`` really prints for it (run here, at build time) and the fix (checked
  here to load cleanly).
- ``library/index.md`` and ``library/<id>.md``: the shipped policies, read through
  ``ringfence.load_library().policies`` (rules, titles, citations, effective dates, the text).
- ``coverage.md``: what each shipped policy covers, by jurisdiction, read from the lowered rules
  (:mod:`ringfence.tools.coverage_map`, as ``ringfence policies --coverage`` prints it), with a
  tile map of the US states covered and what the policies leave out.
- a ``<!-- vocabularies -->`` line: the table of the call contract's vocabularies, read from
  ``call.schema.json`` (the closed ones and the purposes, with the places that take them).
- ``<!-- run: ringfence ... -->`` lines in any page are replaced by the command and its real
  output, run in the page's example folder (``docs/<page name>/``); ``| python -m json.tool``
  may follow, to show JSON indented.

Any surprise (an example that does not produce its code, a fix that does not load, a command that
crashes) fails the build instead of publishing a wrong page.
"""

from __future__ import annotations

import contextlib
import functools
import html
import json
import re
import shlex
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

import ringfence
from ringfence.contract.request import CONTRACT
from ringfence.errors import CODES, ErrorCode
from ringfence.tools.calendar_view import render_svg, week_grid
from ringfence.tools.cli import cli
from ringfence.tools.coverage_map import ASPECTS, coverage, render_markdown, us_tile_map

LIBRARY_SECTION = "Policy library"
# `<!-- run: CMD -->` expects exit status 0; `<!-- run (exit 1): CMD -->` expects 1.
_RUN = re.compile(r"^<!-- run(?: \(exit (?P<exit>\d+)\))?: (?P<command>.+?) -->$", re.MULTILINE)


# ---- mkdocs events -------------------------------------------------------------------------


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Load the shipped policies once and list one page per policy in the library section."""
    policies = sorted(ringfence.load_library().policies, key=lambda p: p.id)
    config["extra"]["_ringfence_policies"] = policies
    for item in config["nav"] or []:
        if isinstance(item, dict) and LIBRARY_SECTION in item:
            item[LIBRARY_SECTION] = ["library/index.md"] + [
                {p.id: f"library/{p.id}.md"} for p in policies
            ]
            break
    else:
        raise PluginError(f"mkdocs.yml: the nav has no '{LIBRARY_SECTION}' section")
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated pages."""
    policies = config["extra"]["_ringfence_policies"]
    pages = {
        "errors.md": error_catalog(),
        "library/index.md": library_index(policies),
        "coverage.md": coverage_page(),
        **{f"library/{p.id}.md": policy_page(p) for p in policies},
    }
    for uri, content in pages.items():
        files.append(File.generated(config, uri, content=content))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace ``<!-- vocabularies -->`` with the table of vocabularies and ``<!-- run: ... -->``
    lines with the command and its output."""
    markdown = markdown.replace(VOCABULARIES, vocabulary_table())
    if not _RUN.search(markdown):
        return markdown
    folder = Path(config["docs_dir"]) / Path(page.file.src_uri).with_suffix("")

    def replace(m: re.Match[str]) -> str:
        expected = int(m.group("exit") or 0)
        return run_block(m.group("command"), folder, page.file.src_uri, expected)

    return _RUN.sub(replace, markdown)


# ---- the call contract's vocabularies ----------------------------------------------------------

VOCABULARIES = "<!-- vocabularies -->"


def vocabulary_table() -> str:
    """A Markdown table of every vocabulary of the call schema: its places and its words."""
    rows = ["| field | words |", "|---|---|"]
    for place in CONTRACT.places:
        if place.vocabulary is not None:
            words = ", ".join(f"`{w}`" for w in place.vocabulary)
            unknown = f"; `{place.not_known}` reads as not known" if place.not_known else ""
            rows.append(f"| `{place.name}` | {words}{unknown} |")
    for vocabulary in CONTRACT.word_vocabularies.values():
        for name, also in vocabulary.places.items():
            words = ", ".join(f"`{w}`" for w in sorted(vocabulary.words))
            more = f", and {', '.join(f'`{w}`' for w in sorted(also))}" if also else ""
            rows.append(f"| `{name}` | the {vocabulary.name}s: {words}{more}; and those the "
                        f"loaded policies declare (`uses {vocabulary.name} NAME`) |")
    return "\n".join(rows)


# ---- running the CLI ---------------------------------------------------------------------------


def run_cli(command: str, folder: Path) -> tuple[int, str, str, str]:
    """Run ``ringfence ...`` in-process in ``folder``; return the exit code, the output as a
    terminal shows it, and its standard output and standard error apart."""
    argv = shlex.split(command)
    if not argv or argv[0] != "ringfence":
        raise PluginError(f"only ringfence commands can be run in the docs, not {command!r}")
    with contextlib.chdir(folder):
        result = CliRunner().invoke(cli, argv[1:], prog_name="ringfence")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise PluginError(f"`{command}` crashed in {folder}: {result.exception!r}")
    return result.exit_code, result.output, result.stdout, result.stderr


def run_block(command: str, folder: Path, where: str, expected: int) -> str:
    """A console block showing the command, its output and (when not 0) its exit status.

    An exit status other than ``expected`` fails the build: the page's text describes the
    outcome, so a change of outcome must be noticed."""
    if not folder.is_dir():
        raise PluginError(f"{where}: `{command}` needs the example folder {folder}")
    ringfence_part, pipe, tool = command.partition(" | ")
    if pipe and tool != "python -m json.tool":
        raise PluginError(f"{where}: only `| python -m json.tool` may follow a command")
    code, output, stdout, stderr = run_cli(ringfence_part, folder)
    if pipe:  # what json.tool prints (every JSON document indented by 4), then standard error
        output = "".join(json.dumps(json.loads(x), indent=4) + "\n"
                         for x in stdout.splitlines()) + stderr
    if code != expected:
        raise PluginError(
            f"{where}: `{command}` exited with {code}, the page expects {expected}:\n{output}"
        )
    status = "" if code == 0 else f"\n$ echo $?\n{code}"
    return f"```console\n$ {command}\n{output.rstrip()}{status}\n```"


# ---- the error catalog -----------------------------------------------------------------------


def _check_example(code: ErrorCode, text: str) -> tuple[int, str]:
    """Run ``ringfence check example.rf`` on an example policy in a scratch folder."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "example.rf").write_text(text, encoding="utf-8")
        code_, output, _stdout, _stderr = run_cli("ringfence check example.rf", Path(tmp))
        return code_, output


def error_entry(code: ErrorCode) -> str:
    """One catalog entry: title, hint, wrong example with its real message, fix."""
    out = [f"## {code.code}: {code.title} {{#{code.code.lower()}}}", "", code.hint, ""]
    if not code.example_wrong:
        out += [
            "This error concerns how policies are found or combined, not the text of one file, "
            "so it has no single-file example.",
            "",
        ]
        return "\n".join(out)
    status, message = _check_example(code, code.example_wrong)
    if status != 1 or f"error {code.code}" not in message:
        raise PluginError(
            f"error catalog: the wrong example of {code.code} does not produce {code.code} "
            f"(exit {status}):\n{message}"
        )
    fix_status, fix_message = _check_example(code, code.example_fix)
    if fix_status != 0:
        raise PluginError(
            f"error catalog: the fix of {code.code} does not check cleanly:\n{fix_message}"
        )
    out += [
        "Wrong:",
        "",
        _fence("ringfence", code.example_wrong, 'title="example.rf"'),
        "",
        "`ringfence check example.rf` says:",
        "",
        _fence("text", message),
        "",
        "Fixed:",
        "",
        _fence("ringfence", code.example_fix, 'title="example.rf"'),
        "",
    ]
    return "\n".join(out)


def error_catalog() -> str:
    """The whole error catalog page, in code order."""
    head = [
        "# Error catalog",
        "",
        "Every problem `ringfence check` (and every other command that loads policies) reports "
        "has a code. Each entry below shows a policy with the mistake, the message Ringfence "
        "prints for it (produced by running the checker when this page was built) and the "
        "corrected policy.",
        "",
        "| code | problem |",
        "|---|---|",
        *(f"| [{c.code}](#{c.code.lower()}) | {_cell(c.title)} |" for c in _codes()),
        "",
    ]
    entries, problems = [], []
    for code in _codes():
        try:
            entries.append(error_entry(code))
        except PluginError as err:  # report every broken entry at once, then fail
            problems.append(str(err))
    if problems:
        raise PluginError("\n\n".join(problems))
    return "\n".join(head + entries)


def _codes() -> list[ErrorCode]:
    return [CODES[k] for k in sorted(CODES)]


# ---- the policy library ------------------------------------------------------------------------


def library_index(policies: list[Any]) -> str:
    """The library's front page: one row per shipped policy."""
    rows = [
        f"| [{p.id}]({p.id}.md) | {_cell(p.title)} | {_cell(', '.join(p.jurisdictions))} | "
        f"{_in_force(p.effective_from, p.effective_until)} | {len(p.rules)} |"
        for p in policies
    ]
    return "\n".join(
        [
            "# Policy library",
            "",
            "The policies shipped with Ringfence, generated from the policy files. Load them by id "
            "(`ringfence.load(\"us-federal\")`, `ringfence decide --policy us-federal ...`) or "
            "all at once (`ringfence.load_library()`), in which case each call is judged by the "
            "policies whose jurisdiction and dates match it.",
            "",
            "!!! warning \"Not legal advice\"",
            "    These policies are an engineering encoding of public rules, each rule with its "
            "citation. Have your counsel review what you rely on.",
            "",
            "| policy | title | applies to | in force | rules |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    )


def coverage_page() -> str:
    """Every jurisdiction, what each policy there covers, the US map, and what is left out."""
    found = coverage(ringfence.load_library())
    return "\n".join([
        "# Coverage map",
        "",
        "What each shipped policy covers, by jurisdiction, and what it leaves out and why. "
        "Generated from the policies' rules as the engine lowers them (which windows and "
        "conditions they hold), never from a table kept by hand: `ringfence policies "
        "--coverage` prints the same. ✓: a rule in force covers it; *pending*: only a pending "
        "rule (`status pending`, which only warns) does.",
        "",
        "| aspect | what puts a rule in it |",
        "|---|---|",
        *(f"| {name} | {_cell(what)} |" for name, what in ASPECTS.items()),
        "",
        "## United States",
        "",
        '<div class="coverage-map" markdown="0">',
        us_tile_map(found),
        "</div>",
        "",
        "## By jurisdiction",
        "",
        render_markdown(found),
    ])


def policy_page(policy: Any) -> str:
    """The page of one shipped policy: header facts, one section per rule, the source text."""
    facts = [
        ("Id", f"`{policy.id}`"),
        ("Version", _cell(str(policy.version or "—"))),
        ("Applies to", _cell(", ".join(policy.jurisdictions) or "—")),
        ("In force", _in_force(policy.effective_from, policy.effective_until)),
        ("Sources", "<br>".join(_cell(s) for s in policy.sources) or "—"),
        ("File", f"`{_display_path(policy.path)}`"),
    ]
    out = [f"# {policy.id}: {_text(policy.title)}", "", "| | |", "|---|---|"]
    out += [f"| {name} | {value} |" for name, value in facts]
    out.append("")
    if policy.disclaimer:
        out += ['!!! warning "Disclaimer"', f"    {_text(policy.disclaimer)}", ""]
    for note in policy.notes:
        out += ['!!! note "Note"', f"    {_text(note)}", ""]
    out += ["## Rules", "", "| rule | title | level | citations | in force |"]
    out += ["|---|---|---|---|---|"]
    out += [
        f"| [`{r.id}`](#{_anchor(r.id)}) | {_cell(r.title)} | {r.level} | "
        f"{'<br>'.join(_cell(c) for c in r.citations)} | "
        f"{_rule_in_force(r)} |"
        for r in policy.rules
    ]
    out.append("")
    for rule in policy.rules:
        out += _rule_section(rule)
    if policy.changelog:
        out += ["## Changelog", "", "| date | change |", "|---|---|"]
        out += [f"| {day} | {_cell(text)} |" for day, text in policy.changelog]
        out.append("")
    out += calendar_section(policy)
    text = Path(policy.path).read_text(encoding="utf-8")
    title = f'title="{Path(policy.path).name}"'
    out += ["## Policy text", "", _fence("ringfence", text, title), ""]
    return "\n".join(out)


def _rule_section(rule: Any) -> list[str]:
    span = rule.span
    lines = [
        f"### `{rule.id}` {{#{_anchor(rule.id)}}}",
        "",
        f"**{_text(rule.title)}**",
        "",
        f"- Level: {rule.level}",
        f"- Citations: {'; '.join(_text(c) for c in rule.citations)}",
        f"- In force: {_rule_in_force(rule)}",
    ]
    if rule.pending:
        lines.append("- Status: **pending**: not law in force; it only warns")
    if rule.verification or rule.reviewed:
        lines.append(f"- Verification: {rule.verification or 'not stated'}; last reviewed: "
                     f"{rule.reviewed or 'not stated'}")
    if rule.url:
        lines.append(f"- Text: <{rule.url}>")
    if rule.message:
        lines.append(f"- Message: {_text(rule.message)}")
    lines += [f"- Defined at: `{_display_path(span.file)}:{span.line}`", ""]
    return lines


@functools.cache
def _library_grid(region: str) -> Any:
    """This week's callable hours for marketing calls in ``region``, under the whole library."""
    return week_grid(ringfence.load_library(), region=region, purpose="marketing")


def calendar_section(policy: Any) -> list[str]:
    """The week of callable hours in the policy's jurisdiction, computed by the engine."""
    regions = [j for j in policy.jurisdictions if j != "any"]
    if not regions:
        return []
    grid = _library_grid(regions[0])
    always = "".join(f"\n- `{rule}`: {_text(why)}" for rule, why in grid.always_denied)
    return [
        f"## When marketing calls may be placed in {regions[0]}",
        "",
        f"This week in the callee's local time ({grid.zone}), for a marketing call to "
        f"`{grid.to}` judged by every shipped policy that applies there (not only this one). "
        "The letters in a grey block name the rules that close it (legend underneath); only "
        "the dates the policies close on are marked with ◆; a filled dot is an included end. "
        f"Drawn by `ringfence calendar --region {regions[0]}` when this page was built.",
        "",
        f'<div class="ringfence-calendar">\n{render_svg(grid).strip()}\n</div>',
        "",
        *([f"Denied at every hour for this bare call (facts it does not give):{always}", ""]
          if always else []),
    ]


# ---- small helpers -------------------------------------------------------------------------------


def _rule_in_force(rule: Any) -> str:
    """A rule's dates; a pending rule is in force at no date (its start is only expected)."""
    if rule.pending:
        expected = f"expected from {rule.effective_from}" if rule.effective_from else "no start known"
        return f"pending ({expected})"
    return _in_force(rule.effective_from, rule.effective_until)


def _in_force(start: Any, end: Any) -> str:
    if start and end:
        return f"from {start} until {end} (exclusive)"
    if start:
        return f"from {start}"
    if end:
        return f"until {end} (exclusive)"
    return "no dates set"


def _display_path(path: Any) -> str:
    """A path relative to the project (policies/us-fl.rf) rather than this machine's."""
    path = Path(path)
    with contextlib.suppress(ValueError):
        return path.resolve().relative_to(Path(__file__).resolve().parents[2]).as_posix()
    return path.name


def _anchor(rule_id: str) -> str:
    return "rule-" + re.sub(r"[^a-z0-9_-]", "-", rule_id.lower())


def _text(text: str) -> str:
    """Plain text safe in Markdown: no HTML, no accidental emphasis."""
    return re.sub(r"([\\`*_\[\]])", r"\\\1", html.escape(text, quote=False))


def _cell(text: str) -> str:
    """Plain text safe in a Markdown table cell."""
    return _text(text).replace("|", "\\|").replace("\n", " ")


def _fence(lang: str, body: str, attrs: str = "") -> str:
    """A fenced block long enough that the body's own backticks cannot close it."""
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", body)), default=0) + 1)
    head = f"{ticks}{lang} {attrs}".rstrip()
    return f"{head}\n{body.rstrip()}\n{ticks}"
