"""Secrets at rest: AES-256-GCM under a key ring (`TALONARIO_ENCRYPTION_KEYS`).

The first key encrypts; every key decrypts, so an old key stays in the list until a rotation has
re-encrypted everything under the new one. A token reads
`v1.<key id>.<base64(nonce || ciphertext)>`;
the key id is a short digest of the key, so a token names the key that opened it without
revealing it. `associated_data` binds a ciphertext to its row (e.g. b"certificate:42"), so a
ciphertext copied to another row does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, current_app

VERSION = "v1"


class KeyRingError(ValueError):
    """The configured keys are unusable."""


class DecryptionError(ValueError):
    """A token that no configured key opens (wrong key, tampered, or for another row)."""


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[bytes, ...]

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        keys = tuple(
            _decode_key(part) for part in text.replace("\n", ",").split(",") if part.strip()
        )
        if not keys:
            raise KeyRingError("TALONARIO_ENCRYPTION_KEYS is empty")
        return cls(keys)

    @property
    def primary_id(self) -> str:
        return key_id(self.keys[0])

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[0]).encrypt(nonce, plaintext, associated_data)
        body = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{VERSION}.{self.primary_id}.{body}"

    def decrypt(self, token: str, associated_data: bytes) -> bytes:
        """The one place a secret is opened. Raises DecryptionError, never returns garbage."""
        version, kid, body = _split(token)
        key = next((k for k in self.keys if key_id(k) == kid), None)
        if version != VERSION or key is None:
            raise DecryptionError("no configured key opens this secret")
        raw = base64.urlsafe_b64decode(body)
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], associated_data)
        except InvalidTag as exc:
            raise DecryptionError("secret failed authentication") from exc

    def needs_rotation(self, token: str) -> bool:
        return _split(token)[1] != self.primary_id


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _decode_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip())
    except ValueError as exc:
        raise KeyRingError("an encryption key is not valid base64") from exc
    if len(key) != 32:
        raise KeyRingError("each encryption key must be 32 bytes (AES-256), base64-encoded")
    return key


def _split(token: str) -> tuple[str, str, str]:
    parts = token.split(".", 2)
    if len(parts) != 3:
        raise DecryptionError("not an encrypted secret")
    return parts[0], parts[1], parts[2]


def init_crypto(app: Flask) -> None:
    app.extensions["talonario.keyring"] = KeyRing.parse(str(app.config["ENCRYPTION_KEYS"]))


def get_keyring() -> KeyRing:
    return current_app.extensions["talonario.keyring"]
