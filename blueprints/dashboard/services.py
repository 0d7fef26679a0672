"""The setup checklist a new business walks through before its first invoice."""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from core.db import DbSession

# Each slice that completes a setup step registers how to tell it is done for an organization.
SetupCheck = Callable[[DbSession, int], bool]
SETUP_CHECKS: dict[str, SetupCheck] = {}


@dataclass(frozen=True)
class SetupStep:
    key: str
    title: str
    description: str
    endpoint: str
    available: bool
    done: bool


STEPS = (
    (
        "certificate",
        _l("Certificado de ARCA"),
        _l(
            "Generá la clave y el pedido de certificado (CSR) y subí el certificado que te da ARCA."
        ),
        "certificates.index",
    ),
    (
        "point_of_sale",
        _l("Punto de venta"),
        _l("Elegí el punto de venta de factura electrónica (web service) que vas a usar."),
        "points_of_sale.index",
    ),
    (
        "customer",
        _l("Primer cliente"),
        _l("Cargá un cliente o importalos desde una planilla."),
        "customers.index",
    ),
    (
        "invoice",
        _l("Primera factura"),
        _l("Emití tu primera factura y obtené el CAE."),
        "invoices.new",
    ),
)


def build_setup_steps(
    session: DbSession, organization_id: int, endpoints: Container[str]
) -> list[SetupStep]:
    """The checklist in order; a step links only once its page exists in this installation."""
    steps = []
    for key, title, description, endpoint in STEPS:
        check = SETUP_CHECKS.get(key)
        done = bool(check and check(session, organization_id))
        steps.append(
            SetupStep(key, str(title), str(description), endpoint, endpoint in endpoints, done)
        )
    return steps


def environment_label(name: str) -> str:
    labels = {
        "sandbox": _l("Sandbox (simulador local)"),
        "homologacion": _l("Homologación (pruebas de ARCA)"),
        "produccion": _l("Producción"),
    }
    return str(labels.get(name, name))
