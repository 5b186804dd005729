"""Payload validation that a producer's schema cannot turn against the API.

Draft 2020-12 as the ``jsonschema`` library implements it, with three changes:

- **No retrieval.** The registry holds only the drafts' own metaschemas: a ``$ref`` to
  anything else is unresolvable, never fetched (``app.event_types.schema_rules`` refuses
  such schemas on save; this covers any stored before).
- **Linear-time patterns.** ``pattern``, ``patternProperties`` and the
  ``additionalProperties`` beside them match with RE2 (``app.patterns``), never ``re``;
  ``uniqueItems`` compares canonical keys in a set, not every pair.
- **A time budget.** Every keyword checks a per-thread deadline before it runs, so an
  exponential schema (``anyOf`` of ``$ref``s to ``anyOf``s…) stops at the deadline with
  ``TooExpensive`` instead of running for minutes. ``app.event_types.validation`` runs
  validation on threads, off the event loop, with that deadline set.
"""

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema import _keywords as keywords
from jsonschema.validators import extend
from referencing import Registry

from app.patterns import search

Keyword = Callable[[Any, Any, Any, Mapping[str, Any]], Iterator[ValidationError] | None]


class TooExpensive(Exception):
    """Validation ran past its deadline."""


_deadline = threading.local()


def validate_within(validator: Any, payload: object, budget_s: float, limit: int) -> list[Any]:
    """At most ``limit`` errors of ``payload`` against ``validator`` (from
    ``payload_validator``); ``TooExpensive`` once ``budget_s`` has passed."""
    _deadline.at = time.monotonic() + budget_s
    try:
        errors = []
        for error in validator.iter_errors(payload):
            errors.append(error)
            if len(errors) >= limit:
                break
        return errors
    finally:
        _deadline.at = None


def payload_validator(schema: Mapping[str, Any]) -> Any:
    """A validator of ``schema`` that fetches nothing and runs within a deadline."""
    return _BoundedValidator(schema, registry=_NO_RETRIEVAL)


def _within_deadline(keyword: Keyword) -> Keyword:
    def checked(
        validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        deadline = getattr(_deadline, "at", None)
        if deadline is not None and time.monotonic() > deadline:
            raise TooExpensive
        errors = keyword(validator, value, instance, schema)
        if errors is not None:
            yield from errors

    return checked


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not search(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for name, value in instance.items():
            if search(pattern, name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(
    validator: Any, additional: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    patterns = schema.get("patternProperties")
    if not patterns:  # no pattern to match: the library's own keyword uses no regex
        yield from keywords.additionalProperties(validator, additional, instance, schema)
        return
    if not validator.is_type(instance, "object"):
        return
    named = schema.get("properties", {})
    extras = sorted(
        name
        for name in instance
        if name not in named and not any(search(pattern, name) for pattern in patterns)
    )
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        verb = "does" if len(extras) == 1 else "do"
        joined = ", ".join(repr(extra) for extra in extras)
        listed = ", ".join(repr(pattern) for pattern in sorted(patterns))
        yield ValidationError(f"{joined} {verb} not match any of the regexes: {listed}")


def _unique_items(
    validator: Any, unique: bool, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not unique or not validator.is_type(instance, "array"):
        return
    seen: set[object] = set()
    for item in instance:
        key = _canonical(item)
        if key in seen:
            yield ValidationError("the array has non-unique elements")
            return
        seen.add(key)


def _canonical(value: Any) -> object:
    """A hashable key equal for JSON values that JSON Schema calls equal: 1 and 1.0 alike,
    ``true`` and 1 not, objects whatever their key order."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, int | float):
        return ("number", value)  # Python's 1 == 1.0, with equal hashes
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(_canonical(item) for item in value))
    return ("object", tuple(sorted((key, _canonical(item)) for key, item in value.items())))


_NO_RETRIEVAL: Registry[Any] = Registry()
_KEYWORDS: dict[str, Keyword] = {
    **Draft202012Validator.VALIDATORS,
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "uniqueItems": _unique_items,
}
_BoundedValidator = extend(
    Draft202012Validator,
    validators={name: _within_deadline(keyword) for name, keyword in _KEYWORDS.items()},
)
