"""The syntax tree of a policy: frozen dataclasses, each with the span it came from.

Each node class names the grammar rules it is built from and builds itself from them
(:mod:`.base`); conditions print themselves back to text. Laid out as: literals and durations
(:mod:`.values`), conditions (:mod:`.conditions`), calling windows (:mod:`.windows`), clauses,
rules and policies (:mod:`.clauses`).
"""

from ringfence.language.nodes import calendars, conditions
from ringfence.language.nodes.base import Builder, Condition, Node, builder_for, syntax
from ringfence.language.nodes.calendars import *  # noqa: F403  (calendars.__all__)
from ringfence.language.nodes.clauses import (
    AllowOnly,
    AppliesTo,
    Changelog,
    Cite,
    Clause,
    DenyIf,
    Disclaimer,
    Effect,
    Effective,
    Exclude,
    HeaderClause,
    Include,
    Level,
    Message,
    Note,
    Policy,
    Require,
    Reviewed,
    Rule,
    RuleClause,
    Source,
    Status,
    Unless,
    Url,
    UsesLists,
    UsesPurposes,
    Verification,
    Version,
    When,
)
from ringfence.language.nodes.conditions import *  # noqa: F403  (conditions.__all__)
from ringfence.language.nodes.values import Age, Duration, FieldRef, Value, quoted
from ringfence.language.nodes.windows import (
    WEEKDAYS,
    Closed,
    DayHours,
    Interval,
    TimeOfDay,
    Window,
    WindowPart,
    ZoneSpec,
)

__all__ = [
    "WEEKDAYS", "Age", "AllowOnly", "AppliesTo", "Builder", "Changelog", "Cite", "Clause", "Closed",
    "Condition", "DayHours", "DenyIf", "Disclaimer", "Duration", "Effect", "Effective", "Exclude",
    "FieldRef", "HeaderClause", "Include", "Interval", "Level", "Message", "Node", "Note", "Policy",
    "Require", "Reviewed", "Rule", "RuleClause", "Source", "Status", "TimeOfDay", "Unless", "Url",
    "UsesLists", "UsesPurposes", "Value", "Verification", "Version", "When", "Window", "WindowPart",
    "ZoneSpec", "builder_for", "quoted", "syntax",
]
__all__ += conditions.__all__ + calendars.__all__
