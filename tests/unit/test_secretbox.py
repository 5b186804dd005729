"""``SecretBox``: a sealed value opens only at the place (column, row, owner) it was sealed for."""

import pytest

from app.secretbox import SealedAt, SecretBox, SecretBoxError
from tests.legacy_seal import seal_unbound

KEY = "e7c3961b0877e322a526f1aac8e108721f0355256466cdca84f3d70d5f59e7ac"
OLD_KEY = "ce2d6328852ad080146619328b1b3e176a3cd99ba39a8eae9a8ef802c3365e86"
HERE = SealedAt("endpoint_secrets.ciphertext", "sec_1", "ep_1")


@pytest.mark.parametrize(
    "elsewhere",
    [
        SealedAt("endpoint_secrets.ciphertext", "sec_2", "ep_1"),
        SealedAt("endpoint_secrets.ciphertext", "sec_1", "ep_2"),
        SealedAt("other_table.ciphertext", "sec_1", "ep_1"),
        # Length-prefixed parts: moving characters between them is another place.
        SealedAt("endpoint_secrets.ciphertext", "sec_1e", "p_1"),
    ],
    ids=["another row", "another owner", "another column", "shifted parts"],
)
def test_a_bound_value_opens_only_where_it_was_sealed(elsewhere: SealedAt) -> None:
    # Given a value sealed for one place
    box = SecretBox(KEY)
    sealed = box.seal("whsec_x", HERE)

    # Then it opens there, is current, and fails anywhere else
    assert box.open(sealed, HERE) == "whsec_x" and box.is_current(sealed)
    with pytest.raises(SecretBoxError):
        box.open(sealed, elsewhere)


def test_a_legacy_unbound_value_opens_anywhere_and_is_not_current() -> None:
    # Given a value in the legacy format (before binding), under an older key
    legacy = seal_unbound(OLD_KEY, "whsec_old")
    box = SecretBox(KEY, OLD_KEY)

    # Then it still opens, and rotation would re-seal it (it is not current)
    assert box.open(legacy, HERE) == "whsec_old"
    assert not box.is_current(legacy)
    assert not box.is_current(seal_unbound(KEY, "whsec_old"))
    assert box.is_current(box.seal("whsec_old", HERE))


def test_an_altered_or_foreign_value_does_not_open() -> None:
    sealed = SecretBox(KEY).seal("whsec_x", HERE)
    with pytest.raises(SecretBoxError, match="master key"):
        SecretBox(OLD_KEY).open(sealed, HERE)
    with pytest.raises(SecretBoxError):
        SecretBox(KEY).open(sealed[:-1] + bytes([sealed[-1] ^ 1]), HERE)
    with pytest.raises(SecretBoxError, match="not a sealed"):
        SecretBox(KEY).open(b"H3" + sealed[2:], HERE)
