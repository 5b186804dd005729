"""What Herald asks of an event type's JSON Schema beyond Draft 2020-12 itself (pure).

A schema is written by a producer and run on every publish, so it must be self-contained
and bounded:

- at most ``MAX_SCHEMA_BYTES`` (as JSON) and ``MAX_SCHEMA_DEPTH`` levels of nesting;
- references are local: ``$ref`` and ``$dynamicRef`` start with ``#``, ``$id`` appears
  only at the root (it names the document), ``$schema`` is Draft 2020-12. Herald never
  fetches a schema from anywhere (``app.event_types.validator`` has no retrieval either);
- every ``pattern`` and ``patternProperties`` key compiles on RE2 (``app.patterns``);
- ``unevaluatedProperties`` and ``patternProperties`` are not both in one document (the
  library evaluates that pairing with Python's ``re``, which never runs a user's pattern
  in Herald).

``problems`` walks the schema positions of the document (the values of ``properties``,
``allOf``, ``items``…), not the data in it (``const``, ``enum``, ``examples``,
``default``), and returns each problem with its path (``schema/properties/a/pattern``).
"""

from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

from app.patterns import PatternError, compile_pattern

MAX_SCHEMA_BYTES = 64 * 1024
MAX_SCHEMA_DEPTH = 32
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

# Keywords whose value is a schema, a list of schemas, or a map of names to schemas.
_ONE = frozenset(
    {
        "not",
        "if",
        "then",
        "else",
        "items",
        "contains",
        "additionalProperties",
        "propertyNames",
        "unevaluatedItems",
        "unevaluatedProperties",
        "contentSchema",
    }
)
_LIST = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_MAP = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})

Problem = tuple[str, str]  # (path, message)


def problems(schema: Mapping[str, Any]) -> list[Problem]:
    """Every way ``schema`` breaks the rules of this module, first found first."""
    size = len(msgspec.json.encode(schema))
    if size > MAX_SCHEMA_BYTES:
        return [("schema", f"is {size} bytes as JSON; the limit is {MAX_SCHEMA_BYTES}")]
    if _depth(schema) > MAX_SCHEMA_DEPTH:
        return [("schema", f"nests deeper than {MAX_SCHEMA_DEPTH} levels")]
    found = list(_root_problems(schema))
    found += _walk(schema, "schema")
    keywords = {path.rsplit("/", 1)[-1]: path for path in _keyword_paths(schema, "schema")}
    if "patternProperties" in keywords and "unevaluatedProperties" in keywords:
        found.append(
            (
                keywords["unevaluatedProperties"],
                "cannot be used in a schema with patternProperties: use additionalProperties",
            )
        )
    return found


def _keyword_paths(schema: Any, path: str) -> Iterator[str]:
    """The path of every keyword of every schema position in ``schema``."""
    if not isinstance(schema, Mapping):
        return
    for keyword, value in schema.items():
        where = f"{path}/{keyword}"
        yield where
        for child_path, child in _subschemas(keyword, value, where):
            yield from _keyword_paths(child, child_path)


def _root_problems(schema: Mapping[str, Any]) -> Iterator[Problem]:
    dialect = schema.get("$schema")
    if dialect is not None and str(dialect).rstrip("#") != DRAFT_2020_12:
        yield ("schema/$schema", f"must be {DRAFT_2020_12!r} (or left out)")


def _walk(schema: Any, path: str) -> list[Problem]:
    if not isinstance(schema, Mapping):
        return []  # true/false schemas; a wrong type is the metaschema's to report
    found = list(_own_problems(schema, path, is_root=path == "schema"))
    for keyword, value in schema.items():
        for child_path, child in _subschemas(keyword, value, f"{path}/{keyword}"):
            found += _walk(child, child_path)
    return found


def _subschemas(keyword: str, value: Any, path: str) -> Iterator[tuple[str, Any]]:
    """The schemas in the ``value`` of ``keyword`` (none if it holds data), with paths."""
    if keyword in _ONE:
        yield path, value
    elif keyword in _LIST and isinstance(value, list):
        yield from ((f"{path}/{index}", child) for index, child in enumerate(value))
    elif keyword in _MAP and isinstance(value, Mapping):
        yield from ((f"{path}/{name}", child) for name, child in value.items())


def _own_problems(schema: Mapping[str, Any], path: str, *, is_root: bool) -> Iterator[Problem]:
    """The problems of one schema object's own keywords."""
    for keyword in ("$ref", "$dynamicRef"):
        reference = schema.get(keyword)
        if isinstance(reference, str) and not reference.startswith("#"):
            yield (
                f"{path}/{keyword}",
                "only local references (#/…) are allowed: Herald never fetches a schema",
            )
    if "$id" in schema and not is_root:
        yield (f"{path}/$id", "$id is allowed only at the root: use $defs and local $ref")
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        yield from _pattern_problem(f"{path}/pattern", pattern)
    pattern_properties = schema.get("patternProperties")
    if isinstance(pattern_properties, Mapping):
        for key in pattern_properties:
            yield from _pattern_problem(f"{path}/patternProperties/{key}", key)


def _pattern_problem(path: str, pattern: str) -> Iterator[Problem]:
    try:
        compile_pattern(pattern)
    except PatternError as exc:
        yield (path, str(exc))


def _depth(document: Any) -> int:
    """Levels of objects and arrays in ``document``, counted without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, Mapping):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_SCHEMA_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest
