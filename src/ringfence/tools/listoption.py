"""The ``--list NAME=FILE`` option, read the same way by every command that takes it."""

from __future__ import annotations

from ringfence.errors import InputError


def parse_lists(values: tuple[str, ...]) -> dict[str, str]:
    """``("dnc=dnc.txt", …)`` as ``{"dnc": "dnc.txt"}``; InputError naming a malformed one."""
    lists = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise InputError(f"--list takes NAME=FILE, not {value!r}")
        lists[name] = path
    return lists
