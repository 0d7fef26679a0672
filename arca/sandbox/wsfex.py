"""WSFEXv1 (export invoices, Factura E) in the sandbox: FEXAuthorize, FEXGetLast_CMP, FEXGetCMP,
FEXGetLast_ID, FEXCheck_Permiso, the FEXGetPARAM_* tables and FEXDummy, over SOAP at ARCA's path.

ASP.NET-style like the sandbox's WSFEv1 (same envelopes, faults and fault knobs, service name
"wsfex" in the FaultBook and the request log), with WSFEX's own result shape: every `<Op>Result`
ends with one `FEXErr` (ErrCode 0 "OK" when all went well) and one `FEXEvents` (0 "Ok"), as the
recorded answers show (pyafipws tests/cassettes/test_wsfexv1/test_autorizar.yaml).

Exactly-once: a request `Id` is unique per CUIT. The same `Id` sent again with the same voucher
gets the stored authorisation back with `Reproceso` "S" (the point of the Id: a client that lost
the answer can re-send it safely); with a different voucher it is refused (1505).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lxml import etree
from werkzeug.wrappers import Request, Response

from arca.sandbox.countries import COUNTRIES
from arca.sandbox.faults import OUTAGE_RESPONSE, Fault
from arca.sandbox.ledger import SequenceTx, StoredExport
from arca.sandbox.rules import parse_date
from arca.sandbox.soap import (
    EmptyBody,
    MalformedXml,
    Node,
    NotSoap,
    SoapRequest,
    aspnet_envelope,
    parse_envelope,
    render,
)
from arca.sandbox.state import State
from arca.sandbox.vouchers import BadValue
from arca.sandbox.wsaa import TokenInvalid, verify_token
from arca.sandbox.wsfe import OpResult
from arca.sandbox.wsfe_params import ACTIVITIES
from arca.sandbox.wsfex_params import EXPORT_VOUCHER_TYPES, reference_rate, tables
from arca.sandbox.wsfex_rules import (
    FEX,
    LAYOUT,
    MESSAGES,
    Context,
    Finding,
    check_cmp,
    child,
    due_date,
    fex_text,
    read_cmp,
    read_int,
)

if TYPE_CHECKING:
    from arca.sandbox.app import Sandbox

SERVICE = "wsfex"
OK: Finding = (0, "OK")
NO_EVENT = (0, "Ok")
NULL = "NULL"  # ARCA's "no end date" in the tables
Handler = Callable[[State, etree._Element], OpResult]


def handle_wsfex(sandbox: Sandbox, request: Request) -> Response:
    """The answer to a request at the service's path (GET: the page or `?wsdl`)."""
    from arca.sandbox.app import (  # app imports this module
        action_header,
        aspnet_fault_response,
        wsdl_response,
    )

    if request.method == "GET":
        if "wsdl" in {key.lower() for key in request.args}:
            return wsdl_response(request, "wsfexv1.wsdl")
        return Response("<html><body>Service</body></html>", content_type="text/html")
    try:
        soap = parse_envelope(request.get_data())
    except MalformedXml:
        return Response("Bad Request", 400, content_type="text/html; charset=utf-8")
    except EmptyBody as empty:
        # ASP.NET routes on SOAPAction: an empty body naming FEXDummy is FEXDummy (pyafipws
        # tests/cassettes/test_wsfexv1_recex1/test_main_dummy.yaml: OK/OK/OK).
        operation = action_header(request, empty.version).removeprefix(FEX)
        if operation not in OPERATIONS:
            return aspnet_fault_response(
                empty.version, True, f"Server was unable to read request. {empty}"
            )
        soap = SoapRequest(empty.version, etree.Element(f"{{{FEX}}}{operation}"))
    except NotSoap as error:
        return aspnet_fault_response(
            "1.1", True, f"Server was unable to read request. ---> {error}"
        )
    operation, refusal = _operation(request, soap, action_header(request, soap.version))
    if refusal is not None:
        return aspnet_fault_response(soap.version, True, refusal)
    return _call(sandbox, soap, operation)


