"""Copy a runtime function's body into generated code, in place of a call to it.

The generated function (:mod:`.pygen`) runs for every call; a Python call per condition is a
large share of its cost. A runtime function marked hot (:data:`.runtime.HOT`) is therefore
copied in: its parameters bound to the argument expressions, its locals renamed apart, and each
``return X`` turned into ``TARGET = X`` and a jump out of a ``while True`` block run once. The
semantics stays written once, in the runtime; this only changes how it is reached.

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


@dataclass(frozen=True)
class _Template:
    """A function's body as source, written once: parameters, locals, the target and the done
    flag stand as placeholders (``__p0__``, ``__l0__``, ``__target__``, ``__done__``)."""

    params: tuple[str, ...]
    stored: frozenset[str]  # the parameters the body assigns to
    locals: tuple[str, ...]
    globals: tuple[str, ...]
    text: str
    flagged: bool  # whether it uses the done flag (more than a single return)


@functools.cache
def _template(fn: Callable[..., Any]) -> _Template:
    params, statements = body(fn)
    stored = {n.id for s in statements for n in ast.walk(s)
              if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    local_names = tuple(sorted(stored - set(params)))
    names = {p: f"__p{i}__" for i, p in enumerate(params)}
    names.update({n: f"__l{i}__" for i, n in enumerate(local_names)})
    used = {n.id for s in statements for n in ast.walk(s) if isinstance(n, ast.Name)}
    global_names = tuple(sorted(n for n in used - names.keys() if not hasattr(builtins, n)))
    if len(statements) == 1 and isinstance(statements[0], ast.Return) and statements[0].value:
        value = _Rewrite(names, "__target__", "").visit(copy.deepcopy(statements[0].value))
        text, flagged = f"__target__ = {ast.unparse(value)}", False
    else:
        rewrite = _Rewrite(names, "__target__", "__done__")
        block: list[ast.stmt] = []
        for statement in copy.deepcopy(statements):
            result = rewrite.visit(statement)
            block.extend(result if isinstance(result, list) else [result])
        # falling off the end returns None
        block += [ast.Assign([ast.Name("__target__", ast.Store())], ast.Constant(None)),
                  ast.Break()]
        wrapper = ast.fix_missing_locations(ast.While(ast.Constant(True), block, []))
        text, flagged = "__done__ = False\n" + ast.unparse(wrapper), True
    return _Template(params, frozenset(stored & set(params)), local_names, global_names, text,
                     flagged)


_PLACEHOLDER = re.compile(r"__(?:p\d+|l\d+|target|done)__")


def copy_in(fn: Callable[..., Any], args: list[str], target: str, fresh: Callable[[str], str],
            bind: Callable[[str, object], str]) -> list[str]:
    """Lines that set ``target`` to ``fn(*args)``, with ``fn``'s body copied in.

    ``args`` are expressions; ``fresh(name)`` gives an unused local name; ``bind(name, value)``
    makes a global of ``fn`` (another runtime function, a module) visible to the code.
    """
    template = _template(fn)
    names = {"__target__": target}
    lines: list[str] = []
    for i, (param, arg) in enumerate(zip(template.params, args, strict=True)):
        if param not in template.stored and (arg.isidentifier() or arg in _SINGLETONS):
            names[f"__p{i}__"] = arg
        else:  # evaluated once, as a call would, and never compared by identity as a literal
            names[f"__p{i}__"] = fresh(param)
            lines.append(f"{names[f'__p{i}__']} = {arg}")
    for i, name in enumerate(template.locals):
        names[f"__l{i}__"] = fresh(name)
    if template.flagged:
        names["__done__"] = fresh("done")
    for name in template.globals:
        bind(name, fn.__globals__[name])
    text = _PLACEHOLDER.sub(lambda m: names[m.group()], template.text)
    return [*lines, *text.splitlines()]
