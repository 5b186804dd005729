import time

from app.auth import KnownKeys


def test_known_keys_expire_and_stay_bounded() -> None:
    # Given a cache of 2 keys living 50 ms
    keys = KnownKeys(ttl_s=0.05, size=2)
    keys.put(b"a", "prj_a")
    assert keys.get(b"a") == "prj_a"
    assert keys.get(b"unknown") is None
    # When it is full, a new key starts it afresh
    keys.put(b"b", "prj_b")
    keys.put(b"c", "prj_c")
    assert (keys.get(b"a"), keys.get(b"c")) == (None, "prj_c")
    # And entries lapse after their time
    time.sleep(0.06)
    assert keys.get(b"c") is None
