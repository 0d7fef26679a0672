"""API keys: create, list, revoke, and resolve a bearer secret to the key it belongs to.

A secret is `tal_` + 32 random bytes (base64url, 43 characters). Only its SHA-256 is stored: a
slow password hash (argon2) protects guessable passwords, but 256 random bits cannot be guessed
by any hash speed, and an unsalted digest is what lets a request find its key by an index
lookup instead of trying every key. Resolution is cached (`api:keys:<hash>`, 5 minutes); a
revoke deletes that entry in the same call, so the key's next request is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from blueprints.api.models import ARGENTINA, SCOPES, ApiKey
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from core.cache import Cache
from core.db import DbSession, utcnow
from core.errors import NotFound, ValidationFailed
from core.metrics import count_api_key_lookup

SECRET_PREFIX = "tal_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32
SHOWN_PREFIX_LENGTH = 12  # "tal_" and 8 characters of the random part
CACHE_TTL_SECONDS = 300
MAX_RATE_LIMIT = 10_000


@dataclass(frozen=True)
class KeyIdentity:
    """What a request needs to know about its key, as cached; `g.api_key` holds one."""

    id: int
    organization_id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    rate_limit: int
    environment: str
    expires_at: dt.datetime | None

    def is_expired(self, now: dt.datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    @property
    def actor_label(self) -> str:
        return f"API: {self.name} ({self.prefix}…)"

    def to_json(self) -> bytes:
        data = asdict(self)
        data["expires_at"] = self.expires_at.isoformat() if self.expires_at else None
        return json.dumps(data).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> KeyIdentity:
        data = json.loads(raw)
        expires = data.pop("expires_at")
        data["scopes"] = tuple(data["scopes"])
        return cls(**data, expires_at=dt.datetime.fromisoformat(expires) if expires else None)

    @classmethod
    def of(cls, key: ApiKey) -> KeyIdentity:
        return cls(
            id=key.id,
            organization_id=key.organization_id,
            name=key.name,
            prefix=key.prefix,
            scopes=tuple(key.scopes),
            rate_limit=key.rate_limit,
            environment=key.environment,
            expires_at=key.expires_at,
        )


@dataclass(frozen=True)
class KeyRequest:
    name: str
    scopes: tuple[str, ...]
    expires_on: dt.date | None
    rate_limit: int


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def cache_key(secret_hash: str) -> str:
    return f"api:keys:{secret_hash}"


def create_api_key(
    session: DbSession,
    organization_id: int,
    user: User | None,
    request: KeyRequest,
    environment: str,
    now: dt.datetime | None = None,
) -> tuple[ApiKey, str]:
    """Make and commit a key; returns it with its secret, which is never available again.

    Raises ValidationFailed for an empty name, an unknown or missing scope, a past expiry or a
    rate limit out of 1..10000. The audit trail records the user who made it.
    """
    now = now or utcnow()
    check_key_request(request, now.astimezone(ARGENTINA).date())
    secret = new_secret()
    key = ApiKey(
        organization_id=organization_id,
        name=request.name.strip(),
        prefix=secret[:SHOWN_PREFIX_LENGTH],
        secret_hash=hash_secret(secret),
        scopes=[scope for scope in SCOPES if scope in request.scopes],
        environment=environment,
        rate_limit=request.rate_limit,
        expires_at=end_of_day(request.expires_on) if request.expires_on else None,
        created_by_id=user.id if user else None,
        created_at=now,
    )
    session.add(key)
    session.flush()
    details = {"api_key_id": key.id, "name": key.name, "prefix": key.prefix, "scopes": key.scopes}
    record_event(session, organization_id, "api_key.created", user, ("api_key", key.id), details)
    session.commit()
    return key, secret


def check_key_request(request: KeyRequest, today: dt.date) -> None:
    if not request.name.strip():
        raise ValidationFailed(_("Poné un nombre que diga quién usa la clave."), "name")
    if len(request.name.strip()) > 80:
        raise ValidationFailed(_("El nombre puede tener hasta 80 caracteres."), "name")
    if not request.scopes:
        raise ValidationFailed(_("Elegí al menos un permiso."), "scopes")
    if set(request.scopes) - set(SCOPES):
        raise ValidationFailed(_("Hay un permiso que no existe."), "scopes")
    if request.expires_on is not None and request.expires_on < today:
        raise ValidationFailed(_("La fecha de vencimiento ya pasó."), "expires_on")
    if not 1 <= request.rate_limit <= MAX_RATE_LIMIT:
        message = _("El límite va de 1 a %(max)s pedidos por minuto.", max=MAX_RATE_LIMIT)
        raise ValidationFailed(message, "rate_limit")


def end_of_day(day: dt.date) -> dt.datetime:
    """A key "valid until" a day works through that whole day, Argentine time."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), ARGENTINA)


def list_api_keys(session: DbSession, organization_id: int) -> list[ApiKey]:
    """Newest first, revoked ones too (they stay listed, marked, for the record)."""
    query = (
        select(ApiKey)
        .where(ApiKey.organization_id == organization_id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    return list(session.scalars(query))


def get_api_key(session: DbSession, organization_id: int, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None or key.organization_id != organization_id:
        raise NotFound(_("No encontramos esa clave."))
    return key


def revoke_api_key(
    session: DbSession, cache: Cache, key: ApiKey, user: User | None, now: dt.datetime | None = None
) -> None:
    """Revoke and commit; the cached validation is deleted after the commit, so the key's next
    request reads the revoked row. Revoking twice changes nothing."""
    if key.revoked_at is not None:
        return
    key.revoked_at = now or utcnow()
    details = {"api_key_id": key.id, "name": key.name, "prefix": key.prefix}
    record_event(
        session, key.organization_id, "api_key.revoked", user, ("api_key", key.id), details
    )
    session.commit()
    cache.delete(cache_key(key.secret_hash))


def resolve_secret(
    session: DbSession, cache: Cache, secret: str, now: dt.datetime
) -> KeyIdentity | None:
    """The key this secret belongs to when it is usable (not revoked, not expired), else None.

    Cached by the secret's hash: one cache read per request, the database only on a miss.
    Expiry is checked on every call, so a cached key still stops at its expiry.
    """
    digest = hash_secret(secret)
    raw = cache.get(cache_key(digest))
    count_api_key_lookup(cached=bool(raw))  # metrics: the key cache's hit ratio
    identity = KeyIdentity.from_json(raw) if raw else None
    if identity is None:
        key = session.scalar(
            select(ApiKey).where(ApiKey.secret_hash == digest, ApiKey.revoked_at.is_(None))
        )
        if key is None:
            return None
        identity = KeyIdentity.of(key)
        cache.set(cache_key(digest), identity.to_json(), CACHE_TTL_SECONDS)
    return None if identity.is_expired(now) else identity
