"""The call contract derived from its one statement, ``schemas/call.schema.json``.

Everything else that knows the shape of a call request is derived here, when the package is
imported (or, for the compiled reader, when the wheel is built), so the copies cannot disagree:

- the **places** of a request: every value the schema describes, with its path (``"*"`` stands
  for every item of an array or every value of a map) and its *kind* (what checks and converts
  it: an E.164 number, a word, an instant, a date or an instant...). The kind of a string comes
  from its ``pattern``, of which the contract has a few, named in :data:`PATTERNS`;
- the **vocabularies**: the closed ones (each ``enum``, by path: ``line_type``,
  ``consent.type``...), and the named word vocabularies of the schema's top-level annotation
  (``"x-ringfence": {"vocabularies": {"purpose": {"words": [...]}}}``), which a place names
  (``"x-ringfence": {"vocabulary": "purpose"}``, with ``"also"``: words only that place takes)
  and which a policy may extend (``uses purposes fundraising``). A value of either kind is read
  in lowercase: an enum's case-insensitively, a vocabulary word (kind ``term``) lowered;
- the **instant paths**: where an instant may stand, and whether a bare date may stand there
  (the date-or-instant pattern). A bare date means midnight at the start of that day in the
  callee's zone;
- the **flat fields**: the top-level strings and the members of ``relationship``, each held in a
  slot of :class:`~ringfence.contract.request.Call` named after it (``from`` is ``from_``), with
  its default (the schema's ``default``) and the value that means "not known" (the annotation
  ``"x-ringfence": {"not_known": ...}``: a line type of ``unknown`` reads as None);
- the **condition fields**: the places marked ``"x-ringfence": {"condition": KIND}`` are the
  fields a policy condition may name (``purpose``, ``relationship.last_inquiry_at``), with the
  kind the checker gives their values (``text``, ``caller``, ``enum``, ``name``, ``region``,
  ``time``, ``bool``);
- the **C tables** of the compiled reader (:func:`c_header`): names, kinds, vocabularies,
  required keys and slots of every object the reader reads, written to
  ``_callreader_tables.h`` by the build hook.

JSON Schema validators ignore keywords they do not know, so the ``x-ringfence`` annotations do not
change what the schema accepts (``tests/test_core_contract.py`` checks it). This module uses only
the standard library: the build hook loads it by its file path, without the package.
"""

from __future__ import annotations

import functools
import hashlib
import json
import keyword
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

#: The key of the schema's own annotations.
ANNOTATION = "x-ringfence"

INSTANT = r"^(19|2\d)\d{2}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
DATE_OR_INSTANT = (r"^(19|2\d)\d{2}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?"
                   r"([Zz]|[+-]\d{2}:\d{2}))?$")
#: The patterns of the contract, by the kind of value they describe. The compiled reader checks
#: each kind by hand-written code; a string with any other pattern has the kind ``other``, which
#: the compiled reader always hands to the reference path (correct, only slower).
PATTERNS: Mapping[str, str] = {
    r"^\+[1-9][0-9]{6,14}$": "e164",
    r"^(\+[1-9][0-9]{6,14}|withheld)$": "caller",
    r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$": "region",
    r"^[A-Za-z_][A-Za-z0-9_-]*$": "word",
    INSTANT: "instant",
    DATE_OR_INSTANT: "date_or_instant",
}

#: What a value is, for checking and converting it.
Kind = Literal["id", "text", "nonempty", "e164", "caller", "region", "word", "enum", "bool",
               "dict", "words", "instant", "date_or_instant", "items", "object", "map", "other",
               "term", "terms"]
