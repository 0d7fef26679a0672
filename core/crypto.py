"""Secrets at rest: AES-256-GCM under a key ring (`TALONARIO_ENCRYPTION_KEYS`).

The first key encrypts; every key decrypts, so an old key stays in the list until a rotation has
re-encrypted everything under the new one. A token reads
`v1.<key id>.<base64(nonce || ciphertext)>`;
the key id is a short digest of the key, so a token names the key that opened it without
revealing it. `associated_data` binds a ciphertext to its row (e.g. b"certificate:42"), so a
ciphertext copied to another row does not decrypt.

A canary (core/canary.py) checks the keys themselves: a known value sealed at the first start. Keys
that can't open it are refused at start, before anything is sealed with them, and `/readyz` says
so if they change under a running app.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.canary import KeyCanary
from core.db import db

VERSION = "v1"
CANARY_PLAINTEXT = b"talonario: the encryption keys' canary"
CANARY_ASSOCIATED_DATA = b"key_canaries"
WRONG_KEYS = (
    "TALONARIO_ENCRYPTION_KEYS cannot open the key canary stored in this database: they are not "
    "the keys its secrets were sealed with. Start with the right keys (when rotating, the new "
    "key first and the old ones after it). Refusing to start, so nothing is sealed with these."
)
log = logging.getLogger(__name__)


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


class WrongKeys(RuntimeError):
    """The configured keys don't open the canary: every secret they seal would be lost."""

    def __init__(self) -> None:
        super().__init__(WRONG_KEYS)


def check_canary(session: Session, keyring: KeyRing) -> bool:
    """Whether `keyring` opens the canary; the first call on a database seals it (first start).

    Opened by an older key of the ring, it is sealed again under the first, so it keeps opening
    once the old key is removed after a rotation. Commits `session` (a session of its own: never
    a request's). SQLAlchemyError if the table can't be read (not migrated, database down)."""
    canary = session.scalars(select(KeyCanary).order_by(KeyCanary.id).limit(1)).first()
    if canary is None:
        session.add(KeyCanary(token=keyring.encrypt(CANARY_PLAINTEXT, CANARY_ASSOCIATED_DATA)))
        session.commit()
        return True
    try:
        opened = keyring.decrypt(canary.token, CANARY_ASSOCIATED_DATA) == CANARY_PLAINTEXT
    except DecryptionError:
        return False
    if opened and keyring.needs_rotation(canary.token):
        canary.token = keyring.encrypt(CANARY_PLAINTEXT, CANARY_ASSOCIATED_DATA)
        session.commit()
    return opened


def keys_open_canary(keyring: KeyRing) -> bool:
    """`check_canary` in a session of its own, in the current app."""
    with Session(db.engine) as session:
        return check_canary(session, keyring)


def verify_keys(app: Flask) -> None:
    """WrongKeys if the configured keys don't open the canary. A database not migrated yet
    (`flask db upgrade` must still run) or not reachable is left for the first use."""
    try:
        opened = keys_open_canary(app.extensions["talonario.keyring"])
    except SQLAlchemyError as error:
        log.warning("encryption keys not checked yet: %s", type(error).__name__)
        return
    if not opened:
        raise WrongKeys()
    app.extensions["talonario.keys_checked"] = True


def init_crypto(app: Flask) -> None:
    app.extensions["talonario.keyring"] = KeyRing.parse(str(app.config["ENCRYPTION_KEYS"]))
    with app.app_context():
        try:
            verify_keys(app)
        except WrongKeys:
            db.engine.dispose()  # this app will not run: leave no connection open behind it
            raise


def configured_keyring() -> KeyRing:
    """The keys as configured, unchecked: for the health check, which reports on them."""
    return current_app.extensions["talonario.keyring"]


def get_keyring() -> KeyRing:
    """The app's keys; checked against the canary on first use if the start could not."""
    if not current_app.extensions.get("talonario.keys_checked"):
        verify_keys(current_app)
    return current_app.extensions["talonario.keyring"]
