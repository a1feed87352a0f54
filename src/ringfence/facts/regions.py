"""Region codes a call may give (``to_region``): which exist, and which name the same place as
the number's country.

ISO 3166 through ``pycountry``: a country (ISO 3166-1 alpha-2, ``US``) or a subdivision
(ISO 3166-2, ``US-FL``). Some places have both a country code and a subdivision code of another
country (Puerto Rico is ``PR`` and ``US-PR``; Guadeloupe is ``GP`` and ``FR-971``); a number
from such a place and a region naming it or its parent country agree.
"""

from __future__ import annotations

import functools

# pycountry's lookups are untyped; they return a record or None.
# mypy: disable-error-code="no-untyped-call"


@functools.cache
def region_exists(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 country or an ISO 3166-2 subdivision."""
    import pycountry  # its tables load on first use (about 0.3 s): only when a call names a region

    if "-" in code:
        return pycountry.subdivisions.get(code=code) is not None
    return pycountry.countries.get(alpha_2=code) is not None


@functools.cache
def _names(country: str) -> frozenset[str]:
    """The names of a country, for matching the subdivision that is the same place."""
    import pycountry

    found = pycountry.countries.get(alpha_2=country)
    if found is None:
        return frozenset()
    return frozenset(str(getattr(found, key)) for key in ("name", "official_name", "common_name")
                     if hasattr(found, key))


@functools.cache
def same_place(region: str, country: str) -> bool:
    """Whether the given region code and the number's country can name the same place: the
    same country, a subdivision of it, or a place that is both a country and a subdivision of
    another (``US-PR`` or ``US`` for a Puerto Rico number)."""
    import pycountry

    parent = region[:2]
    if parent == country or region[3:] == country:
        return True
    if region == parent and pycountry.subdivisions.get(code=f"{parent}-{country}") is not None:
        return True  # US for a Puerto Rico number (US-PR)
    subdivisions = pycountry.subdivisions.get(country_code=parent) or ()
    names = _names(country)
    # the number's country is an overseas part of the given country (or of its subdivision)
    return any(s.name in names and (region == parent or region == s.code) for s in subdivisions)


@functools.cache
def region_name(code: str) -> str | None:
    """The ISO 3166 name of a country or subdivision code (``US-FL`` -> ``Florida``), or None."""
    import pycountry

    if "-" in code:
        place = pycountry.subdivisions.get(code=code)
        return None if place is None else str(place.name)
    country = pycountry.countries.get(alpha_2=code)
    return None if country is None else str(country.name)
