"""«¿Lo aceptaría ARCA?»: valid vouchers pass, each check has its message and code, and the
sandbox (an independent implementation of ARCA's rules) agrees wherever it checks the same."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from arca.codes import IssuerCondition, VoucherKind
from arca.sandbox import rules
from arca.sandbox.vouchers import AlicIva, CbteAsoc, Detail, Tributo
from arca.wsfe import AssociatedVoucher, TaxAmount, VatAmount
from blueprints.invoices.letters import VoucherLetter
from blueprints.invoices.preflight import (
    PreflightInput,
    Problem,
    check_amounts,
    close,
    run_preflight,
)
from blueprints.invoices.totals import Line, OtherTax, compute_totals

TODAY = date(2026, 11, 20)
ISSUER_CUIT = "20-11111111-2"
RI_CUIT = "30712345671"
RI = IssuerCondition.RESPONSABLE_INSCRIPTO
B_LINES = (Line("Pan", D(3), D("1210.00")),)  # 3000.00 + 630.00 = 3630.00
A_LINES = (
    Line("Instalación", D(2), D("1000.00"), D(10)),
    Line("Libro", D(3), D("333.33"), vat=4),
    Line("Curso", D(1), D("500.00"), vat="exempt"),
)
C_LINES = (Line("Clase de yoga", D(4), D("2500.00")),)

FACTURA_B = PreflightInput(
    issuer_cuit=ISSUER_CUIT,
    issuer_condition=RI,
    point_of_sale=3,
    invoice_type=6,
    kind=VoucherKind.INVOICE,
    concept=1,
    issue_date=TODAY,
    today=TODAY,
    doc_type=99,
    doc_number="0",
    receiver_condition_id=5,
    lines=B_LINES,
    totals=compute_totals(B_LINES, "B", prices_include_vat=True),
    certificate_active=True,
    point_of_sale_known=True,
    point_of_sale_usable=True,
    emission_type="CAE",
)
FACTURA_A = replace(
    FACTURA_B,
    invoice_type=1,
    doc_type=80,
    doc_number=RI_CUIT,
    receiver_condition_id=1,
    lines=A_LINES,
    totals=compute_totals(A_LINES, "A", prices_include_vat=False),
    last_authorized_date=TODAY - timedelta(days=3),
)
FACTURA_C = replace(
    FACTURA_B,
    issuer_condition=IssuerCondition.MONOTRIBUTO,
    invoice_type=11,
    lines=C_LINES,
    totals=compute_totals(C_LINES, "C", prices_include_vat=True),
)
SERVICES = replace(
    FACTURA_B,
    concept=2,
    issue_date=TODAY - timedelta(days=8),
    service_from=date(2026, 10, 1),
    service_to=date(2026, 10, 31),
    payment_due=TODAY + timedelta(days=10),
)
DOLLARS = replace(
    FACTURA_A,
    currency="DOL",
    currency_rate=D("1050.25"),
    reference_rate=D("1050"),
)
CREDIT_NOTE_B = replace(
    FACTURA_B,
    invoice_type=8,
    kind=VoucherKind.CREDIT_NOTE,
    associated=(AssociatedVoucher(6, 3, 41, ISSUER_CUIT.replace("-", ""), TODAY),),
    credit_remaining=D("3630.00"),
)


def with_totals(data: PreflightInput, **changes: Any) -> PreflightInput:
    """`data` with a hand-built Totals (what compute_totals would never produce)."""
    return replace(data, totals=replace(data.totals, **changes))


def with_lines(data: PreflightInput, letter: VoucherLetter, *lines: Line) -> PreflightInput:
    return replace(data, lines=lines, totals=compute_totals(lines, letter, letter == "B"))


def yyyymmdd(value: date | None) -> str | None:
    return value.strftime("%Y%m%d") if value else None


def sandbox_findings(data: PreflightInput) -> list[rules.Finding]:
    """The sandbox's verdict on the FECAESolicitar detail this input would become."""
    totals = data.totals
    detail = Detail(
        concepto=data.concept,
        doc_tipo=data.doc_type,
        doc_nro=int(data.doc_number) if data.doc_number.isdigit() else 0,
        cbte_desde=1,
        cbte_hasta=1,
        cbte_fch=yyyymmdd(data.issue_date),
        imp_total=totals.total,
        imp_tot_conc=totals.untaxed,
        imp_neto=totals.net,
        imp_op_ex=totals.exempt,
        imp_trib=totals.other_taxes_total,
        imp_iva=totals.vat_total,
        fch_serv_desde=yyyymmdd(data.service_from),
        fch_serv_hasta=yyyymmdd(data.service_to),
        fch_vto_pago=yyyymmdd(data.payment_due),
        mon_id=data.currency,
        mon_cotiz=data.currency_rate,
        can_mis_mon_ext="S" if data.same_currency_payment else None,
        condicion_iva_receptor_id=data.receiver_condition_id,
        cbtes_asoc=tuple(
            CbteAsoc(a.invoice_type, a.point_of_sale, a.number, a.cuit, yyyymmdd(a.date))
            for a in data.associated
        ),
        tributos=tuple(
            Tributo(t.tax_id, t.description or None, t.base, t.rate, t.amount)
            for t in totals.other_taxes
        ),
        iva=tuple(AlicIva(row.rate_id, row.base, row.amount) for row in totals.vat),
    )
    context = rules.Context(
        cuit=ISSUER_CUIT.replace("-", ""),
        pto_vta=data.point_of_sale,
        cbte_tipo=data.invoice_type,
        today=data.today,
        last_date=yyyymmdd(data.last_authorized_date),
        consumidor_final_threshold=data.consumer_threshold,
    )
    return rules.check_detail(detail, context)


