"""Copy a runtime function's body into generated code, in place of a call to it.

The generated function (:mod:`.pygen`) runs for every call; a Python call per condition is a
large share of its cost. A runtime function marked hot (:data:`.runtime.HOT`) is therefore
copied in: its parameters bound to the argument expressions, its locals renamed apart, and each
``return X`` turned into ``TARGET = X`` and a jump out of a ``while True`` block run once. What
the constant arguments decide (``purpose is None`` for a purpose the policy names, an
``inclusive`` flag) is folded away (:class:`_Fold`). The semantics stays written once, in the
runtime; this only changes how it is reached.

The functions it takes are plain: statements, loops and conditionals, no nested functions,
``try``, ``with``, ``yield``, ``global`` or ``nonlocal`` (:func:`body` refuses the rest).
"""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_REFUSED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Try, ast.With,
            ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal, ast.Delete, ast.Await)
_SINGLETONS = frozenset({"True", "False", "None"})


@functools.cache
def body(fn: Callable[..., Any]) -> tuple[tuple[str, ...], tuple[ast.stmt, ...]]:
    """(parameter names, statements) of ``fn``, its docstring left out; ValueError when it is
    not plain enough to copy."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    (definition,) = tree.body
    if not isinstance(definition, ast.FunctionDef):
        raise ValueError(f"{fn.__name__} is not a plain function")
    statements = list(definition.body)
    if statements and isinstance(statements[0], ast.Expr) \
            and isinstance(statements[0].value, ast.Constant):
        statements = statements[1:]  # the docstring
    for node in ast.walk(ast.Module(body=statements, type_ignores=[])):
        if isinstance(node, _REFUSED):
            raise ValueError(f"{fn.__name__} cannot be copied in: {type(node).__name__}")
    return tuple(a.arg for a in definition.args.args), tuple(statements)


def _contains_return(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Return) for n in ast.walk(node))


class _Rewrite(ast.NodeTransformer):
    """Renames locals and parameters; turns returns into an assignment and a jump."""

    def __init__(self, names: dict[str, str], target: str, done: str):
        self.names = names
        self.target = target
        self.done = done

    def visit_Name(self, node: ast.Name) -> ast.Name:
        found = self.names.get(node.id)
        return node if found is None else ast.Name(found, node.ctx)

    def visit_Return(self, node: ast.Return) -> list[ast.stmt]:
        value = self.visit(node.value) if node.value is not None else ast.Constant(None)
        return [ast.Assign([ast.Name(self.target, ast.Store())], value),
                ast.Assign([ast.Name(self.done, ast.Store())], ast.Constant(True)), ast.Break()]

    def _loop(self, node: ast.For | ast.While) -> list[ast.stmt]:
        had_return = _contains_return(node)
        self.generic_visit(node)
        if not had_return:
            return [node]
        # a return inside the loop left the loop only: leave the enclosing block as well
        return [node, ast.If(ast.Name(self.done, ast.Load()), [ast.Break()], [])]

    def visit_For(self, node: ast.For) -> list[ast.stmt]:
        return self._loop(node)

    def visit_While(self, node: ast.While) -> list[ast.stmt]:
        return self._loop(node)


# What is known, at generation time, of a parameter bound to a constant: None, a boolean, or
# "some value other than None".
Known = tuple[str, object]
NONE: Known = ("none", None)
SOME: Known = ("some", None)


def known(value: object) -> Known:
    """What the folding may rely on for a constant argument."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return ("bool", value)
    return SOME


class _Fold(ast.NodeTransformer):
    """Folds what the constant arguments decide: ``p is None``, a boolean ``p``, and the
    ``and``/``or``/``not``/``if`` they leave constant, dropping branches never taken."""

    def __init__(self, facts: dict[str, Known]):
        self.facts = facts

    def visit_Name(self, node: ast.Name) -> ast.expr:
        fact = self.facts.get(node.id)
        if fact is not None and isinstance(node.ctx, ast.Load) and fact[0] in ("none", "bool"):
            value: Any = fact[1]  # None or a boolean
            return ast.Constant(value)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        if len(node.ops) == 1 and isinstance(node.ops[0], ast.Is | ast.IsNot) \
                and isinstance(node.comparators[0], ast.Constant) \
                and node.comparators[0].value is None:
            left = node.left
            if isinstance(left, ast.Constant):
                is_none = left.value is None
            elif isinstance(left, ast.Name) and self.facts.get(left.id) == SOME:
                is_none = False
            else:
                return node
            return ast.Constant(is_none if isinstance(node.ops[0], ast.Is) else not is_none)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.expr:
        self.generic_visit(node)
        decisive = isinstance(node.op, ast.Or)  # a truthy operand decides "or", a falsy "and"
        values: list[ast.expr] = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                if bool(value.value) is decisive:
                    if not values:
                        return value  # decided before any operand that could run
                    values.append(value)
                    break
                if value is not node.values[-1]:
                    continue  # passed over: the next operand's value is the result
            values.append(value)
        if len(values) == 1:
            return values[0]
        node.values = values
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Constant):
            return ast.Constant(not node.operand.value)
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return node.body if node.test.value else node.orelse
        return node

    def visit_If(self, node: ast.If) -> Any:
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return (node.body if node.test.value else node.orelse) or [ast.Pass()]
        return node


