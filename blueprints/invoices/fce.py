"""Whether a receiver must get a Factura de Crédito Electrónica MiPyME (FCE), asked to ARCA's
wsfecred (`consultarMontoObligadoRecepcion`) as the organization, and whether to offer FCE on
a draft.

ARCA's answer depends on the receiver's size, which changes rarely, so it is kept in the cache
for a day per (environment, organization, CUIT, issue date). The editor asks through
`fce_obligation` (one SOAP call per receiver and day at most); the review's warnings and the
preflight read `cached_obligation` only, never ARCA (see preflight_adapter). When ARCA cannot be
asked (no certificate, ARCA down, the certificate not authorized for wsfecred) the answer is
None and the page goes on without the offer: FCE is never forced on a user by a failure.

No database transaction is held across the SOAP call: `organization_signer` commits first, as
the padrón's lookup does.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from flask import current_app

from arca import errors as arca_errors
from arca.codes import DocumentType
from arca.cuit import is_valid_cuit, normalize_cuit
from arca.errors import Message
from arca.wsfecred import SERVICE, FceObligation
from blueprints.certificates.connection import NoActiveCertificate, signed_in
from core.arca import ArcaGateway
from core.cache import get_cache
from core.db import DbSession

CACHE_SECONDS = 24 * 60 * 60  # a company's size does not change within a day
# After a failed question, the editor does not ask again for a minute: every change to the
# draft refreshes the offer, and a slow or down ARCA would slow each of them down.
FAILURE_SECONDS = 60
FCE_CLASSES = frozenset({"A", "B", "C"})

__all__ = ["FceObligation", "cached_obligation", "fce_obligation", "fce_offer", "offers_fce"]


def cache_key(environment: str, organization_id: int, cuit: str, on: dt.date) -> str:
    return f"invoices:fce:{environment}:{organization_id}:{cuit}:{on.isoformat()}"


def failure_key(environment: str, organization_id: int) -> str:
    return f"invoices:fce-unavailable:{environment}:{organization_id}"


def cuit_digits(value: str | None) -> str | None:
    """The 11 digits of a valid CUIT, else None (an FCE receiver is always a CUIT)."""
    digits = normalize_cuit(value or "")
    return digits if len(digits) == 11 and is_valid_cuit(digits) else None


def cached_obligation(
    environment: str, organization_id: int, cuit: str | None, on: dt.date
) -> FceObligation | None:
    """ARCA's answer read within the last day, or None (never calls ARCA)."""
    digits = cuit_digits(cuit)
    if digits is None:
        return None
    raw = get_cache().get(cache_key(environment, organization_id, digits, on))
    return None if raw is None else _loads(raw)


def fce_obligation(
    session: DbSession,
    organization_id: int,
    receiver_cuit: str,
    on: dt.date,
    gateway: ArcaGateway,
) -> FceObligation | None:
    """Whether the receiver `receiver_cuit` must get an FCE for a voucher issued `on`, and
    from what amount: from the cache, else from ARCA (then cached for a day).

    None when `receiver_cuit` is not a valid CUIT or ARCA could not be asked (logged). Ends
    `session`'s transaction when it asks ARCA (call it with no half-done work).
    """
    digits = cuit_digits(receiver_cuit)
    if digits is None:
        return None
    environment = gateway.environment_name
    cached = cached_obligation(environment, organization_id, digits, on)
    if cached is not None:
        return cached
    cache = get_cache()
    if cache.get(failure_key(environment, organization_id)) is not None:
        return None
    obligation = _ask(session, organization_id, digits, on, gateway)
    if obligation is None:
        cache.set(failure_key(environment, organization_id), b"1", FAILURE_SECONDS)
        return None
    cache.set(
        cache_key(environment, organization_id, digits, on), _dumps(obligation), CACHE_SECONDS
    )
    return obligation


def _ask(
    session: DbSession, organization_id: int, cuit: str, on: dt.date, gateway: ArcaGateway
) -> FceObligation | None:
    try:
        with signed_in(session, organization_id, gateway) as (signer, http):
            return gateway.wsfecred(http, signer.auth(SERVICE)).obligation(cuit, on)
    except NoActiveCertificate:
        return None  # nothing to sign with: the editor says so elsewhere
    except arca_errors.ArcaError as error:
        current_app.logger.warning(
            "wsfecred: could not ask about %s for organization %s: %s",
            cuit,
            organization_id,
            type(error).__name__,
        )
        return None


def offers_fce(
    obligation: FceObligation | None, voucher_class: str, doc_type: int, total_in_pesos: Decimal
) -> bool:
    """Whether a class `voucher_class` invoice of `total_in_pesos` to a receiver identified by
    `doc_type` should be an FCE, given ARCA's `obligation` for that receiver (pure)."""
    if obligation is None or voucher_class not in FCE_CLASSES:
        return False
    return doc_type == DocumentType.CUIT and obligation.requires_fce(total_in_pesos)


def fce_offer(
    session: DbSession,
    organization_id: int,
    voucher_class: str,
    doc_type: int,
    doc_number: str,
    total: Decimal,
    currency_rate: Decimal,
    on: dt.date,
    gateway: ArcaGateway,
) -> FceObligation | None:
    """ARCA's obligation for the receiver when an invoice like this (class `voucher_class`, to
    `doc_type`/`doc_number`, `total` in a currency worth `currency_rate` pesos, issued `on`)
    should be an FCE MiPyME; None when FCE is not called for or ARCA could not be asked.

    ARCA's `montoDesde` is in pesos, so a foreign-currency total is converted with the rate.
    Asks ARCA only for a CUIT receiver of class A, B or C (see `fce_obligation`).
    """
    if voucher_class not in FCE_CLASSES or doc_type != DocumentType.CUIT:
        return None
    if not total.is_finite() or not currency_rate.is_finite():
        return None
    obligation = fce_obligation(session, organization_id, doc_number, on, gateway)
    in_pesos = total * currency_rate
    return obligation if offers_fce(obligation, voucher_class, doc_type, in_pesos) else None


def _dumps(obligation: FceObligation) -> bytes:
    amount = obligation.amount_from
    data = {
        "cuit": obligation.cuit,
        "issue_date": obligation.issue_date.isoformat(),
        "obligated": obligation.obligated,
        "amount_from": None if amount is None else str(amount),
        "observations": [[m.code, m.text] for m in obligation.observations],
    }
    return json.dumps(data).encode()


def _loads(raw: bytes) -> FceObligation:
    data = json.loads(raw)
    amount = data["amount_from"]
    return FceObligation(
        cuit=data["cuit"],
        issue_date=dt.date.fromisoformat(data["issue_date"]),
        obligated=bool(data["obligated"]),
        amount_from=None if amount is None else Decimal(amount),
        observations=tuple(Message(int(code), text) for code, text in data["observations"]),
    )
