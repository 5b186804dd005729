import math

from app.db.base import from_json_text, json_text


def test_json_columns_round_trip_what_the_api_stores() -> None:
    value = {"x-team": "billing", "channels": ["a", "b"], "n": 10**30, "ok": None}
    assert from_json_text(json_text(value)) == value
    assert json_text(None) == "null"


def test_numbers_beyond_a_float_still_load() -> None:
    # PostgreSQL's jsonb keeps any number; msgspec refuses one past a float's range.
    assert math.isinf(from_json_text('{"maximum": 1e400}')["maximum"])