def sandbox_codes(data: PreflightInput) -> set[int]:
    return {code for code, _message in sandbox_findings(data)}


# --- valid vouchers ---------------------------------------------------------------------------

VALID = {
    "factura B a consumidor final": FACTURA_B,
    "factura A a responsable inscripto": FACTURA_A,
    "factura C de monotributo": FACTURA_C,
    "factura C de exento a RI": replace(
        FACTURA_C,
        issuer_condition=IssuerCondition.IVA_EXENTO,
        doc_type=80,
        doc_number=RI_CUIT,
        receiver_condition_id=1,
    ),
    "servicios con fechas": SERVICES,
    "productos y servicios": replace(SERVICES, concept=3),
    "productos con fechas de servicio (ARCA las ignora)": replace(
        SERVICES, concept=1, issue_date=TODAY
    ),
    "dólares": DOLLARS,
    "dólares pagados en dólares": replace(
        DOLLARS, currency_rate=D("1050"), same_currency_payment=True
    ),
    "nota de crédito B": CREDIT_NOTE_B,
    "nota de débito A": replace(
        FACTURA_A,
        invoice_type=2,
        kind=VoucherKind.DEBIT_NOTE,
        associated=[AssociatedVoucher(1, 3, 7)],
    ),
    "A con leyenda a monotributo": replace(
        FACTURA_A, a_with_legend=True, invoice_type=51, receiver_condition_id=6
    ),
    "con percepción de IIBB": replace(
        FACTURA_A,
        totals=compute_totals(
            A_LINES, "A", False, [OtherTax(7, "Percepción IIBB", D("2799.99"), D(3))]
        ),
    ),
    "fecha futura dentro del mes": replace(FACTURA_B, issue_date=TODAY + timedelta(days=5)),
    "fecha 5 días atrás, mismo día que el último": replace(
        FACTURA_B,
        issue_date=TODAY - timedelta(days=5),
        last_authorized_date=TODAY - timedelta(days=5),
    ),
    "consumidor final anónimo justo debajo del umbral": with_lines(
        FACTURA_B, "B", Line("Auto", D(1), D("9999999.99"))
    ),
}


@pytest.mark.parametrize("data", VALID.values(), ids=VALID.keys())
def test_valid_vouchers_have_no_problems(data: PreflightInput) -> None:
    assert run_preflight(data) == []
    assert not rules.rejects(sandbox_findings(data))


# --- one check at a time ------------------------------------------------------------------------

