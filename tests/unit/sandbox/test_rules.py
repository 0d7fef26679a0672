"""The WSFEv1 validation rules, one case per ARCA code (pure: no sandbox, no SOAP)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D

import pytest

from arca.sandbox import rules
from arca.sandbox.rules import Context
from arca.sandbox.vouchers import AlicIva, CbteAsoc, Detail, Tributo

TODAY = date(2026, 11, 20)
VAT_21 = (AlicIva(5, D("100.00"), D("21.00")),)
FACTURA_B = Detail(
    concepto=1,
    doc_tipo=99,
    doc_nro=0,
    cbte_desde=1,
    cbte_hasta=1,
    cbte_fch="20261120",
    imp_total=D("121.00"),
    imp_tot_conc=D("0"),
    imp_neto=D("100.00"),
    imp_op_ex=D("0"),
    imp_trib=D("0"),
    imp_iva=D("21.00"),
    mon_id="PES",
    mon_cotiz=D("1"),
    condicion_iva_receptor_id=5,
    iva=VAT_21,
)
FACTURA_C = replace(FACTURA_B, imp_total=D("100"), imp_iva=D("0"), iva=())
FACTURA_A = replace(FACTURA_B, doc_tipo=80, doc_nro=30000000007, condicion_iva_receptor_id=1)
SERVICES = replace(
    FACTURA_B,
    concepto=2,
    fch_serv_desde="20261101",
    fch_serv_hasta="20261130",
    fch_vto_pago="20261130",
)


def ctx(cbte_tipo: int = 6, **overrides: object) -> Context:
    values: dict[str, object] = {
        "cuit": "20111111112",
        "pto_vta": 1,
        "cbte_tipo": cbte_tipo,
        "today": TODAY,
    }
    values.update(overrides)
    return Context(**values)  # type: ignore[arg-type]


def codes(findings: list[rules.Finding]) -> list[int]:
    return [code for code, _ in findings]


def test_a_clean_factura_b_passes_every_rule() -> None:
    assert rules.check_detail(FACTURA_B, ctx()) == []
    assert rules.check_detail(FACTURA_C, ctx(11)) == []
    assert rules.check_detail(FACTURA_A, ctx(1)) == []
    assert rules.check_detail(SERVICES, ctx()) == []


@pytest.mark.parametrize(
    ("detail", "cbte_tipo", "context", "code"),
    [
        (replace(FACTURA_A, cbte_hasta=2), 1, {}, 10011),
        (replace(FACTURA_C, cbte_hasta=2), 11, {}, 10012),
        (replace(FACTURA_A, doc_tipo=96, doc_nro=30111222), 1, {}, 10013),
        (replace(FACTURA_B, cbte_hasta=3, doc_tipo=96, doc_nro=30111222), 6, {}, 10014),
        (replace(FACTURA_B, doc_nro=123), 6, {}, 10015),
        (
            replace(FACTURA_B, doc_tipo=80, doc_nro=20111111113, condicion_iva_receptor_id=4),
            6,
            {},
            10015,
        ),
        (
            replace(
                FACTURA_B,
                imp_total=D("12100000.00"),
                imp_neto=D("10000000.00"),
                imp_iva=D("2100000.00"),
                iva=(AlicIva(5, D("10000000.00"), D("2100000.00")),),
            ),
            6,
            {},
            10015,
        ),
        (replace(FACTURA_B, cbte_fch="20261101"), 6, {}, 10016),
        (replace(FACTURA_B, cbte_fch="2026-11-20"), 6, {}, 10016),
        (FACTURA_B, 6, {"last_date": "20261121"}, 10016),
        (replace(FACTURA_B, cbte_fch="20261201"), 6, {"today": date(2026, 11, 28)}, 10152),
        (replace(SERVICES, fch_vto_pago=None), 6, {}, 10049),
        (replace(SERVICES, fch_serv_desde="2026110"), 6, {}, 10031),
        (replace(SERVICES, fch_serv_desde="20261201"), 6, {}, 10032),
        (replace(SERVICES, fch_serv_hasta="x"), 6, {}, 10033),
        (replace(SERVICES, fch_vto_pago="20261341"), 6, {}, 10035),
        (replace(SERVICES, fch_vto_pago="20261119"), 6, {}, 10036),
        (replace(FACTURA_C, imp_tot_conc=D("1"), imp_total=D("101")), 11, {}, 10043),
        (replace(FACTURA_C, imp_op_ex=D("1"), imp_total=D("101")), 11, {}, 10044),
        (replace(FACTURA_C, imp_iva=D("21"), imp_total=D("121")), 11, {}, 10047),
        (replace(FACTURA_B, imp_total=D("-121")), 6, {}, 10046),
        (replace(FACTURA_B, imp_trib=D("-1"), imp_total=D("120")), 6, {}, 10065),
        (replace(FACTURA_B, imp_total=D("150.00")), 6, {}, 10048),
        (replace(FACTURA_C, imp_total=D("99")), 11, {}, 10048),
        (replace(FACTURA_C, iva=VAT_21), 11, {}, 10071),
        (replace(FACTURA_B, iva=()), 6, {}, 10070),
        (replace(FACTURA_B, imp_neto=D("0"), imp_total=D("21.00"), iva=()), 6, {}, 10018),
        (replace(FACTURA_B, iva=(AlicIva(7, D("100.00"), D("21.00")),)), 6, {}, 10019),
        (
            replace(
                FACTURA_B, iva=(AlicIva(5, D("0"), D("21.00")),), imp_neto=D("0"), imp_total=D("21")
            ),
            6,
            {},
            10020,
        ),
        (replace(FACTURA_B, iva=VAT_21 + VAT_21), 6, {}, 10022),
        (replace(FACTURA_B, imp_iva=D("25.00"), imp_total=D("125.00")), 6, {}, 10023),
        (replace(FACTURA_B, imp_neto=D("90.00"), imp_total=D("111.00")), 6, {}, 10061),
        (
            replace(
                FACTURA_B,
                iva=(AlicIva(5, D("100.00"), D("25.00")),),
                imp_iva=D("25.00"),
                imp_total=D("125.00"),
            ),
            6,
            {},
            10051,
        ),
        (replace(FACTURA_B, imp_trib=D("5.00"), imp_total=D("126.00")), 6, {}, 10024),
        (
            replace(
                FACTURA_B,
                imp_trib=D("5.00"),
                imp_total=D("126.00"),
                tributos=(Tributo(42, None, D("100"), D("5"), D("5.00")),),
            ),
            6,
            {},
            10025,
        ),
        (
            replace(
                FACTURA_B,
                imp_trib=D("5.00"),
                imp_total=D("126.00"),
                tributos=(Tributo(2, "IIBB", D("100"), D("3"), D("3.00")),),
            ),
            6,
            {},
            10029,
        ),
        (replace(FACTURA_B, imp_total=D("121.001")), 6, {}, 10056),
        (replace(FACTURA_B, mon_id="XXX"), 6, {}, 10037),
        (replace(FACTURA_B, mon_id="DOL", mon_cotiz=None), 6, {}, 10038),
        (replace(FACTURA_B, mon_cotiz=D("2")), 6, {}, 10039),
        (replace(FACTURA_B, mon_id="DOL", mon_cotiz=D("5")), 6, {}, 10119),
        (replace(FACTURA_B, can_mis_mon_ext="X"), 6, {}, 10239),
        (replace(FACTURA_B, can_mis_mon_ext="S"), 6, {}, 10241),
        (replace(FACTURA_B, condicion_iva_receptor_id=3), 6, {}, 10242),
        (replace(FACTURA_B, condicion_iva_receptor_id=1), 6, {}, 10243),
        (replace(FACTURA_B, condicion_iva_receptor_id=None), 6, {}, 10245),
        (
            replace(FACTURA_B, condicion_iva_receptor_id=None),
            6,
            {"today": date(2026, 12, 1)},
            10246,
        ),
        (
            replace(FACTURA_B, doc_tipo=80, doc_nro=20111111112, condicion_iva_receptor_id=4),
            6,
            {},
            10069,
        ),
        (FACTURA_B, 8, {}, 10197),
        (replace(FACTURA_B, periodo_asoc=("20261101", "20261130")), 6, {}, 10198),
        (replace(FACTURA_B, cbtes_asoc=(CbteAsoc(1, 1, 5, None, None),)), 8, {}, 10040),
        (replace(FACTURA_A, condicion_iva_receptor_id=6), 1, {}, 10217),
    ],
)
def test_each_rule_reports_its_code(
    detail: Detail, cbte_tipo: int, context: dict[str, object], code: int
) -> None:
    found = codes(rules.check_detail(detail, ctx(cbte_tipo, **context)))
    assert code in found, found


@pytest.mark.parametrize(
    ("args", "code"),
    [((0, 0, 250), 10001), ((2, 1, 250), 10002), ((3, 3, 2), 10003)],
)
def test_batch_size(args: tuple[int, int, int], code: int) -> None:
    assert codes(rules.check_cant_reg(*args)) == [code]


@pytest.mark.parametrize(("pto_vta", "code"), [(0, 10004), (99999, 10004), (7, 10005)])
def test_point_of_sale(pto_vta: int, code: int) -> None:
    assert codes(rules.check_point_of_sale(pto_vta, (1, 2))) == [code]


def test_voucher_type_and_numbering() -> None:
    assert codes(rules.check_voucher_type(14)) == [10007]
    assert rules.check_voucher_type(6) == []
    assert codes(rules.check_numbering(FACTURA_B, ctx(last_number=1))) == [10016]
    assert rules.check_numbering(replace(FACTURA_B, cbte_desde=2), ctx(last_number=1)) == []


def test_observations_that_do_not_reject() -> None:
    def lookup(asoc: CbteAsoc) -> D | None:
        return D("100") if asoc.nro == 1 else None

    note = replace(
        FACTURA_B, cbtes_asoc=(CbteAsoc(6, 1, 1, None, None), CbteAsoc(6, 1, 9, None, None))
    )
    found = rules.check_associated_exist(note, ctx(8), lookup)
    assert codes(found) == [10237, 10041]
    assert not rules.rejects(found)
    assert rules.rejects([(10048, "x")])


def test_tolerance_is_a_cent_per_term_or_a_hundredth_of_a_percent() -> None:
    assert rules.close(D("121.01"), D("121.00"))
    assert not rules.close(D("121.02"), D("121.00"))
    assert rules.close(D("121.02"), D("121.00"), terms=2)
    assert rules.close(D("1000000.50"), D("1000000.00"))


def test_vat_arithmetic_is_not_checked_on_notes() -> None:
    odd = replace(FACTURA_B, imp_neto=D("90.00"), imp_total=D("111.00"))
    assert 10061 not in codes(rules.check_vat(odd, ctx(8)))
