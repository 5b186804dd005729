"""``herald_sdk.webhooks.Webhook``: the Standard Webhooks vector, freshness, several
signatures, ed25519, and agreement with the reference ``standardwebhooks`` library."""

import base64
import builtins
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import standardwebhooks
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from herald_sdk.webhooks import Webhook, WebhookVerificationError

# The official test vector of the Standard Webhooks specification.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
GOOD_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
BAD_SIGNATURE = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="


def headers(signature: str, timestamp: int = TIMESTAMP, msg_id: str = MSG_ID) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def at(now: float, secret: str | bytes = SECRET) -> Webhook:
    """A verifier whose clock says ``now``."""
    return Webhook(secret, clock=lambda: now)


def test_the_official_vector_is_accepted() -> None:
    # Given the spec's request, received at its own timestamp
    # When verified, then the parsed body comes back
    assert at(TIMESTAMP).verify(BODY, headers(GOOD_SIGNATURE)) == {"test": 2432232314}


def test_the_official_bad_signature_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        at(TIMESTAMP).verify(BODY, headers(BAD_SIGNATURE))


def test_a_timestamp_five_minutes_and_one_second_old_is_rejected() -> None:
    # Given the genuine request, replayed 5 min + 1 s later
    with pytest.raises(WebhookVerificationError, match="too old"):
        at(TIMESTAMP + 5 * 60 + 1).verify(BODY, headers(GOOD_SIGNATURE))


def test_the_edges_of_the_tolerance_are_accepted() -> None:
    assert at(TIMESTAMP + 300).verify(BODY, headers(GOOD_SIGNATURE))
    assert at(TIMESTAMP - 300).verify(BODY, headers(GOOD_SIGNATURE))


def test_a_timestamp_too_far_in_the_future_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="future"):
        at(TIMESTAMP - 301).verify(BODY, headers(GOOD_SIGNATURE))


def test_the_whsec_prefix_is_optional_and_raw_bytes_work() -> None:
    bare = SECRET.removeprefix("whsec_")
    assert at(TIMESTAMP, bare).verify(BODY, headers(GOOD_SIGNATURE))
    assert at(TIMESTAMP, base64.b64decode(bare)).verify(BODY, headers(GOOD_SIGNATURE))


def test_a_str_body_and_any_header_case_work() -> None:
    shouting = {name.upper(): value for name, value in headers(GOOD_SIGNATURE).items()}
    assert at(TIMESTAMP).verify(BODY.decode(), shouting)


def test_any_of_several_signatures_may_match() -> None:
    # Given a rotation overlap: an unknown v1, a v1a and the good v1, space-separated
    several = f"{BAD_SIGNATURE} v1a,AAAA {GOOD_SIGNATURE}"

    assert at(TIMESTAMP).verify(BODY, headers(several))


def test_svix_headers_are_accepted() -> None:
    svix = {name.replace("webhook-", "svix-"): v for name, v in headers(GOOD_SIGNATURE).items()}
    assert at(TIMESTAMP).verify(BODY, svix)


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        ({"webhook-signature": ""}, "missing"),
        ({"webhook-id": ""}, "missing"),
        ({"webhook-timestamp": "yesterday"}, "not a unix time"),
        ({"webhook-id": "msg_other"}, "no signature matches"),
        ({"webhook-signature": "v2," + GOOD_SIGNATURE[3:]}, "no signature matches"),
        ({"webhook-signature": GOOD_SIGNATURE.removeprefix("v1,")}, "no signature matches"),
    ],
)
def test_a_tampered_or_incomplete_request_is_rejected(changed: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookVerificationError, match=reason):
        at(TIMESTAMP).verify(BODY, {**headers(GOOD_SIGNATURE), **changed})


def test_a_changed_body_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError):
        at(TIMESTAMP).verify(b'{"test": 2432232315}', headers(GOOD_SIGNATURE))


def test_sign_reproduces_the_official_vector() -> None:
    assert Webhook(SECRET).sign(MSG_ID, TIMESTAMP, BODY) == GOOD_SIGNATURE


def test_the_reference_library_accepts_what_we_sign_and_we_accept_what_it_signs() -> None:
    # Given a fresh request signed by each side
    now = int(time.time())
    body = json.dumps({"invoice": "in_1", "amount": 42})
    ours = Webhook(SECRET).sign("msg_1", now, body)
    theirs = standardwebhooks.Webhook(SECRET).sign(
        "msg_1", datetime.fromtimestamp(now, tz=UTC), body
    )

    # Then both verify both
    assert ours == theirs
    for signature in (ours, theirs):
        request = headers(signature, now, "msg_1")
        assert standardwebhooks.Webhook(SECRET).verify(body, request) == json.loads(body)
        assert Webhook(SECRET).verify(body, request) == json.loads(body)


def ed25519_keys() -> tuple[str, str]:
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes_raw()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "whsk_" + base64.b64encode(seed).decode(), "whpk_" + base64.b64encode(public).decode()


def test_an_ed25519_signature_is_verified_with_the_public_key() -> None:
    # Given a request signed v1a with a whsk_ key
    signing_key, public_key = ed25519_keys()
    signature = Webhook(signing_key).sign(MSG_ID, TIMESTAMP, BODY)
    assert signature.startswith("v1a,")

    # When the receiver verifies it with the whpk_ key, then it passes
    assert at(TIMESTAMP, public_key).verify(BODY, headers(signature)) == {"test": 2432232314}
    assert at(TIMESTAMP, signing_key).verify(BODY, headers(f"{GOOD_SIGNATURE} {signature}"))


def test_an_ed25519_signature_by_another_key_is_rejected() -> None:
    signing_key, _ = ed25519_keys()
    _, other_public_key = ed25519_keys()
    signature = Webhook(signing_key).sign(MSG_ID, TIMESTAMP, BODY)

    with pytest.raises(WebhookVerificationError):
        at(TIMESTAMP, other_public_key).verify(BODY, headers(signature))
    with pytest.raises(WebhookVerificationError):  # a v1 HMAC is no use to an ed25519 key
        at(TIMESTAMP, other_public_key).verify(BODY, headers(GOOD_SIGNATURE))


def test_a_public_key_cannot_sign() -> None:
    _, public_key = ed25519_keys()
    with pytest.raises(ValueError, match="verify"):
        Webhook(public_key).sign(MSG_ID, TIMESTAMP, BODY)


def test_ed25519_without_cryptography_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given `cryptography` cannot be imported
    real_import = builtins.__import__

    def no_cryptography(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("cryptography"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cryptography)
    public_key = "whpk_" + base64.b64encode(b"\x01" * 32).decode()

    # When an ed25519 verifier is made, then the error names the extra
    with pytest.raises(ImportError, match=r"herald-sdk\[ed25519\]"):
        Webhook(public_key)
    # and HMAC secrets still work without it
    assert at(TIMESTAMP).verify(BODY, headers(GOOD_SIGNATURE))


@pytest.mark.parametrize("secret", ["whsec_!!!", "whpk_AAAA", "whsec_", ""])
def test_a_malformed_secret_is_refused_up_front(secret: str) -> None:
    with pytest.raises(ValueError):
        Webhook(secret)


def test_a_body_that_is_not_json_is_rejected_after_the_signature() -> None:
    signature = Webhook(SECRET).sign(MSG_ID, TIMESTAMP, b"not json")
    with pytest.raises(WebhookVerificationError, match="not JSON"):
        at(TIMESTAMP).verify(b"not json", headers(signature))