def _operation(request: Request, soap: SoapRequest, action: str) -> tuple[str, str | None]:
    """(operation, None) or (_, ASP.NET's refusal) for a missing or wrong action."""
    operation = soap.operation if soap.namespace == FEX else ""
    if soap.version == "1.1" and "SOAPAction" not in request.headers:
        return operation, (
            "Unable to handle request without a valid action parameter. "
            "Please supply a valid soap action."
        )
    if (action and action != f"{FEX}{operation}") or operation not in OPERATIONS:
        shown = action or f"{FEX}{operation}"
        return operation, f"Server did not recognize the value of HTTP Header SOAPAction: {shown}."
    return operation, None


def _call(sandbox: Sandbox, soap: SoapRequest, operation: str) -> Response:
    from arca.sandbox.app import aspnet_fault_response, soap_content_type  # app imports this module

    cuit = fex_text(child(soap.body, "Auth"), "Cuit")
    if sandbox.faults.take("wsfe_unavailable", SERVICE, operation) is not None:
        sandbox._log(SERVICE, operation, cuit, "wsfe_unavailable")
        status, page, content_type = OUTAGE_RESPONSE
        return Response(page, status, content_type=content_type)
    if sandbox._before(SERVICE, operation, cuit):
        return aspnet_fault_response(
            soap.version,
            False,
            "Server was unable to process request. ---> Error interno simulado por el sandbox.",
        )
    try:
        result = _run(sandbox.state, soap.body, operation)
    except BadValue as error:
        sandbox._log(SERVICE, operation, cuit, "bad_request")
        return aspnet_fault_response(
            soap.version,
            True,
            "Server was unable to read request. ---> There is an error in XML document. "
            f"---> {error}",
        )
    sandbox._after(SERVICE, operation, result.cuit or cuit, result.outcome)
    node = _with_events(result.node, sandbox.events, operation)
    body = render((f"{operation}Response", [node]), xmlns=FEX)
    envelope = aspnet_envelope(soap.version, body, _header_info(sandbox))
    return Response(envelope, 200, content_type=soap_content_type(soap.version))


def _header_info(sandbox: Sandbox) -> str:
    fecha = sandbox.clock.now().isoformat(timespec="milliseconds")
    info: Node = (
        "FEHeaderInfo",
        [("ambiente", sandbox.config.environment_label), ("fecha", fecha), ("id", "sandbox-1.0")],
    )
    return render(info, xmlns=FEX)


def _run(state: State, body: etree._Element, operation: str) -> OpResult:
    if operation not in ("FEXDummy", "FEXAuthorize"):
        forced = state.faults.take("reject_next", SERVICE, operation)
        if forced is not None:
            return _failed(operation, None, _forced(forced))
    return OPERATIONS[operation](state, body)


def _with_events(node: Node, events: list[tuple[int, str]], operation: str) -> Node:
    """`node` whose FEXEvents carries the first announced event (WSFEX has room for one)."""
    name, children = node
    if not events or operation == "FEXDummy" or isinstance(children, str):
        return node
    code, text = events[0]
    evts: Node = ("FEXEvents", [("EventCode", str(code)), ("EventMsg", text)])
    return (name, [*children[:-1], evts])


# --- shared pieces --------------------------------------------------------------------------


def _tail(finding: Finding) -> list[Node]:
    code, text = finding
    return [
        ("FEXErr", [("ErrCode", str(code)), ("ErrMsg", text)]),
        ("FEXEvents", [("EventCode", str(NO_EVENT[0])), ("EventMsg", NO_EVENT[1])]),
    ]


def _ok(operation: str, cuit: str | None, head: list[Node], outcome: str = "ok") -> OpResult:
    return OpResult((f"{operation}Result", [*head, *_tail(OK)]), cuit, outcome=outcome)


def _failed(
    operation: str, cuit: str | None, finding: Finding, head: list[Node] | None = None
) -> OpResult:
    node: Node = (f"{operation}Result", [*(head or []), *_tail(finding)])
    return OpResult(node, cuit, outcome=f"err:{finding[0]}")


