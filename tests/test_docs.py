"""The documentation site: `mkdocs build --strict` passes and the generated pages match the code."""

from __future__ import annotations

import html
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_NEEDED = ["mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python", "mkdocs_click"]
_MISSING = [name for name in _NEEDED if importlib.util.find_spec(name.split(".")[0]) is None]

pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"the docs toolchain is not installed ({', '.join(_MISSING)}); "
    "install it with: pip install -e '.[docs]'",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the site once for the module, strictly, into a scratch folder."""
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
         "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def _page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text("utf-8")


def _plain(page: str) -> str:
    """Page text without tags (Pygments splits code into spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def test_library_page_of_every_shipped_policy_lists_its_rules(site: Path):
    import ringfence

    policies = ringfence.load_library().policies
    assert policies, "no shipped policies"
    index = _plain(_page(site, "library"))
    for policy in policies:
        assert policy.id in index
        page = _page(site, f"library/{policy.id}")
        text = _plain(page)
        assert policy.title in text
        if any(j != "any" for j in policy.jurisdictions):
            # The week of callable hours, drawn by the engine (ringfence.tools.calendar_view).
            assert '<svg xmlns="http://www.w3.org/2000/svg"' in page, f"{policy.id}: no calendar"
        for rule in policy.rules:
            assert f'id="rule-{rule.id.lower()}"' in page, f"{policy.id}: no section for {rule.id}"
            assert rule.title in text
            for citation in rule.citations:
                assert citation in text


def test_error_catalog_lists_every_code_with_the_real_message(site: Path):
    from ringfence.errors import CODES

    page = _page(site, "errors")
    text = _plain(page)
    for code, entry in CODES.items():
        assert f'id="{code.lower()}"' in page, f"no catalog entry for {code}"
        assert entry.title in text
        if entry.example_wrong:
            # The message block is the checker's own output for the wrong example.
            assert f"error {code}" in text, f"{code}: the checker's message is missing"


def test_cli_reference_is_generated_from_the_click_commands(site: Path):
    from ringfence.tools.cli import cli

    text = _plain(_page(site, "cli"))
    assert cli.commands, "the CLI has no commands"
    for name, command in cli.commands.items():
        assert f"ringfence {name}" in text, f"CLI reference lacks `ringfence {name}`"
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in text, f"CLI reference lacks {name} {opt}"


def test_ringfence_code_is_coloured_by_our_lexer(site: Path):
    page = _page(site, "getting-started")
    assert '<span class="nf">calling-hours</span>' in page  # a rule id
    assert '<span class="ld">08:00</span>' in page  # a time


def test_formats_page_embeds_the_schemas(site: Path):
    text = _plain(_page(site, "formats"))
    for name in ("call.schema.json", "decision.schema.json"):
        schema = json.loads((ROOT / "src/ringfence/schemas" / name).read_text("utf-8"))
        for prop in schema.get("properties", {}):
            assert f'"{prop}"' in text, f"{name}: property {prop} not shown"


def test_getting_started_shows_real_command_output(site: Path):
    text = _plain(_page(site, "getting-started"))
    assert "$ ringfence check typo-policy.rf" in text
    assert "RF301" in text  # the checker's code for the misspelt field
    assert "<!-- run" not in text


def test_api_reference_is_generated_from_docstrings(site: Path):
    text = _plain(_page(site, "api"))
    assert "ringfence.load" in text
