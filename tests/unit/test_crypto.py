import base64

import pytest

from core.crypto import DecryptionError, KeyRing, KeyRingError, generate_key


def test_round_trip_is_bound_to_its_row() -> None:
    ring = KeyRing.parse(generate_key())
    token = ring.encrypt(b"-----BEGIN PRIVATE KEY-----", b"certificate:1")
    assert b"PRIVATE" not in token.encode()
    assert ring.decrypt(token, b"certificate:1") == b"-----BEGIN PRIVATE KEY-----"
    with pytest.raises(DecryptionError):
        ring.decrypt(token, b"certificate:2")


def test_same_plaintext_encrypts_differently_each_time() -> None:
    ring = KeyRing.parse(generate_key())
    assert ring.encrypt(b"x", b"a") != ring.encrypt(b"x", b"a")


def test_old_keys_still_decrypt_after_a_new_primary() -> None:
    old, new = generate_key(), generate_key()
    token = KeyRing.parse(old).encrypt(b"secreto", b"row")
    rotated = KeyRing.parse(f"{new},{old}")
    assert rotated.decrypt(token, b"row") == b"secreto"
    assert rotated.needs_rotation(token)
    assert not rotated.needs_rotation(rotated.encrypt(b"secreto", b"row"))
    with pytest.raises(DecryptionError):
        KeyRing.parse(new).decrypt(token, b"row")


def test_tampering_is_detected() -> None:
    ring = KeyRing.parse(generate_key())
    token = ring.encrypt(b"secreto", b"row")
    # Flip a bit of the ciphertext itself (a base64 character near the end may carry only
    # padding bits, and changing it would change nothing).
    version, key_id, body = token.split(".", 2)
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[-1] ^= 0x01
    flipped = f"{version}.{key_id}.{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(DecryptionError):
        ring.decrypt(flipped, b"row")
    with pytest.raises(DecryptionError):
        ring.decrypt("not-a-token", b"row")


@pytest.mark.parametrize("text", ["", "  ,  ", "bm90LTMyLWJ5dGVz", "%%%"])
def test_unusable_keys_are_refused(text: str) -> None:
    with pytest.raises(KeyRingError):
        KeyRing.parse(text)
