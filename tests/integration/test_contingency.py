"""CAEA contingency end to end (issue 17, RG 5782): with the sandbox's WSFE down, vouchers are
issued with the fortnight's CAEA on the CAEA point of sale, printed with it, informed by the
job once the sandbox is back, and `invoices verify` then agrees with the sandbox's ledger."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from arca.sandbox.faults import reject_next, wsfe_unavailable
from blueprints.invoices.authorization import authorize_invoice
from blueprints.invoices.contingency import (
    ArcaIsAnswering,
    ContingencyRefused,
    caea_point_of_sale,
    caeas_of,
    inform_pending,
    issue_with_caea,
    pending_summary,
    reports_of,
    request_caeas,
)
from blueprints.invoices.contingency_jobs import inform_chore
from blueprints.invoices.models import CaeaReportStatus, Invoice, InvoiceStatus
from blueprints.invoices.verify import verify_all
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.services import ArcaCallFailed
from core.arca import get_arca
from core.db import db, utcnow
from core.tasks import run_worker, wake
from tests.integration.test_invoices import BOOK, COFFEE, certified, draft
from tests.pdf_tools import decode_qr, pdf_text, words
from tests.web import csrf_token

VOUCHERS = 20


def down() -> None:
    """The sandbox's WSFE answers nothing but outages (FEDummy included) until cleared."""
    get_arca().sandbox().faults.add(wsfe_unavailable())


def back() -> None:
    get_arca().sandbox().faults.clear()


def qr_payload(pdf: bytes, tmp_path: Path) -> dict[str, object]:
    [url] = decode_qr(pdf, tmp_path)
    return json.loads(base64.b64decode(url.split("?p=", 1)[1]))  # type: ignore[no-any-return]


def test_twenty_vouchers_issued_with_the_caea_printed_informed_and_verified(
    app: Flask, cashier: tuple[FlaskClient, int], faults: None, tmp_path: Path
) -> None:
    client, organization_id = cashier
    with app.app_context():
        [caea, *_] = request_caeas(db.session, organization_id, get_arca())
        point = caea_point_of_sale(db.session, organization_id)
        assert point is not None and point.emission_type.upper().startswith("CAEA")
        point_number, code, due = point.number, caea.code, caea.valid_to
        cuit = db.session.get_one(Organization, organization_id).cuit
        ids = [draft(organization_id, [COFFEE, BOOK]).id for _ in range(VOUCHERS)]
        down()
        with pytest.raises(ArcaCallFailed):  # the CAE way fails: nothing was sent
            authorize_invoice(db.session, ids[0], get_arca())
        issued = [issue_with_caea(db.session, invoice_id, get_arca()) for invoice_id in ids]
        assert [invoice.number for invoice in issued] == list(range(1, VOUCHERS + 1))
        assert {
            (i.status, i.authorization_mode, i.point_of_sale_number, i.cae, i.cae_due)
            for i in issued
        } == {(InvoiceStatus.AUTHORIZED, "CAEA", point_number, code, due)}
        assert all(invoice.generated_at is not None for invoice in issued)
        assert pending_summary(db.session, organization_id).pending == VOUCHERS
        with pytest.raises(ArcaCallFailed):  # still down: the job waits, nothing is sent
            inform_pending(db.session, organization_id, get_arca())
        first = issued[0]
        expected_qr = {
            "ver": 1,
            "fecha": first.issue_date.isoformat(),
            "cuit": int(cuit),
            "ptoVta": point_number,
            "tipoCmp": 6,
            "nroCmp": 1,
            "importe": None,  # the total, written as the QR spec wants (below)
            "moneda": "PES",
            "ctz": 1,
            "tipoDocRec": 99,
            "nroDocRec": 0,
            "tipoCodAut": "A",  # RG 4892: "A" for a CAEA
            "codAut": int(code),
        }
        total = first.total

    banner = client.get("/invoices/")
    assert 'id="contingency-banner"' in banner.get_data(as_text=True)
    for invoice_id in (ids[0], ids[-1]):
        response = client.get(f"/invoices/{invoice_id}/pdf")
        text = words("".join(pdf_text(response.data, tmp_path)))
        assert f"CAEA N°: {code}" in text and due.strftime("%d/%m/%Y") in text
        assert "Fecha de Vto. de CAEA" in text and "CAE N°" not in text
        assert qr_payload(response.data, tmp_path)["tipoCodAut"] == "A"
    payload = qr_payload(client.get(f"/invoices/{ids[0]}/pdf").data, tmp_path)
    expected_qr["importe"] = int(total) if total == int(total) else float(total)
    assert payload == expected_qr

    with app.app_context():
        back()
        task_ids = inform_chore(db.session, utcnow())  # the chore finds work, a worker does it
        assert len(task_ids) == 1
        wake(task_ids)
        run_worker(burst=True)
        reports = reports_of(db.session, organization_id)
        assert [r.status for r in reports] == [CaeaReportStatus.INFORMED] * VOUCHERS
        assert not pending_summary(db.session, organization_id).any
        ledger = get_arca().sandbox().ledger.requests()
        informs = [r for r in ledger if r.operation == "FECAEARegInformativo" and r.cuit == cuit]
        assert len(informs) == 1  # one batch of 20

        reports_by_sequence = verify_all(db.session, organization_id, get_arca())
        caea_sequence = [r for r in reports_by_sequence if r.sequence.point_of_sale == point_number]
        assert caea_sequence and caea_sequence[0].last == VOUCHERS
        assert [f for r in reports_by_sequence for f in r.problems] == []
    assert 'id="contingency-banner"' not in client.get("/invoices/").get_data(as_text=True)
    result = app.test_cli_runner().invoke(args=["invoices", "verify", "--organization", cuit])
    assert result.exit_code == 0, result.output


