"""YAML loading that keeps the line of every mapping key and sequence item.

Policy test suites are written by people, so every error must point at a line. PyYAML's composer
already knows where each node starts; this loader keeps those marks on the objects it builds:
mappings become :class:`MDict` (``key_lines`` maps each key to its 1-based line) and sequences
become :class:`MList` (``item_lines`` holds one line per item). Both are ordinary ``dict``/``list``
subclasses, so JSON Schema validation and merging treat them as plain containers.

Timestamps are deliberately *not* converted to ``datetime``: the call contract wants RFC 3339
strings, and relative times such as ``now-2h`` must stay strings until the runner resolves them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.error import Mark
from yaml.events import AliasEvent, NodeEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class MDict(dict[Any, Any]):
    """A mapping read from YAML that remembers the line of itself and of each key."""

    line: int
    key_lines: dict[Any, int]

    def __init__(self, *args: Any, line: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = line
        self.key_lines = {}


class MList(list[Any]):
    """A sequence read from YAML that remembers the line of itself and of each item."""

    line: int
    item_lines: list[int]

    def __init__(self, items: Iterable[Any] = (), line: int = 0) -> None:
        super().__init__(items)
        self.line = line
        self.item_lines = []


class YamlError(Exception):
    """The file is not well-formed YAML (or not what a suite can be)."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")
        self.file = file
        self.line = line
        self.message = message


# Limits that keep a small hostile file small. Aliases let a 650-byte file name a billion values
# ("billion laughs"), and every later step (schema check, merge, copies) would walk them all; deep
# nesting would exhaust Python's stack. A written suite is far below both (the largest shipped one
# holds about 2,000 values, nested 6 deep).
MAX_VALUES = 200_000
MAX_DEPTH = 64


def _expanded_size(node: Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for with every alias inside it written out."""
    found = sizes.get(id(node))
    if found is None:
        if isinstance(node, MappingNode):
            found = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes)
                            for k, v in node.value)
        elif isinstance(node, SequenceNode):
            found = 1 + sum(_expanded_size(item, sizes) for item in node.value)
        else:
            found = 1
        sizes[id(node)] = found
    return found


class _MarkedLoader(yaml.SafeLoader):
    """SafeLoader that builds MDict/MList with lines and leaves timestamps as strings.

    It also counts, while composing, the values the document holds with its aliases expanded and
    how deep it nests, and stops at the first place past :data:`MAX_VALUES` or :data:`MAX_DEPTH`.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._values = 0
        self._depth = 0
        self._open: set[str] = set()  # anchors whose node is still being composed
        self._sizes: dict[int, int] = {}

    def _count(self, values: int, mark: Mark) -> None:
        self._values += values
        if self._values > MAX_VALUES:
            raise ComposerError(None, None, f"with its aliases expanded the file holds more than "
                                f"{MAX_VALUES:,} values; write a suite without aliases that "
                                "repeat large parts", mark)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        # A node starts with a node event (alias, scalar, sequence or mapping start); the stubs
        # leave peek_event unannotated.
        event: NodeEvent = self.peek_event()  # type: ignore[no-untyped-call]
        mark = event.start_mark
        # SafeLoader's pure-Python parser marks every event with a yaml.error.Mark; the stubs'
        # union also covers the C parser's marks and events built by hand.
        assert isinstance(mark, Mark)
        if isinstance(event, AliasEvent):
            if event.anchor in self._open:
                raise ComposerError(None, None, f"the alias *{event.anchor} is inside the value "
                                    "it names, so it never ends", mark)
            node = super().compose_node(parent, index)
            # An alias composes to the node its anchor named (PyYAML raises for an unknown one).
            assert node is not None
            self._count(_expanded_size(node, self._sizes), mark)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
        self._count(1, mark)
        if event.anchor is not None:
            self._open.add(event.anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if event.anchor is not None:
                self._open.discard(event.anchor)


# A private copy of the implicit resolvers without the timestamp one (see the module docstring).
_MarkedLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _MarkedLoader, node: MappingNode) -> MDict:
    loader.flatten_mapping(node)
    result = MDict(line=node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError as exc:
            raise ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from exc
        if key in result:
            # YAML silently keeps the last duplicate; in a test file that hides a mistake.
            raise ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first given on line {result.key_lines[key]})",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _MarkedLoader, node: SequenceNode) -> MList:
    result = MList(line=node.start_mark.line + 1)
    for child in node.value:
        result.append(loader.construct_object(child, deep=True))
        result.item_lines.append(child.start_mark.line + 1)
    return result


def _construct_int(loader: _MarkedLoader, node: ScalarNode) -> int:
    try:
        return yaml.SafeLoader.construct_yaml_int(loader, node)
    except ValueError:  # more digits than Python turns into an int
        raise ConstructorError(None, None, "a number with too many digits",
                               node.start_mark) from None


_MarkedLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_MarkedLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_MarkedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def load_yaml(path: Path, display: str | None = None) -> Any:
    """Read one YAML document from ``path`` keeping line marks.

    Raises :class:`YamlError` (with file and line) for unreadable or malformed YAML.
    """
    name = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlError(name, None, f"cannot read the file: {exc}") from exc
    try:
        return yaml.load(text, Loader=_MarkedLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        parts = [p for p in (exc.context, exc.problem) if p]
        message = "; ".join(parts) or "malformed YAML"
        if exc.context_mark and mark and exc.context_mark.line != mark.line:
            message += f" (the construct began on line {exc.context_mark.line + 1})"
        raise YamlError(name, line, f"malformed YAML: {message}") from exc
    except yaml.YAMLError as exc:
        raise YamlError(name, None, f"malformed YAML: {exc}") from exc


def line_of(data: Any, path: Iterable[Any]) -> int | None:
    """The line of the deepest element along ``path`` (keys and indexes) that has a mark."""
    line = getattr(data, "line", None)
    node = data
    for step in path:
        if isinstance(node, MDict) and step in node:
            line = node.key_lines.get(step, line)
            node = node[step]
        elif isinstance(node, MList) and isinstance(step, int) and 0 <= step < len(node):
            line = node.item_lines[step]
            node = node[step]
        else:
            break
    return line


def to_plain(value: Any) -> Any:
    """A deep copy of ``value`` with plain ``dict``/``list`` containers (no marks)."""
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    return value
