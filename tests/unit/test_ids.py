from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from app.ids import PREFIXES, id_floor, new_id

CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CROCKFORD = set(CROCKFORD_ALPHABET)


def _ulid_value(identifier: str) -> int:
    """Decode an id's 26 base32 characters back into its 128-bit ULID."""
    value = 0
    for char in identifier.split("_", 1)[1]:
        value = value * 32 + CROCKFORD_ALPHABET.index(char)
    return value


def test_an_id_is_its_prefix_and_a_ulid_of_its_millisecond() -> None:
    identifier = new_id("dlv", now_ms=1_764_754_000_123)
    prefix, body = identifier.split("_")
    assert prefix == "dlv"
    assert len(body) == 26 and set(body) <= CROCKFORD
    assert _ulid_value(identifier) >> 80 == 1_764_754_000_123


def test_ids_sort_by_time_and_never_repeat() -> None:
    start = 1_764_754_000_000
    ids = [new_id("msg", now_ms=start + step) for step in range(0, 5_000, 7) for _ in range(3)]
    assert len(set(ids)) == len(ids)
    assert [_ulid_value(i) >> 80 for i in sorted(ids)] == sorted(_ulid_value(i) >> 80 for i in ids)


def test_the_random_part_uses_every_character_evenly() -> None:
    counts = Counter("".join(new_id("atm")[-16:] for _ in range(4_000)))
    assert set(counts) == CROCKFORD
    # 64 000 characters over 32: 2 000 each; five standard deviations is ±220.
    assert all(1_780 < n < 2_220 for n in counts.values()), counts


def test_the_floor_of_a_moment_is_below_every_id_made_from_it_on() -> None:
    at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    floor = id_floor("msg", at)
    ms = int(at.timestamp() * 1000)
    assert floor == f"msg_{new_id('msg', now_ms=ms)[4:14]}{'0' * 16}"
    assert all(floor <= new_id("msg", now_ms=ms + step) for step in (0, 1, 10_000))
    assert new_id("msg", now_ms=ms - 1) < floor
    assert id_floor("msg", at - timedelta(days=1)) < floor


def test_an_unknown_prefix_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown id prefix"):
        new_id("bogus")
    with pytest.raises(ValueError, match="unknown id prefix"):
        id_floor("bogus", datetime.now(UTC))


def test_every_prefix_makes_ids() -> None:
    assert all(new_id(prefix).startswith(prefix + "_") for prefix in PREFIXES)
