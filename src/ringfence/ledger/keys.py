"""The key numbers are hashed with: from a file, or the environment."""

from __future__ import annotations

import os
from pathlib import Path

from ringfence.errors import InputError

ENV = "RINGFENCE_LEDGER_KEY"


def read_key(key_file: str | None) -> bytes | None:
    """The contents of ``key_file`` (stripped), else ``$RINGFENCE_LEDGER_KEY``, else None."""
    if key_file:
        try:
            key = Path(key_file).read_bytes().strip()
        except OSError as err:
            raise InputError(f"--key-file {key_file}: {err.strerror}") from None
        if not key:
            raise InputError(f"--key-file {key_file}: the file is empty")
        return key
    env = os.environ.get(ENV)
    return env.encode() if env else None
