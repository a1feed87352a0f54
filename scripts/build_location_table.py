"""Build the NANP location table into the cache folder ahead of the first call (an image build,
a deploy step), and print where it is: see ``src/ringfence/facts/locationtable.py``.

Run: ``python scripts/build_location_table.py`` (``RINGFENCE_CACHE_DIR`` chooses the folder).
"""

from __future__ import annotations

from ringfence.facts.locationtable import nanp_table, table_path


def main() -> None:
    table = nanp_table()
    print(f"{len(table.starts)} runs, {len(table.answers)} distinct answers: {table_path()}")


if __name__ == "__main__":
    main()
