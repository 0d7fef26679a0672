"""Talking to ARCA as an organization: its active certificate, its tickets, its WSFEv1 client
(and its WSFEXv1 client, for Factura E).

No database transaction is held across a SOAP call: `arca_client` reads the certificate and
ends the read before the first request; tickets are written by their store in their own short
transactions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

import requests
from flask import current_app
from flask_babel import gettext as _

from arca import errors as arca_errors
from arca.tickets import Credential, get_ticket
from arca.wsaa import WSFE_SERVICE, AccessTicket
from arca.wsfe import PointOfSale, WsfeClient
from arca.wsfex import WsfexClient
from blueprints.certificates.models import Certificate, CertificateState
from blueprints.certificates.services import active_certificate, load_credential
from blueprints.certificates.tickets import DatabaseTicketStore
from blueprints.points_of_sale.services import merge_points_of_sale
from core.arca import ArcaGateway, ticket_lock
from core.cache import get_cache
from core.crypto import get_keyring
from core.db import DbSession, db
from core.errors import Conflict
from core.i18n import format_moment

T = TypeVar("T")


class NoActiveCertificate(Conflict):
    """The organization has no usable certificate for the configured environment."""


@dataclass(frozen=True)
class OrganizationSigner:
    """An organization's active certificate and its WSAA tickets, for any ARCA service."""

    credential: Credential
    certificate_id: int
    ticket: Callable[[str], AccessTicket]  # service name -> a valid ticket (logs in if needed)

    def auth(self, service: str) -> Callable[[], tuple[str, str, str]]:
        """Token, sign and CUIT for `service`, fetched at each call (tickets renew)."""

        def current() -> tuple[str, str, str]:
            ticket = self.ticket(service)
            return ticket.token, ticket.sign, self.credential.cuit

        return current


def organization_signer(
    session: DbSession, organization_id: int, gateway: ArcaGateway, http: requests.Session
) -> OrganizationSigner:
    """The organization's signer, with the tickets the app stores (database + cache), so every
    caller shares them (WSAA refuses a second login for a service while a ticket is valid).

    Raises `NoActiveCertificate` before any network call. Ends `session`'s transaction (commit:
    call it with no half-done work) so that none stays open during the SOAP calls.
    """
    certificate = usable_certificate(session, organization_id, gateway)
    credential = load_credential(session, certificate, get_keyring())
    certificate_id = certificate.id
    session.commit()
    store = DatabaseTicketStore(
        db.engine, get_keyring(), get_cache(), organization_id, certificate_id
    )
    lock = ticket_lock()
    login = gateway.wsaa(http).login

    def ticket(service: str) -> AccessTicket:
        return get_ticket(
            credential, service, gateway.environment_name, store, lock, login, gateway.now
        )

    return OrganizationSigner(credential, certificate_id, ticket)


@dataclass
class ArcaSession:
    """An organization's way into WSFEv1 for the length of a `with` block."""

    credential: Credential
    certificate_id: int
    wsfe: WsfeClient
    ticket: Callable[[], AccessTicket]


@contextmanager
def arca_client(
    session: DbSession, organization_id: int, gateway: ArcaGateway
) -> Iterator[ArcaSession]:
    """WSFEv1 signed in as the organization (see `organization_signer`)."""
    with signed_in(session, organization_id, gateway) as (signer, http):
        yield ArcaSession(
            signer.credential,
            signer.certificate_id,
            gateway.wsfe(http, signer.auth(WSFE_SERVICE)),
            partial(signer.ticket, WSFE_SERVICE),
        )


@contextmanager
def signed_in(
    session: DbSession, organization_id: int, gateway: ArcaGateway
) -> Iterator[tuple[OrganizationSigner, requests.Session]]:
    """The organization's signer (`organization_signer`) and the HTTP session its calls go
    through, closed when the block ends: what every ARCA service's client is built from."""
    http = gateway.session()
    try:
        yield organization_signer(session, organization_id, gateway, http), http
    finally:
        http.close()


WSFEX_SERVICE = "wsfex"


@dataclass
class ExportSession:
    """An organization's way into WSFEXv1 (Factura E) for the length of a `with` block."""

    credential: Credential
    certificate_id: int
    wsfex: WsfexClient
    ticket: Callable[[], AccessTicket]


@contextmanager
def export_client(
    session: DbSession, organization_id: int, gateway: ArcaGateway
) -> Iterator[ExportSession]:
    """WSFEXv1 signed in as the organization, with its own ticket for service "wsfex" (see
    `organization_signer`: same certificate, same stored tickets, no transaction left open)."""
    with signed_in(session, organization_id, gateway) as (signer, http):
        yield ExportSession(
            signer.credential,
            signer.certificate_id,
            gateway.wsfex(http, signer.auth(WSFEX_SERVICE)),
            partial(signer.ticket, WSFEX_SERVICE),
        )


