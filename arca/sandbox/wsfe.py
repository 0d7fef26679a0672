"""WSFEv1's operations. Each takes the request's body element and returns the `<Op>Result` node
plus what the request log records; business errors are `Errors/Err` inside the result (HTTP 200),
as ARCA does. Values .NET could not deserialize raise `vouchers.BadValue` (HTTP 500 fault)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from lxml import etree

from arca.sandbox import params
from arca.sandbox.faults import Fault
from arca.sandbox.ledger import SequenceTx, StoredVoucher
from arca.sandbox.messages import REQUEST_LEVEL, message
from arca.sandbox.rules import (
    Context,
    FceInputs,
    Finding,
    check_associated_exist,
    check_cant_reg,
    check_detail,
    check_fce,
    check_fce_batch,
    check_numbering,
    check_point_of_sale,
    check_voucher_type,
    parse_date,
    rejects,
)
from arca.sandbox.soap import Node
from arca.sandbox.state import State
from arca.sandbox.vouchers import (
    FEV1,
    CbteAsoc,
    child,
    detail_nodes,
    read_detail,
    read_int,
    text,
    to_detail,
)
from arca.sandbox.wsaa import TokenInvalid, verify_token
from arca.sandbox.wsfecred_data import threshold_for


@dataclass(frozen=True)
class OpResult:
    """An operation's `<Op>Result` node and the request-log fields."""

    node: Node
    cuit: str | None = None
    cant_reg: int | None = None
    outcome: str = "ok"


def errors_node(findings: list[Finding]) -> Node:
    return ("Errors", [("Err", [("Code", str(c)), ("Msg", m)]) for c, m in findings])


def _failed(op: str, cuit: str | None, findings: list[Finding], head: list[Node]) -> OpResult:
    node: Node = (f"{op}Result", [*head, errors_node(findings)])
    return OpResult(node, cuit, outcome=f"err:{findings[0][0]}")


def authenticate(state: State, body: etree._Element) -> tuple[str | None, list[Finding]]:
    """(Auth/Cuit, errors): 500 Auth missing, 600 bad or expired TA, 601 CUIT not in the TA."""
    auth = child(body, "Auth")
    if auth is None:
        return None, [(500, "Campo Auth no fue ingresado o esta mal formado")]
    cuit = str(read_int(auth, "Cuit"))
    try:
        info = verify_token(
            state.ca, text(auth, "Token") or "", text(auth, "Sign") or "", state.clock.now()
        )
    except TokenInvalid as error:
        return cuit, [(600, str(error))]
    if info.service != "wsfe":
        return cuit, [(600, "ValidacionDeToken: el token no corresponde al servicio wsfe")]
    if cuit not in info.cuits:
        return cuit, [(601, message(601, f"No aparecio CUIT en lista de relaciones: {cuit}"))]
    return cuit, []


def fe_dummy(state: State, body: etree._Element) -> OpResult:
    """Health check, no Auth: AppServer, DbServer and AuthServer all "OK"."""
    return OpResult(
        ("FEDummyResult", [("AppServer", "OK"), ("DbServer", "OK"), ("AuthServer", "OK")])
    )


def fe_comp_ultimo_autorizado(state: State, body: etree._Element) -> OpResult:
    """Last authorised number of (Auth/Cuit, PtoVta, CbteTipo); errors 11000/11001/11002."""
    pto_vta, cbte_tipo = read_int(body, "PtoVta"), read_int(body, "CbteTipo")
    head: list[Node] = [("PtoVta", str(pto_vta)), ("CbteTipo", str(cbte_tipo))]
    cuit, errors = authenticate(state, body)
    if not errors:
        errors = _sequence_errors(state, pto_vta, cbte_tipo)
    if errors or cuit is None:
        return _failed("FECompUltimoAutorizado", cuit, errors, [*head, ("CbteNro", "0")])
    last, _ = state.ledger.last_voucher(cuit, pto_vta, cbte_tipo)
    return OpResult(("FECompUltimoAutorizadoResult", [*head, ("CbteNro", str(last))]), cuit)


def _sequence_errors(state: State, pto_vta: int, cbte_tipo: int) -> list[Finding]:
    if not 1 <= pto_vta <= 99998:
        return [(11000, message(11000))]
    if cbte_tipo not in params.VOUCHER_CLASS:
        return [(11001, message(11001))]
    if pto_vta not in state.config.web_service_points_of_sale:
        return [(11002, message(11002))]
    return []


