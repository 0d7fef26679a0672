"""WSFEv1's FEParamGet* operations, answered from `params` (dates as yyyymmdd, "NULL" = no end)."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from arca.sandbox import params
from arca.sandbox.countries import COUNTRIES
from arca.sandbox.messages import message
from arca.sandbox.rules import parse_date
from arca.sandbox.soap import Node
from arca.sandbox.state import State
from arca.sandbox.vouchers import format_double, text
from arca.sandbox.wsfe import OpResult, authenticate, error_result

_CLASSES = ("A", "ALEY", "B", "C", "49")
# What FEParamGetPtosVenta says of a web-service point of sale: ARCA's text for a CAE point of
# sale of an IVA-registered issuer (pyafipws tests/cassettes/test_wsfev1/test_main_ptos_venta.yaml).
POINT_OF_SALE_EMISSION = "CAE - Ri Iva"
# FEParamGetActividades lists the issuer's activities from ARCA's padrón (NAES codes). No answer
# was recorded; every sandbox CUIT reports this one (docs/arca-sandbox.md).
ACTIVITIES: tuple[tuple[int, int, str], ...] = (
    (
        620100,
        1,
        "SERVICIOS DE CONSULTORES EN INFORMÁTICA Y SUMINISTROS DE PROGRAMAS DE INFORMÁTICA",
    ),
)


def _dated(identifier: object, desc: str, since: str) -> list[Node]:
    return [("Id", str(identifier)), ("Desc", desc), ("FchDesde", since), ("FchHasta", "NULL")]


def _table(
    operation: str, item: str, rows: Callable[[State], list[list[Node]]]
) -> Callable[[State, etree._Element], OpResult]:
    def handler(state: State, body: etree._Element) -> OpResult:
        cuit, errors = authenticate(state, body)
        if errors:
            # ARCA's error answer has no ResultGet (pyafipws
            # tests/cassettes/test_wsfev1_rece1/test_main_ayuda.yaml, FEParamGetPtosVenta 600).
            return error_result(operation, errors, cuit)
        result: Node = ("ResultGet", [(item, row) for row in rows(state)])
        return OpResult((f"{operation}Result", [result]), cuit)

    handler.__doc__ = f"{operation}: ResultGet/{item}[] from the sandbox's tables."
    return handler


# Rows in ARCA's order with ARCA's FchDesde per item (pyafipws
# tests/cassettes/test_wsfev1/test_main_parametros.yaml).
fe_param_get_tipos_cbte = _table(
    "FEParamGetTiposCbte",
    "CbteTipo",
    lambda _: [_dated(i, d, f) for i, d, f, _c in params.VOUCHER_TYPES],
)
fe_param_get_tipos_doc = _table(
    "FEParamGetTiposDoc",
    "DocTipo",
    lambda _: [_dated(i, d, f) for i, d, f in params.DOCUMENT_TYPES],
)
fe_param_get_tipos_iva = _table(
    "FEParamGetTiposIva", "IvaTipo", lambda _: [_dated(i, d, f) for i, d, f, _r in params.VAT_RATES]
)
fe_param_get_tipos_concepto = _table(
    "FEParamGetTiposConcepto",
    "ConceptoTipo",
    lambda _: [_dated(i, d, f) for i, d, f in params.CONCEPTS],
)
fe_param_get_tipos_monedas = _table(
    "FEParamGetTiposMonedas", "Moneda", lambda _: [_dated(i, d, f) for i, d, f in params.CURRENCIES]
)
fe_param_get_tipos_tributos = _table(
    "FEParamGetTiposTributos",
    "TributoTipo",
    lambda _: [_dated(i, d, f) for i, d, f in params.TAX_TYPES],
)
fe_param_get_tipos_opcional = _table(
    "FEParamGetTiposOpcional",
    "OpcionalTipo",
    lambda _: [_dated(i, d, f) for i, d, f in params.OPTIONAL_TYPES],
)
fe_param_get_ptos_venta = _table(
    "FEParamGetPtosVenta",
    "PtoVenta",
    lambda state: [
        [
            ("Nro", str(n)),
            ("EmisionTipo", state.config.emission_type(n, POINT_OF_SALE_EMISSION)),
            ("Bloqueado", "N"),
            ("FchBaja", "NULL"),
        ]
        for n in state.config.web_service_points_of_sale
    ],
)
fe_param_get_tipos_paises = _table(
    "FEParamGetTiposPaises",
    "PaisTipo",
    lambda _: [[("Id", str(i)), ("Desc", d)] for i, d in COUNTRIES],
)
fe_param_get_actividades = _table(
    "FEParamGetActividades",
    "ActividadesTipo",
    lambda _: [[("Id", str(i)), ("Orden", str(o)), ("Desc", d)] for i, o, d in ACTIVITIES],
)


def fe_param_get_cotizacion(state: State, body: etree._Element) -> OpResult:
    """The sandbox's fixed reference rate for MonId; errors 12001 (missing), 12000 (unknown
    currency), 12002 (FchCotiz not yyyymmdd)."""
    cuit, errors = authenticate(state, body)
    mon_id, fch_cotiz = text(body, "MonId"), text(body, "FchCotiz")
    if not errors and not mon_id:
        errors = [(12001, message(12001))]
    elif not errors and mon_id not in params.CURRENCY_IDS:
        errors = [(12000, message(12000))]
    elif not errors and fch_cotiz and parse_date(fch_cotiz) is None:
        errors = [(12002, message(12002))]
    if errors or mon_id is None:
        return error_result("FEParamGetCotizacion", errors, cuit)
    rate = "1" if mon_id == "PES" else str(params.REFERENCE_RATES.get(mon_id, params.DEFAULT_RATE))
    day = fch_cotiz or state.clock.now().strftime("%Y%m%d")
    values: list[Node] = [("MonId", mon_id), ("MonCotiz", format_double(rate)), ("FchCotiz", day)]
    result: Node = ("ResultGet", values)
    return OpResult(("FEParamGetCotizacionResult", [result]), cuit)


def fe_param_get_condicion_iva_receptor(state: State, body: etree._Element) -> OpResult:
    """Receiver IVA conditions, all or those a ClaseCmp may receive; error 10244 bad ClaseCmp."""
    cuit, errors = authenticate(state, body)
    clase = text(body, "ClaseCmp") or None
    if not errors and clase is not None and clase not in _CLASSES:
        errors = [(10244, message(10244))]
    if errors:
        return error_result("FEParamGetCondicionIvaReceptor", errors, cuit)
    rows: list[list[Node]] = [
        [("Id", str(i)), ("Desc", desc), ("Cmp_Clase", "/".join(classes))]
        for i, desc, classes in params.RECEIVER_CONDITIONS
        if clase is None or clase in classes
    ]
    result: Node = ("ResultGet", [("CondicionIvaReceptor", row) for row in rows])
    return OpResult(("FEParamGetCondicionIvaReceptorResult", [result]), cuit)
