"""Ringfence: policy-as-code for outbound calling compliance.

>>> import ringfence
>>> policies = ringfence.load("us-federal", "us-fl")
>>> decision = policies.decide({"to": "+13055550123", "at": "2026-06-15T21:30:00-04:00",
...                             "purpose": "marketing"})          # doctest: +SKIP
>>> decision.decision, decision.next_allowed_at                    # doctest: +SKIP
"""

from ringfence.api import PolicySet, load, load_library, shipped_ids
from ringfence.contract.decision import Decision, Finding, PolicyRef, RuleTrace
from ringfence.engine.explain import Explanation, PolicyReason, RuleReason
from ringfence.engine.ir import PolicyInfo, RuleInfo
from ringfence.errors import CallError, Diagnostic, InputError, PolicyError, RingfenceError
from ringfence.facts.callee import FactSource, NumberFacts, StandardFacts
from ringfence.facts.numberlist import NumberList

__all__ = [
    "CallError", "Decision", "Diagnostic", "Explanation", "FactSource", "Finding", "InputError",
    "Ledger", "NumberFacts", "NumberList", "PolicyError", "PolicyInfo", "PolicyReason", "PolicyRef",
    "PolicySet", "RingfenceError", "RuleInfo", "RuleReason", "RuleTrace", "StandardFacts", "load",
    "load_library", "shipped_ids",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The ledger pulls in SQLAlchemy and Alembic: imported when first named, so that
    # `import ringfence` (and every CLI command that needs no ledger) stays quick.
    if name == "Ledger":
        from ringfence.ledger import Ledger

        return Ledger
    raise AttributeError(f"module 'ringfence' has no attribute {name!r}")
