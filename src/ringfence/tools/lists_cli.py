"""``ringfence lists ...``: compile a number list to its memory-mapped form, and describe one.

The group is added to ``ringfence`` by :func:`add_lists_command`, which the CLI module calls with
its error guard (passed in, so this module does not import the CLI module that imports it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ringfence import __version__
from ringfence.facts import listfile
from ringfence.facts.numberlist import NumberList


def add_lists_command(group: click.Group, guard: Callable[..., Any]) -> None:
    """Add ``lists compile`` and ``lists info`` to ``group``; ``guard`` turns Ringfence errors
    into a message and exit code 2."""

    @group.group("lists")
    def lists_command() -> None:
        """Number lists: compile a text or CSV list for fast loading, and describe one.

        Wherever a list is accepted (``--list NAME=FILE``, the API's ``lists=``, a test
        suite's ``lists:``) a compiled list is too: it is known by its first bytes.
        """

    @lists_command.command("compile")
    @click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
    @click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
                  help="The compiled list to write (by convention FILE.rfl).")
    @guard
    def compile_command(source: Path, output: Path) -> None:
        """Compile SOURCE (one E.164 number per line, or CSV number,listed_at) to a compiled list.

        The compiled list holds the numbers sorted and unique, each with its earliest listing
        date, and the source's SHA-256; it loads in milliseconds by memory mapping. A bad line
        stops the compile with its file and line (exit code 2), as when the list is loaded.
        """
        start = time.perf_counter()
        table = NumberList.from_file(source)
        table.save(output, {"compiled_by": f"ringfence {__version__}"})
        dated = " with listing dates" if table.dates is not None else ""
        click.echo(f"{output}: {len(table):,} numbers{dated} from {source} "
                   f"in {time.perf_counter() - start:.2f} s", err=True)

    @lists_command.command("info")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    @guard
    def info_command(path: Path) -> None:
        """Describe a list file: its form, count, whether it has dates, and its source's hash.

        A text or CSV list is read (and checked) in full; a compiled list's header is read.
        """
        compiled = listfile.is_compiled(path)
        table = NumberList.from_file(path)
        header = table.header
        rows = [("file", str(path)),
                ("form", f"compiled list, format {listfile.VERSION}" if compiled else "text"),
                ("numbers", f"{len(table):,}"),
                ("listing dates", "yes" if table.dates is not None else "no"),
                ("source", header.get("source", "")),
                ("source sha256", header.get("source_sha256", "")),
                ("compiled by", header.get("compiled_by", ""))]
        if len(table):
            rows.append(("range", f"+{table.keys[0]} to +{table.keys[-1]}"))
        for label, value in rows:
            if value:
                click.echo(f"{label + ':':15} {value}")
