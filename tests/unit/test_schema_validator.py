"""The bounded validator's own keywords: RE2 patterns, set-based uniqueItems, deadline."""

import time

import pytest

from app.event_types.validator import TooExpensive, payload_validator, validate_within


def errors_of(schema: dict[str, object], payload: object) -> list[str]:
    return [e.message for e in validate_within(payload_validator(schema), payload, 5.0, 10)]


def test_unique_items_follows_json_equality() -> None:
    schema = {"uniqueItems": True}
    # 1 and 1.0 are the same number; objects are equal whatever their key order
    assert errors_of(schema, [1, 1.0]) == ["the array has non-unique elements"]
    assert errors_of(schema, [{"a": 1, "b": [2]}, {"b": [2.0], "a": 1}]) != []
    # true is not 1, nor false 0, nor null an empty anything
    assert errors_of(schema, [True, 1, False, 0, None, [], {}, "1"]) == []


def test_unique_items_over_many_objects_is_not_quadratic() -> None:
    # Given 20 000 distinct objects (the library compares every pair: 2 × 10^8 compares)
    payload = [{"k": i} for i in range(20_000)]

    # Then the check ends well inside a second's budget
    assert validate_within(payload_validator({"uniqueItems": True}), payload, 1.0, 10) == []


def test_additional_properties_beside_pattern_properties() -> None:
    schema = {
        "properties": {"a": {}},
        "patternProperties": {"^x_": {}},
        "additionalProperties": False,
    }
    assert errors_of(schema, {"a": 1, "x_1": 2}) == []
    assert errors_of(schema, {"b": 1, "c": 2}) == [
        "'b', 'c' do not match any of the regexes: '^x_'"
    ]


def test_the_deadline_stops_an_exponential_schema() -> None:
    defs = {f"a{i}": {"anyOf": [{"$ref": f"#/$defs/a{i + 1}"}] * 2} for i in range(40)}
    defs["a40"] = {"type": "string"}
    validator = payload_validator({"$defs": defs, "$ref": "#/$defs/a0"})
    started = time.monotonic()
    with pytest.raises(TooExpensive):
        validate_within(validator, 1, 0.2, 10)
    assert time.monotonic() - started < 5.0  # stopped near its deadline, not after 2^40