def test_the_caea_is_for_contingency_only_and_needs_its_point_and_code(
    app: Flask, faults: None
) -> None:
    with app.app_context():
        organization_id = certified()
        invoice_id = draft(organization_id, [COFFEE]).id
        with pytest.raises(ContingencyRefused, match="No hay CAEA"):
            issue_with_caea(db.session, invoice_id, get_arca())
        request_caeas(db.session, organization_id, get_arca())
        with pytest.raises(ArcaIsAnswering):  # ARCA answers: RG 5782 says CAE
            issue_with_caea(db.session, invoice_id, get_arca())
        invoice = db.session.get_one(Invoice, invoice_id)
        assert invoice.status == InvoiceStatus.DRAFT and invoice.number is None
        # Asked twice, the CAEA is the same one (FECAEAConsultar reads it back).
        again = request_caeas(db.session, organization_id, get_arca())
        assert len({c.code for c in again}) == len(again)


def test_the_page_offers_issuing_with_the_caea_when_arca_does_not_answer(
    app: Flask, cashier: tuple[FlaskClient, int], faults: None
) -> None:
    client, organization_id = cashier
    page = client.get("/invoices/contingencia")
    assert page.status_code == 200 and 'id="caea-current"' in page.get_data(as_text=True)
    token = csrf_token(client, "/invoices/contingencia")
    response = client.post("/invoices/contingencia/caea", data={"csrf_token": token})
    assert response.status_code == 303
    with app.app_context():
        invoice_id = draft(organization_id, [COFFEE]).id
    detail = f"/invoices/{invoice_id}"
    html = client.get(detail).get_data(as_text=True)
    assert 'id="issue-caea"' not in html  # nothing failed yet: the CAE way first
    token = csrf_token(client, detail)
    [reviewed] = re.findall(r'name="reviewed" value="([^"]+)"', html)
    with app.app_context():
        down()
    response = client.post(
        f"/invoices/{invoice_id}/authorize", data={"csrf_token": token, "reviewed": reviewed}
    )
    assert response.status_code == 303
    with app.app_context():
        run_worker(burst=True)  # the request finds ARCA down: it waits, saying why
    html = client.get(detail).get_data(as_text=True)
    assert 'id="waiting-reasons"' in html and 'id="issue-caea"' in html
    response = client.post(f"/invoices/{invoice_id}/caea", data={"csrf_token": token})
    assert response.status_code == 303
    html = client.get(detail).get_data(as_text=True)
    assert "Emitido con CAEA" in html and 'id="caea-report-status"' in html
    with app.app_context():
        invoice = db.session.scalars(select(Invoice).where(Invoice.id == invoice_id)).one()
        assert invoice.by_caea and invoice.status == InvoiceStatus.AUTHORIZED
        run_worker(burst=True)  # the cancelled CAE request does nothing more
        assert db.session.get_one(Invoice, invoice_id).by_caea