_JUMPS = (ast.Return, ast.Break, ast.Continue, ast.Raise)


def _reachable(statements: list[ast.stmt]) -> list[ast.stmt]:
    """The statements up to the first jump (what folding a branch away can leave behind it),
    with the blocks inside them pruned the same way."""
    kept: list[ast.stmt] = []
    for statement in statements:
        if isinstance(statement, ast.Pass):
            continue  # what a branch folded away leaves: a statement to run for nothing
        for name in ("body", "orelse"):
            block = getattr(statement, name, None)
            if isinstance(block, list) and block:
                setattr(statement, name, _reachable(block))
        kept.append(statement)
        if isinstance(statement, _JUMPS):
            break
    return kept or [ast.Pass()]


def _expression(statements: list[ast.stmt]) -> ast.expr | None:
    """The answer of statements that only test and return (``if A: return X`` ...
    ``return Y``) as one conditional expression (``X if A else Y``), which needs no jump out
    of a block; None for any other statements."""
    if not statements:
        return None
    first, rest = statements[0], statements[1:]
    if isinstance(first, ast.Return):
        return first.value if first.value is not None and not rest else None
    if not isinstance(first, ast.If):
        return None
    then, otherwise = _expression(first.body), _expression(first.orelse + rest)
    if then is None or otherwise is None:
        return None
    return ast.IfExp(first.test, then, otherwise)


def _jumps(statements: list[ast.stmt]) -> bool:
    """Whether ``statements`` always leave by a return or a raise (never fall off their end)."""
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, ast.Return | ast.Raise):
        return True
    return isinstance(last, ast.If) and _jumps(last.body) and _jumps(last.orelse)


def _answer(value: ast.expr | None) -> ast.stmt:
    return ast.Assign([ast.Name("__target__", ast.Store())],
                      value if value is not None else ast.Constant(None))


def _breaking(statements: list[ast.stmt]) -> list[ast.stmt] | None:
    """A loop's body with each ``return X`` turned into ``__target__ = X`` and a ``break``;
    None when the loop breaks of its own accord (its ``else`` could not tell the two apart) or
    returns from a loop inside it."""
    out: list[ast.stmt] = []
    for statement in statements:
        if isinstance(statement, ast.Return):
            out += [_answer(statement.value), ast.Break()]
        elif isinstance(statement, ast.Break):
            return None
        elif isinstance(statement, ast.For | ast.While):
            if _contains_return(statement):
                return None
            out.append(statement)
        elif isinstance(statement, ast.If):
            body, orelse = _breaking(statement.body), _breaking(statement.orelse)
            if body is None or orelse is None:
                return None
            out.append(ast.If(statement.test, body, orelse))
        elif _contains_return(statement):
            return None
        else:
            out.append(statement)
    return out


def _structured(statements: list[ast.stmt]) -> list[ast.stmt] | None:
    """Statements that set ``__target__`` to what ``statements`` return and then fall off
    their end, with no block to leave: what follows an ``if`` that returns moves into its other
    branch, what follows a loop that returns into the loop's ``else`` (run when the loop ends
    without a break). None where that cannot be done (a branch that only sometimes returns, a
    loop that breaks of its own accord)."""
    out: list[ast.stmt] = []
    for at, statement in enumerate(statements):
        rest = statements[at + 1:]
        if isinstance(statement, ast.Return):
            return [*out, _answer(statement.value)]
        if isinstance(statement, ast.Raise):
            return [*out, statement]
        if not _contains_return(statement):
            out.append(statement)
            continue
        if isinstance(statement, ast.If):
            if _jumps(statement.body):
                body, orelse = _structured(statement.body), _structured(statement.orelse + rest)
            elif _jumps(statement.orelse):
                body, orelse = _structured(statement.body + rest), _structured(statement.orelse)
            else:
                return None
            if body is None or orelse is None:
                return None
            return [*out, ast.If(statement.test, body, orelse)]
        if isinstance(statement, ast.For | ast.While) and not statement.orelse:
            loop_body, after = _breaking(statement.body), _structured(rest)
            if loop_body is None or after is None:
                return None
            loop = copy.copy(statement)
            loop.body, loop.orelse = loop_body, after
            return [*out, loop]
        return None
    return [*out, _answer(None)]  # falling off the end returns None


@dataclass(frozen=True)
class _Template:
    """A function's body as source, written once: parameters, locals, the target and the done
    flag stand as placeholders (``__p0__``, ``__l0__``, ``__target__``, ``__done__``)."""

    params: tuple[str, ...]
    stored: frozenset[str]  # the parameters the body assigns to
    # the parameters no literal may stand in for: compared by identity (is, is not), or read
    # in an f-string's braces, where a string literal's quotes could end the f-string (3.11)
    unwritten: frozenset[str]
    locals: tuple[str, ...]
    globals: tuple[str, ...]
    text: str
    flagged: bool  # whether it uses the done flag (more than a single return)