def fe_comp_consultar(state: State, body: etree._Element) -> OpResult:
    """A stored voucher, shaped as FECompConsResponse; error 602 when there is none."""
    request = child(body, "FeCompConsReq")
    tipo, nro, pto_vta = (read_int(request, n) for n in ("CbteTipo", "CbteNro", "PtoVta"))
    cuit, errors = authenticate(state, body)
    if errors or cuit is None:
        return _failed("FECompConsultar", cuit, errors, [])
    stored = state.ledger.find_voucher(cuit, pto_vta, tipo, nro)
    if stored is None:
        return _failed("FECompConsultar", cuit, [(602, message(602))], [])
    return OpResult(("FECompConsultarResult", [("ResultGet", _result_get(stored))]), cuit)


# ARCA answers these even when the voucher had none, empty (`<FchServDesde />`, pyafipws
# tests/cassettes/test_wsfev1/test_reproceso_productos.yaml).
_ALWAYS_ANSWERED = ("FchServDesde", "FchServHasta", "FchVtoPago")


def _result_get(stored: StoredVoucher) -> list[Node]:
    nodes = detail_nodes({**dict.fromkeys(_ALWAYS_ANSWERED, ""), **stored.detail})
    nodes += [
        ("Resultado", "A"),
        ("CodAutorizacion", stored.cae),
        ("EmisionTipo", stored.emission_type),
        ("FchVto", stored.cae_fch_vto),
        ("FchProceso", stored.fch_proceso),
    ]
    if stored.observations:
        nodes.append(_observations(stored.observations))
    return [*nodes, ("PtoVta", str(stored.pto_vta)), ("CbteTipo", str(stored.cbte_tipo))]


def _observations(findings: list[Finding]) -> Node:
    return ("Observaciones", [("Obs", [("Code", str(c)), ("Msg", m)]) for c, m in findings])


def fe_comp_tot_x_request(state: State, body: etree._Element) -> OpResult:
    """RegXReq: the most details one FECAESolicitar may carry."""
    cuit, errors = authenticate(state, body)
    if errors:
        return _failed("FECompTotXRequest", cuit, errors, [("RegXReq", "0")])
    return OpResult(("FECompTotXRequestResult", [("RegXReq", str(state.config.max_batch))]), cuit)


# Elements with minOccurs=1 that an error-only result must still carry to match the WSDL.
_REQUIRED_HEAD: dict[str, list[Node]] = {
    "FECompUltimoAutorizado": [("PtoVta", "0"), ("CbteTipo", "0"), ("CbteNro", "0")],
    "FECompTotXRequest": [("RegXReq", "0")],
    "FECAEASinMovimientoInformar": [("PtoVta", "0")],
}


def error_result(operation: str, findings: list[Finding], cuit: str | None = None) -> OpResult:
    """`<Op>Result` carrying only Errors (plus the WSDL's mandatory elements)."""
    return _failed(operation, cuit, findings, list(_REQUIRED_HEAD.get(operation, [])))


def not_implemented(state: State, body: etree._Element, operation: str) -> OpResult:
    """A WSDL operation the sandbox would not simulate (none today): Err 500."""
    cuit, errors = authenticate(state, body)
    findings = errors or [(500, f"Metodo {operation} no implementado en el sandbox de ARCA.")]
    return error_result(operation, findings, cuit)


def forced_error(operation: str, fault: Fault) -> OpResult:
    """What a `reject_next` fault aimed at an operation other than FECAESolicitar returns."""
    return error_result(operation, [_forced(fault)])


# --- FECAESolicitar --------------------------------------------------------------------------


@dataclass
class _Verdict:
    raw: dict[str, Any]
    findings: list[Finding]
    cae: str = ""
    cae_fch_vto: str = ""
    numbering: Finding | None = None  # 10016 on the sequence: an Err if on the first voucher

    @property
    def approved(self) -> bool:
        return bool(self.cae)


