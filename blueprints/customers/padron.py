"""Customers from ARCA's padrón: the constancia de inscripción of a CUIT, asked with the
organization's active certificate and kept in the cache for a day, with the moment it was read.

The page's "Buscar en el padrón de ARCA" and `GET /api/v1/padron/{cuit}` call `lookup_taxpayer`;
the invoice preflight reads `cached_lookup` only (it never calls ARCA: see preflight_adapter),
and the scheduler refreshes the CUITs being invoiced every night (padron_refresh.py).
No database transaction is held across the SOAP call: the certificate is read and the session
committed before the first request, as `certificates.connection.arca_client` does for WSFEv1.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from arca import errors as arca_errors
from arca.cuit import is_valid_cuit, normalize_cuit
from arca.padron import (
    CONSTANCIA_SERVICE,
    PadronAuthRejected,
    PadronClient,
    PadronFault,
    Taxpayer,
    TaxpayerInactive,
    TaxpayerNotFound,
)
from blueprints.certificates.connection import describe_arca_error, signed_in
from core.arca import ArcaGateway
from core.cache import get_cache
from core.db import DbSession
from core.errors import DomainError, NotFound, ValidationFailed

CACHE_SECONDS = 24 * 60 * 60  # "cached (a day)": ARCA's register changes rarely within a day


class PadronCuitInvalid(ValidationFailed):
    """Not an 11-digit CUIT with a right check digit: nothing is asked."""


class TaxpayerUnknown(NotFound):
    """ARCA's padrón has nobody with that CUIT."""


class PadronUnavailable(DomainError):
    """ARCA could not be asked, or refused the question (the message says which)."""

    status = 503


@dataclass(frozen=True)
class PadronLookup:
    """ARCA's answer for a CUIT and when it was read (`looked_up_at`, aware)."""

    taxpayer: Taxpayer
    looked_up_at: dt.datetime
    from_cache: bool = False

    @property
    def warning(self) -> str | None:
        """What the user must know before using the data (inactive, deceased), else None."""
        return taxpayer_warning(self.taxpayer)


def taxpayer_warning(taxpayer: Taxpayer) -> str | None:
    if taxpayer.deceased_on is not None:
        return _(
            "ARCA informa que la persona con esta CUIT falleció el %(day)s.",
            day=taxpayer.deceased_on.strftime("%d/%m/%Y"),
        )
    if not taxpayer.is_active:
        return _("ARCA informa que esta CUIT está inactiva: no se le pueden emitir facturas A.")
    return None


def cache_key(organization_id: int, cuit: str) -> str:
    return f"customers:padron:{organization_id}:{cuit}"


def valid_cuit(value: str) -> str:
    """The CUIT's 11 digits, or `PadronCuitInvalid`."""
    digits = normalize_cuit(value or "")
    if len(digits) != 11 or not is_valid_cuit(digits):
        raise PadronCuitInvalid(
            _("Escribí una CUIT de 11 dígitos válida para buscarla en el padrón."), "doc_number"
        )
    return digits


def cached_lookup(organization_id: int, cuit: str) -> PadronLookup | None:
    """The answer read within the last day, or None (never calls ARCA)."""
    raw = get_cache().get(cache_key(organization_id, normalize_cuit(cuit)))
    if raw is None:
        return None
    data = json.loads(raw)
    return PadronLookup(
        Taxpayer.from_dict(data["taxpayer"]), dt.datetime.fromisoformat(data["at"]), True
    )


def lookup_taxpayer(
    session: DbSession, organization_id: int, cuit: str, gateway: ArcaGateway
) -> PadronLookup:
    """The constancia of `cuit` from the cache, else from ARCA (then cached for a day).

    Raises `PadronCuitInvalid` (nothing asked), `NoActiveCertificate` (before any network
    call), `TaxpayerUnknown`, or `PadronUnavailable` for anything else ARCA says or does.
    Ends `session`'s transaction when it has to ask ARCA (call it with no half-done work).
    """
    digits = valid_cuit(cuit)
    cached = cached_lookup(organization_id, digits)
    if cached is not None:
        return cached
    with padron_client(session, organization_id, gateway) as client:
        return ask_and_remember(client, organization_id, digits, gateway)