def _forced(fault: Fault) -> Finding:
    code = fault.code or 1000
    return (code, fault.message or MESSAGES.get(code, f"Error {code} simulado por el sandbox."))


def authenticate(state: State, body: etree._Element) -> tuple[str | None, Finding | None]:
    """(Auth/Cuit, error): ARCA's 1000 with the token's problem appended (recorded: "Usuario no
    autorizado a realizar esta operacion. ValidacionDeToken: No validaron las fechas del token
    …", pyafipws tests/cassettes/test_wsfexv1_recex1/test_main_formato.yaml)."""
    auth = child(body, "Auth")
    prefix = MESSAGES[1000]
    if auth is None:
        return None, (1000, prefix + "Campo Auth no fue ingresado o esta mal formado")
    cuit = str(read_int(auth, "Cuit"))
    token, sign = fex_text(auth, "Token") or "", fex_text(auth, "Sign") or ""
    try:
        info = verify_token(state.ca, token, sign, state.clock.now())
    except TokenInvalid as error:
        return cuit, (1000, prefix + str(error))
    if info.service != SERVICE:
        return cuit, (1000, prefix + "ValidacionDeToken: el token no corresponde al servicio wsfex")
    if cuit not in info.cuits:
        return cuit, (1000, prefix + f"No aparecio CUIT en lista de relaciones: {cuit}")
    return cuit, None


def _points_of_sale(state: State) -> tuple[int, ...]:
    return state.config.web_service_points_of_sale


# --- operations -----------------------------------------------------------------------------


def fex_dummy(state: State, body: etree._Element) -> OpResult:
    """Health check, no Auth."""
    return OpResult(
        ("FEXDummyResult", [("AppServer", "OK"), ("DbServer", "OK"), ("AuthServer", "OK")])
    )


def fex_get_last_cmp(state: State, body: etree._Element) -> OpResult:
    """The last number of (Cuit, Pto_venta, Cbte_Tipo), all three inside `Auth`, and its date."""
    auth = child(body, "Auth")
    pto_vta, cbte_tipo = read_int(auth, "Pto_venta"), read_int(auth, "Cbte_Tipo")
    cuit, error = authenticate(state, body)
    if error is None and cbte_tipo not in EXPORT_VOUCHER_TYPES:
        error = (1501, MESSAGES[1501])
    elif error is None and pto_vta not in _points_of_sale(state):
        error = (1502, MESSAGES[1502])
    if error is not None or cuit is None:
        return _failed("FEXGetLast_CMP", cuit, error or OK)
    with state.ledger.transaction() as tx:
        last, last_date = tx.fex_last(cuit, pto_vta, cbte_tipo)
    result: Node = ("FEXResult_LastCMP", [("Cbte_nro", str(last)), ("Cbte_fecha", last_date or "")])
    return _ok("FEXGetLast_CMP", cuit, [result])


def fex_get_last_id(state: State, body: etree._Element) -> OpResult:
    """The highest request Id this CUIT has used (0 if none): the next is that + 1."""
    cuit, error = authenticate(state, body)
    if error is not None or cuit is None:
        return _failed("FEXGetLast_ID", cuit, error or OK)
    with state.ledger.transaction() as tx:
        last = tx.fex_last_id(cuit)
    return _ok("FEXGetLast_ID", cuit, [("FEXResultGet", [("Id", str(last))])])


# FEXGetCMP's answer for a number ARCA does not have (recorded, with 1020).
_EMPTY_GET: list[Node] = [
    (name, "0")
    for name in (
        "Id",
        "Cbte_tipo",
        "Punto_vta",
        "Cbte_nro",
        "Tipo_expo",
        "Dst_cmp",
        "Cuit_pais_cliente",
        "Moneda_ctz",
        "Imp_total",
        "Idioma_cbte",
    )
]


