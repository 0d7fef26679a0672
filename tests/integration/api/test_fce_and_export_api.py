"""FCE MiPyME and Factura E over the API (#18), on PostgreSQL and Redis with the sandbox
speaking SOAP: the preflight says when ARCA's wsfecred requires an FCE, `fce: true` makes the
draft a 201 with the organization's CBU, a customer abroad makes it a Factura E whose export
data the body sets, both end authorized; bad values are 422 problems naming their field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from arca.sandbox.wsfecred_data import FCE_THRESHOLD
from blueprints.customers.models import Customer
from blueprints.invoices.models import Invoice
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.organizations.models import Organization
from core.arca import get_arca
from core.db import db
from tests.integration.api.test_invoices_api import Api, api_for, errors_of, in_ledger

CBU = "0110599500000031000121"  # both BCRA check digits right
LARGE_COMPANY = {
    "document_type": 80,
    "document_number": "30-50001091-2",  # obligated to receive FCE in the sandbox's wsfecred
    "legal_name": "Gran Empresa de Homologación SA",
    "iva_condition": 1,
}
USA_COMPANY = {
    "document_type": 80,
    "document_number": "55000002126",  # ARCA's CUIT for "ESTADOS UNIDOS - Persona Jurídica"
    "legal_name": "Acme Software Inc.",
    "iva_condition": 9,
    "country": 212,
    "foreign_tax_id": "12-3456789",
    "address": "500 Market St, San Francisco, CA 94105, USA",  # an E prints it
}
CONSULTING = {"description": "Consultoría de software (mes)", "quantity": "1"}


def with_cbu(app: Flask, api: Api) -> None:
    with app.app_context():
        organization = db.session.get_one(Organization, api.organization_id)
        organization.cbu, organization.cbu_alias = CBU, "almacen.demo.cbu"
        db.session.commit()


def arca_day(app: Flask) -> dt.date:
    with app.app_context():
        return arca_today(get_arca())


def services_month(today: dt.date) -> dict[str, Any]:
    return {
        "point_of_sale": 1,
        "concept": 2,
        "service_from": today.replace(day=1).isoformat(),
        "service_to": today.isoformat(),
        "payment_due": (today + dt.timedelta(days=30)).isoformat(),
    }


def test_the_preflight_offers_fce_above_the_threshold_and_fce_is_authorized(app: Flask) -> None:
    api = api_for(app)
    with_cbu(app, api)
    settings = api.get("/organization").get_json()["fce"]
    assert settings == {"cbu": CBU, "cbu_alias": "almacen.demo.cbu", "transfer": "SCA"}
    small = api.create(
        {
            "point_of_sale": 1,
            "customer": LARGE_COMPANY,
            "lines": [{**CONSULTING, "unit_price": "1000"}],
        }
    )
    below = api.post(f"/invoices/{small['id']}/preflight").get_json()
    assert below["fce"] == {"required": False, "threshold": f"{FCE_THRESHOLD:f}", "chosen": False}

    today = dt.date.fromisoformat(small["issue_date"])
    large = api.patch(
        f"/invoices/{small['id']}",
        {**services_month(today), "lines": [{**CONSULTING, "unit_price": "5000000.00"}]},
    ).get_json()
    assert (large["type"]["code"], large["letter"], large["fce"]) == (1, "A", None)
    offer = api.post(f"/invoices/{small['id']}/preflight").get_json()
    assert offer["fce"] == {"required": True, "threshold": f"{FCE_THRESHOLD:f}", "chosen": False}

    fce = api.patch(f"/invoices/{small['id']}", {"fce": True}).get_json()
    assert (fce["type"]["code"], fce["letter"]) == (201, "A")
    assert fce["fce"] == {
        "cbu": CBU,
        "alias": "almacen.demo.cbu",
        "transfer": "SCA",
        "cancels_rejected": None,
    }
    assert fce["payment_due"] == services_month(today)["payment_due"]
    chosen = api.post(f"/invoices/{small['id']}/preflight").get_json()
    assert chosen["ok"], chosen["problems"]
    assert chosen["fce"]["chosen"] is True and chosen["type"]["code"] == 201

    done = api.authorize(small["id"])
    assert done["type"]["code"] == 201 and len(done["cae"]) == 14
    assert in_ledger(app, api.cuit(), done) == done["cae"]
    # Back to a plain A is a draft's business only.
    refused = api.patch(f"/invoices/{small['id']}", {"fce": False})
    assert refused.status_code == 409
    # Its credit note is an FCE note (203) that says whether it cancels a rejected FCE.
    note = api.post(f"/invoices/{small['id']}/credit-notes", {}).get_json()
    assert note["type"]["code"] == 203 and note["fce"]["cancels_rejected"] is False
    assert note["fce"]["cbu"] is None  # 2101 goes on invoices only
    cancels = api.patch(f"/invoices/{note['id']}", {"fce_cancels_rejected": True}).get_json()
    assert cancels["fce"]["cancels_rejected"] is True and cancels["type"]["code"] == 203


def test_no_fce_answer_for_a_consumer_or_a_class_without_fce(app: Flask) -> None:
    api = api_for(app)
    anonymous = api.create({"point_of_sale": 1, "lines": [{**CONSULTING, "unit_price": "1000"}]})
    assert api.post(f"/invoices/{anonymous['id']}/preflight").get_json()["fce"] is None


def test_a_customer_abroad_gets_a_factura_e_with_its_export_data(app: Flask) -> None:
    api = api_for(app)
    created = api.post("/customers", USA_COMPANY)
    assert created.status_code == 201, created.text
    customer = created.get_json()
    assert customer["country"] == {"code": 212, "name": "ESTADOS UNIDOS"}
    assert customer["foreign_tax_id"] == "12-3456789"
    assert customer["iva_condition"]["code"] == 9

    today = arca_day(app)
    body = {
        **services_month(today),
        "customer_id": customer["id"],
        "currency": "DOL",
        "currency_rate": "1050",
        "lines": [{**CONSULTING, "unit_price": "2500.00"}],
        "export": {"language": 2, "payment_terms": "Transferencia a 30 días"},
    }
    draft = api.create(body)
    assert (draft["type"]["code"], draft["letter"]) == (19, "E")
    assert draft["totals"]["vat"] == "0.00" and draft["totals"]["total"] == "2500.00"
    assert draft["export"] == {
        "export_type": {"code": 2, "name": "Servicios"},
        "destination_country": {"code": 212, "name": "ESTADOS UNIDOS"},  # the customer's
        "language": {"code": 2, "name": "Inglés"},
        "receiver_country_cuit": "55000002126",
        "receiver_tax_id": "12-3456789",  # the customer's
        "incoterms": None,  # services carry none
        "incoterms_detail": None,
        "payment_terms": "Transferencia a 30 días",
        "permit_existing": None,
        "permits": [],
    }
    assert draft["fce"] is None
    # A PATCH replaces the export fields it sends and keeps the rest.
    changed = api.patch(f"/invoices/{draft['id']}", {"export": {"language": 3}}).get_json()
    assert changed["export"]["language"]["code"] == 3
    assert changed["export"]["payment_terms"] == "Transferencia a 30 días"
    preflight = api.post(f"/invoices/{draft['id']}/preflight").get_json()
    assert preflight["ok"], preflight["problems"]
    assert preflight["fce"] is None and preflight["type"]["code"] == 19

    done = api.authorize(draft["id"])
    assert (done["type"]["code"], done["number"]) == (19, 1) and len(done["cae"]) == 14
    assert done["export"]["destination_country"]["code"] == 212
    pdf = api.get(f"/invoices/{draft['id']}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_goods_abroad_carry_incoterms_and_permits(app: Flask) -> None:
    api = api_for(app)
    customer = api.post("/customers", USA_COMPANY).get_json()
    export = {
        "destination_country": 203,
        "incoterms": "FOB",
        "incoterms_detail": "Puerto Buenos Aires",
        "permit_existing": True,
        "permits": [{"permit_id": "26001EC01000123A", "destination_country": 203}],
    }
    draft = api.create(
        {
            "point_of_sale": 1,
            "customer_id": customer["id"],
            "lines": [
                {"description": "Vino Malbec caja x 6", "quantity": "10", "unit_price": "96"}
            ],
            "export": export,
        }
    )
    assert draft["export"]["export_type"]["code"] == 1
    assert draft["export"]["destination_country"]["code"] == 203
    assert (draft["export"]["incoterms"], draft["export"]["permit_existing"]) == ("FOB", True)
    assert draft["export"]["permits"] == [
        {"permit_id": "26001EC01000123A", "destination_country": {"code": 203, "name": "BRASIL"}}
    ]
    # Null clears what was sent: the customer's defaults again, no permits.
    cleared = api.patch(f"/invoices/{draft['id']}", {"export": None}).get_json()
    assert cleared["export"]["destination_country"]["code"] == 212
    assert cleared["export"]["permits"] == [] and cleared["export"]["incoterms"] is None


def test_bad_fce_and_export_values_are_422_naming_their_field(app: Flask) -> None:
    api = api_for(app)
    line = {**CONSULTING, "unit_price": "100"}
    export = errors_of(
        api.post(
            "/invoices",
            {
                "point_of_sale": 1,
                "lines": [line],
                "fce": "yes",
                "export": {
                    "destination_country": 200,
                    "language": 4,
                    "incoterms": "XYZ",
                    "payment_terms": "x" * 51,
                    "permits": [
                        {"permit_id": "P" * 17, "destination_country": 999999},
                        {"permit_id": "", "destination_country": True},
                    ],
                },
            },
        )
    )
    assert export["fce"] == "Tiene que ser true o false."
    assert export["export.destination_country"] == (
        "Una exportación no tiene como destino la Argentina (200)."
    )
    assert export["export.language"].startswith("Valores posibles: 1, 2")
    assert export["export.incoterms"].startswith("Incoterms posibles: ")
    assert export["export.payment_terms"] == "Puede tener hasta 50 caracteres."
    assert export["export.permits.0.permit_id"] == "Puede tener hasta 16 caracteres."
    assert export["export.permits.0.destination_country"] == (
        "No es un código de país de ARCA (FEXGetPARAM_DST_pais)."
    )
    assert set(export) >= {"export.permits.1.permit_id", "export.permits.1.destination_country"}

    customer = errors_of(api.post("/customers", {**USA_COMPANY, "country": 200}))
    assert set(customer) == {"country"}
    inline = errors_of(
        api.post(
            "/invoices",
            {
                "point_of_sale": 1,
                "lines": [line],
                "customer": {**USA_COMPANY, "foreign_tax_id": None},
            },
        )
    )
    assert set(inline) == {"customer.foreign_tax_id"}
    with app.app_context():
        assert db.session.scalar(select(func.count(Invoice.id))) == 0
        assert db.session.scalar(select(func.count(Customer.id))) == 0


def test_a_customer_abroad_inline_is_found_by_country_and_tax_id(app: Flask) -> None:
    api = api_for(app)
    body = {"point_of_sale": 1, "lines": [{**CONSULTING, "unit_price": "100"}]}
    first = api.create({**body, "customer": USA_COMPANY})
    again = api.create({**body, "customer": USA_COMPANY})
    # Another company of the same country: the same country CUIT, another tax id.
    other = api.create({**body, "customer": {**USA_COMPANY, "foreign_tax_id": "98-7654321"}})
    assert first["letter"] == again["letter"] == other["letter"] == "E"
    assert first["receiver"]["customer_id"] == again["receiver"]["customer_id"]
    assert other["receiver"]["customer_id"] != first["receiver"]["customer_id"]
    listed = api.get(f"/customers/{other['receiver']['customer_id']}").get_json()
    assert listed["foreign_tax_id"] == "98-7654321" and listed["country"]["code"] == 212
