"""Ringfence: policy-as-code for outbound calling compliance.

>>> import ringfence
>>> policies = ringfence.load("us-federal", "us-fl")
>>> decision = policies.decide({"to": "+13055550123", "at": "2026-06-15T21:30:00-04:00",
...                             "purpose": "marketing"})          # doctest: +SKIP
>>> decision.decision, decision.next_allowed_at                    # doctest: +SKIP
"""

from ringfence.api import PolicySet, load, load_library, shipped_ids
from ringfence.contract.decision import Decision, Finding, PolicyRef, RuleTrace
from ringfence.engine.ir import PolicyInfo, RuleInfo
from ringfence.errors import CallError, Diagnostic, InputError, PolicyError, RingfenceError
from ringfence.facts.callee import FactSource, NumberFacts, StandardFacts
from ringfence.facts.numberlist import NumberList

__all__ = [
    "CallError", "Decision", "Diagnostic", "FactSource", "Finding", "InputError", "NumberFacts",
    "NumberList", "PolicyError", "PolicyInfo", "PolicyRef", "PolicySet", "RingfenceError",
    "RuleInfo", "RuleTrace", "StandardFacts", "load", "load_library", "shipped_ids",
]
__version__ = "0.1.0"
