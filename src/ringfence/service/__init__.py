"""The decision service (``ringfence serve``): decisions and ledger facts over HTTP, every
decision in a hash-chained log."""