# (input, field, ARCA code or None, exact message or a fragment of it)
CASES: dict[str, tuple[PreflightInput, str, int | None, str]] = {
    "sin certificado": (
        replace(FACTURA_B, certificate_active=False),
        "certificate_active",
        None,
        "No hay un certificado de ARCA activo para facturar. Cargá o renová el certificado "
        "antes de emitir.",
    ),
    "CUIT propio inválido": (
        replace(FACTURA_B, issuer_cuit="20111111113"),
        "issuer_cuit",
        None,
        "El CUIT de la organización no es válido. Corregilo en los datos fiscales.",
    ),
    "punto de venta fuera de rango": (
        replace(FACTURA_B, point_of_sale=0),
        "point_of_sale",
        10004,
        "El punto de venta va de 1 a 99998.",
    ),
    "punto de venta desconocido": (
        replace(FACTURA_B, point_of_sale_known=False),
        "point_of_sale",
        10005,
        "ARCA no tiene el punto de venta 3 como punto de venta de web services. Crealo en ARCA "
        "(«Administración de puntos de venta y domicilios») y volvé a sincronizar.",
    ),
    "punto de venta bloqueado": (
        replace(FACTURA_B, point_of_sale_usable=False),
        "point_of_sale",
        10005,
        "El punto de venta 3 está bloqueado o dado de baja en ARCA. Elegí otro.",
    ),
    "punto de venta CAEA": (
        replace(FACTURA_B, emission_type="CAEA"),
        "point_of_sale",
        10005,
        "El punto de venta 3 es de tipo CAEA y Talonario pide CAE. Elegí un punto de venta de "
        "tipo CAE.",
    ),
    "tipo inexistente": (
        replace(FACTURA_B, invoice_type=14),
        "invoice_type",
        10007,
        "El tipo de comprobante 14 no existe en ARCA.",
    ),
    "monotributista emitiendo B": (
        replace(FACTURA_C, invoice_type=6),
        "invoice_type",
        10000,
        "Factura C: los monotributistas emiten siempre clase C. Corresponde «Factura C», no "
        "«Factura B».",
    ),
    "RI emitiendo A a consumidor final": (
        replace(FACTURA_B, invoice_type=1),
        "invoice_type",
        10013,
        "Factura B: sos Responsable Inscripto y el cliente es Consumidor Final. Corresponde "
        "«Factura B», no «Factura A».",
    ),
    "RI emitiendo B a un RI": (
        replace(FACTURA_B, doc_type=80, doc_number=RI_CUIT, receiver_condition_id=1),
        "invoice_type",
        10243,
        "Factura A: sos Responsable Inscripto y el cliente es Responsable Inscripto. "
        "Corresponde «Factura A», no «Factura B».",
    ),
    "A sin la leyenda que ARCA exige": (
        replace(FACTURA_A, a_with_legend=True),
        "invoice_type",
        10000,
        'Corresponde «Factura A con Leyenda "Operación Sujeta a Retención"», no «Factura A».',
    ),
    "factura cuando se quería una nota": (
        replace(CREDIT_NOTE_B, invoice_type=6),
        "invoice_type",
        None,
        "Corresponde «Nota de Crédito B», no «Factura B».",
    ),
    "recibo": (
        replace(FACTURA_B, kind=VoucherKind.RECEIPT, invoice_type=9),
        "kind",
        None,
        "Talonario emite facturas, notas de débito y notas de crédito.",
    ),
    "sin líneas": (
        replace(FACTURA_B, lines=()),
        "lines",
        None,
        "Agregá al menos una línea al comprobante.",
    ),
    "línea sin cantidad": (
        replace(FACTURA_B, lines=(*B_LINES, Line("Facturas", D(0), D("100.00")))),
        "lines-1-quantity",
        None,
        "Línea 2: la cantidad no puede ser 0.",
    ),
    "concepto inexistente": (
        replace(FACTURA_B, concept=4),
        "concept",
        None,
        "Elegí qué facturás: productos, servicios o ambos.",
    ),
    "productos con fecha vieja": (
        replace(FACTURA_B, issue_date=TODAY - timedelta(days=6)),
        "issue_date",
        10016,
        "La fecha del comprobante tiene que estar entre el 15/11/2026 y el 25/11/2026 (hasta 5 "
        "días antes o después de hoy).",
    ),
    "servicios con fecha lejana": (
        replace(SERVICES, issue_date=TODAY + timedelta(days=11)),
        "issue_date",
        10016,
        "entre el 10/11/2026 y el 30/11/2026 (hasta 10 días",
    ),
    "productos en el mes que viene": (
        replace(FACTURA_B, today=date(2026, 11, 28), issue_date=date(2026, 12, 2)),
        "issue_date",
        10152,
        "Para productos, una fecha futura tiene que ser de este mes: elegí una fecha hasta el "
        "30/11/2026.",
    ),
    "antes del último comprobante": (
        replace(FACTURA_B, issue_date=TODAY - timedelta(days=1), last_authorized_date=TODAY),
        "issue_date",
        10016,
        "Ya hay un comprobante de este tipo y punto de venta con fecha 20/11/2026: la fecha no "
        "puede ser anterior.",
    ),
    "servicios sin período": (
        replace(SERVICES, service_from=None),
        "service_from",
        10049,
        "Para servicios, indicá desde qué fecha se prestó el servicio.",
    ),
    "servicios sin vencimiento": (
        replace(SERVICES, payment_due=None),
        "payment_due",
        10049,
        "Para servicios, indicá la fecha de vencimiento del pago.",
    ),
    "período al revés": (
        replace(SERVICES, service_to=date(2026, 9, 30)),
        "service_to",
        10032,
        "El período facturado termina antes de empezar: revisá las fechas.",
    ),
    "vencimiento antes de la fecha": (
        replace(SERVICES, payment_due=SERVICES.issue_date - timedelta(days=1)),
        "payment_due",
        10036,
        "El vencimiento del pago no puede ser anterior a la fecha del comprobante (12/11/2026).",
    ),
    "condición inexistente": (
        replace(FACTURA_B, receiver_condition_id=2),
        "receiver_condition_id",
        10242,
        "La condición frente al IVA del cliente (2) no existe en ARCA. Corregila en el cliente.",
    ),
    "factura A a un DNI": (
        replace(FACTURA_A, doc_type=96, doc_number="30111222"),
        "doc_type",
        10013,
        "Un comprobante A se emite al CUIT del cliente: cargá su CUIT.",
    ),
    "consumidor anónimo con número": (
        replace(FACTURA_B, doc_number="5"),
        "doc_number",
        10015,
        "Para un consumidor final sin identificar («Doc. (Otro)») el número es 0.",
    ),
    "CUIT con dígito mal": (
        replace(FACTURA_B, doc_type=80, doc_number="20111111113", receiver_condition_id=4),
        "doc_number",
        10015,
        "El número de documento del cliente no es un CUIT, CUIL o CDI válido: el dígito "
        "verificador no coincide.",
    ),
    "pasaporte con letras": (
        replace(FACTURA_B, doc_type=94, doc_number="AB123456", receiver_condition_id=9),
        "doc_number",
        None,
        "ARCA solo acepta números de documento de hasta 11 dígitos. Identificá al cliente con "
        "su CUIT, CUIL o DNI.",
    ),
    "DNI vacío": (
        replace(FACTURA_B, doc_type=96, doc_number=""),
        "doc_number",
        None,
        "Falta el número de documento del cliente.",
    ),
    "a uno mismo": (
        replace(FACTURA_B, doc_type=80, doc_number="20111111112", receiver_condition_id=4),
        "doc_number",
        10069,
        "El cliente no puede ser la propia organización: elegí otro cliente.",
    ),
    "RI emitiendo C": (
        replace(FACTURA_C, receiver_condition_id=5, invoice_type=11, issuer_condition=RI),
        "invoice_type",
        10000,
        "Corresponde «Factura B», no «Factura C».",
    ),
    "consumidor anónimo sobre el umbral": (
        with_lines(FACTURA_B, "B", Line("Auto", D(1), D("10000000.00"))),
        "doc_type",
        10015,
        "Desde $ 10.000.000,00 el consumidor final tiene que estar identificado: cargá su DNI, "
        "CUIT o CUIL.",
    ),
    "consumidor anónimo sobre el umbral en dólares": (
        replace(
            with_lines(DOLLARS, "B", Line("Auto", D(1), D("10000.00"))),
            invoice_type=6,
            doc_type=99,
            doc_number="0",
            receiver_condition_id=5,
        ),
        "doc_type",
        10015,
        "Desde $ 10.000.000,00 el consumidor final",
    ),
    "total cero": (
        with_lines(FACTURA_B, "B", Line("Regalo", D(1), D(0))),
        "totals",
        None,
        "El total del comprobante tiene que ser mayor que 0.",
    ),
    "importe negativo": (
        with_totals(FACTURA_C, net=D("-1.00"), total=D("-1.00")),
        "totals",
        10045,
        "Ningún importe puede ser negativo, tampoco en una nota de crédito.",
    ),
    "tres decimales": (
        with_totals(FACTURA_B, total=D("3630.001")),
        "totals",
        10056,
        "Los importes van con 2 decimales como máximo.",
    ),
    "total que no es la suma": (
        with_totals(FACTURA_B, total=D("3631.00")),
        "totals",
        10048,
        "El total no es la suma del neto, el IVA, los exentos, lo no gravado y los otros "
        "tributos. Volvé a calcular los importes del comprobante.",
    ),
    "C con total que no es la suma": (
        with_totals(FACTURA_C, total=D("10002.00")),  # 0.02 %
        "totals",
        10048,
        "El total no es la suma",
    ),
    "C con IVA": (
        with_totals(
            FACTURA_C,
            vat=(VatAmount(5, D("10000.00"), D("2100.00")),),
            vat_total=D("2100.00"),
            total=D("12100.00"),
        ),
        "totals",
        10047,
        "Un comprobante C no discrimina IVA: no lleva IVA, exentos ni no gravados.",
    ),
    "C con alícuotas": (
        with_totals(FACTURA_C, vat=(VatAmount(3, D("10000.00"), D("0.00")),)),
        "totals",
        10071,
        "Un comprobante C no lleva alícuotas de IVA: sacalas.",
    ),
    "neto sin alícuotas": (
        with_totals(FACTURA_B, vat=(), vat_total=D(0), total=D("3000.00")),
        "totals",
        10070,
        "Hay neto gravado pero ninguna alícuota de IVA.",
    ),
    "IVA sin alícuotas": (
        with_totals(FACTURA_B, net=D(0), vat=(), untaxed=D("3000.00")),
        "totals",
        10018,
        "Hay IVA pero ninguna alícuota de IVA.",
    ),
    "IVA cero con alícuota de 21 %": (
        with_lines(FACTURA_A, "A", Line("Clip", D(1), D("0.02"))),  # 0.0042 -> 0.00
        "totals",
        10018,
        "El IVA da 0 pero hay alícuotas distintas de cero: ARCA lo rechaza. Revisá los importes.",
    ),
    "alícuota inexistente": (
        with_totals(FACTURA_B, vat=(VatAmount(7, D("3000.00"), D("630.00")),)),
        "totals",
        10019,
        "Hay una alícuota de IVA que ARCA no conoce.",
    ),
    "alícuota repetida": (
        with_totals(
            FACTURA_B,
            vat=(VatAmount(5, D("1000.00"), D("210.00")), VatAmount(5, D("2000.00"), D("420.00"))),
        ),
        "totals",
        10022,
        "Cada alícuota de IVA va una sola vez.",
    ),
    "base cero": (
        with_totals(
            FACTURA_B,
            vat=(VatAmount(3, D("0.00"), D("0.00")), VatAmount(5, D("3000.00"), D("630.00"))),
        ),
        "totals",
        10020,
        "Cada alícuota de IVA tiene que tener una base mayor que 0.",
    ),
    "IVA total que no es la suma": (
        with_totals(FACTURA_B, vat_total=D("630.10"), total=D("3630.10")),
        "totals",
        10023,
        "El IVA total no es la suma del IVA de cada alícuota. Volvé a calcular los importes del "
        "comprobante.",
    ),
    "neto que no es la suma de las bases": (
        with_totals(FACTURA_B, net=D("3001.00"), total=D("3631.00")),
        "totals",
        10061,
        "El neto gravado no es la suma de las bases de cada alícuota.",
    ),
    "IVA que no corresponde a la base": (
        with_totals(
            FACTURA_B,
            vat=(VatAmount(5, D("3000.00"), D("631.00")),),
            vat_total=D("631.00"),
            total=D("3631.00"),
        ),
        "totals",
        10051,
        "El IVA al 21 % no corresponde a su base: $ 3.000,00 × 21 % no da $ 631,00. Volvé a "
        "calcular los importes del comprobante.",
    ),
    "tributos sin detalle": (
        with_totals(FACTURA_B, other_taxes_total=D("10.00"), total=D("3640.00")),
        "other_taxes",
        10024,
        "El total de otros tributos no coincide con el detalle de tributos.",
    ),
    "tributo inexistente": (
        with_totals(
            FACTURA_B,
            other_taxes=(TaxAmount(10, D("3000.00"), D(1), D("30.00"), "?"),),
            other_taxes_total=D("30.00"),
            total=D("3660.00"),
        ),
        "other_taxes",
        10025,
        "Hay un tributo que ARCA no conoce.",
    ),
    "tributo «Otro» sin descripción": (
        with_totals(
            FACTURA_B,
            other_taxes=(TaxAmount(99, D("3000.00"), D(1), D("30.00")),),
            other_taxes_total=D("30.00"),
            total=D("3660.00"),
        ),
        "other_taxes",
        None,
        "Un tributo «Otro» necesita una descripción.",
    ),
    "tributos que no suman": (
        with_totals(
            FACTURA_B,
            other_taxes=(TaxAmount(7, D("3000.00"), D(1), D("30.00")),),
            other_taxes_total=D("31.00"),
            total=D("3661.00"),
        ),
        "other_taxes",
        10029,
        "El total de otros tributos no es la suma de cada tributo.",
    ),
    "pesos con cotización": (
        replace(FACTURA_B, currency_rate=D(2)),
        "currency_rate",
        10039,
        "En pesos la cotización es 1.",
    ),
    "pesos pagados en la misma moneda": (
        replace(FACTURA_B, same_currency_payment=True),
        "same_currency_payment",
        10241,
        "«Se paga en la misma moneda» es solo para comprobantes en moneda extranjera.",
    ),
    "dólares sin cotización": (
        replace(DOLLARS, currency_rate=D(0)),
        "currency_rate",
        10038,
        "Indicá la cotización de la moneda: tiene que ser mayor que 0.",
    ),
    "cotización disparatada": (
        replace(DOLLARS, currency_rate=D("10.5")),
        "currency_rate",
        10119,
        "La cotización 10,5 está muy lejos de la de ARCA (1.050). Revisala.",
    ),
    "pagado en dólares a otra cotización": (
        replace(DOLLARS, same_currency_payment=True, currency_rate=D("1049.99")),
        "currency_rate",
        10038,
        "Si el cliente paga en la misma moneda, la cotización tiene que ser exactamente la de "
        "ARCA: 1.050.",
    ),
    "cotización con siete decimales": (
        replace(DOLLARS, currency_rate=D("1050.1234567")),
        "currency_rate",
        10056,
        "La cotización va con 6 decimales como máximo.",
    ),
    "nota sin comprobante asociado": (
        replace(CREDIT_NOTE_B, associated=()),
        "associated",
        10197,
        "Indicá el comprobante al que corresponde la nota.",
    ),
    "nota B asociada a una factura A": (
        replace(CREDIT_NOTE_B, associated=(AssociatedVoucher(1, 3, 41),)),
        "associated",
        10040,
        "La nota tiene que referirse a un comprobante de la misma clase (B).",
    ),
    "factura asociada a otra factura": (
        replace(FACTURA_B, associated=(AssociatedVoucher(6, 3, 41),)),
        "associated",
        10040,
        "Una factura solo puede referirse a remitos electrónicos.",
    ),
    "nota de crédito por más de lo que queda": (
        replace(CREDIT_NOTE_B, credit_remaining=D("1000.00")),
        "totals",
        None,
        "No podés acreditar más de lo que queda del comprobante original: quedan $ 1.000,00 y "
        "esta nota suma $ 3.630,00.",
    ),
}
# Codes the sandbox judges at the detail level (the rest are request level or ours alone).
SANDBOX_DETAIL_CODES = frozenset(
    {10013, 10015, 10016, 10018, 10019, 10020, 10022, 10023, 10024, 10025, 10029}
    | {10032, 10036, 10038, 10039, 10040, 10043, 10044, 10045, 10046, 10047, 10048}
    | {10049, 10051, 10056, 10061, 10069, 10070, 10071, 10119, 10152, 10197, 10241}
    | {10242, 10243}
)