def fex_get_cmp(state: State, body: etree._Element) -> OpResult:
    """A stored export voucher as ClsFEXGetCMPR; 1020 "Comprobante inexistente" otherwise
    (pyafipws tests/cassettes/test_wsfexv1_recex1/test_main_get.yaml)."""
    cmp = child(body, "Cmp")
    tipo, pto_vta, nro = (read_int(cmp, n) for n in ("Cbte_tipo", "Punto_vta", "Cbte_nro"))
    cuit, error = authenticate(state, body)
    if error is not None or cuit is None:
        return _failed("FEXGetCMP", cuit, error or OK)
    with state.ledger.transaction() as tx:
        stored = tx.fex_find(cuit, pto_vta, tipo, nro)
    if stored is None:
        return _failed("FEXGetCMP", cuit, (1020, MESSAGES[1020]), [("FEXResultGet", _EMPTY_GET)])
    return _ok("FEXGetCMP", cuit, [("FEXResultGet", stored_nodes(stored))])


def stored_nodes(stored: StoredExport) -> list[Node]:
    """ClsFEXGetCMPR's elements, in WSDL order, for what was stored."""
    raw = stored.cmp
    nodes: list[Node] = []
    for entry in LAYOUT:
        name = entry[0]
        if name == "Opcionales":
            nodes += [
                ("Fch_venc_Cae", stored.fch_venc_cae),
                ("Cae", stored.cae),
                ("Resultado", "A"),
                ("Motivos_Obs", ""),
            ]
        if name not in raw:
            continue
        shown = "Cbte_tipo" if name == "Cbte_Tipo" else name
        if len(entry) == 2:
            nodes.append((shown, raw[name]))
        else:
            item = entry[1]
            rows: list[Node] = [(item, _pairs(row)) for row in raw[name]]
            nodes.append((shown, rows))
    return nodes


def _pairs(row: dict[str, str]) -> list[Node]:
    return [(key, value) for key, value in row.items()]


def fex_authorize(state: State, body: etree._Element) -> OpResult:
    """Authorise one export voucher. Problems come back as one FEXErr (nothing is stored);
    the approved voucher is stored with its CAE inside one BEGIN IMMEDIATE transaction."""
    raw = read_cmp(child(body, "Cmp"))
    cuit, error = authenticate(state, body)
    if error is not None or cuit is None:
        return _failed("FEXAuthorize", cuit, error or OK)
    forced = state.faults.take("reject_next", SERVICE, "FEXAuthorize")
    with state.ledger.transaction() as tx:
        request_id = int(raw.get("Id") or 0)
        previous = tx.fex_by_id(cuit, request_id) if request_id > 0 else None
        if previous is not None:
            if _same_voucher(previous, raw):
                return _authorized(previous, reproceso="S")
            return _failed("FEXAuthorize", cuit, (1505, MESSAGES[1505]))
        pto_vta, cbte_tipo = int(raw.get("Punto_vta") or 0), int(raw.get("Cbte_Tipo") or 0)
        last, last_date = tx.fex_last(cuit, pto_vta, cbte_tipo)
        ctx = Context(state.clock.today(), last, last_date, _points_of_sale(state))
        finding = check_cmp(raw, ctx)
        if finding is None and forced is not None:
            finding = _forced(forced)
        if finding is not None:
            return _failed("FEXAuthorize", cuit, finding)
        stored = _grant(tx, cuit, raw, state.clock.now())
    return _authorized(stored, reproceso="N")


def _same_voucher(previous: StoredExport, raw: dict[str, Any]) -> bool:
    """Whether `raw` is the stored request again (a missing Fecha_cbte took the stored one)."""
    return {**raw, "Fecha_cbte": raw.get("Fecha_cbte") or previous.fecha_cbte} == previous.cmp


def _grant(tx: SequenceTx, cuit: str, raw: dict[str, Any], now: datetime) -> StoredExport:
    fecha = raw.get("Fecha_cbte") or now.strftime("%Y%m%d")
    raw = {**raw, "Fecha_cbte": fecha}
    issued = parse_date(fecha) or now.date()
    stored = StoredExport(
        cuit=cuit,
        pto_vta=int(raw["Punto_vta"]),
        cbte_tipo=int(raw["Cbte_Tipo"]),
        cbte_nro=int(raw["Cbte_nro"]),
        request_id=int(raw["Id"]),
        fecha_cbte=fecha,
        cae=_new_cae(tx),
        fch_venc_cae=due_date(issued).strftime("%Y%m%d"),
        fch_proceso=now.strftime("%Y%m%d%H%M%S"),
        cmp=raw,
    )
    tx.fex_store(stored)
    return stored


