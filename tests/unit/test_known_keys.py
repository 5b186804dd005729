import time

from app.auth import Caller, Grant, KnownKeys


def grant(project_id: str) -> Grant:
    return Grant(Caller(project_id=project_id, key_id=f"key_{project_id}"), expires_at=None)


def test_known_keys_expire_and_stay_bounded() -> None:
    # Given a cache of 2 keys living 50 ms
    keys = KnownKeys(max_age_s=0.05, size=2)
    keys.put(b"a", grant("prj_a"))
    assert keys.get(b"a") == grant("prj_a")
    assert keys.get(b"unknown") is None
    # When it is full, a new key starts it afresh
    keys.put(b"b", grant("prj_b"))
    keys.put(b"c", grant("prj_c"))
    assert (keys.get(b"a"), keys.get(b"c")) == (None, grant("prj_c"))
    # And entries lapse after their time
    time.sleep(0.06)
    assert keys.get(b"c") is None


def test_forgotten_keys_are_looked_up_again() -> None:
    keys = KnownKeys()
    keys.put(b"a", grant("prj_a"))
    keys.put(b"b", grant("prj_b"))
    keys.forget([b"a", b"never-seen"])
    assert (keys.get(b"a"), keys.get(b"b")) == (None, grant("prj_b"))
