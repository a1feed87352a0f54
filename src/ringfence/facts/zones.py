"""IANA time zones by name, for calls (``to_timezone``) and policies (``in zone``) alike."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The longest IANA name is about 30 characters; a longer one is no zone (and would reach the file
# system as a name too long for it).
MAX_NAME = 64


def load_zone(name: str) -> ZoneInfo:
    """The zone called ``name``; ValueError when there is none.

    ``zoneinfo`` looks names up as files, so a name may also fail as a folder ("America"), as a
    path too long, or as a file that is not a zone: each is simply not a known zone.
    """
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"no time zone has a name of {len(name)} characters")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as err:
        raise ValueError(f"no time zone is called {name!r}") from err
