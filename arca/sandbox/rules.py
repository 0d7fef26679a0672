"""WSFEv1's validation rules as pure functions (no I/O, no clock: the date comes in `Context`).

Each rule returns a list of findings `(code, message)` — empty when the voucher passes — and
names its ARCA code in its docstring. Request-level rules (header, numbering) are reported by
the service as `Errors/Err`; detail rules as `Observaciones/Obs`. Codes in `OBSERVATION_ONLY`
do not reject the voucher.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from arca.cuit import is_valid_cuit
from arca.sandbox import params
from arca.sandbox.messages import message
from arca.sandbox.vouchers import CbteAsoc, Detail

Finding = tuple[int, str]
# Approved with these; anything else rejects the voucher.
OBSERVATION_ONLY = frozenset({10041, 10217, 10237, 10245})
# RG 5616 per manual v4.8: omitting CondicionIVAReceptorId rejects from this date on.
CONDITION_MANDATORY_FROM = date(2026, 12, 1)
CENT = Decimal("0.01")
FCE_TYPES = params.FCE_INVOICES | params.FCE_NOTES


@dataclass(frozen=True)
class Context:
    """What a detail is checked against: the request header, the sequence, and today."""

    cuit: str
    pto_vta: int
    cbte_tipo: int
    today: date
    last_number: int = 0
    last_date: str | None = None
    consumidor_final_threshold: Decimal = Decimal("10000000")

    @property
    def voucher_class(self) -> str:
        return params.VOUCHER_CLASS.get(self.cbte_tipo, "")


def _f(code: int, extra: str = "") -> Finding:
    return (code, message(code, extra))


def parse_date(value: str | None) -> date | None:
    """A `yyyymmdd` date, or None if absent or invalid."""
    if value is None or len(value) != 8 or not value.isdigit():
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None


def close(actual: Decimal, expected: Decimal, terms: int = 1) -> bool:
    """ARCA's tolerance: absolute error <= 0.01 per term, or relative error <= 0.01 %."""
    difference = abs(actual - expected)
    if difference <= CENT * max(terms, 1):
        return True
    return expected != 0 and difference / abs(expected) <= Decimal("0.0001")


# --- request level (Errors/Err) -------------------------------------------------------------


def check_cant_reg(cant_reg: int, detail_count: int, max_batch: int) -> list[Finding]:
    """10001 CantReg outside 1..9998; 10002 CantReg != details sent; 10003 above RegXReq."""
    if not 1 <= cant_reg <= 9998:
        return [_f(10001)]
    if cant_reg != detail_count:
        return [_f(10002)]
    if cant_reg > max_batch:
        return [_f(10003, f"Maximo: {max_batch}.")]
    return []


def check_point_of_sale(pto_vta: int, enabled: tuple[int, ...]) -> list[Finding]:
    """10004 PtoVta outside 1..99998; 10005 PtoVta not enabled for web services (RECE)."""
    if not 1 <= pto_vta <= 99998:
        return [_f(10004)]
    if pto_vta not in enabled:
        return [_f(10005)]
    return []


def check_voucher_type(cbte_tipo: int) -> list[Finding]:
    """10007 CbteTipo not in FEParamGetTiposCbte."""
    return [] if cbte_tipo in params.VOUCHER_CLASS else [_f(10007)]


def check_numbering(detail: Detail, ctx: Context) -> list[Finding]:
    """10016 CbteDesde is not the last authorised number + 1, with ARCA's bare text (pyafipws
    tests/cassettes/test_wsfev1/test_main_prueba_consultar.yaml): nothing appended."""
    if detail.cbte_desde != ctx.last_number + 1:
        return [_f(10016)]
    return []


# --- detail level (Observaciones/Obs) -------------------------------------------------------


def check_range(detail: Detail, ctx: Context) -> list[Finding]:
    """10011 (class A/ALEY) / 10012 (other non-B classes): CbteHasta must equal CbteDesde;
    10016 also when CbteHasta < CbteDesde."""
    if detail.cbte_hasta < detail.cbte_desde:
        return [_f(10016)]
    if detail.cbte_hasta == detail.cbte_desde or ctx.voucher_class == "B":
        return []
    return [_f(10011 if ctx.voucher_class in ("A", "ALEY") else 10012)]


