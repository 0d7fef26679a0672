"""Bulk authorization of FCE MiPyME and Factura E drafts through an RQ worker against the
sandbox over real SOAP: FCE vouchers go one per FECAESolicitar (ARCA's 10003), a Factura E one
per FEXAuthorize, and every draft ends authorized."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from arca.sandbox import Sandbox
from blueprints.invoices.bulk import load_progress, start_bulk
from blueprints.invoices.models import Invoice, InvoiceStatus
from core.db import db
from core.tasks import run_worker
from tests.integration.arca.test_export_exactly_once import (
    config,
    export_draft,
    foreign_customer,
    http_app,
)
from tests.integration.arca.test_fce_authorization import fce_invoice, large_company, mipyme

__all__ = ["config", "http_app"]  # the fixtures, shared


def test_bulk_sends_fce_one_per_request_and_factura_e_through_wsfex(
    http_app: Flask, sandbox: Sandbox
) -> None:
    organization = mipyme()
    company = large_company(organization)
    fce = [fce_invoice(organization, company) for _ in range(3)]
    buyer = foreign_customer(organization)
    exports = [export_draft(organization, buyer, price) for price in ("10", "20")]
    organization_id, cuit = organization.id, organization.cuit  # the worker ends the session
    key = start_bulk(db.session, organization_id, fce + exports)
    run_worker(burst=True)
    progress = load_progress(db.session, key, organization_id)
    assert progress.finished and progress.authorized == 5, progress
    db.session.expire_all()
    found = db.session.scalars(select(Invoice).where(Invoice.id.in_(fce + exports)))
    assert {(i.invoice_type, i.number, i.status) for i in found} == {
        (201, 1, InvoiceStatus.AUTHORIZED),
        (201, 2, InvoiceStatus.AUTHORIZED),
        (201, 3, InvoiceStatus.AUTHORIZED),
        (19, 1, InvoiceStatus.AUTHORIZED),
        (19, 2, InvoiceStatus.AUTHORIZED),
    }
    sent = [r for r in sandbox.ledger.requests() if r.cuit == cuit]
    assert [r.cant_reg for r in sent if r.operation == "FECAESolicitar"] == [1, 1, 1]
    assert len([r for r in sent if r.operation == "FEXAuthorize"]) == 2