def fe_cae_solicitar(state: State, body: etree._Element) -> OpResult:
    """Authorise one voucher or a batch. Request-level problems (auth, header, numbering of the
    first voucher, a request-level `reject` fault) are `Errors/Err` and reject everything;
    detail problems are `Obs` on their voucher. Approved vouchers are stored with their CAE
    inside one BEGIN IMMEDIATE transaction, so numbering is atomic."""
    request = child(body, "FeCAEReq")
    header = child(request, "FeCabReq")
    cant_reg, pto_vta, cbte_tipo = (read_int(header, n) for n in ("CantReg", "PtoVta", "CbteTipo"))
    elements = child(request, "FeDetReq")
    found = [] if elements is None else elements.iterfind(f"{{{FEV1}}}FECAEDetRequest")
    raws = [read_detail(element) for element in found]
    cuit, errors = authenticate(state, body)
    if errors or cuit is None:
        return _failed("FECAESolicitar", cuit, errors, [])
    reject = state.faults.take("reject_next", "wsfe", "FECAESolicitar")
    errors = check_cant_reg(cant_reg, len(raws), state.config.max_batch)
    errors = errors or check_fce_batch(cant_reg, cbte_tipo)  # FCE: one voucher per request
    errors += check_point_of_sale(pto_vta, state.config.points_of_sale)
    errors += check_voucher_type(cbte_tipo)
    if reject is not None and _request_level(reject.code or 500):
        errors.append(_forced(reject))
    verdicts = _authorise(state, cuit, pto_vta, cbte_tipo, raws, errors, reject)
    return _cae_response(state, cuit, (cant_reg, pto_vta, cbte_tipo), verdicts, errors)


def _request_level(code: int) -> bool:
    return code < 10000 or code in REQUEST_LEVEL


def _forced(fault: Fault) -> Finding:
    code = fault.code or 500
    return (code, fault.message or message(code))


def _authorise(
    state: State,
    cuit: str,
    pto_vta: int,
    cbte_tipo: int,
    raws: list[dict[str, Any]],
    errors: list[Finding],
    reject: Fault | None,
) -> list[_Verdict]:
    if errors:
        return [_Verdict(raw, []) for raw in raws]
    verdicts: list[_Verdict] = []
    with state.ledger.transaction() as tx:
        for index, raw in enumerate(raws):
            forced = reject if index == 0 and reject is not None else None
            verdict = _judge(state, tx, cuit, pto_vta, cbte_tipo, raw, forced)
            if verdict.numbering is not None and index == 0:
                errors.append(verdict.numbering)
            elif verdict.numbering is not None:
                verdict.findings.append(verdict.numbering)
            verdicts.append(verdict)
    return verdicts


def _judge(
    state: State,
    tx: SequenceTx,
    cuit: str,
    pto_vta: int,
    cbte_tipo: int,
    raw: dict[str, Any],
    forced: Fault | None,
) -> _Verdict:
    detail = to_detail(raw)
    last_number, last_date = tx.last(cuit, pto_vta, cbte_tipo)
    ctx = Context(
        cuit=cuit,
        pto_vta=pto_vta,
        cbte_tipo=cbte_tipo,
        today=state.clock.today(),
        last_number=last_number,
        last_date=last_date,
        consumidor_final_threshold=state.config.consumidor_final_threshold,
    )
    numbering = check_numbering(detail, ctx)
    if numbering:
        return _Verdict(raw, [], numbering=numbering[0])
    findings = check_detail(detail, ctx)
    findings += check_associated_exist(detail, ctx, _total_lookup(tx, cuit))
    findings += check_fce(detail, ctx, _fce_inputs(raw, tx, cuit))  # [] unless 201-213
    if forced is not None:
        findings.append(_forced(forced))
    if rejects(findings):
        return _Verdict(raw, findings)
    return _grant(state, tx, cuit, pto_vta, cbte_tipo, raw, findings)


def _total_lookup(tx: SequenceTx, cuit: str) -> Callable[[CbteAsoc], Decimal | None]:
    def lookup(asoc: CbteAsoc) -> Decimal | None:
        stored = tx.find(asoc.cuit or cuit, asoc.pto_vta, asoc.tipo, asoc.nro)
        return None if stored is None else Decimal(stored.detail["ImpTotal"])

    return lookup