def test_a_refusal_is_shown_with_arcas_reason_and_the_rest_wait_until_it_is_retried(
    app: Flask, cashier: tuple[FlaskClient, int], faults: None
) -> None:
    client, organization_id = cashier
    with app.app_context():
        request_caeas(db.session, organization_id, get_arca())
        ids = [draft(organization_id, [COFFEE]).id for _ in range(3)]
        down()
        for invoice_id in ids:
            issue_with_caea(db.session, invoice_id, get_arca())
        back()
        sandbox = get_arca().sandbox()
        sandbox.faults.add(reject_next(10015, operation="FECAEARegInformativo"))
        outcome = inform_pending(db.session, organization_id, get_arca())
        assert sorted(outcome.rejected) == sorted(ids)  # a request-level error: the batch
        reports = reports_of(db.session, organization_id)
        assert {r.status for r in reports} == {CaeaReportStatus.REJECTED}
        assert reports[0].messages[0]["code"] == 10015
        again = inform_pending(db.session, organization_id, get_arca())
        assert again.informed == [] and again.rejected == []  # nothing sent while refused
    page = client.get("/invoices/contingencia").get_data(as_text=True)
    assert 'id="contingency-banner"' in page and "10015" in page
    token = csrf_token(client, "/invoices/contingencia")
    client.post("/invoices/contingencia/reintentar", data={"csrf_token": token})
    with app.app_context():
        assert pending_summary(db.session, organization_id).pending == 3
        outcome = inform_pending(db.session, organization_id, get_arca())
        assert sorted(outcome.informed) == sorted(ids)


def test_points_of_sale_without_movement_are_reported_once_the_fortnight_is_over(
    app: Flask, faults: None
) -> None:
    with app.app_context():
        organization_id = certified()
        [caea, *_] = request_caeas(db.session, organization_id, get_arca())
        code, after = caea.code, caea.valid_to + dt.timedelta(days=1)
        sandbox = get_arca().sandbox()
        sandbox.clock.freeze(dt.datetime.combine(after, dt.time(15, 0), tzinfo=dt.UTC))
        try:
            outcome = inform_pending(db.session, organization_id, get_arca())
            assert outcome.no_movement == [(code, 6)]
            assert inform_pending(db.session, organization_id, get_arca()).no_movement == []
            reported = get_arca().sandbox().ledger.requests()
            cuit = db.session.get_one(Organization, organization_id).cuit
            informs = [
                r
                for r in reported
                if r.operation == "FECAEASinMovimientoInformar" and r.cuit == cuit
            ]
            assert len(informs) == 1
        finally:
            sandbox.clock.unfreeze()
        [stored] = [c for c in caeas_of(db.session, organization_id) if c.code == code]
        assert stored.no_movement[0]["point_of_sale"] == 6
        assert stored.no_movement[0]["result"] == "A"


def test_the_command_line_requests_reports_and_informs(
    app: Flask, cashier: tuple[FlaskClient, int], faults: None
) -> None:
    """`flask invoices caea request|status|inform`, as a cron or an operator runs them: one
    organization by CUIT, or every organization that uses the contingency."""
    _client, organization_id = cashier
    runner = app.test_cli_runner()
    with app.app_context():
        cuit = db.session.get_one(Organization, organization_id).cuit
    requested = runner.invoke(args=["invoices", "caea", "request", "--organization", cuit])
    assert requested.exit_code == 0, requested.output
    assert re.search(
        rf"organization {organization_id}: \d{{6}} order [12] CAEA \d{{14}} valid", requested.output
    )
    with app.app_context():
        code = caeas_of(db.session, organization_id)[0].code
        invoice_id = draft(organization_id, [COFFEE]).id
        down()
        issue_with_caea(db.session, invoice_id, get_arca())

    status = runner.invoke(args=["invoices", "caea", "status", "--organization", cuit])
    assert status.exit_code == 0, status.output
    assert "1 pending, 0 rejected" in status.output and code in status.output
    still_down = runner.invoke(args=["invoices", "caea", "inform"])
    assert still_down.exit_code == 1
    assert f"organization {organization_id}: " in still_down.output
    with app.app_context():
        back()
    informed = runner.invoke(args=["invoices", "caea", "inform"])
    assert informed.exit_code == 0, informed.output
    assert f"organization {organization_id}: 1 informed, 0 rejected" in informed.output
    with app.app_context():
        assert pending_summary(db.session, organization_id).pending == 0
