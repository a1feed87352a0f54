"""Where the shipped grammar, policies and data live, in a wheel and in a source checkout.

A wheel carries ``grammar/`` and ``policies/`` inside the package (``ringfence/_shipped``); an
editable install or a source checkout reads them from the project's top level.
"""

from __future__ import annotations

import functools
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent


def _shipped(name: str) -> Path:
    inside = _PACKAGE / "_shipped" / name
    return inside if inside.is_dir() else _CHECKOUT / name


def grammar_path() -> Path:
    """The Lark grammar of the policy language."""
    return _shipped("grammar") / "ringfence.lark"


def policies_dir() -> Path:
    """The folder of shipped policies (the policy library)."""
    return _shipped("policies")


@functools.cache
def source_name(file: str) -> str:
    """How the compact decision names a policy file: a shipped one relative to the library
    (``us-federal.rf``, the file of the shipped id ``us-federal``), wherever the package is
    installed; any other as it was given."""
    try:
        return Path(file).relative_to(policies_dir()).as_posix()
    except ValueError:
        return file


def path_kind(path: Path) -> str | None:
    """What ``path`` names: "file", "folder" or "other"; None when nothing is there, or when the
    system cannot look the name up at all (longer than it allows): that names no file either."""
    try:
        if path.is_file():
            return "file"
        if path.is_dir():
            return "folder"
        return "other" if path.exists() else None
    except OSError:  # ENAMETOOLONG: pathlib ignores "not found", not this
        return None


def data_path(name: str) -> Path:
    """A data file shipped in the package (``ringfence/data``)."""
    return _PACKAGE / "data" / name


def schema_path(name: str) -> Path:
    """A JSON Schema shipped in the package (``ringfence/schemas``)."""
    return _PACKAGE / "schemas" / name