@pytest.mark.parametrize(("data", "field", "code", "message"), CASES.values(), ids=CASES.keys())
def test_each_check(data: PreflightInput, field: str, code: int | None, message: str) -> None:
    found = run_preflight(data)
    matching = [p for p in found if p.field == field and p.code == code and message in p.message]
    assert matching, found
    if code in SANDBOX_DETAIL_CODES and not (code == 10038 and data.same_currency_payment):
        assert code in sandbox_codes(data), sandbox_findings(data)


def test_a_wrong_class_is_reported_once_not_again_as_a_receiver_problem() -> None:
    found = run_preflight(replace(FACTURA_B, invoice_type=1, doc_type=96, doc_number="30111222"))
    assert [(p.field, p.code) for p in found] == [("invoice_type", 10013)]


def test_services_report_every_missing_date() -> None:
    found = run_preflight(replace(SERVICES, service_from=None, service_to=None, payment_due=None))
    assert [(p.field, p.code) for p in found] == [
        ("service_from", 10049),
        ("service_to", 10049),
        ("payment_due", 10049),
    ]


def test_several_problems_at_once_in_a_stable_order() -> None:
    data = replace(
        FACTURA_B,
        certificate_active=False,
        point_of_sale_usable=False,
        lines=(Line("", D(1), D("3630.00")),),
        issue_date=TODAY + timedelta(days=6),
        doc_number="12",
        currency_rate=D(2),
        associated=(AssociatedVoucher(6, 3, 1),),
    )
    found = run_preflight(data)
    assert [(p.field, p.code) for p in found] == [
        ("certificate_active", None),
        ("point_of_sale", 10005),
        ("lines-0-description", None),
        ("issue_date", 10016),
        ("doc_number", 10015),
        ("currency_rate", 10039),
        ("associated", 10040),
    ]
    assert run_preflight(data) == found
    assert all(isinstance(p, Problem) and p.message.endswith(".") for p in found)


