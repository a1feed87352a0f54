"""Copying a runtime function's body into generated code answers as calling it does."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from ringfence.engine import runtime
from ringfence.engine.inliner import copy_in, known


def _copied(fn: Any, args: dict[str, Any], constant: tuple[str, ...]) -> tuple[str, Any]:
    """The copied lines of ``fn`` on ``args`` (those named in ``constant`` known when the
    code is written), and what they set ``target`` to."""
    names = itertools.count()
    namespace: dict[str, object] = {f"a_{k}": v for k, v in args.items()}

    def bind(name: str, value: object) -> str:  # a runtime global the body uses
        namespace[name] = value
        return name

    lines = copy_in(fn, [f"a_{k}" for k in args],
                    tuple(known(v) if k in constant else None for k, v in args.items()),
                    "target", lambda name: f"{name}_{next(names)}", bind)
    text = "\n".join(lines)
    exec(text, namespace)
    return text, namespace["target"]


@pytest.mark.parametrize("value", [None, "marketing", "research"])
@pytest.mark.parametrize("negated", [False, True])
def test_a_body_that_only_tests_and_returns_is_one_expression(value: str | None,
                                                              negated: bool) -> None:
    args: dict[str, Any] = {"value": value, "wanted": frozenset({"marketing"}), "negated": negated,
            "missing": set(), "name": "purpose"}
    text, answer = _copied(runtime.is_in, args, ("wanted", "negated", "name"))
    missing: set[str] = set()
    assert answer is runtime.is_in(value, args["wanted"], negated, missing, "purpose")
    assert args["missing"] == missing
    assert "while" not in text and "break" not in text and len(text.splitlines()) == 1


@pytest.mark.parametrize("history", [None, (), (90.0, 50.0, 99.0), (10.0,)])
def test_a_body_that_returns_from_a_branch_is_written_without_a_block(history: Any) -> None:
    args: dict[str, Any] = {"history_at": history, "t": 100.0, "seconds": 30, "op": runtime.OPERATORS[">="],
            "number": 2, "missing": set()}
    text, answer = _copied(runtime.count_recent, args, ("seconds", "number"))
    missing: set[str] = set()
    assert answer is runtime.count_recent(history, 100.0, 30, args["op"], 2, missing)
    assert args["missing"] == missing
    # what follows the `if ... return` is its else branch: no block to leave, no flag
    assert "while" not in text and "break" not in text and "done" not in text


RECORDS = [None, [], [("express", frozenset({"marketing"}), 10.0, None, None, None, None)],
           [("express", frozenset({"research"}), 10.0, None, None, None, None),
            ("express", frozenset({"marketing"}), 10.0, None, None, "acme", None)]]


@pytest.mark.parametrize("records", RECORDS)
@pytest.mark.parametrize("seller", [None, "acme", "other"])
def test_a_loop_that_returns_goes_on_in_its_else(records: Any, seller: str | None) -> None:
    args: dict[str, Any] = {"records": records, "t": 100.0, "kinds": frozenset({"express"}),
                            "purpose": "marketing", "missing": set(), "seller": seller,
                            "to": "+12125550101"}
    text, answer = _copied(runtime.has_consent, args, ("kinds", "purpose"))
    missing: set[str] = set()
    assert answer is runtime.has_consent(records, 100.0, frozenset({"express"}), "marketing",
                                         missing, seller, "+12125550101")
    assert args["missing"] == missing
    # the loop's return is a break, what followed the loop its else
    assert "else:" in text and "while" not in text and "done" not in text


def _breaks_or_returns(values: Any) -> bool | None:
    for value in values:
        if value < 0:
            break
        if value > 10:
            return True
    return False


@pytest.mark.parametrize("values", [(), (1, 20), (-1, 20), (1,)])
def test_a_loop_that_also_breaks_of_its_own_accord_still_leaves_a_block(values: Any) -> None:
    # its else could not tell its own break from a return: a block run once, left by a flag
    text, answer = _copied(_breaks_or_returns, {"values": values}, ())
    assert answer is _breaks_or_returns(values)
    assert "while True" in text and "done" in text


def test_a_literal_argument_is_written_in_place_unless_compared_by_identity() -> None:
    namespace: dict[str, object] = {"lists": None, "checked": {"dnc": "2026-06-01"},
                                    "slot": runtime.ListSlot(), "missing": set()}
    names = itertools.count()
    lines = copy_in(runtime.on_list, ["lists", "checked", "'dnc'", "slot", "'+12125550101'",
                                      "missing", "'lists.dnc'"], (None,) * 7, "target",
                    lambda name: f"{name}_{next(names)}", lambda name, value: name)
    text = "\n".join(lines)
    assert "'dnc' in checked" in text and "= 'dnc'" not in text
    exec(text, {**namespace, "unknown": runtime.unknown})

    compared = copy_in(_is, ["value", "'x'"], (None, None), "target", lambda name: f"{name}_0",
                       lambda name, value: name)
    assert compared[0] == "wanted_0 = 'x'"  # `value is 'x'` would not be Python to rely on
    found: dict[str, object] = {"value": "x"}
    exec(compile("\n".join(compared), "<copied>", "exec"), found)
    assert found["target"] is _is("x", "x")


def _is(value: object, wanted: object) -> bool:
    return value is wanted


def test_a_literal_argument_read_in_an_f_string_is_bound_to_a_local() -> None:
    # written in place, 'x' would end the f-string f'... {'x'} ...' on Python 3.11
    lines = copy_in(_says, ["'x'"], (None,), "target", lambda name: f"{name}_0",
                    lambda name, value: name)
    assert lines[0] == "name_0 = 'x'"
    found: dict[str, object] = {}
    exec(compile("\n".join(lines), "<copied>", "exec"), found)
    assert found["target"] == _says("x")


def _says(name: str) -> str:
    return f'the call does not give {name}'