KINDS: tuple[Kind, ...] = get_args(Kind)
#: The kinds that hold other values (read by their own code, not checked as one value).
STRUCTURED = frozenset({"items", "object", "map"})
INSTANTS = frozenset({"instant", "date_or_instant"})
#: The kinds read in lowercase: a word of a named vocabulary, an array of them.
TERMS = frozenset({"term", "terms"})
#: How a policy condition reads a field's values (see contract/fields.py).
ConditionKind = Literal["text", "caller", "enum", "name", "region", "time", "bool"]
_CONDITION_KINDS: Mapping[str, frozenset[str]] = {
    # the value kinds each condition kind fits: the annotation must agree with the schema
    "text": frozenset({"text", "nonempty", "e164"}), "caller": frozenset({"caller"}),
    "enum": frozenset({"enum"}), "name": frozenset({"word", "term"}), "region": frozenset({"region"}),
    "time": frozenset({"instant"}), "bool": frozenset({"bool"}),
}

#: The slots of a Call that hold converted records and collections (request.py fills them;
#: their order is the compiled reader's too). The flat fields' slots follow them.
RECORD_SLOTS = ("raw", "at", "at_ts", "consent", "opt_outs", "history_at", "history_items",
                "lists", "lists_checked_at", "new_words")


class SchemaError(ValueError):
    """The schema says something this derivation cannot follow (an unknown annotation)."""


@dataclass(frozen=True)
class Place:
    """One value the schema describes.

    ``path`` is the keys leading to it (``"*"``: every item of an array, every value of a map);
    ``kind`` says what it is; ``vocabulary`` is its ``enum``; ``required`` whether its object
    must give it; ``default`` the schema's default; ``annotation`` its ``x-ringfence`` object.
    """

    path: tuple[str, ...]
    kind: Kind
    schema: Mapping[str, Any]
    vocabulary: tuple[str, ...] | None = None
    required: bool = False

    @property
    def name(self) -> str:
        """The dotted name of the place, items left out (``consent.type``)."""
        return ".".join(p for p in self.path if p != "*")

    @property
    def key(self) -> str:
        """The last key of the path."""
        return self.path[-1]

    @property
    def attribute(self) -> str:
        """The attribute of a Call or record that holds the value (``from`` is a keyword)."""
        if not self.key.isidentifier():
            raise SchemaError(f"{self.name}: a field's name must be a Python identifier")
        return self.key + "_" if keyword.iskeyword(self.key) else self.key

    @property
    def annotation(self) -> Mapping[str, Any]:
        value: Mapping[str, Any] = self.schema.get(ANNOTATION, {})
        unknown = set(value) - {"condition", "not_known", "vocabulary", "also"}
        if unknown:
            raise SchemaError(f"{self.name}: unknown {ANNOTATION} annotation {sorted(unknown)}")
        return value

    @property
    def default(self) -> Any:
        return self.schema.get("default")

    @property
    def not_known(self) -> str | None:
        """The value that means "not known" (read as None), if the schema names one."""
        value = self.annotation.get("not_known")
        if value is not None and value not in (self.vocabulary or ()):
            raise SchemaError(f"{self.name}: not_known {value!r} is not one of its values")
        return value


def _kind(schema: Mapping[str, Any]) -> Kind:
    if "enum" in schema:
        return "enum"
    if "vocabulary" in schema.get(ANNOTATION, {}):
        plain = _kind({k: v for k, v in schema.items() if k != ANNOTATION})
        if plain not in ("word", "words"):
            raise SchemaError(f"a vocabulary's words are words, not a {plain} value")
        return "term" if plain == "word" else "terms"
    kind = schema.get("type")
    if kind == ["string", "integer"]:
        return "id"
    if kind == "boolean":
        return "bool"
    if kind == "string":
        if "pattern" in schema:
            return PATTERNS.get(schema["pattern"], "other")  # type: ignore[return-value]
        return "nonempty" if schema.get("minLength") == 1 else "text"
    if kind == "array":
        items = schema.get("items", {})
        return "items" if items.get("type") == "object" else (
            "words" if _kind(items) == "word" else "other")
    if kind == "object":
        if "properties" in schema:
            return "object"
        if "additionalProperties" in schema:
            # a map from words (list names) to values of one kind
            return "map" if _kind(schema.get("propertyNames", {})) == "word" else "other"
        return "dict"
    return "other"