def _new_cae(tx: SequenceTx) -> str:
    """14 digits, unique in the ledger (real CAEs start with 7)."""
    while True:
        cae = f"7{secrets.randbelow(10**13):013d}"
        if not tx.fex_cae_exists(cae):
            return cae


def _authorized(stored: StoredExport, reproceso: str) -> OpResult:
    result: Node = (
        "FEXResultAuth",
        [
            ("Id", str(stored.request_id)),
            ("Cuit", stored.cuit),
            ("Cbte_tipo", str(stored.cbte_tipo)),
            ("Punto_vta", str(stored.pto_vta)),
            ("Cbte_nro", str(stored.cbte_nro)),
            ("Cae", stored.cae),
            ("Fch_venc_Cae", stored.fch_venc_cae),
            ("Fch_cbte", stored.fecha_cbte),
            ("Resultado", "A"),
            ("Reproceso", reproceso),
            ("Motivos_Obs", ""),
        ],
    )
    return _ok("FEXAuthorize", stored.cuit, [result], outcome="A")


def fex_check_permiso(state: State, body: etree._Element) -> OpResult:
    """Whether a shipping permit exists: the sandbox has no customs, so every permit is "OK"."""
    cuit, error = authenticate(state, body)
    if error is not None or cuit is None:
        return _failed("FEXCheck_Permiso", cuit, error or OK)
    return _ok("FEXCheck_Permiso", cuit, [("FEXResultGet", [("Status", "OK")])])


def fex_get_param_ctz(state: State, body: etree._Element) -> OpResult:
    """The sandbox's fixed reference rate for Mon_id (WSFEv1's figures) and its date."""
    cuit, error = authenticate(state, body)
    currency, day = fex_text(body, "Mon_id") or "", fex_text(body, "FchCotiz") or ""
    if error is None and currency not in tables().currency_ids:
        error = (1517, MESSAGES[1517])
    if error is None and day and parse_date(day) is None:
        error = (1506, MESSAGES[1506])
    if error is not None:
        return _failed("FEXGetPARAM_Ctz", cuit, error)
    rate = format(reference_rate(currency).normalize(), "f")
    values: list[Node] = [
        ("Mon_ctz", rate),
        ("Mon_fecha", day or state.clock.now().strftime("%Y%m%d")),
    ]
    return _ok("FEXGetPARAM_Ctz", cuit, [("FEXResultGet", values)])


def fex_get_param_mon_con_cotizacion(state: State, body: etree._Element) -> OpResult:
    """Every currency but pesos with its reference rate; `Fecha_ctz` as ARCA writes it here,
    `M/d/yyyy` (pyafipws tests/cassettes/test_wsfexv1_recex1/test_main_monctz.yaml)."""
    cuit, error = authenticate(state, body)
    if error is not None:
        return _failed("FEXGetPARAM_MON_CON_COTIZACION", cuit, error)
    day = parse_date(fex_text(body, "Fecha_CTZ")) or state.clock.today()
    shown = f"{day.month}/{day.day}/{day.year}"
    rows: list[Node] = [
        (
            "ClsFEXResponse_Mon_CON_Cotizacion",
            [
                ("Mon_Id", mon_id),
                ("Mon_ctz", format(reference_rate(mon_id).normalize(), "f")),
                ("Fecha_ctz", shown),
            ],
        )
        for mon_id, _, _ in tables().mon
        if mon_id != "PES"
    ]
    return _ok("FEXGetPARAM_MON_CON_COTIZACION", cuit, [("FEXResultGet", rows)])


