"""The Libro IVA Digital with FCE MiPyME (201–213) and export vouchers (19/20/21): each under
its own code, exports with operation code X, one 0 % record and the buyer's country CUIT
(LIBRO_IVA_DIGITAL.md §5.1, §5.2, §5.4, §5.7)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal as D
from typing import Any

import pytest

from blueprints.invoices.libro_iva import (
    LibroAlicuota,
    LibroIvaError,
    LibroVoucher,
    cbte_record,
    libro_ventas,
    parse_alicuota_line,
    parse_cbte_line,
    voucher_problems,
)

USA_COMPANY = "55000002126"  # ARCA's CUIT for "ESTADOS UNIDOS - Persona Jurídica"


def fce_a(**changes: Any) -> LibroVoucher:
    """An FCE A to a large company: 5,000,000.00 at 21 %, due in 30 days."""
    voucher = LibroVoucher(
        invoice_type=201,
        point_of_sale_number=1,
        number=3,
        issue_date=dt.date(2025, 3, 10),
        receiver_doc_type=80,
        receiver_doc_number="30500010912",
        receiver_name="Gran Empresa de Homologación S.A.",
        total=D("6050000.00"),
        net=D("5000000.00"),
        vat_total=D("1050000.00"),
        vat_rows=(LibroAlicuota(5, D("5000000.00"), D("1050000.00")),),
        payment_due=dt.date(2025, 4, 9),
    )
    return replace(voucher, **changes)


def factura_e(**changes: Any) -> LibroVoucher:
    """A Factura E of services in dollars: 2,500.00 USD at 1,050 pesos each, no VAT."""
    voucher = LibroVoucher(
        invoice_type=19,
        point_of_sale_number=3,
        number=1,
        issue_date=dt.date(2025, 3, 12),
        receiver_doc_type=80,
        receiver_doc_number=USA_COMPANY,
        receiver_name="Acme Software Inc.",
        total=D("2500.00"),
        net=D("2500.00"),
        currency="DOL",
        currency_rate=D("1050"),
        payment_due=dt.date(2025, 4, 11),
    )
    return replace(voucher, **changes)


def test_fce_keeps_its_own_code_and_its_vat_and_never_a_due_date() -> None:
    line = cbte_record(fce_a(), payment_due_dates=True)
    record = parse_cbte_line(line)
    assert len(line) == 266
    assert record["voucher_type"] == "201"
    assert record["total"] == D("6050000.00")
    assert record["vat_rate_count"] == "1" and record["operation_code"] == " "
    # §5.7: asked for due dates, an FCE still gets zeros (the CITI importer refused them).
    assert record["payment_due"] == "00000000"
    plain = cbte_record(fce_a(invoice_type=1), payment_due_dates=True)
    assert parse_cbte_line(plain)["payment_due"] == "20250409"


@pytest.mark.parametrize("code", [202, 203, 206, 207, 208, 211, 212, 213])
def test_every_fce_code_is_a_sales_voucher(code: int) -> None:
    voucher = fce_a(invoice_type=code)
    if code >= 211:  # class C: no VAT, no rate records
        voucher = replace(voucher, vat_rows=(), vat_total=D(0), total=D("5000000.00"))
    assert voucher_problems(voucher) == []
    assert parse_cbte_line(cbte_record(voucher))["voucher_type"] == f"{code:03d}"


def test_an_export_is_operation_x_with_one_zero_rate_record_in_its_currency() -> None:
    cbte, alicuotas = libro_ventas([factura_e()], payment_due_dates=True)
    record = parse_cbte_line(cbte)
    assert record["voucher_type"] == "019"
    assert (record["doc_type"], record["doc_number"]) == ("80", "000000000" + USA_COMPANY)
    assert record["name"] == "ACME SOFTWARE INC.".ljust(30)
    assert record["total"] == D("2500.00")
    assert (record["currency"], record["exchange_rate"]) == ("DOL", D("1050"))
    assert record["vat_rate_count"] == "1" and record["operation_code"] == "X"
    assert record["payment_due"] == "00000000"
    rate = parse_alicuota_line(alicuotas)
    assert (rate["rate_id"], rate["base"], rate["vat"]) == ("0003", D("2500.00"), D(0))
    # §6: the total is the sum of its parts, the 0 % base included.
    assert rate["base"] + rate["vat"] == record["total"]


@pytest.mark.parametrize("code", [20, 21])
def test_export_notes_are_exported_too(code: int) -> None:
    record = parse_cbte_line(cbte_record(factura_e(invoice_type=code, number=2)))
    assert record["voucher_type"] == f"{code:03d}" and record["operation_code"] == "X"


def test_an_export_without_its_buyers_country_cuit_is_refused() -> None:
    needs = (
        "an export voucher needs the buyer's country CUIT (document type 80, FEXGetPARAM_DST_CUIT)"
    )
    # A foreign tax id is no LID document; an Argentine CUIT is not a country's either.
    assert voucher_problems(factura_e(receiver_doc_type=99, receiver_doc_number="0")) == [needs]
    assert voucher_problems(factura_e(receiver_doc_number="30500010912")) == [needs]
    with pytest.raises(LibroIvaError, match="country CUIT"):
        libro_ventas([factura_e(receiver_doc_type=99, receiver_doc_number="0")])


def test_an_export_with_vat_is_refused() -> None:
    taxed = factura_e(
        total=D("2525.00"), vat_total=D("25.00"), vat_rows=(LibroAlicuota(5, D(100), D(21)),)
    )
    assert "an export voucher carries no VAT" in voucher_problems(taxed)


def test_a_month_mixing_every_kind_adds_up_per_voucher() -> None:
    vouchers = [fce_a(), factura_e(), factura_e(invoice_type=21, number=1)]
    cbte, alicuotas = libro_ventas(vouchers)
    records = [parse_cbte_line(line) for line in cbte.split("\r\n")]
    rates = [parse_alicuota_line(line) for line in alicuotas.split("\r\n")]
    assert [r["voucher_type"] for r in records] == ["201", "019", "021"]
    assert [r["rate_id"] for r in rates] == ["0005", "0003", "0003"]
    for record, rate in zip(records, rates, strict=True):
        assert record["total"] == rate["base"] + rate["vat"]