def _places(schema: Mapping[str, Any], path: tuple[str, ...]) -> Iterator[Place]:
    """The places of an object schema's properties, depth first, in the schema's order."""
    required = set(schema.get("required", ()))
    for key, sub in schema.get("properties", {}).items():
        where = (*path, key)
        kind = _kind(sub)
        enum = tuple(sub["enum"]) if "enum" in sub else None
        yield Place(where, kind, sub, enum, key in required)
        if kind == "items":
            yield from _places(sub["items"], (*where, "*"))
        elif kind == "object":
            yield from _places(sub, where)
        elif kind == "map":
            values = sub["additionalProperties"]
            yield Place((*where, "*"), _kind(values), values,
                        tuple(values["enum"]) if "enum" in values else None)


@dataclass(frozen=True)
class WordVocabulary:
    """A named vocabulary of words (``purpose``): its words, and where its words stand.

    ``places`` gives, for each place whose values are words of this vocabulary (by its dotted
    name), the words that place takes besides (``consent.purposes``: ``outside_hours``)."""

    name: str
    words: frozenset[str]
    places: Mapping[str, frozenset[str]]

    def at(self, place: str, declared: frozenset[str] = frozenset()) -> frozenset[str]:
        """Every word ``place`` takes, with the words a policy set ``declared``."""
        return self.words | self.places[place] | declared


@dataclass(frozen=True)
class InstantPath:
    """A place where an instant may stand; ``date_allowed``: a bare date may stand there too."""

    path: tuple[str, ...]
    date_allowed: bool


@dataclass(frozen=True)
class ConditionField:
    """A call field a policy condition may name (``words``: the name of its word vocabulary)."""

    name: str
    kind: ConditionKind
    attribute: str
    vocabulary: frozenset[str] | None
    words: str | None = None


