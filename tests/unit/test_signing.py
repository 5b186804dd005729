import base64
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.delivery.signing import InvalidKey, new_key, parse_key, public_key, sign, signed_content

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'


def test_standard_webhooks_official_vector() -> None:
    signature = sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY, [parse_key(SPEC_SECRET)])
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _headers(msg_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def test_signature_verifies_with_the_standardwebhooks_library() -> None:
    # Given a fresh secret and a signature made now
    secret = new_key()
    now = int(time.time())
    signature = sign("msg_1", now, b'{"a":1}', [parse_key(secret)])
    # Then the reference library accepts it
    assert Webhook(secret).verify(b'{"a":1}', _headers("msg_1", now, signature)) == {"a": 1}


def test_rotation_overlap_signs_with_both_keys() -> None:
    # Given an old and a new key both in force (the overlap window)
    old, new = new_key(), new_key()
    now = int(time.time())
    both = sign("msg_2", now, b"{}", [parse_key(new), parse_key(old)])
    # Then either secret verifies the request
    assert len(both.split(" ")) == 2
    Webhook(old).verify(b"{}", _headers("msg_2", now, both))
    Webhook(new).verify(b"{}", _headers("msg_2", now, both))
    # And after the window, signed by the new key alone, the old one no longer verifies
    only_new = sign("msg_2", now, b"{}", [parse_key(new)])
    Webhook(new).verify(b"{}", _headers("msg_2", now, only_new))
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(b"{}", _headers("msg_2", now, only_new))


def test_ed25519_v1a_verifies_with_the_public_key() -> None:
    # Given an ed25519 key and its published whpk_ public key
    key = new_key("ed25519")
    public = public_key(key)
    assert key.startswith("whsk_") and public is not None and public.startswith("whpk_")
    # When a body is signed
    header = sign("msg_3", 1700000000, b'{"x":true}', [parse_key(key)])
    scheme, _, encoded = header.partition(",")
    # Then it is a v1a signature that the public key verifies
    assert scheme == "v1a"
    verifier = Ed25519PublicKey.from_public_bytes(base64.b64decode(public[len("whpk_") :]))
    verifier.verify(base64.b64decode(encoded), signed_content("msg_3", 1700000000, b'{"x":true}'))


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "secret",
        "whsec_",
        "whsec_!!!",
        "whsec_" + base64.b64encode(b"short").decode(),
        "whsk_AAAA",
    ],
)
def test_invalid_keys_are_refused(bad: str) -> None:
    with pytest.raises(InvalidKey):
        parse_key(bad)
