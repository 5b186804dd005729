"""An example payload for an event type, from its JSON Schema (pure).

The schema's own ``examples[0]`` (or ``example``) wins; otherwise one is built from the
schema: ``const``, ``default``, the first ``enum`` value, else a placeholder for the
``type`` (honouring common string ``format``s), recursing into ``properties`` and
``items``. Always returns a JSON object, since payloads are objects.
"""

from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 8
_STRING_FORMATS = {
    "date-time": "2026-01-01T12:00:00Z",
    "date": "2026-01-01",
    "time": "12:00:00Z",
    "email": "jane@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "6f1c2c52-9a4e-4b1a-8d07-3c2a1f0e9b11",
}


def example_payload(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """An object that illustrates ``schema`` (``{}`` without one)."""
    if not schema:
        return {}
    value = _example(schema, 0)
    return value if isinstance(value, dict) else {"value": value}


def _example(schema: Any, depth: int) -> Any:
    if not isinstance(schema, Mapping) or depth > MAX_DEPTH:
        return None
    for given in _given_values(schema):
        return given
    for combinator in ("allOf", "anyOf", "oneOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            return _example(options[0], depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and "properties" in schema:
        kind = "object"
    return _example_of_type(schema, kind, depth)


def _given_values(schema: Mapping[str, Any]) -> list[Any]:
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return [examples[0]]
    for key in ("example", "const", "default"):
        if key in schema:
            return [schema[key]]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return [enum[0]]
    return []


def _example_of_type(schema: Mapping[str, Any], kind: Any, depth: int) -> Any:
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return {}
        return {name: _example(sub, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        item = _example(schema.get("items", {}), depth + 1)
        return [] if item is None else [item]
    if kind == "string":
        return _STRING_FORMATS.get(str(schema.get("format")), "string")
    if kind == "integer":
        return int(schema.get("minimum", 0))
    if kind == "number":
        return float(schema.get("minimum", 0))
    if kind == "boolean":
        return True
    return None
