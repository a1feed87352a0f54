"""The user's cache folder, where what is costly to work out is kept between processes: facts
worked out from ``phonenumbers`` (the NANP location table, the numbering blocks' lengths) and the
policy parser's tables. It serves more than one stage of the pipeline, so it lives beside
``resources`` rather than in any one of them.

The folder is ``RINGFENCE_CACHE_DIR``, else ``$XDG_CACHE_HOME/ringfence``, else
``~/.cache/ringfence``. A file there is written beside its place and renamed into it, so a process
reading it never sees half a file; where the folder cannot be written, nothing is kept and the
caller keeps its answers in memory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["cache_dir", "write_cache_file"]


def cache_dir() -> Path:
    """The folder cache files are kept in."""
    given = os.environ.get("RINGFENCE_CACHE_DIR")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ringfence"


def write_cache_file(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` whole (beside it, then renamed); False when it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as fh:
            fh.write(data)
        os.replace(fh.name, path)
    except OSError:
        return False
    return True
