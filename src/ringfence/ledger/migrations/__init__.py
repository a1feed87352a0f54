"""Alembic revisions of the ledger schema; run forward by :func:`ringfence.ledger.db.migrate`."""
