"""Access tickets kept in the database, encrypted, with the cache in front (arca.tickets' store).

The database is the record: a ticket survives a Redis flush and a restart, so no process asks
WSAA for a second one while the first is valid (WSAA would refuse it). The cache holds the same
ciphertext for a quick read. Each call uses its own short session and commits at once, so a
ticket is durable before `get_ticket` releases the renewal lock, whatever the caller's session
is doing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import Engine, Select, select
from sqlalchemy.orm import Session

from arca.tickets import TicketKey, ticket_from_dict, ticket_to_dict
from arca.wsaa import AccessTicket
from blueprints.certificates.models import AccessTicketRecord
from core.cache import Cache
from core.crypto import DecryptionError, KeyRing
from core.db import utcnow
from core.metrics import count_ticket_lookup, count_wsaa_login


def ticket_aad(certificate_id: int, key: TicketKey) -> bytes:
    """Binds a ticket's ciphertext to its row: copied elsewhere, it does not decrypt."""
    return f"access_tickets.ticket:{certificate_id}:{key.service}:{key.environment}".encode()


@dataclass
class DatabaseTicketStore:
    """The `TicketStore` of one certificate (tickets are per certificate, service, environment)."""

    engine: Engine
    keyring: KeyRing
    cache: Cache
    organization_id: int
    certificate_id: int

    def load(self, key: TicketKey) -> AccessTicket | None:
        token = self._cached(key)
        if token is None:
            token = self._stored(key)
            count_ticket_lookup("database" if token else "none")  # metrics: a cache miss
            if token is None:
                return None
        else:
            count_ticket_lookup("cache")  # metrics: the hit ratio
        try:
            plain = self.keyring.decrypt(token, ticket_aad(self.certificate_id, key))
        except DecryptionError:
            return None  # unreadable counts as absent: get_ticket logs in again
        return ticket_from_dict(json.loads(plain))

    def save(self, key: TicketKey, ticket: AccessTicket) -> None:
        count_wsaa_login()  # get_ticket saves only what WSAA just issued
        token = self.keyring.encrypt(
            json.dumps(ticket_to_dict(ticket)).encode(), ticket_aad(self.certificate_id, key)
        )
        with Session(self.engine) as session, session.begin():
            record = session.scalar(self._query(key)) or AccessTicketRecord(
                organization_id=self.organization_id,
                certificate_id=self.certificate_id,
                service=key.service,
                environment=key.environment,
            )
            record.ticket = token
            record.generated_at = ticket.generation_time
            record.expires_at = ticket.expiration_time
            session.add(record)
        self._cache_token(key, token, ticket.expiration_time)

    def _query(self, key: TicketKey) -> Select[AccessTicketRecord]:
        return select(AccessTicketRecord).where(
            AccessTicketRecord.certificate_id == self.certificate_id,
            AccessTicketRecord.service == key.service,
            AccessTicketRecord.environment == key.environment,
        )

    def _stored(self, key: TicketKey) -> str | None:
        with Session(self.engine) as session:
            record = session.scalar(self._query(key))
            if record is None:
                return None
            self._cache_token(key, record.ticket, record.expires_at)
            return record.ticket

    def _cached(self, key: TicketKey) -> str | None:
        value = self.cache.get(_cache_key(key))
        return value.decode() if value else None

    def _cache_token(self, key: TicketKey, token: str, expires_at: dt.datetime) -> None:
        seconds = int((expires_at - utcnow()).total_seconds())
        if seconds > 0:
            self.cache.set(_cache_key(key), token.encode(), seconds)


def _cache_key(key: TicketKey) -> str:
    return f"certificates:ticket:{key}"
