"""An organization like the demo's, small, for tests that need a bit of everything."""

from __future__ import annotations

import datetime as dt

from arca.codes import IssuerCondition
from blueprints.auth.models import User
from blueprints.demo.services import (
    DEMO_CUSTOMERS,
    DemoInvoices,
    DemoOrganization,
    DemoReport,
    ensure_organization,
)
from blueprints.organizations.services import OrganizationDetails
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db
from tests.factories import next_cuit


def small_demo(owner: User, seed: int) -> DemoReport:
    """A sandbox certificate, a point of sale, customers, authorized invoices, a credit note, a
    rejected one, drafts, owned by `owner`. Call inside a request context (links are built)."""
    demo = DemoOrganization(
        OrganizationDetails(
            cuit=next_cuit(),
            legal_name="Almacén de Todo SRL",
            trade_name="Almacén de Todo",
            iva_condition=IssuerCondition.RESPONSABLE_INSCRIPTO,
            iibb="901-712345-6",
            activity_start=dt.date(2019, 3, 1),
            address="Av. Corrientes 1234, CABA",
        ),
        points_of_sale=(1,),
        customers=DEMO_CUSTOMERS[:6],
        invoices=DemoInvoices(authorized=4, seed=seed, extras=True),
    )
    return ensure_organization(db.session, get_arca(), get_keyring(), owner, demo)
