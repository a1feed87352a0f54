"""PNG and PDF from an HTML page, drawn by a headless Chromium.

The browser is found as ``$RINGFENCE_CHROMIUM``, else ``chromium``, ``chromium-browser`` or
``google-chrome`` on the PATH (Debian: ``apt-get install chromium``). Nothing is fetched: the
pages given are self-contained.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ringfence.errors import InputError

__all__ = ["find_chromium", "html_to_pdf", "html_to_png", "rendered_dom"]

_NAMES = ("chromium", "chromium-browser", "google-chrome")
_TIMEOUT = 120  # seconds; a cold start in a container takes a few


def find_chromium() -> str | None:
    """The Chromium to run, or None when there is none."""
    given = os.environ.get("RINGFENCE_CHROMIUM")
    if given:
        return given
    return next((path for name in _NAMES if (path := shutil.which(name))), None)


def _run(page: str, out: Path | None, flags: list[str]) -> subprocess.CompletedProcess[str]:
    browser = find_chromium()
    if browser is None:
        raise InputError("PNG and PDF are drawn by Chromium, which was not found (install it, e.g. "
                         "apt-get install chromium, or set RINGFENCE_CHROMIUM); SVG and HTML need "
                         "nothing")  # fmt: skip
    what = "the page" if out is None else out.name
    with tempfile.TemporaryDirectory(prefix="ringfence-print-") as tmp:
        source = Path(tmp) / "page.html"
        source.write_text(page, encoding="utf-8")
        # --no-sandbox: the sandbox cannot start as root, where CI and containers run.
        command = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                   f"--user-data-dir={tmp}/profile", *flags, source.resolve().as_uri()]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT,
                                  check=False)  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as err:
            raise InputError(f"{browser} could not draw {what}: {err}") from None
    if done.returncode != 0 or (out is not None and (not out.is_file() or out.stat().st_size == 0)):
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise InputError(f"{browser} could not draw {what}: {' / '.join(tail) or 'no output'}")
    return done


def html_to_png(page: str, out: Path, width: int, height: int) -> None:
    """Shoot ``page`` at ``width`` x ``height`` CSS pixels (twice that in pixels, for print)."""
    out.unlink(missing_ok=True)
    _run(page, out, [f"--screenshot={out.resolve()}", f"--window-size={width},{height}",
                     "--force-device-scale-factor=2"])  # fmt: skip


def html_to_pdf(page: str, out: Path) -> None:
    """Print ``page`` to a PDF, with the page's own ``@page`` size and margins."""
    out.unlink(missing_ok=True)
    _run(page, out, [f"--print-to-pdf={out.resolve()}", "--no-pdf-header-footer"])


def rendered_dom(page: str) -> tuple[str, list[str]]:
    """The page's document as the browser built it (after any script ran), and every message
    written to its console (a script error among them): what a test checks a page renders by."""
    done = _run(page, None, ["--dump-dom", "--enable-logging=stderr", "--v=0"])
    console = [line.split("] ", 1)[1] for line in done.stderr.splitlines()
               if ":CONSOLE" in line and "] " in line]
    return done.stdout, console
