"""The certificates slice's secrets at rest, for `flask keys rotate` (see `core.secrets`)."""

from __future__ import annotations

from arca.tickets import TicketKey
from blueprints.certificates.models import AccessTicketRecord, Certificate
from blueprints.certificates.services import key_aad
from blueprints.certificates.tickets import _cache_key, ticket_aad
from core.secrets import SecretColumn


def private_key_aad(certificate: Certificate) -> bytes:
    return key_aad(certificate.organization_id, certificate.public_key_sha256)


def ticket_key(record: AccessTicketRecord) -> TicketKey:
    # Tickets exist only for issued certificates, and an issued certificate has a fingerprint.
    return TicketKey(record.environment, record.certificate.fingerprint or "", record.service)


def access_ticket_aad(record: AccessTicketRecord) -> bytes:
    return ticket_aad(record.certificate_id, ticket_key(record))


def access_ticket_cache_key(record: AccessTicketRecord) -> str:
    """The cache's copy of the ticket (`DatabaseTicketStore` caches the same ciphertext)."""
    return _cache_key(ticket_key(record))


SECRET_COLUMNS = (
    SecretColumn(Certificate, "private_key", private_key_aad),
    SecretColumn(AccessTicketRecord, "ticket", access_ticket_aad, access_ticket_cache_key),
)
