"""The compliance ledger: consents, revocations, opt-outs, complaints, attempts and list washes
kept per number, merged into calls and reserved atomically with decisions."""

from ringfence.ledger.merge import LedgerFacts, merge_call
from ringfence.ledger.store import Ledger, LedgerDecision

__all__ = ["Ledger", "LedgerDecision", "LedgerFacts", "merge_call"]
