"""The ledger's tables (SQLAlchemy Core), as the newest Alembic revision leaves them.

Every instant is an integer of epoch microseconds (see :mod:`ringfence.ledger.times`). A number
is kept as its ``number_key``: the E.164 text, or ``hmac:<hex>`` when a key is configured (see
:meth:`ringfence.ledger.store.Ledger.number_keys`). Purposes are JSON lists; NULL means every
purpose. Changing a table here needs a new revision in ``migrations/versions``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

_ID = 36       # uuid4 text
_KEY = 80      # "+" and 15 digits, or "hmac:" and 64 hex digits
_NAME = 200


def _id() -> sa.Column[Any]:
    return sa.Column("id", sa.String(_ID), primary_key=True)


def _number() -> sa.Column[Any]:
    return sa.Column("number_key", sa.String(_KEY), nullable=False, index=True)


def _recorded() -> sa.Column[Any]:
    return sa.Column("recorded_at", sa.BigInteger, nullable=False)


consents = sa.Table(
    "consents", metadata, _id(), _number(),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("purposes", sa.JSON, nullable=False),
    sa.Column("seller", sa.String(_NAME)),
    sa.Column("campaign", sa.String(_NAME)),
    sa.Column("evidence_recording_id", sa.String(_NAME)),
    sa.Column("evidence_form_url", sa.Text),
    sa.Column("evidence_document_hash", sa.String(_NAME)),
    sa.Column("given_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger),
    _recorded(),
)

revocations = sa.Table(
    "revocations", metadata, _id(), _number(),
    sa.Column("purposes", sa.JSON),
    sa.Column("channel", sa.String(_NAME), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    _recorded(),
)

complaints = sa.Table(
    "complaints", metadata, _id(), _number(),
    sa.Column("channel", sa.String(_NAME), nullable=False),
    sa.Column("received_at", sa.BigInteger, nullable=False),
    sa.Column("details", sa.Text),
    _recorded(),
)

opt_outs = sa.Table(
    "opt_outs", metadata, _id(), _number(),
    sa.Column("channel", sa.String(_NAME), nullable=False),
    sa.Column("purposes", sa.JSON),
    sa.Column("seller", sa.String(_NAME)),
    sa.Column("campaign", sa.String(_NAME)),
    sa.Column("received_at", sa.BigInteger, nullable=False),
    sa.Column("complaint_id", sa.String(_ID)),
    _recorded(),
)

attempts = sa.Table(
    "attempts", metadata, _id(), _number(),
    sa.Column("at", sa.BigInteger, nullable=False),
    # NULL while pending: a reservation whose outcome the dialer has not reported yet.
    sa.Column("outcome", sa.String(32)),
    sa.Column("campaign", sa.String(_NAME)),
    sa.Column("subject", sa.String(_NAME)),
    sa.Column("purpose", sa.String(_NAME)),
    sa.Column("agent", sa.String(_NAME)),
    sa.Column("dialer", sa.String(_NAME)),
    sa.Column("decision_id", sa.String(_ID)),
    _recorded(),
    sa.Column("reported_at", sa.BigInteger),
    sa.Index("ix_attempts_number_at", "number_key", "at"),
)

washes = sa.Table(
    "washes", metadata, _id(),
    sa.Column("list_name", sa.String(_NAME), nullable=False, index=True),
    sa.Column("obtained_at", sa.BigInteger, nullable=False),
    sa.Column("content_hash", sa.String(_NAME)),
    _recorded(),
)