def ask_and_remember(
    client: PadronClient, organization_id: int, cuit: str, gateway: ArcaGateway
) -> PadronLookup:
    """ARCA's answer for `cuit` (11 valid digits), kept in the cache for a day."""
    lookup = PadronLookup(_ask(client, cuit), gateway.now())
    payload = {"taxpayer": lookup.taxpayer.to_dict(), "at": lookup.looked_up_at.isoformat()}
    get_cache().set(cache_key(organization_id, cuit), json.dumps(payload).encode(), CACHE_SECONDS)
    return lookup


def _ask(client: PadronClient, cuit: str) -> Taxpayer:
    try:
        return client.taxpayer(cuit)
    except (TaxpayerNotFound, TaxpayerInactive) as error:
        if isinstance(error, TaxpayerInactive):
            raise PadronUnavailable(_("ARCA informa que esta CUIT está inactiva.")) from error
        raise TaxpayerUnknown(
            _("ARCA no tiene a nadie con la CUIT %(cuit)s en su padrón.", cuit=cuit), "doc_number"
        ) from error
    except PadronAuthRejected as error:
        raise PadronUnavailable(
            _("ARCA rechazó el ticket para consultar el padrón (%(detail)s).", detail=error.message)
        ) from error
    except PadronFault as error:
        raise PadronUnavailable(
            _(
                "ARCA respondió con un error al consultar el padrón: %(detail)s",
                detail=error.message,
            )
        ) from error
    except arca_errors.ServiceNotAuthorized as error:
        raise PadronUnavailable(
            _(
                "El certificado no está autorizado para la Constancia de Inscripción "
                "(ws_sr_constancia_inscripcion): agregá el servicio en el Administrador de "
                "Relaciones de ARCA."
            )
        ) from error
    except arca_errors.ArcaError as error:
        current_app.logger.info("padrón lookup failed: %s", type(error).__name__)
        raise PadronUnavailable(describe_arca_error(error)) from error


@contextmanager
def padron_client(
    session: DbSession, organization_id: int, gateway: ArcaGateway
) -> Iterator[PadronClient]:
    """The constancia de inscripción signed in as the organization (its own WSAA ticket).

    Raises `NoActiveCertificate` before any network call; commits `session` first.
    """
    with signed_in(session, organization_id, gateway) as (signer, http):
        auth = signer.auth(CONSTANCIA_SERVICE)
        yield PadronClient(gateway.environment(), http, gateway.timeouts, auth)


ARGENTINA = dt.timezone(dt.timedelta(hours=-3))


def lookup_day(lookup: PadronLookup) -> str:
    """`dd/mm/aaaa` of the lookup, in Argentina (as ARCA's constancia dates itself)."""
    return lookup.looked_up_at.astimezone(ARGENTINA).strftime("%d/%m/%Y")


def padron_values(taxpayer: Taxpayer) -> dict[str, str]:
    """The customer fields the padrón fills: name, address, and the IVA condition only when
    ARCA's answer settles it for an active taxpayer (the user chooses otherwise)."""
    values = {"legal_name": taxpayer.name}
    if taxpayer.address is not None:
        values["address"] = taxpayer.address.one_line()
    if taxpayer.iva_condition is not None and taxpayer.is_active:
        values["iva_condition"] = str(taxpayer.iva_condition)
    return values


def looks_like_cuit(value: str) -> bool:
    """Whether `value` is a whole, valid CUIT (what typing must reach before asking)."""
    digits = normalize_cuit(value or "")
    return len(digits) == 11 and is_valid_cuit(digits)