def _fce_inputs(raw: dict[str, Any], tx: SequenceTx, cuit: str) -> FceInputs:
    """What the FCE rules read beyond the typed detail: the optionals as sent, whether buyers
    came, whether a receiver must receive FCE (the sandbox's wsfecred data) and the stored
    detail of an associated voucher."""

    def associated(asoc: CbteAsoc) -> dict[str, Any] | None:
        stored = tx.find(asoc.cuit or cuit, asoc.pto_vta, asoc.tipo, asoc.nro)
        return None if stored is None else stored.detail

    rows = raw.get("Opcionales", [])
    optionals = tuple((row.get("Id", ""), row.get("Valor", "")) for row in rows)
    return FceInputs(
        optionals=optionals,
        has_buyers=bool(raw.get("Compradores")),
        receives_fce=lambda receiver: threshold_for(receiver) is not None,
        associated=associated,
    )


def _grant(
    state: State,
    tx: SequenceTx,
    cuit: str,
    pto_vta: int,
    cbte_tipo: int,
    raw: dict[str, Any],
    findings: list[Finding],
) -> _Verdict:
    now = state.clock.now()
    cbte_fch = raw.get("CbteFch") or now.strftime("%Y%m%d")
    raw = {**raw, "CbteFch": cbte_fch}
    issued = parse_date(cbte_fch) or now.date()
    verdict = _Verdict(
        raw, findings, _new_cae(tx), (issued + timedelta(days=10)).strftime("%Y%m%d")
    )
    tx.store(
        StoredVoucher(
            cuit=cuit,
            pto_vta=pto_vta,
            cbte_tipo=cbte_tipo,
            cbte_desde=int(raw["CbteDesde"]),
            cbte_hasta=int(raw["CbteHasta"]),
            cbte_fch=cbte_fch,
            cae=verdict.cae,
            cae_fch_vto=verdict.cae_fch_vto,
            fch_proceso=now.strftime("%Y%m%d%H%M%S"),
            detail=raw,
            observations=findings,
        )
    )
    return verdict


def _new_cae(tx: SequenceTx) -> str:
    """14 digits, unique in the ledger (real CAEs start with 7)."""
    while True:
        cae = f"7{secrets.randbelow(10**13):013d}"
        if not tx.cae_exists(cae):
            return cae


def _cae_response(
    state: State,
    cuit: str,
    header: tuple[int, int, int],
    verdicts: list[_Verdict],
    errors: list[Finding],
) -> OpResult:
    results = {"A" if v.approved else "R" for v in verdicts} or {"R"}
    resultado = "R" if errors else (results.pop() if len(results) == 1 else "P")
    cab = cab_response(state, cuit, header, resultado)
    nodes: list[Node] = [cab, ("FeDetResp", [_det_response(v) for v in verdicts])]
    if errors:
        nodes.append(errors_node(errors))
    return OpResult(("FECAESolicitarResult", nodes), cuit, header[0], resultado)


def cab_response(state: State, cuit: str, header: tuple[int, int, int], resultado: str) -> Node:
    """`FeCabResp` of FECAESolicitar and FECAEARegInformativo; `header` is (CantReg, PtoVta,
    CbteTipo)."""
    cant_reg, pto_vta, cbte_tipo = header
    return (
        "FeCabResp",
        [
            ("Cuit", cuit),
            ("PtoVta", str(pto_vta)),
            ("CbteTipo", str(cbte_tipo)),
            ("FchProceso", state.clock.now().strftime("%Y%m%d%H%M%S")),
            ("CantReg", str(cant_reg)),
            ("Resultado", resultado),
            ("Reproceso", "N"),
        ],
    )


def det_response_head(raw: dict[str, Any], approved: bool) -> list[Node]:
    """The leading elements every `FECAE(A)DetResponse` echoes, then its Resultado."""
    nodes: list[Node] = [(n, raw.get(n, "0")) for n in ("Concepto", "DocTipo", "DocNro")]
    nodes += [(n, raw.get(n, "0")) for n in ("CbteDesde", "CbteHasta")]
    return [*nodes, ("CbteFch", raw.get("CbteFch", "")), ("Resultado", "A" if approved else "R")]


def _det_response(verdict: _Verdict) -> Node:
    nodes = det_response_head(verdict.raw, verdict.approved)
    if verdict.findings:
        nodes.append(_observations(verdict.findings))
    nodes += [("CAE", verdict.cae), ("CAEFchVto", verdict.cae_fch_vto)]
    return ("FECAEDetResponse", nodes)
