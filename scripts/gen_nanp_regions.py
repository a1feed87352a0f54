"""Regenerate ``src/ringfence/data/nanp_regions.csv``: NANP area code -> ISO 3166-2 subdivision.

Source: the geocoding data of libphonenumber (Python port ``phonenumbers``), whose 4-digit
prefixes ``1NPA`` name the state or province of each geographic area code; names are turned into
ISO 3166-2 codes with the subdivision names of the ``holidays`` package. Area codes that serve
several provinces (867: NT/NU/YT; 782/902: NS/PE) are left out: their region is not determined by
the number. Run: ``python scripts/gen_nanp_regions.py``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import phonenumbers
import phonenumbers.geodata as geodata
from holidays.countries.canada import CA
from holidays.countries.united_states import US

OUT = Path(__file__).resolve().parent.parent / "src" / "ringfence" / "data" / "nanp_regions.csv"
# Names in the geocoding data that are not subdivision names as such.
SPECIAL = {"Washington State": "US-WA", "Washington D.C.": "US-DC", "British Colombia": "CA-BC"}


def main() -> None:
    names = {name: f"US-{code}" for name, code in US.subdivisions_aliases.items()}
    names.update({name: f"CA-{code}" for name, code in CA.subdivisions_aliases.items()})
    names.update(SPECIAL)
    rows = []
    for prefix, described in sorted(geodata.GEOCODE_DATA.items()):
        if not (prefix.startswith("1") and len(prefix) == 4):
            continue
        text = described["en"]
        region = names.get(text)
        if region is None and ", " in text:  # "New York, NY"
            abbr = text.rsplit(", ", 1)[1]
            country = phonenumbers.region_code_for_number(phonenumbers.parse(f"+{prefix}2345678"))
            region = f"{country}-{abbr}" if country in ("US", "CA") else None
        if region is not None:
            rows.append((prefix[1:], region, text))
    with OUT.open("w", newline="", encoding="utf-8") as fh:
        fh.write(f"# NANP area code to ISO 3166-2, from libphonenumber geocoding data "
                 f"(phonenumbers {phonenumbers.__version__}); see scripts/gen_nanp_regions.py\n")
        writer = csv.writer(fh)
        writer.writerow(["area_code", "region", "geocoder_name"])
        writer.writerows(rows)
    print(f"{len(rows)} area codes written to {OUT}")


if __name__ == "__main__":
    main()