def usable_certificate(
    session: DbSession, organization_id: int, gateway: ArcaGateway
) -> Certificate:
    certificate = active_certificate(session, organization_id, gateway.environment_name)
    if certificate is None:
        raise NoActiveCertificate(
            _("Todavía no hay un certificado activo para este ambiente: cargalo en Certificados.")
        )
    if certificate.state(gateway.now()) == CertificateState.EXPIRED:
        raise NoActiveCertificate(
            _("El certificado activo venció: generá una solicitud nueva y subí el certificado.")
        )
    return certificate


# --- "Probar conexión" -----------------------------------------------------------------------


@dataclass
class Step:
    name: str
    label: str
    ok: bool | None = None  # None: not run, because an earlier step failed
    milliseconds: int | None = None
    detail: str = ""


@dataclass
class ConnectionReport:
    steps: list[Step]
    points_of_sale: list[PointOfSale] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)


def test_connection(
    session: DbSession, organization_id: int, gateway: ArcaGateway
) -> ConnectionReport:
    """FEDummy, the WSAA login (or the stored ticket) and FEParamGetPtosVenta, each timed.

    Stops at the first failing step; its detail says what ARCA answered in the user's words.
    Raises `NoActiveCertificate` only (everything ARCA does goes into the report).
    """
    report = ConnectionReport(
        [
            Step("dummy", _("WSFEv1 en línea (FEDummy)")),
            Step("login", _("Autenticación WSAA (loginCms)")),
            Step("points_of_sale", _("Puntos de venta (FEParamGetPtosVenta)")),
        ]
    )
    with arca_client(session, organization_id, gateway) as arca:
        dummy, login, points = report.steps
        status = _timed(dummy, arca.wsfe.dummy)
        if status is None:
            return report
        if not status.ok:
            dummy.ok = False
            dummy.detail = _(
                "ARCA informa problemas: aplicación %(app)s, base de datos %(db)s, "
                "autenticación %(auth)s.",
                app=status.app_server,
                db=status.db_server,
                auth=status.auth_server,
            )
            return report
        dummy.detail = _("Servidores de ARCA: OK")
        ticket = _timed(login, arca.ticket)
        if ticket is None:
            return report
        login.detail = _(
            "Ticket válido hasta %(moment)s", moment=format_moment(ticket.expiration_time)
        )
        found = _timed(points, arca.wsfe.points_of_sale)
        if found is not None:
            report.points_of_sale = found
            points.detail = _("%(count)s puntos de venta habilitados", count=len(found))
    if report.points_of_sale:
        merge_points_of_sale(session, organization_id, report.points_of_sale, gateway.now())
        session.commit()
    return report


def _timed(step: Step, call: Callable[[], T]) -> T | None:
    started = time.perf_counter()
    try:
        result = call()
    except arca_errors.ArcaError as error:
        step.ok, step.detail = False, describe_arca_error(error)
        current_app.logger.info("ARCA step %s failed: %s", step.name, type(error).__name__)
        return None
    finally:
        step.milliseconds = round((time.perf_counter() - started) * 1000)
    step.ok = True
    return result


def describe_arca_error(error: arca_errors.ArcaError) -> str:
    """What went wrong with ARCA, for the user, in their language; ARCA's own text after it."""
    messages: list[tuple[type[arca_errors.ArcaError], str]] = [
        (
            arca_errors.TicketUnavailable,
            _(
                "ARCA ya entregó un ticket para este certificado y "
                "no lo tenemos guardado; habrá que esperar a que venza "
                "(unos minutos)."
            ),
        ),
        (arca_errors.CertificateExpired, _("ARCA dice que el certificado venció.")),
        (
            arca_errors.CertificateNotYetValid,
            _("ARCA dice que el certificado todavía no es válido: revisá el reloj del servidor."),
        ),
        (
            arca_errors.CertificateUntrusted,
            _("ARCA no reconoce la autoridad que emitió el certificado: ¿es de otro ambiente?"),
        ),
        (
            arca_errors.ServiceNotAuthorized,
            _(
                "El certificado no está autorizado para "
                "Facturación Electrónica (wsfe): creá la relación "
                "en el Administrador de Relaciones de ARCA."
            ),
        ),
        (
            arca_errors.TicketLockTimeout,
            _("Otra conexión está renovando el ticket; probá de nuevo en unos segundos."),
        ),
        (arca_errors.AuthenticationRejected, _("ARCA rechazó el ticket o la CUIT representada.")),
        (
            arca_errors.WsaaUnavailable,
            _("El servicio de autenticación de ARCA (WSAA) no responde."),
        ),
        (arca_errors.ServiceUnavailable, _("ARCA no responde en este momento.")),
    ]
    for kind, text in messages:
        if isinstance(error, kind):
            return f"{text} ({error})"
    return _("ARCA respondió con un error: %(error)s", error=error)
