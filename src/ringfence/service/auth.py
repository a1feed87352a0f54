"""Bearer tokens: kept as SHA-256 hashes in a text file, each with its scopes.

One token a line: ``sha256:<hex> <scope>[,<scope>...] <name>``; ``#`` starts a comment. Scopes:
``decide`` (POST /v1/decide and the read-only endpoints) and ``write`` (recording facts:
attempts, consents, opt-outs, washes). Tokens are 32 random bytes, so a plain hash is enough:
there is nothing to guess that a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from ringfence.errors import InputError

SCOPES = ("decide", "write")
_LINE = re.compile(r"sha256:([0-9a-f]{64})\s+([a-z,]+)\s+(\S+)\s*\Z")


@dataclass(frozen=True)
class Client:
    """Who presented a token, and what it may do."""

    name: str
    scopes: frozenset[str]


def token_hash(token: str) -> str:
    """The hex SHA-256 of a token, as the token file keeps it."""
    return hashlib.sha256(token.encode()).hexdigest()


def load_tokens(path: str | Path) -> dict[str, Client]:
    """The token file read into {hash: client}; an InputError names a bad line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise InputError(f"--tokens {path}: {err.strerror}") from None
    clients: dict[str, Client] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = _LINE.match(line)
        scopes = frozenset(match.group(2).split(",")) if match else frozenset()
        if not match or not scopes <= set(SCOPES):
            raise InputError(f"{path}:{number}: expected 'sha256:<64 hex> decide,write NAME'")
        clients[match.group(1)] = Client(match.group(3), scopes)
    return clients


def new_token(path: str | Path, name: str, scopes: list[str]) -> str:
    """Make a token for ``name`` with ``scopes``, append its hash to the file, return it."""
    if not scopes or not set(scopes) <= set(SCOPES):
        raise InputError(f"--scope: one or more of {', '.join(SCOPES)}")
    if not re.fullmatch(r"\S+", name):
        raise InputError("--name: one word, no spaces")
    token = "rf_" + secrets.token_urlsafe(32)
    with open(path, "a", encoding="utf-8") as out:
        out.write(f"sha256:{token_hash(token)} {','.join(scopes)} {name}\n")
    Path(path).chmod(0o600)
    return token