def _table(operation: str, item: str, rows: Callable[[State], list[list[Node]]]) -> Handler:
    """An authenticated FEXGetPARAM_* returning `FEXResultGet/<item>` rows."""

    def handler(state: State, body: etree._Element) -> OpResult:
        cuit, error = authenticate(state, body)
        if error is not None:
            return _failed(operation, cuit, error)
        result: Node = ("FEXResultGet", [(item, row) for row in rows(state)])
        return _ok(operation, cuit, [result])

    handler.__name__ = operation
    handler.__doc__ = f"{operation}: the table as ARCA's homologation answered it."
    return handler


def _dated(prefix: str, identifier: object, desc: str, since: str) -> list[Node]:
    return [
        (f"{prefix}_Id", str(identifier)),
        (f"{prefix}_Ds", desc),
        (f"{prefix}_vig_desde", since),
        (f"{prefix}_vig_hasta", NULL),
    ]


def _points_of_sale_rows(state: State) -> list[list[Node]]:
    return [
        [("Pve_Nro", str(n)), ("Pve_Bloqueado", "N"), ("Pve_FchBaja", "")]
        for n in _points_of_sale(state)
    ]


OPERATIONS: dict[str, Handler] = {
    "FEXDummy": fex_dummy,
    "FEXAuthorize": fex_authorize,
    "FEXGetCMP": fex_get_cmp,
    "FEXGetLast_CMP": fex_get_last_cmp,
    "FEXGetLast_ID": fex_get_last_id,
    "FEXCheck_Permiso": fex_check_permiso,
    "FEXGetPARAM_Ctz": fex_get_param_ctz,
    "FEXGetPARAM_MON_CON_COTIZACION": fex_get_param_mon_con_cotizacion,
    "FEXGetPARAM_Cbte_Tipo": _table(
        "FEXGetPARAM_Cbte_Tipo",
        "ClsFEXResponse_Cbte_Tipo",
        lambda _: [_dated("Cbte", *row) for row in tables().cbte_tipo],
    ),
    "FEXGetPARAM_Tipo_Expo": _table(
        "FEXGetPARAM_Tipo_Expo",
        "ClsFEXResponse_Tex",
        lambda _: [_dated("Tex", *row) for row in tables().tipo_expo],
    ),
    "FEXGetPARAM_Incoterms": _table(
        "FEXGetPARAM_Incoterms",
        "ClsFEXResponse_Inc",
        lambda _: [_dated("Inc", *row) for row in tables().incoterms],
    ),
    "FEXGetPARAM_Idiomas": _table(
        "FEXGetPARAM_Idiomas",
        "ClsFEXResponse_Idi",
        lambda _: [_dated("Idi", *row) for row in tables().idiomas],
    ),
    "FEXGetPARAM_UMed": _table(
        "FEXGetPARAM_UMed",
        "ClsFEXResponse_UMed",
        lambda _: [_dated("Umed", *row) for row in tables().umed],
    ),
    "FEXGetPARAM_MON": _table(
        "FEXGetPARAM_MON",
        "ClsFEXResponse_Mon",
        lambda _: [_dated("Mon", *row) for row in tables().mon],
    ),
    "FEXGetPARAM_DST_pais": _table(
        "FEXGetPARAM_DST_pais",
        "ClsFEXResponse_DST_pais",
        lambda _: [[("DST_Codigo", str(code)), ("DST_Ds", desc)] for code, desc in COUNTRIES],
    ),
    "FEXGetPARAM_DST_CUIT": _table(
        "FEXGetPARAM_DST_CUIT",
        "ClsFEXResponse_DST_cuit",
        lambda _: [[("DST_CUIT", str(c)), ("DST_Ds", d)] for c, d in tables().dst_cuit],
    ),
    "FEXGetPARAM_PtoVenta": _table(
        "FEXGetPARAM_PtoVenta", "ClsFEXResponse_PtoVenta", _points_of_sale_rows
    ),
    "FEXGetPARAM_Opcionales": _table("FEXGetPARAM_Opcionales", "ClsFEXResponse_Opc", lambda _: []),
    "FEXGetPARAM_Actividades": _table(
        "FEXGetPARAM_Actividades",
        "ClsFEXResponse_ActividadTipo",
        lambda _: [[("Id", str(i)), ("Orden", str(o)), ("Desc", d)] for i, o, d in ACTIVITIES],
    ),
}
