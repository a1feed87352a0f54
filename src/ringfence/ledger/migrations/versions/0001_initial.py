"""The first ledger schema: consents, revocations, complaints, opt-outs, attempts, washes.

Revision ID: 0001
Revises:
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _common(name: str, *columns: sa.Column[Any], number: bool = True) -> None:
    head = [sa.Column("id", sa.String(36), primary_key=True)]
    if number:
        head.append(sa.Column("number_key", sa.String(80), nullable=False))
    op.create_table(name, *head, *columns,
                    sa.Column("recorded_at", sa.BigInteger, nullable=False))
    if number:
        op.create_index(f"ix_{name}_number_key", name, ["number_key"])


def upgrade() -> None:
    _common("consents",
            sa.Column("type", sa.String(32), nullable=False),
            sa.Column("purposes", sa.JSON, nullable=False),
            sa.Column("seller", sa.String(200)),
            sa.Column("campaign", sa.String(200)),
            sa.Column("evidence_recording_id", sa.String(200)),
            sa.Column("evidence_form_url", sa.Text),
            sa.Column("evidence_document_hash", sa.String(200)),
            sa.Column("given_at", sa.BigInteger, nullable=False),
            sa.Column("expires_at", sa.BigInteger))
    _common("revocations",
            sa.Column("purposes", sa.JSON),
            sa.Column("channel", sa.String(200), nullable=False),
            sa.Column("at", sa.BigInteger, nullable=False))
    _common("complaints",
            sa.Column("channel", sa.String(200), nullable=False),
            sa.Column("received_at", sa.BigInteger, nullable=False),
            sa.Column("details", sa.Text))
    _common("opt_outs",
            sa.Column("channel", sa.String(200), nullable=False),
            sa.Column("purposes", sa.JSON),
            sa.Column("seller", sa.String(200)),
            sa.Column("campaign", sa.String(200)),
            sa.Column("received_at", sa.BigInteger, nullable=False),
            sa.Column("complaint_id", sa.String(36)))
    _common("attempts",
            sa.Column("at", sa.BigInteger, nullable=False),
            sa.Column("outcome", sa.String(32)),
            sa.Column("campaign", sa.String(200)),
            sa.Column("subject", sa.String(200)),
            sa.Column("purpose", sa.String(200)),
            sa.Column("agent", sa.String(200)),
            sa.Column("dialer", sa.String(200)),
            sa.Column("decision_id", sa.String(36)),
            sa.Column("reported_at", sa.BigInteger))
    op.create_index("ix_attempts_number_at", "attempts", ["number_key", "at"])
    _common("washes",
            sa.Column("list_name", sa.String(200), nullable=False),
            sa.Column("obtained_at", sa.BigInteger, nullable=False),
            sa.Column("content_hash", sa.String(200)),
            number=False)
    op.create_index("ix_washes_list_name", "washes", ["list_name"])


def downgrade() -> None:
    for name in ("washes", "attempts", "opt_outs", "complaints", "revocations", "consents"):
        op.drop_table(name)