def test_arcas_tolerance() -> None:
    assert close(D("6.01"), D("6.00"))
    assert not close(D("6.02"), D("6.00"))
    assert close(D("6.02"), D("6.00"), terms=2)
    assert close(D("630.06"), D("630.00"))  # 0.0095 %
    assert close(D("210000.05"), D("210000.00"))  # 0.0000238 %: within 0.01 %
    assert not close(D("0.02"), D("0"))
    within = with_totals(
        FACTURA_B,
        vat=(VatAmount(5, D("3000.00"), D("630.01")),),
        vat_total=D("630.01"),
        total=D("3630.01"),
    )
    assert run_preflight(within) == []
    assert not rules.rejects(sandbox_findings(within))


def test_vat_arithmetic_is_not_checked_on_notes() -> None:
    # A credit note may correct a base or an amount alone (ARCA skips 10051/10061 on them).
    note = with_totals(
        CREDIT_NOTE_B,
        vat=(VatAmount(5, D("3000.00"), D("100.00")),),
        vat_total=D("100.00"),
        total=D("3100.00"),
    )
    assert run_preflight(note) == []
    assert not rules.rejects(sandbox_findings(note))


def test_the_threshold_is_configurable_and_inclusive() -> None:
    data = replace(FACTURA_B, consumer_threshold=D("3630.00"))
    assert [p.code for p in run_preflight(data)] == [10015]
    assert run_preflight(replace(data, consumer_threshold=D("3630.01"))) == []
    identified = replace(data, doc_type=96, doc_number="30111222")
    assert run_preflight(identified) == []


def test_computed_totals_always_pass_the_amount_checks() -> None:
    rng = random.Random(2026)
    treatments: tuple[int | str, ...] = (3, 4, 5, 6, 8, 9, "exempt", "untaxed")
    for _ in range(300):
        letter: VoucherLetter = rng.choice(("A", "B", "C"))
        lines = [
            Line(
                "x",
                D(rng.randint(1, 20)),
                D(rng.randrange(100, 10**6)).scaleb(-2),
                D(rng.choice(["0", "5", "12.5"])),
                rng.choice(treatments),  # type: ignore[arg-type]
            )
            for _ in range(rng.randint(1, 8))
        ]
        base = {"A": FACTURA_A, "B": FACTURA_B, "C": FACTURA_C}[letter]
        data = replace(base, lines=lines, totals=compute_totals(lines, letter, rng.random() < 0.5))
        assert check_amounts(data) == []
        assert not rules.rejects(sandbox_findings(data))
