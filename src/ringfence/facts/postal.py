"""Where a postal code is (``to_postal_code``): a US ZIP code or a Canadian postal code, offline.

Dialers locate a callee by address first, because the law asks where the person is and an area
code may span zones (850 in Florida is Central and Eastern). A postal code gives:

- **US ZIP** (``32501`` or ``32501-1234``): its state and its IANA zone, from the ``zipcodes``
  package, which ships the USPS ZIP list with a zone per code inside the wheel (no download). A
  well-formed code it does not know (or knows with no zone, as military codes) is unknown: the
  callee is then located by the number, and the decision says so.
- **Canadian postal code** (``K1A 0B1``, ``k1a0b1``): the first letter of its forward sortation
  area names the province (``data/canada_postal_regions.csv``); the zones are all of that
  province's zones, since the code is not placed any closer.

A code of neither shape is an error naming ``to_postal_code``.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass

from ringfence.errors import CallError, excerpt
from ringfence.resources import data_path

_US_ZIP = re.compile(r"([0-9]{5})(?:-[0-9]{4})?", re.ASCII)
# Canada Post never uses D, F, I, O, Q or U, nor W or Z as the first letter.
_CA_POSTAL = re.compile(r"([ABCEGHJ-NPRSTVXY])[0-9][ABCEGHJ-NPRSTV-Z] ?[0-9][ABCEGHJ-NPRSTV-Z][0-9]",
                        re.ASCII)


@dataclass(frozen=True, slots=True)
class PostalPlace:
    """Where a postal code is: its country, its subdivision (None when the code does not
    determine it) and its candidate zones."""

    country: str
    region: str | None
    zones: tuple[str, ...]


@functools.cache
def _canadian() -> dict[str, PostalPlace]:
    with data_path("canada_postal_regions.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(line for line in fh if not line.startswith("#")))
    return {letter: PostalPlace("CA", region or None, tuple(zones.split()))
            for letter, region, zones in rows[1:]}


@functools.lru_cache(maxsize=65536)
def _us(zip5: str) -> PostalPlace | None:
    import zipcodes  # its data loads on first use (about 0.2 s): only when a call gives a ZIP

    # zipcodes ships a stub for its compiled module, not for the Python wrapper around it
    for found in zipcodes.matching(zip5):  # type: ignore[no-untyped-call]
        zone, state = found.get("timezone"), found.get("state")
        if zone and state:
            return PostalPlace("US", f"US-{state}", (zone,))
    return None


def locate_postal(code: str) -> PostalPlace | None:
    """Where ``code`` is; None for a well-formed code the data does not know.

    Raise :class:`~ringfence.errors.CallError` naming ``to_postal_code`` for a code that is
    neither a US ZIP code nor a Canadian postal code."""
    zip_code = _US_ZIP.fullmatch(code)
    if zip_code is not None:
        return _us(zip_code[1])
    canadian = _CA_POSTAL.fullmatch(code.upper())
    if canadian is not None:
        return _canadian()[canadian[1]]
    raise CallError("to_postal_code", f"{excerpt(code)} is neither a US ZIP code (32501 or "
                    "32501-1234) nor a Canadian postal code (K1A 0B1)")
