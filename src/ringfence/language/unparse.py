"""Syntax-tree pieces back to canonical policy text, as explain quotes them.

The nodes print themselves (:meth:`nodes.Condition.unparse`, :meth:`nodes.Window.lines`); these
are the entry points the engine calls.
"""

from __future__ import annotations

from ringfence.language import nodes


def condition(node: nodes.Condition) -> str:
    """Canonical text of a condition; parentheses only where precedence needs them."""
    return node.unparse()


def window_lines(window: nodes.Window) -> list[str]:
    """The lines of a window, one per part (hours lines, then closed days, then the clock)."""
    return window.lines()