def check_document(detail: Detail, ctx: Context) -> list[Finding]:
    """10013 class A/ALEY needs DocTipo 80; 10069 receiver = issuer; 10014/10015 class B/C
    document rules (99 needs DocNro 0, CUIT/CUIL check digit, ranges, final-consumer threshold)."""
    if ctx.voucher_class in ("A", "ALEY") and detail.doc_tipo != 80:
        return [_f(10013)]
    if detail.doc_tipo == 80 and str(detail.doc_nro) == ctx.cuit:
        return [_f(10069)]
    if detail.doc_tipo in (80, 86) and not is_valid_cuit(f"{detail.doc_nro:011d}"):
        return [_f(10015, "El numero de CUIT/CUIL informado no es valido.")]
    if ctx.voucher_class not in ("B", "C"):
        return []
    if detail.cbte_hasta > detail.cbte_desde and (detail.doc_tipo, detail.doc_nro) != (99, 0):
        return [_f(10014)]
    if detail.doc_tipo == 99 and detail.doc_nro != 0:
        return [_f(10015, "Para DocTipo 99 el campo DocNro debe ser 0.")]
    return check_threshold(detail, ctx)


def check_threshold(detail: Detail, ctx: Context) -> list[Finding]:
    """10015 anonymous final consumer (DocTipo 99) with ImpTotal x MonCotiz >= the threshold
    (RG 5700/2025: ARS 10.000.000): the receiver must be identified."""
    rate = detail.mon_cotiz or Decimal(1)
    if detail.doc_tipo == 99 and detail.imp_total * rate >= ctx.consumidor_final_threshold:
        limit = ctx.consumidor_final_threshold
        return [_f(10015, f"Montos desde {limit} requieren identificar al receptor.")]
    return []


def check_voucher_date(detail: Detail, ctx: Context) -> list[Finding]:
    """10016 CbteFch outside its window (concept 1: N±5; 2/3: N±10; FCE invoice N-5..N+1) or
    earlier than the sequence's last voucher; 10152 a future concept-1 date in another month."""
    if detail.cbte_fch is None:
        return []
    when = parse_date(detail.cbte_fch)
    if when is None:
        return [_f(10016, "CbteFch no es una fecha valida (yyyymmdd).")]
    before, after = _window(detail.concepto, ctx.cbte_tipo)
    if not ctx.today - timedelta(days=before) <= when <= ctx.today + timedelta(days=after):
        return [(10016, _window_text(detail.concepto, ctx.cbte_tipo, before, after))]
    future_rule = detail.concepto == 1 or ctx.cbte_tipo in FCE_TYPES  # 10152 covers FCE too
    if future_rule and when > ctx.today and when.month != ctx.today.month:
        return [_f(10152)]
    last = parse_date(ctx.last_date)
    if last is not None and when < last:
        return [_f(10016)]  # ARCA's text already says "numero o fecha"
    return []


def _window(concepto: int, cbte_tipo: int) -> tuple[int, int]:
    if cbte_tipo in params.FCE_INVOICES:
        return 5, 1
    if cbte_tipo in params.FCE_NOTES:
        return (
            5,
            0,
        )  # "rango N-5 y N" (pyafipws tests/cassettes/test_wsfev1/test_main_prueba_fce.yaml)
    return (10, 10) if concepto in (2, 3) else (5, 5)


_CONCEPT_NAMES = {1: "1 - Productos", 2: "2 - Servicios", 3: "3 - Productos y Servicios"}


def _window_text(concepto: int, cbte_tipo: int, before: int, after: int) -> str:
    """ARCA's 10016 text for a CbteFch outside its window, double spaces included. Recorded:
    concept 1 (pyafipws tests/cassettes/test_wsfev1/test_main_prueba_usados.yaml) and FCE notes
    (…/test_main_prueba_fce.yaml); concepts 2 and 3 and FCE invoices follow the same pattern
    (not recorded, docs/arca-sandbox.md)."""
    upper = f"N+{after}" if after else "N"
    head = f"Campo CbteFch Debe estar comprendido  en el  rango  N-{before} y {upper} siendo N"
    if cbte_tipo in params.FCE_NOTES:
        return (
            f"{head} la fecha de envio del pedido de autorizacion para Facturas de Credito del "
            "tipo Nota de Debito o Nota de Credito"
        )
    if cbte_tipo in params.FCE_INVOICES:
        return f"{head} la fecha de envio del pedido de autorizacion para Facturas de Credito"
    subject = _CONCEPT_NAMES.get(concepto, str(concepto))
    return f"{head} la fecha de envio del pedido  de autorizacion para {subject}"


