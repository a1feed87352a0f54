"""Types of the compiled list search (``_listsearch.c``); see ``listindex.py``."""

from collections.abc import Callable

class Finder:
    """Finds numbers in sorted int64 keys through a bucket directory; what is not ``+`` and
    ASCII digits goes to the reference searches ``contains`` and ``value``."""

    def __init__(self, keys: memoryview, bounds: memoryview, base: int, shift: int,
                 values: memoryview | None, missing: int, contains: Callable[[str], bool],
                 value: Callable[[str], int | None]) -> None: ...
    def contains(self, e164: str) -> bool:
        """Whether the number is a key."""
    def value(self, e164: str) -> int | None:
        """The value stored beside the number's key (``missing`` when the list stores none),
        None when it is not a key."""
