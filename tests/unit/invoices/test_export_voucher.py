"""The requests built from a stored invoice, pure: a Factura E's `ExportVoucher` (items whose
arithmetic ARCA checks, the receiver abroad, the export data) and what makes two the same
voucher; an FCE invoice's optionals and payment date, and the refusal without a CBU."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal as D

from blueprints.invoices.authorization import build_request, fce_problem
from blueprints.invoices.export_authorization import (
    UNITS,
    build_export_voucher,
    export_item,
    same_export_voucher,
)
from blueprints.invoices.models import Invoice, InvoiceLine
from blueprints.invoices.totals import Line, line_amount

DAY = dt.date(2026, 11, 20)
CBU = "2850590940090418135201"


def line(quantity: str, price: str, discount: str = "0", position: int = 0) -> InvoiceLine:
    amount = line_amount(Line("x", D(quantity), D(price), D(discount), "exempt"))
    return InvoiceLine(
        position=position,
        description=f"Artículo {position}",
        quantity=D(quantity),
        unit_price=D(price),
        discount_percent=D(discount),
        vat="exempt",
        net=amount,
        vat_amount=D(0),
        total=amount,
    )


def factura_e(**changes: object) -> Invoice:
    lines = [line("3", "1500.50"), line("2.5", "99.99", "10", 1)]
    values: dict[str, object] = {
        "organization_id": 1,
        "point_of_sale_number": 2,
        "invoice_type": 19,
        "kind": "invoice",
        "letter": "E",
        "concept": 1,
        "receiver_name": "Acme Imports LLC",
        "receiver_address": "100 Main St",
        "receiver_doc_type": 80,
        "receiver_doc_number": "50000002124",
        "receiver_condition": 9,
        "issue_date": DAY,
        "payment_due": DAY + dt.timedelta(days=60),
        "currency": "DOL",
        "currency_rate": D("1010.5"),
        "same_currency_payment": False,
        "total": sum((item.total for item in lines), D(0)),
        "export_type": 1,
        "destination_country": 212,
        "receiver_country_cuit": "50000002124",
        "receiver_tax_id": "12-3456789",
        "incoterms": "FOB",
        "language": 2,
        "permit_existing": True,
        "permits": [{"permit_id": "26001EC01000123X", "destination_country": 212}],
        **changes,
    }
    invoice = Invoice(**values)
    invoice.lines = lines
    return invoice


def test_a_discounted_line_keeps_arca_s_arithmetic() -> None:
    item = export_item(line("2.5", "99.99", "10"))
    # 2.5 × 99.99 = 249.975: gross 249.98, the line's total 224.98, so the discount is 25.00.
    assert (item.unit, item.total, item.discount) == (UNITS, D("224.98"), D("25.00"))
    assert abs(item.quantity * item.unit_price - item.discount - item.total) <= D("0.01")
    plain = export_item(line("3", "1500.50"))
    assert (plain.discount, plain.total) == (D("0.00"), D("4501.50"))


def test_the_voucher_carries_the_export_data_and_the_foreign_cuit() -> None:
    voucher = build_export_voucher(factura_e(), 7, 41)
    assert (voucher.request_id, voucher.number, voucher.point_of_sale) == (41, 7, 2)
    assert (voucher.customer_country_cuit, voucher.customer_tax_id) == (50000002124, "")
    assert (voucher.currency, voucher.currency_rate) == ("DOL", D("1010.5"))
    assert voucher.same_currency_quantity is False
    assert (voucher.incoterms, voucher.language, voucher.permit_existing) == ("FOB", 2, True)
    assert [(p.permit_id, p.destination_country) for p in voucher.permits] == [
        ("26001EC01000123X", 212)
    ]
    assert voucher.payment_date == DAY + dt.timedelta(days=60)
    assert voucher.total == sum((item.total for item in voucher.items), D(0))


def test_without_a_foreign_cuit_the_tax_id_abroad_goes_instead() -> None:
    voucher = build_export_voucher(factura_e(receiver_country_cuit=None, currency="PES"), 1, 1)
    assert (voucher.customer_country_cuit, voucher.customer_tax_id) == (0, "12-3456789")
    assert (voucher.currency_rate, voucher.same_currency_quantity) == (D(1), None)


def test_the_same_voucher_whatever_its_request_id_but_not_with_another_item() -> None:
    ours = build_export_voucher(factura_e(), 7, 41)
    assert same_export_voucher(replace(ours, request_id=99), ours)
    other_item = replace(ours.items[0], quantity=D(4))
    assert not same_export_voucher(replace(ours, items=[other_item, ours.items[1]]), ours)
    assert not same_export_voucher(replace(ours, customer_tax_id="X"), ours)
    assert not same_export_voucher(replace(ours, date=DAY + dt.timedelta(days=1)), ours)


def fce_a(**changes: object) -> Invoice:
    values: dict[str, object] = {
        "organization_id": 1,
        "point_of_sale_number": 1,
        "invoice_type": 201,
        "kind": "invoice",
        "letter": "A",
        "concept": 1,
        "receiver_name": "Gran Empresa SA",
        "receiver_doc_type": 80,
        "receiver_doc_number": "30500010912",
        "receiver_condition": 1,
        "issue_date": DAY,
        "payment_due": DAY + dt.timedelta(days=30),
        "currency": "PES",
        "currency_rate": D(1),
        "total": D("121.00"),
        "net": D("100.00"),
        "vat_total": D("21.00"),
        "untaxed": D(0),
        "exempt": D(0),
        "other_taxes_total": D(0),
        "fce_cbu": CBU,
        "fce_alias": "mipyme.cobros",
        "fce_transfer": "ADC",
        **changes,
    }
    return Invoice(**values)


def test_an_fce_invoice_carries_its_cbu_transfer_and_payment_date() -> None:
    detail = build_request(fce_a(), 5).details[0]
    assert [(o.optional_id, o.value) for o in detail.optionals] == [
        ("2101", CBU),
        ("2102", "mipyme.cobros"),
        ("27", "ADC"),
    ]
    assert detail.payment_due == DAY + dt.timedelta(days=30)  # concept 1, still sent for FCE
    plain = build_request(fce_a(invoice_type=1, fce_cbu=None), 5).details[0]
    assert (plain.optionals, plain.payment_due) == ([], None)


def test_an_fce_invoice_without_a_cbu_is_refused_in_spanish() -> None:
    assert fce_problem(fce_a()) is None
    for cbu in (None, "", "123", CBU[:-1] + "x"):
        problem = fce_problem(fce_a(fce_cbu=cbu))
        assert problem is not None and "CBU" in problem
        assert build_request(fce_a(fce_cbu=cbu), 5).details[0].optionals == []
    assert fce_problem(fce_a(invoice_type=1, fce_cbu=None)) is None