@functools.cache
def _template(fn: Callable[..., Any], facts: tuple[Known | None, ...]) -> _Template:
    params, original = body(fn)
    assigned = {n.id for s in original for n in ast.walk(s)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    # a parameter the body assigns to is not constant: nothing is folded on it
    folding = _Fold({p: f for p, f in zip(params, facts, strict=True)
                     if f is not None and p not in assigned})
    statements: list[ast.stmt] = []
    for statement in copy.deepcopy(original):
        folded = folding.visit(statement)
        statements.extend(folded if isinstance(folded, list) else [folded])
    statements = _reachable(statements)
    stored = {n.id for s in statements for n in ast.walk(s)
              if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    local_names = tuple(sorted(stored - set(params)))
    # before the names are replaced below
    compared = {n.id for s in statements for c in ast.walk(s)
                if isinstance(c, ast.Compare) and any(isinstance(o, ast.Is | ast.IsNot) for o in c.ops)
                for n in (c.left, *c.comparators) if isinstance(n, ast.Name)}
    formatted = {n.id for s in statements for f in ast.walk(s) if isinstance(f, ast.JoinedStr)
                 for n in ast.walk(f) if isinstance(n, ast.Name)}
    names = {p: f"__p{i}__" for i, p in enumerate(params)}
    names.update({n: f"__l{i}__" for i, n in enumerate(local_names)})
    used = {n.id for s in statements for n in ast.walk(s) if isinstance(n, ast.Name)}
    global_names = tuple(sorted(n for n in used - names.keys() if not hasattr(builtins, n)))
    expression = _expression(statements)
    structured = None if expression is not None else _structured(statements)
    if expression is not None:
        value = _Rewrite(names, "__target__", "").visit(expression)
        text, flagged = f"__target__ = {ast.unparse(value)}", False
    elif structured is not None:
        rename = _Rewrite(names, "__target__", "")  # no return is left for it to rewrite
        module = ast.fix_missing_locations(
            ast.Module([rename.visit(s) for s in structured], type_ignores=[]))
        text, flagged = ast.unparse(module), False
    else:
        rewrite = _Rewrite(names, "__target__", "__done__")
        block: list[ast.stmt] = []
        for statement in statements:
            result = rewrite.visit(statement)
            block.extend(result if isinstance(result, list) else [result])
        if not isinstance(statements[-1], _JUMPS):  # falling off the end returns None
            block += [ast.Assign([ast.Name("__target__", ast.Store())], ast.Constant(None)),
                      ast.Break()]
        wrapper = ast.fix_missing_locations(ast.While(ast.Constant(True), block, []))
        text, flagged = "__done__ = False\n" + ast.unparse(wrapper), True
    return _Template(params, frozenset(stored & set(params)),
                     frozenset((compared | formatted) & set(params)), local_names, global_names,
                     text, flagged)


def _literal(text: str) -> bool:
    """Whether ``text`` is a string or number literal (written in place of its parameter)."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return False
    return isinstance(node, ast.Constant) and type(node.value) in (str, int, float)


_PLACEHOLDER = re.compile(r"__(?:p\d+|l\d+|target|done)__")


def copy_in(fn: Callable[..., Any], args: list[str], facts: tuple[Known | None, ...],
            target: str, fresh: Callable[[str], str],
            bind: Callable[[str, object], str]) -> list[str]:
    """Lines that set ``target`` to ``fn(*args)``, with ``fn``'s body copied in.

    ``args`` are expressions; ``facts`` what is known of each (:func:`known` for a constant,
    None for a value read per judgement), which folds the branches it decides; ``fresh(name)``
    gives a local name no other code of the copy uses (distinct names give distinct ones);
    ``bind(name, value)`` makes a global of ``fn`` (another runtime function, a module) visible
    to the code.
    """
    template = _template(fn, facts)
    names = {"__target__": target}
    lines: list[str] = []
    for i, (param, arg) in enumerate(zip(template.params, args, strict=True)):
        if param not in template.stored and (arg.isidentifier() or arg in _SINGLETONS or (
                param not in template.unwritten and _literal(arg))):
            names[f"__p{i}__"] = arg
        else:  # evaluated once, as a call would; never a literal where it may not stand
            names[f"__p{i}__"] = fresh(param)
            lines.append(f"{names[f'__p{i}__']} = {arg}")
    for i, name in enumerate(template.locals):
        names[f"__l{i}__"] = fresh(name)
    if template.flagged:
        flag, taken = "done", {*template.params, *template.locals}
        while flag in taken:  # named apart from the body's own names
            flag += "_"
        names["__done__"] = fresh(flag)
    for name in template.globals:
        bind(name, fn.__globals__[name])
    text = _PLACEHOLDER.sub(lambda m: names[m.group()], template.text)
    return [*lines, *text.splitlines()]