class Contract:
    """What the call schema says, in the forms the rest of Ringfence reads."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.schema = schema
        self.places: tuple[Place, ...] = tuple(_places(schema, ()))
        self._by_path = {p.path: p for p in self.places}

    def place(self, *path: str) -> Place:
        """The place at ``path`` (KeyError if the schema has none there)."""
        return self._by_path[path]

    def children(self, *path: str) -> tuple[Place, ...]:
        """The places directly inside the object (or the items' object) at ``path``."""
        return tuple(p for p in self.places if p.path[:-1] == path)

    @functools.cached_property
    def vocabularies(self) -> Mapping[str, frozenset[str]]:
        """Every closed vocabulary (``enum``), by the dotted name of its place."""
        return {p.name: frozenset(p.vocabulary) for p in self.places if p.vocabulary is not None}

    @functools.cached_property
    def word_vocabularies(self) -> Mapping[str, WordVocabulary]:
        """The named vocabularies of words (``purpose``), with the places that take them."""
        declared = self.schema.get(ANNOTATION, {}).get("vocabularies", {})
        found = {}
        for name, spec in declared.items():
            places = {p.name: frozenset(p.annotation.get("also", ())) for p in self.places
                      if p.annotation.get("vocabulary") == name}
            words = frozenset(spec["words"])
            if any(w != w.lower() for w in words):
                raise SchemaError(f"vocabulary {name}: its words are written in lowercase")
            found[name] = WordVocabulary(name, words, places)
        named = {p.annotation["vocabulary"] for p in self.places if "vocabulary" in p.annotation}
        if named - set(found):
            raise SchemaError(f"no vocabulary {sorted(named - set(found))} is declared")
        return found

    def vocabulary_of(self, place: str) -> WordVocabulary | None:
        """The word vocabulary of a place (by dotted name), if it has one."""
        for vocabulary in self.word_vocabularies.values():
            if place in vocabulary.places:
                return vocabulary
        return None

    @functools.cached_property
    def instant_paths(self) -> tuple[InstantPath, ...]:
        """Every place an instant (or a date) may stand, in the schema's order."""
        return tuple(InstantPath(p.path, p.kind == "date_or_instant")
                     for p in self.places if p.kind in INSTANTS)

    @functools.cached_property
    def flat_fields(self) -> tuple[Place, ...]:
        """The values a Call holds as given (converted only if an instant), one slot each: the
        top-level strings other than the call's own instant, and the members of objects."""
        top = tuple(p for p in self.children()
                    if p.kind in ("text", "nonempty", "e164", "caller", "region", "word", "enum",
                                  "term"))
        nested = tuple(p for parent in self.children() if parent.kind == "object"
                       for p in self.children(*parent.path))
        return top + nested

    @functools.cached_property
    def text_fields(self) -> Mapping[str, str]:
        """The top-level text fields: Call attribute -> request field."""
        return {p.attribute: p.key for p in self.flat_fields if len(p.path) == 1}

    @functools.cached_property
    def slots(self) -> tuple[str, ...]:
        """The slots of a Call: the records' and collections', then one per flat field."""
        return RECORD_SLOTS + tuple(p.attribute for p in self.flat_fields)

    @functools.cached_property
    def condition_fields(self) -> tuple[ConditionField, ...]:
        """The fields a policy condition may name, in the schema's order."""
        found = []
        for place in self.places:
            kind = place.annotation.get("condition")
            if kind is None:
                continue
            if place not in self.flat_fields or place.kind not in _CONDITION_KINDS.get(kind, ()):
                raise SchemaError(f"{place.name}: a {place.kind} value cannot be read by a "
                                  f"condition as {kind!r}")
            vocabulary = frozenset(place.vocabulary) if place.vocabulary is not None else None
            found.append(ConditionField(place.name, kind, place.attribute, vocabulary,
                                        place.annotation.get("vocabulary")))
        return tuple(found)


def load(path: Path) -> dict[str, Any]:
    """A schema file, as JSON."""
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


# ---- the compiled reader's tables ------------------------------------------------------------

def _c_name(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text).upper()


def _c_text(text: str) -> str:
    return json.dumps(text)  # the ASCII of a JSON string is also a C string literal


def c_objects(contract: Contract) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The objects the compiled reader reads by table, as (C prefix, path): the call itself, each
    object, and the object of each array's items."""
    found: list[tuple[str, tuple[str, ...]]] = [("CALL", ())]
    for place in contract.places:
        if place.kind == "object":
            found.append((_c_name(place.name), place.path))
        elif place.kind == "items":
            found.append((_c_name(place.name), (*place.path, "*")))
    return tuple(found)


def _slot(place: Place, flat: Mapping[tuple[str, ...], Place], slots: tuple[str, ...]) -> str:
    """The Call slot that holds a value: a flat field's own, or the slot named after a
    structured field ("" if none)."""
    if place.path in flat:
        return place.attribute
    return place.key if place.kind in STRUCTURED and place.key in slots else ""


def _c_words(contract: Contract, place: Place) -> tuple[str, ...] | None:
    """The words the reader's table of a place holds: its enum, or the contract's words of its
    vocabulary (a word outside them is a policy's own, which the reader reports)."""
    if place.vocabulary is not None:
        return place.vocabulary
    vocabulary = contract.vocabulary_of(place.name)
    return None if vocabulary is None else tuple(sorted(vocabulary.at(place.name)))


def c_header(contract: Contract) -> str:
    """The C tables of the compiled reader (``_callreader_tables.h``), derived from the schema.

    For each object (:func:`c_objects`): an enum of its keys (``CONSENT_AT``...), their names,
    kinds, vocabularies (an enum's, or the contract's words of a vocabulary of words), the
    slot of the Call that holds each (flat fields), the position of the value meaning "not
    known" in its vocabulary, and the mask of required keys. Also the slots
    of a Call in order, and a digest of the whole, which the module exposes (``TABLES_DIGEST``)
    so a test can tell a reader built from an older schema.
    """
    out = ["/* Generated from schemas/call.schema.json by ringfence/contract/schema.py when the",
           " * wheel is built: do not edit. */", ""]
    slots = contract.slots
    flat = {p.path: p for p in contract.flat_fields}
    out.append("enum Kind {" + ", ".join(f"K_{k.upper()}" for k in KINDS) + "};")
    out.append("enum Slot {" + ", ".join(f"S_{_c_name(s)}" for s in slots) + ", SLOT_COUNT};")
    out.append("static const char *const SLOT_NAMES[SLOT_COUNT] = {"
               + ", ".join(_c_text(s) for s in slots) + "};")
    vocabularies = []
    tables = {p.path: _c_words(contract, p) for p in contract.places}
    for place in contract.places:
        words = tables[place.path]
        if words is not None:
            name = f"VOCAB_{_c_name(place.name)}"
            vocabularies.append(name)
            if len(words) > 32:
                raise SchemaError(f"{place.name}: the compiled reader reads up to 32 values")
            out.append(f"static const Name {name.lower()}[] = {{"
                       + ", ".join(f"NAME({_c_text(v)})" for v in words) + "};")
            out.append(f"static Names {name} = NAMES({name.lower()});")
    specs = []
    objects = c_objects(contract)
    inner = {path: prefix for prefix, path in objects}
    for prefix, path in (*objects[1:], objects[0]):  # the call last: its tables name the others
        keys = contract.children(*path)
        if len(keys) > 31:
            raise SchemaError(f"{prefix}: the compiled reader reads objects of up to 31 keys")
        specs.append(prefix)
        low = prefix.lower()
        out.append(f"enum {{{', '.join(f'{prefix}_{_c_name(k.key)}' for k in keys)}, "
                   f"{prefix}_KEY_COUNT}};")
        out.append(f"static const Name {low}_names[] = {{"
                   + ", ".join(f"NAME({_c_text(k.key)})" for k in keys) + "};")
        out.append(f"static const unsigned char {low}_kinds[] = {{"
                   + ", ".join(f"K_{k.kind.upper()}" for k in keys) + "};")
        out.append(f"static Names *const {low}_vocabularies[] = {{"
                   + ", ".join(f"&VOCAB_{_c_name(k.name)}" if tables[k.path] is not None
                               else "NULL" for k in keys) + "};")
        out.append(f"static const signed char {low}_slots[] = {{"
                   + ", ".join(f"S_{_c_name(_slot(k, flat, slots))}" if _slot(k, flat, slots)
                               else "-1" for k in keys) + "};")
        out.append(f"static const signed char {low}_not_known[] = {{"
                   + ", ".join(str(k.vocabulary.index(k.not_known))  # type: ignore[union-attr]
                               if k.not_known is not None else "-1" for k in keys) + "};")
        # what the structured values hold: the table of an object or of an array's items, the
        # kind of a map's values
        out.append(f"static Spec *const {low}_children[] = {{"
                   + ", ".join(f"&{inner[k.path]}_SPEC" if k.path in inner
                               else f"&{inner[(*k.path, '*')]}_SPEC" if (*k.path, "*") in inner
                               else "NULL" for k in keys) + "};")
        out.append(f"static const unsigned char {low}_values[] = {{"
                   + ", ".join(f"K_{contract.place(*k.path, '*').kind.upper()}" if k.kind == "map"
                               else "K_OTHER" for k in keys) + "};")
        required = " | ".join(f"(1u << {prefix}_{_c_name(k.key)})" for k in keys if k.required)
        out.append(f"static Spec {prefix}_SPEC = {{NAMES({low}_names), {low}_kinds, "
                   f"{low}_vocabularies, {low}_slots, {low}_not_known, {low}_children, "
                   f"{low}_values, {required or '0'}}};")
    out.append("static Names *const ALL_NAMES[] = {"
               + ", ".join([f"&{v}" for v in vocabularies] + [f"&{s}_SPEC.names" for s in specs])
               + "};")
    body = "\n".join(out) + "\n"
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    return body + f'#define TABLES_DIGEST "{digest}"\n'


def tables_digest(header: str) -> str:
    """The digest :func:`c_header` writes into a header."""
    return header.rsplit('#define TABLES_DIGEST "', 1)[1].split('"', 1)[0]
