"""CAEA (contingency) operations of WSFEv1: request a fortnight's CAEA, consult it, inform the
vouchers issued with it and the points of sale without movement.

Element names, codes and texts come from ARCA's recorded answers where one exists (pyafipws
tests/cassettes/test_wsfev1/*caea*.yaml, test_wsmtx*/ for the CAEA regime shared with WSMTXCA);
docs/arca-sandbox.md ("CAEA") lists them and marks the codes the sandbox had to choose.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from lxml import etree

from arca.caea import fortnight_dates, request_window
from arca.sandbox.ledger import NoMovement, SequenceTx, StoredCaea, StoredVoucher
from arca.sandbox.messages import message
from arca.sandbox.rules import (
    DETAIL_RULES,
    Context,
    Finding,
    check_associated_exist,
    check_cant_reg,
    check_point_of_sale,
    check_voucher_type,
    parse_date,
    rejects,
)
from arca.sandbox.soap import Node
from arca.sandbox.state import State
from arca.sandbox.vouchers import FEV1, CbteAsoc, child, read_detail, read_int, text, to_detail
from arca.sandbox.wsfe import (
    OpResult,
    authenticate,
    cab_response,
    det_response_head,
    errors_node,
)

# ARCA's texts, recorded unless marked. Codes marked "sandbox" have no recorded answer: the
# sandbox chose them (docs/arca-sandbox.md, CAEA section).
NO_DATA = (602, "No existen datos en nuestros registros para los parametros ingresados.")
BAD_PERIOD = (
    15004,
    "El campo <Periodo> debe tener el formato AAAAMM, donde AAAA indica el año y MM el mes en "
    "números.",
)
BAD_ORDER = (15005, "El campo <Orden> debe ser 1 o 2.")  # sandbox
OUT_OF_WINDOW = 15006
CAEA_MISSING = (782, "El <CAEA> es obligatorio informarlo.")
NOT_A_CAEA = (1200, "El codigo de autorizacion debe ser del tipo CAEA")
NOT_GRANTED = (1200, "El CAEA enviado no corresponde a un CAEA previamente otorgado")  # WSMTXCA
PAST_DEADLINE = (1201, "La fecha de envio es posterior a la fecha tope de informacion del CAEA.")
HAS_MOVEMENT = (1202, "El punto de venta registra comprobantes informados con el CAEA.")  # sandbox
NOT_NEXT = (
    703,
    "El numero de comprobante informado debe ser mayor en 1 al ultimo informado para igual "
    "punto de venta y tipo de comprobante.",
)
NO_GENERATION_TIME = (
    1440,
    "El campo CbteFchHsGen es obligatorio para puntos de venta de contingencia CAEA "
    "(formato yyyymmddhhmmss).",
)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def _day(value: date) -> str:
    return value.strftime("%Y%m%d")


def _us_date(value: date) -> str:
    # ARCA's .NET server writes this text in en-US culture: 6/26/2021.
    return f"{value.month}/{value.day}/{value.year}"


# --- FECAEASolicitar / FECAEAConsultar -------------------------------------------------------


def _fortnight(body: etree._Element) -> tuple[int, int, list[Finding]]:
    periodo, orden = read_int(body, "Periodo"), read_int(body, "Orden")
    try:
        fortnight_dates(periodo, 1)
    except ValueError:
        return periodo, orden, [BAD_PERIOD]
    if orden not in (1, 2):
        return periodo, orden, [BAD_ORDER]
    return periodo, orden, []


def _echo(periodo: int, orden: int) -> Node:
    # ARCA echoes Periodo and Orden in ResultGet when it refuses a consult (recorded: 15004, 602).
    return ("ResultGet", [("Periodo", str(periodo)), ("Orden", str(orden))])


def _caea_get(caea: StoredCaea) -> Node:
    return (
        "ResultGet",
        [
            ("CAEA", caea.caea),
            ("Periodo", str(caea.periodo)),
            ("Orden", str(caea.orden)),
            ("FchVigDesde", caea.fch_vig_desde),
            ("FchVigHasta", caea.fch_vig_hasta),
            ("FchTopeInf", caea.fch_tope_inf),
            ("FchProceso", caea.fch_proceso),
        ],
    )


def _result(
    operation: str, cuit: str | None, nodes: list[Node], findings: list[Finding]
) -> OpResult:
    if findings:
        nodes = [*nodes, errors_node(findings)]
        return OpResult((f"{operation}Result", nodes), cuit, outcome=f"err:{findings[0][0]}")
    return OpResult((f"{operation}Result", nodes), cuit)


def fe_caea_solicitar(state: State, body: etree._Element) -> OpResult:
    """Grant the CAEA for (Auth/Cuit, Periodo, Orden): 15004/15005 bad fortnight, 15006 outside
    the request window (5 days before the fortnight until its end). A repeated request answers
    the CAEA already granted, unchanged. Refusals carry no ResultGet (recorded 15006, 600)."""
    cuit, errors = authenticate(state, body)
    if errors or cuit is None:
        return _result("FECAEASolicitar", cuit, [], errors)
    periodo, orden, errors = _fortnight(body)
    if not errors:
        errors = _window_errors(state.clock.today(), periodo, orden)
    if errors:
        return _result("FECAEASolicitar", cuit, [], errors)
    with state.ledger.transaction() as tx:
        caea = tx.caea_for(cuit, periodo, orden) or _grant_caea(state, tx, cuit, periodo, orden)
    return _result("FECAEASolicitar", cuit, [_caea_get(caea)], [])


def _window_errors(today: date, periodo: int, orden: int) -> list[Finding]:
    first, last = request_window(periodo, orden)
    if first <= today <= last:
        return []
    refusal = (
        "Fecha de envío podrá ser desde 5 días corridos anteriores al inicio hasta el último dia "
        f"de cada quincena. Del {_us_date(first)} hasta {_us_date(last)}"
    )
    return [(OUT_OF_WINDOW, refusal)]


def _grant_caea(state: State, tx: SequenceTx, cuit: str, periodo: int, orden: int) -> StoredCaea:
    start, end = fortnight_dates(periodo, orden)
    now = state.clock.now()
    caea = StoredCaea(
        cuit=cuit,
        periodo=periodo,
        orden=orden,
        caea=_new_caea(tx, now),
        fch_vig_desde=_day(start),
        fch_vig_hasta=_day(end),
        fch_tope_inf=_day(end + timedelta(days=state.config.caea_report_days)),
        fch_proceso=_stamp(now),
    )
    tx.store_caea(caea)
    return caea


def _new_caea(tx: SequenceTx, now: datetime) -> str:
    """14 digits shaped like ARCA's: a leading digit (8 in a 2026 CAEA), the year's last digit,
    the ISO week of issue, then 10 digits (86360849219971: 2026, week 36). Unique in the ledger,
    CAEs included."""
    prefix = f"8{now.year % 10}{now.isocalendar().week:02d}"
    while True:
        code = f"{prefix}{secrets.randbelow(10**10):010d}"
        if not tx.cae_exists(code):
            return code


def fe_caea_consultar(state: State, body: etree._Element) -> OpResult:
    """The CAEA granted for (Auth/Cuit, Periodo, Orden); 602 (with Periodo/Orden echoed) when
    there is none, as recorded in pyafipws test_wsfev1/test_main_solicitar_caea.yaml."""
    cuit, errors = authenticate(state, body)
    if errors or cuit is None:
        return _result("FECAEAConsultar", cuit, [], errors)
    periodo, orden, errors = _fortnight(body)
    if errors:
        return _result("FECAEAConsultar", cuit, [_echo(periodo, orden)], errors)
    with state.ledger.transaction() as tx:
        caea = tx.caea_for(cuit, periodo, orden)
    if caea is None:
        return _result("FECAEAConsultar", cuit, [_echo(periodo, orden)], [NO_DATA])
    return _result("FECAEAConsultar", cuit, [_caea_get(caea)], [])


# --- FECAEARegInformativo ------------------------------------------------------------------


@dataclass
class _Informed:
    raw: dict[str, Any]
    caea: str
    generated_at: str
    findings: list[Finding]
    approved: bool = False
    request_error: Finding | None = None  # reported in Errors (and the detail rejected)


def fe_caea_reg_informativo(state: State, body: etree._Element) -> OpResult:
    """Record vouchers issued with a CAEA. Request-level: auth, header (CantReg, a CAEA-regime
    PtoVta: 10004/10005, CbteTipo), and on each detail the CAEA (782 missing, 1200 not this
    CUIT's, 1201 past its FchTopeInf) and the numbering (703); detail-level: FECAESolicitar's
    rules with the voucher's own CbteFch as "today", 10016 a CbteFch outside the CAEA's
    fortnight, 1440 a missing or malformed CbteFchHsGen. Accepted vouchers are stored in one
    transaction and answer FECompUltimoAutorizado and FECompConsultar (EmisionTipo CAEA)."""
    request = child(body, "FeCAEARegInfReq")
    header = child(request, "FeCabReq")
    cant_reg, pto_vta, cbte_tipo = (read_int(header, n) for n in ("CantReg", "PtoVta", "CbteTipo"))
    elements = child(request, "FeDetReq")
    found = [] if elements is None else list(elements.iterfind(f"{{{FEV1}}}FECAEADetRequest"))
    informed = [_read_informed(element) for element in found]
    cuit, errors = authenticate(state, body)
    if errors or cuit is None:
        return _result("FECAEARegInformativo", cuit, [], errors)
    errors = check_cant_reg(cant_reg, len(informed), state.config.max_batch)
    errors += check_point_of_sale(pto_vta, state.config.caea_points_of_sale)
    errors += check_voucher_type(cbte_tipo)
    if not errors:
        with state.ledger.transaction() as tx:
            for item in informed:
                _judge_informed(state, tx, cuit, (pto_vta, cbte_tipo), item)
        found_errors = [item.request_error for item in informed if item.request_error]
        errors = list(dict.fromkeys(found_errors))  # one Err per distinct problem
    return _inform_response(state, cuit, (cant_reg, pto_vta, cbte_tipo), informed, errors)


def _read_informed(element: etree._Element) -> _Informed:
    return _Informed(
        raw=read_detail(element),
        caea=text(element, "CAEA") or "",
        generated_at=text(element, "CbteFchHsGen") or "",
        findings=[],
    )


def _judge_informed(
    state: State, tx: SequenceTx, cuit: str, sequence: tuple[int, int], item: _Informed
) -> None:
    pto_vta, cbte_tipo = sequence
    caea, problem = _usable_caea(state, tx, cuit, item.caea)
    if problem is not None or caea is None:
        item.request_error = problem
        return
    detail = to_detail(item.raw)
    last_number, last_date = tx.last(cuit, pto_vta, cbte_tipo)
    if detail.cbte_desde != last_number + 1:
        item.request_error = NOT_NEXT
        return
    issued = parse_date(detail.cbte_fch)
    ctx = Context(
        cuit=cuit,
        pto_vta=pto_vta,
        cbte_tipo=cbte_tipo,
        # The voucher was issued on its own date: the CbteFch window is centred on it.
        today=issued or state.clock.today(),
        last_number=last_number,
        last_date=last_date,
        consumidor_final_threshold=state.config.consumidor_final_threshold,
    )
    item.findings = _caea_findings(caea, issued, item.generated_at)
    item.findings += [finding for rule in DETAIL_RULES for finding in rule(detail, ctx)]
    item.findings += check_associated_exist(detail, ctx, _total_lookup(tx, cuit))
    if not rejects(item.findings):
        _store_informed(state, tx, cuit, sequence, item, caea)


def _usable_caea(
    state: State, tx: SequenceTx, cuit: str, code: str
) -> tuple[StoredCaea | None, Finding | None]:
    if not code:
        return None, CAEA_MISSING
    caea = tx.caea_by_code(cuit, code)
    if caea is None:
        return None, NOT_GRANTED if _looks_like_caea(code) else NOT_A_CAEA
    deadline = parse_date(caea.fch_tope_inf)
    if deadline is not None and state.clock.today() > deadline:
        return None, PAST_DEADLINE
    return caea, None


def _looks_like_caea(code: str) -> bool:
    # A CAE gets the recorded "debe ser del tipo CAEA": ARCA's CAEs start with 7 (71293955911805
    # in pyafipws test_wsfev1/test_main_sinmovimiento_caea.yaml), as the sandbox's do; so does
    # anything that is not 14 digits. Another 14-digit code was just never granted.
    return len(code) == 14 and code.isdigit() and not code.startswith("7")


def _caea_findings(caea: StoredCaea, issued: date | None, generated_at: str) -> list[Finding]:
    findings: list[Finding] = []
    start, end = parse_date(caea.fch_vig_desde), parse_date(caea.fch_vig_hasta)
    if issued is None or start is None or end is None or not start <= issued <= end:
        findings.append((10016, message(10016, "CbteFch fuera de la vigencia del CAEA.")))
    if _generation_time(generated_at) is None:
        findings.append(NO_GENERATION_TIME)
    return findings


def _generation_time(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S") if len(value) == 14 else None
    except ValueError:
        return None


def _total_lookup(tx: SequenceTx, cuit: str) -> Callable[[CbteAsoc], Decimal | None]:
    # The associated voucher's total, whether it was authorised with a CAE or a CAEA.
    def lookup(asoc: CbteAsoc) -> Decimal | None:
        stored = tx.find(asoc.cuit or cuit, asoc.pto_vta, asoc.tipo, asoc.nro)
        return None if stored is None else Decimal(stored.detail["ImpTotal"])

    return lookup


def _store_informed(
    state: State,
    tx: SequenceTx,
    cuit: str,
    sequence: tuple[int, int],
    item: _Informed,
    caea: StoredCaea,
) -> None:
    pto_vta, cbte_tipo = sequence
    voucher = StoredVoucher(
        cuit=cuit,
        pto_vta=pto_vta,
        cbte_tipo=cbte_tipo,
        cbte_desde=int(item.raw["CbteDesde"]),
        cbte_hasta=int(item.raw["CbteHasta"]),
        cbte_fch=str(item.raw["CbteFch"]),
        cae=caea.caea,
        cae_fch_vto=caea.fch_vig_hasta,
        fch_proceso=_stamp(state.clock.now()),
        detail=item.raw,
        observations=item.findings,
        emission_type="CAEA",
    )
    tx.store_caea_voucher(voucher, item.generated_at)
    item.approved = True


def _inform_response(
    state: State,
    cuit: str,
    header: tuple[int, int, int],
    informed: list[_Informed],
    errors: list[Finding],
) -> OpResult:
    results = {"A" if item.approved else "R" for item in informed} or {"R"}
    resultado = results.pop() if len(results) == 1 else "P"
    if errors and resultado == "A":
        resultado = "R"
    cab = cab_response(state, cuit, header, resultado)
    nodes: list[Node] = [cab, ("FeDetResp", [_det_response(item) for item in informed])]
    if errors:
        nodes.append(errors_node(errors))
    return OpResult(("FECAEARegInformativoResult", nodes), cuit, header[0], resultado)


def _det_response(item: _Informed) -> Node:
    nodes = det_response_head(item.raw, item.approved)
    if item.findings:
        observations: list[Node] = [
            ("Obs", [("Code", str(c)), ("Msg", m)]) for c, m in item.findings
        ]
        nodes.append(("Observaciones", observations))
    # Recorded: a rejected detail answers an empty <CAEA />.
    nodes.append(("CAEA", item.caea if item.approved else ""))
    return ("FECAEADetResponse", nodes)


# --- Sin movimiento ----------------------------------------------------------------------------


def fe_caea_sin_movimiento_informar(state: State, body: etree._Element) -> OpResult:
    """Report that PtoVta issued nothing with CAEA: 1200 not a CAEA of this CUIT, 10004/10005
    not a CAEA-regime point of sale, 1201 past FchTopeInf, 1202 (sandbox) vouchers were already
    informed with it there. Repeating an accepted report answers the first one again. The
    answer always carries CAEA, FchProceso (yyyymmdd), PtoVta and Resultado, as recorded in
    pyafipws test_wsfev1/test_main_sinmovimiento_caea.yaml."""
    pto_vta, code = read_int(body, "PtoVta"), text(body, "CAEA") or ""
    cuit, errors = authenticate(state, body)
    today = _day(state.clock.today())
    if errors or cuit is None:
        return _result("FECAEASinMovimientoInformar", cuit, [("PtoVta", str(pto_vta))], errors)
    with state.ledger.transaction() as tx:
        errors = _no_movement_errors(state, tx, cuit, code, pto_vta)
        report = None
        if not errors:
            report = tx.record_no_movement(NoMovement(cuit, code, pto_vta, today))
    nodes: list[Node] = [
        ("CAEA", code),
        ("FchProceso", report.fch_proceso if report else today),
        ("PtoVta", str(pto_vta)),
        ("Resultado", "R" if errors else "A"),
    ]
    return _result("FECAEASinMovimientoInformar", cuit, nodes, errors)


def _no_movement_errors(
    state: State, tx: SequenceTx, cuit: str, code: str, pto_vta: int
) -> list[Finding]:
    caea, problem = _usable_caea(state, tx, cuit, code)
    if problem is not None or caea is None:
        return [problem or NOT_A_CAEA]
    errors = check_point_of_sale(pto_vta, state.config.caea_points_of_sale)
    if not errors and tx.caea_used_on(cuit, code, pto_vta):
        errors = [HAS_MOVEMENT]
    return errors


def fe_caea_sin_movimiento_consultar(state: State, body: etree._Element) -> OpResult:
    """The no-movement reports of CAEA (on PtoVta; PtoVta 0 = every point of sale) as
    ResultGet/FECAEASinMov; 602 when there are none."""
    pto_vta, code = read_int(body, "PtoVta"), text(body, "CAEA") or ""
    cuit, errors = authenticate(state, body)
    if errors or cuit is None:
        return _result("FECAEASinMovimientoConsultar", cuit, [], errors)
    with state.ledger.transaction() as tx:
        reports = tx.no_movement(cuit, code, pto_vta or None)
    if not reports:
        return _result("FECAEASinMovimientoConsultar", cuit, [], [NO_DATA])
    rows: list[Node] = [
        (
            "FECAEASinMov",
            [("CAEA", r.caea), ("FchProceso", r.fch_proceso), ("PtoVta", str(r.pto_vta))],
        )
        for r in reports
    ]
    return _result("FECAEASinMovimientoConsultar", cuit, [("ResultGet", rows)], [])