def check_service_dates(detail: Detail, ctx: Context) -> list[Finding]:
    """10049 concept 2/3 without FchServDesde/FchServHasta/FchVtoPago; 10031/10033/10035 one of
    them not a yyyymmdd date; 10032 FchServHasta < FchServDesde; 10036 FchVtoPago < CbteFch."""
    if detail.concepto not in (2, 3):
        return []
    values = (detail.fch_serv_desde, detail.fch_serv_hasta, detail.fch_vto_pago)
    if any(value is None for value in values):
        return [_f(10049)]
    desde, hasta, vto = (parse_date(value) for value in values)
    findings = [
        _f(code)
        for code, value in zip((10031, 10033, 10035), (desde, hasta, vto), strict=True)
        if not value
    ]
    if desde and hasta and hasta < desde:
        findings.append(_f(10032))
    cbte_fch = parse_date(detail.cbte_fch) or ctx.today
    if vto and vto < cbte_fch:
        findings.append(_f(10036))
    return findings


_NEGATIVE_CODES = {
    "ImpTotConc": 10043,
    "ImpOpEx": 10044,
    "ImpNeto": 10045,
    "ImpTotal": 10046,
    "ImpIVA": 10047,
    "ImpTrib": 10065,
}


def check_amounts_sign(detail: Detail) -> list[Finding]:
    """10043 ImpTotConc, 10044 ImpOpEx, 10045 ImpNeto, 10046 ImpTotal, 10047 ImpIVA, 10065
    ImpTrib: amounts may not be negative (credit notes carry positive amounts too)."""
    return [_f(_NEGATIVE_CODES[name]) for name, value in detail.amounts.items() if value < 0]


def check_decimals(detail: Detail) -> list[Finding]:
    """10056 more than 2 decimals on an amount, or more than 6 on MonCotiz."""
    amounts = list(detail.amounts.values())
    amounts += [a.base_imp for a in detail.iva] + [a.importe for a in detail.iva]
    amounts += [t.base_imp for t in detail.tributos] + [t.importe for t in detail.tributos]
    if any(_decimals(value) > 2 for value in amounts):
        return [_f(10056)]
    if detail.mon_cotiz is not None and _decimals(detail.mon_cotiz) > 6:
        return [_f(10056, "MonCotiz.")]
    return []


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def check_total(detail: Detail, ctx: Context) -> list[Finding]:
    """10048 ImpTotal != ImpTotConc + ImpNeto + ImpOpEx + ImpTrib + ImpIVA (class C: ImpNeto +
    ImpTrib)."""
    parts = [detail.imp_neto, detail.imp_trib]
    if ctx.voucher_class != "C":
        parts += [detail.imp_tot_conc, detail.imp_op_ex, detail.imp_iva]
    if close(detail.imp_total, sum(parts, Decimal(0))):
        return []
    return [_f(10048)]


def check_class_c(detail: Detail, ctx: Context) -> list[Finding]:
    """Class C: 10043 ImpTotConc, 10044 ImpOpEx, 10047 ImpIVA must be 0; 10071 no Iva array."""
    if ctx.voucher_class != "C":
        return []
    must_be_zero = (
        (10043, detail.imp_tot_conc),
        (10044, detail.imp_op_ex),
        (10047, detail.imp_iva),
    )
    findings = [_f(code) for code, value in must_be_zero if value != 0]
    if detail.iva:
        findings.append(_f(10071))
    return findings


def check_vat(detail: Detail, ctx: Context) -> list[Finding]:
    """Iva array vs ImpIVA/ImpNeto (not class C): 10070 ImpNeto > 0 without Iva; 10018 ImpIVA > 0
    without Iva, or ImpIVA = 0 with a rate other than Id 3; 10019 unknown Id; 10022 repeated Id;
    10020 BaseImp <= 0; 10023 ImpIVA != sum; 10061 ImpNeto != sum of bases; 10051 Importe !=
    BaseImp x rate (10061 and 10051 are not checked on A/B/ALEY notes)."""
    if ctx.voucher_class == "C":
        return []
    if not detail.iva:
        if detail.imp_neto > 0:
            return [_f(10070)]
        return [_f(10018)] if detail.imp_iva > 0 else []
    ids = [row.id for row in detail.iva]
    if any(i not in params.VAT_RATE_BY_ID for i in ids):
        return [_f(10019)]
    if len(set(ids)) != len(ids):
        return [_f(10022)]
    if detail.imp_iva == 0 and set(ids) != {3}:
        return [_f(10018)]
    findings = [_f(10020)] if any(row.base_imp <= 0 for row in detail.iva) else []
    return findings + _vat_sums(detail, ctx)


def _vat_sums(detail: Detail, ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    terms = len(detail.iva)
    if not close(detail.imp_iva, sum((r.importe for r in detail.iva), Decimal(0)), terms):
        findings.append(_f(10023))
    if ctx.cbte_tipo in params.NO_VAT_ARITHMETIC:
        return findings
    if not close(detail.imp_neto, sum((r.base_imp for r in detail.iva), Decimal(0)), terms):
        findings.append(_f(10061))
    for row in detail.iva:
        if not close(row.importe, row.base_imp * params.VAT_RATE_BY_ID[row.id]):
            findings.append(_f(10051, f"Alicuota Id {row.id}."))
    return findings


def check_taxes(detail: Detail) -> list[Finding]:
    """10024 Tributos present iff ImpTrib > 0; 10025 unknown Tributo Id; 10029 ImpTrib != sum."""
    if bool(detail.tributos) != (detail.imp_trib > 0):
        return [_f(10024)]
    if any(t.id not in params.TAX_TYPE_IDS for t in detail.tributos):
        return [_f(10025)]
    total = sum((t.importe for t in detail.tributos), Decimal(0))
    if detail.tributos and not close(detail.imp_trib, total, len(detail.tributos)):
        return [_f(10029)]
    return []


def check_currency(detail: Detail) -> list[Finding]:
    """10037 unknown MonId; PES: 10039 MonCotiz != 1, 10241 CanMisMonExt other than N; 10239
    CanMisMonExt not S/N; foreign: 10038 MonCotiz missing or <= 0 (may be omitted with
    CanMisMonExt=S), 10119 MonCotiz outside 2 %-400 % of the reference rate."""
    if detail.mon_id not in params.CURRENCY_IDS:
        return [_f(10037)]
    if detail.can_mis_mon_ext not in (None, "S", "N"):
        return [_f(10239)]
    if detail.mon_id == "PES":
        if detail.mon_cotiz is None or detail.mon_cotiz != 1:
            return [_f(10039)]
        return [_f(10241)] if detail.can_mis_mon_ext == "S" else []
    if detail.mon_cotiz is None:
        return [] if detail.can_mis_mon_ext == "S" else [_f(10038)]
    if detail.mon_cotiz <= 0:
        return [_f(10038)]
    reference = params.REFERENCE_RATES.get(detail.mon_id, params.DEFAULT_RATE)
    if not reference * Decimal("0.02") <= detail.mon_cotiz <= reference * 4:
        return [_f(10119, f"Cotizacion de referencia: {reference}.")]
    return []


def check_receiver_condition(detail: Detail, ctx: Context) -> list[Finding]:
    """10242 unknown CondicionIVAReceptorId; 10243 not allowed for the voucher class; missing:
    observation 10245 before 2026-12-01, rejection 10246 from then on (RG 5616)."""
    condition = detail.condicion_iva_receptor_id
    if condition is None:
        return [_f(10246 if ctx.today >= CONDITION_MANDATORY_FROM else 10245)]
    if condition not in params.RECEIVER_CLASSES:
        return [_f(10242)]
    if ctx.voucher_class and ctx.voucher_class not in params.RECEIVER_CLASSES[condition]:
        return [_f(10243)]
    return []


def check_associations(detail: Detail, ctx: Context) -> list[Finding]:
    """10197 debit/credit note without CbtesAsoc or PeriodoAsoc; 10198 PeriodoAsoc on a voucher
    that is not a note; 10040 an associated type this CbteTipo may not reference."""
    is_note = ctx.cbte_tipo in params.NOTE_TYPES
    if is_note and not detail.cbtes_asoc and detail.periodo_asoc is None:
        return [_f(10197)]
    if not is_note and detail.periodo_asoc is not None:
        return [_f(10198)]
    allowed = params.ALLOWED_ASSOCIATIONS.get(ctx.cbte_tipo, frozenset())
    if any(asoc.tipo not in allowed for asoc in detail.cbtes_asoc):
        return [_f(10040)]
    return []


def check_monotributo_receiver(detail: Detail, ctx: Context) -> list[Finding]:
    """10217 (observation) class A voucher to a monotributista (conditions 6, 13, 16)."""
    receiver = detail.condicion_iva_receptor_id
    if ctx.voucher_class == "A" and receiver in params.MONOTRIBUTO_CONDITIONS:
        return [_f(10217)]
    return []


def check_associated_exist(
    detail: Detail, ctx: Context, lookup: Callable[[CbteAsoc], Decimal | None]
) -> list[Finding]:
    """10041 (observation) an associated electronic voucher not found; 10237 (observation) a
    credit note above the associated voucher's ImpTotal. `lookup` gives that total or None."""
    findings: list[Finding] = []
    for asoc in detail.cbtes_asoc:
        if asoc.tipo in (88, 991):  # delivery notes are not WSFE vouchers
            continue
        total = lookup(asoc)
        if total is None:
            findings.append(_f(10041, f"Tipo {asoc.tipo}, PtoVta {asoc.pto_vta}, Nro {asoc.nro}."))
        elif _is_credit_note(ctx.cbte_tipo) and detail.imp_total > total:
            findings.append(_f(10237))
    return findings


def _is_credit_note(cbte_tipo: int) -> bool:
    return cbte_tipo in (3, 8, 13, 53, 203, 208, 213)


DETAIL_RULES: tuple[Callable[[Detail, Context], list[Finding]], ...] = (
    check_range,
    check_document,
    check_voucher_date,
    check_service_dates,
    lambda detail, _ctx: check_amounts_sign(detail),
    lambda detail, _ctx: check_decimals(detail),
    check_class_c,
    check_total,
    check_vat,
    lambda detail, _ctx: check_taxes(detail),
    lambda detail, _ctx: check_currency(detail),
    check_receiver_condition,
    check_associations,
    check_monotributo_receiver,
)


def check_detail(detail: Detail, ctx: Context) -> list[Finding]:
    """Every detail-level rule, in ARCA's rough order; all findings are returned."""
    return [finding for rule in DETAIL_RULES for finding in rule(detail, ctx)]


def rejects(findings: list[Finding]) -> bool:
    """Whether any finding is blocking (not in OBSERVATION_ONLY)."""
    return any(code not in OBSERVATION_ONLY for code, _ in findings)


# --- FCE MiPyME (types 201-213) ---------------------------------------------------------------
#
# ARCA's WSFEv1 manual (RG 4291, validation table), codes 10003, 10015, 10042, 10151-10216.
# Only FCE types are checked here: nothing below changes the answer for any other CbteTipo.

# The FCE "datos opcionales" (FEParamGetTiposOpcional).
CBU, ALIAS, ANULACION, REFERENCIA, TRANSFERENCIA = "2101", "2102", "22", "23", "27"
# The invoice each FCE class's notes reference, and the other documents they may (10157).
FCE_INVOICE_OF_CLASS = {"A": 201, "B": 206, "C": 211}
FCE_OTHER_ASSOCIATIONS = frozenset({91, 88, 988, 990, 991, 993, 994, 995, 996, 997})
NO_CATEGORIZADO = 23000000000


def _yes(_cuit: str) -> bool:
    return True


def _nothing(_asoc: CbteAsoc) -> Mapping[str, Any] | None:
    return None


@dataclass(frozen=True)
class FceInputs:
    """What the FCE rules read beyond `Detail`: the optionals (Id, Valor) as sent, whether
    `Compradores` came, and two lookups: whether a receiver CUIT is a large company that must
    receive FCE (the sandbox's wsfecred data), and the stored detail of an associated voucher
    (None when the ledger has none)."""

    optionals: tuple[tuple[str, str], ...] = ()
    has_buyers: bool = False
    receives_fce: Callable[[str], bool] = _yes
    associated: Callable[[CbteAsoc], Mapping[str, Any] | None] = _nothing

    def values(self, optional_id: str) -> list[str]:
        return [value for key, value in self.optionals if key == optional_id]

    @property
    def anulacion(self) -> str | None:
        """Optional 22's value (S: the note cancels a rejected voucher; N: it does not)."""
        found = self.values(ANULACION)
        return found[0] if found else None


def check_fce_batch(cant_reg: int, cbte_tipo: int) -> list[Finding]:
    """10003 (request level) an FCE request with more than one voucher: "Para comprobantes del
    tipo MiPyMEs (FCE), la cantidad habilitada es 1 comprobante por request"."""
    if cbte_tipo in FCE_TYPES and cant_reg > 1:
        return [_f(10003, "Para comprobantes MiPyMEs (FCE) la cantidad habilitada es 1.")]
    return []


def check_fce_receiver(detail: Detail, ctx: Context, inputs: FceInputs) -> list[Finding]:
    """10015 FCE receiver not DocTipo 80 (class A already gets 10013); 10178 the "No
    Categorizado" CUIT 23000000000; 10180 a receiver that is not a large company (nor opted
    into the regime): in the sandbox, one not obligated in wsfecred."""
    if detail.doc_tipo != 80:
        if ctx.voucher_class in ("A", "ALEY"):
            return []
        return [
            _f(10015, "Para comprobantes MiPyMEs (FCE) el documento del receptor debe ser 80 CUIT.")
        ]
    if detail.doc_nro == NO_CATEGORIZADO:
        return [_f(10178)]
    if not inputs.receives_fce(f"{detail.doc_nro:011d}"):
        return [_f(10180)]
    return []


def check_fce_optionals(ctx: Context, inputs: FceInputs) -> list[Finding]:
    """10162 no Opcionales; 10165 CBU (2101) not 22 digits; 10166 alias (2102) not 6-20
    characters; 10167 anulación (22) not S/N; 10214/10215 transferencia (27) not SCA/ADC;
    10189/10190 commercial reference (23) over 50 characters / repeated. Invoices: 10168
    without CBU, 10171 with 22, 10216 without 27. Notes: 10172 with 2101, 2102 or 27, 10173
    without 22. 10170: none of 2101, 22, 27."""
    if not inputs.optionals:
        return [_f(10162)]
    findings = _fce_optional_values(inputs)
    present = {key for key, _ in inputs.optionals}
    if not present & {CBU, ANULACION, TRANSFERENCIA}:
        findings.append(_f(10170))
    if ctx.cbte_tipo in params.FCE_INVOICES:
        findings += [_f(10168)] if CBU not in present else []
        findings += [_f(10171)] if ANULACION in present else []
        findings += [_f(10216)] if TRANSFERENCIA not in present else []
    else:
        findings += [_f(10172)] if present & {CBU, ALIAS, TRANSFERENCIA} else []
        findings += [_f(10173)] if ANULACION not in present else []
    return findings


def _fce_optional_values(inputs: FceInputs) -> list[Finding]:
    findings: list[Finding] = []
    if any(not (len(v) == 22 and v.isdigit()) for v in inputs.values(CBU)):
        findings.append(_f(10165))
    if any(not _is_alias(v) for v in inputs.values(ALIAS)):
        findings.append(_f(10166))
    if any(v not in ("S", "N") for v in inputs.values(ANULACION)):
        findings.append(_f(10167))
    for value in inputs.values(TRANSFERENCIA):
        if len(value) != 3:
            findings.append(_f(10214))
        elif value not in ("SCA", "ADC"):
            findings.append(_f(10215))
    references = inputs.values(REFERENCIA)
    if any(len(v) > 50 for v in references):
        findings.append(_f(10189))
    if len(set(references)) != len(references):
        findings.append(_f(10190))
    return findings


def _is_alias(value: str) -> bool:
    """A CBU alias: 6 to 20 letters, digits, dots or hyphens (BCRA's rule)."""
    return 6 <= len(value) <= 20 and all(c.isascii() and (c.isalnum() or c in ".-") for c in value)


def check_fce_payment_date(detail: Detail, ctx: Context, inputs: FceInputs) -> list[Finding]:
    """10163 an FCE invoice without FchVtoPago; 10164 FchVtoPago before CbteFch or today,
    whichever is later; 10175 FchVtoPago on a note that is not an anulación (concept 1 only:
    concepts 2 and 3 require it, 10049)."""
    if ctx.cbte_tipo in params.FCE_NOTES:
        sent = detail.fch_vto_pago is not None
        if sent and inputs.anulacion != "S" and detail.concepto == 1:
            return [_f(10175)]
        return []
    if detail.fch_vto_pago is None:
        return [_f(10163)]
    due = parse_date(detail.fch_vto_pago)
    issued = parse_date(detail.cbte_fch) or ctx.today
    if due is not None and due < max(issued, ctx.today):
        return [_f(10164)]
    return []


def check_fce_associations(detail: Detail, ctx: Context, inputs: FceInputs) -> list[Finding]:
    """10196 PeriodoAsoc on FCE; notes: 10153 no CbtesAsoc; 10151 an associated voucher without
    its issuer Cuit (11 digits); 10155 that Cuit is not the issuer's; 10158 without CbteFch;
    10159 an associated date after the note's; not anulación (22=N): 10156 no FCE invoice
    associated, 10157 other types than the class's FCE invoice or delivery documents."""
    if detail.periodo_asoc is not None:
        return [_f(10196)]
    if ctx.cbte_tipo not in params.FCE_NOTES:
        return []
    if not detail.cbtes_asoc:
        return [_f(10153)]
    findings: list[Finding] = []
    issued = parse_date(detail.cbte_fch) or ctx.today
    for asoc in detail.cbtes_asoc:
        if asoc.cuit is None or len(asoc.cuit) != 11 or not asoc.cuit.isdigit():
            findings.append(_f(10151))
        elif asoc.cuit != ctx.cuit:
            findings.append(_f(10155))
        if asoc.cbte_fch is None:
            findings.append(_f(10158))
        elif (when := parse_date(asoc.cbte_fch)) is not None and when > issued:
            findings.append(_f(10159))
    if inputs.anulacion == "N":
        findings += _fce_invoice_association(detail, ctx)
    return findings


def _fce_invoice_association(detail: Detail, ctx: Context) -> list[Finding]:
    invoice = FCE_INVOICE_OF_CLASS.get(ctx.voucher_class)
    types = {asoc.tipo for asoc in detail.cbtes_asoc}
    if invoice not in types:
        return [_f(10156)]
    if types - {invoice} - FCE_OTHER_ASSOCIATIONS:
        return [_f(10157)]
    return []


def check_fce_associated_exist(detail: Detail, ctx: Context, inputs: FceInputs) -> list[Finding]:
    """FCE notes: 10160 the associated FCE voucher is not authorised with the date sent; 10181
    a currency other than the associated voucher's (or pesos)."""
    if ctx.cbte_tipo not in params.FCE_NOTES:
        return []
    findings: list[Finding] = []
    for asoc in detail.cbtes_asoc:
        if asoc.tipo not in FCE_TYPES or asoc.cuit != ctx.cuit or asoc.cbte_fch is None:
            continue  # 10151/10155/10158 already said it; delivery documents are not here
        stored = inputs.associated(asoc)
        if stored is None or stored.get("CbteFch") != asoc.cbte_fch:
            findings.append(_f(10160, f"Tipo {asoc.tipo}, PtoVta {asoc.pto_vta}, Nro {asoc.nro}."))
        elif detail.mon_id not in (stored.get("MonId"), "PES"):
            findings.append(_f(10181))
    return findings


def check_fce_misc(detail: Detail, inputs: FceInputs) -> list[Finding]:
    """10042 a Tributo without Desc (always required on FCE); 10194 Compradores on FCE."""
    findings: list[Finding] = []
    if any(not (tributo.desc or "").strip() for tributo in detail.tributos):
        findings.append(_f(10042))
    if inputs.has_buyers:
        findings.append(_f(10194))
    return findings


def check_fce(detail: Detail, ctx: Context, inputs: FceInputs) -> list[Finding]:
    """Every FCE rule for a detail of an FCE type; [] for any other CbteTipo."""
    if ctx.cbte_tipo not in FCE_TYPES:
        return []
    return [
        *check_fce_receiver(detail, ctx, inputs),
        *check_fce_optionals(ctx, inputs),
        *check_fce_payment_date(detail, ctx, inputs),
        *check_fce_associations(detail, ctx, inputs),
        *check_fce_associated_exist(detail, ctx, inputs),
        *check_fce_misc(detail, inputs),
    ]
