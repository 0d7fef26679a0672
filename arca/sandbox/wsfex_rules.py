"""FEXAuthorize's `Cmp` as the sandbox reads, checks and stores it.

A request becomes a dict of canonical strings (arrays as lists of dicts) in WSDL order: what the
ledger keeps and FEXGetCMP returns. `check_cmp` applies ARCA's main rules and returns the first
problem as (ErrCode, ErrMsg): WSFEXv1 answers a single `FEXErr`, never a list.

Codes and texts: 1000 (authentication), 1020 (no such voucher) and 1667 (exchange rate out of
range) are ARCA's, recorded (pyafipws tests/cassettes/test_wsfexv1_recex1/test_main_formato.yaml,
test_main_get.yaml, test_main_ayuda.yaml). No recording shows ARCA's codes for the other rules;
the sandbox's own (`SANDBOX_CODES`) are listed in docs/arca-sandbox.md ("WSFEXv1").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from arca.sandbox.rules import parse_date
from arca.sandbox.vouchers import BadValue, format_double
from arca.sandbox.wsfex_params import (
    COUNTRY_IDS,
    EXPORT_VOUCHER_TYPES,
    reference_rate,
    tables,
)

FEX = "http://ar.gov.afip.dif.fexv1/"
Finding = tuple[int, str]

# Field kinds: "int" (short/int/long), "decimal", "string".
SCALARS_BEFORE_PERMITS = (
    ("Id", "int"),
    ("Fecha_cbte", "string"),
    ("Cbte_Tipo", "int"),
    ("Punto_vta", "int"),
    ("Cbte_nro", "int"),
    ("Tipo_expo", "int"),
    ("Permiso_existente", "string"),
)
# (array, item, fields) and the scalars between them, in ClsFEXRequest's order.
LAYOUT: tuple[Any, ...] = (
    *SCALARS_BEFORE_PERMITS,
    ("Permisos", "Permiso", (("Id_permiso", "string"), ("Dst_merc", "int"))),
    ("Dst_cmp", "int"),
    ("Cliente", "string"),
    ("Cuit_pais_cliente", "int"),
    ("Domicilio_cliente", "string"),
    ("Id_impositivo", "string"),
    ("Moneda_Id", "string"),
    ("Moneda_ctz", "decimal"),
    ("CanMisMonExt", "string"),
    ("Obs_comerciales", "string"),
    ("Imp_total", "decimal"),
    ("Obs", "string"),
    (
        "Cmps_asoc",
        "Cmp_asoc",
        (
            ("Cbte_tipo", "int"),
            ("Cbte_punto_vta", "int"),
            ("Cbte_nro", "int"),
            ("Cbte_cuit", "int"),
        ),
    ),
    ("Forma_pago", "string"),
    ("Incoterms", "string"),
    ("Incoterms_Ds", "string"),
    ("Idioma_cbte", "int"),
    (
        "Items",
        "Item",
        (
            ("Pro_codigo", "string"),
            ("Pro_ds", "string"),
            ("Pro_qty", "decimal"),
            ("Pro_umed", "int"),
            ("Pro_precio_uni", "decimal"),
            ("Pro_bonificacion", "decimal"),
            ("Pro_total_item", "decimal"),
        ),
    ),
    ("Opcionales", "Opcional", (("Id", "string"), ("Valor", "string"))),
    ("Fecha_pago", "string"),
    ("Actividades", "Actividad", (("Id", "int"),)),
)
# Elements with minOccurs=1 in the WSDL: .NET reads a missing one as 0.
REQUIRED = frozenset(
    {"Id", "Cbte_Tipo", "Punto_vta", "Cbte_nro", "Tipo_expo", "Dst_cmp", "Cuit_pais_cliente"}
    | {
        "Imp_total",
        "Moneda_ctz",
        "Idioma_cbte",
        "Dst_merc",
        "Cbte_tipo",
        "Cbte_punto_vta",
        "Cbte_cuit",
    }
    | {"Pro_qty", "Pro_umed", "Pro_precio_uni", "Pro_bonificacion", "Pro_total_item"}
)

MESSAGES: dict[int, str] = {
    1000: "Usuario no autorizado a realizar esta operacion. ",
    1020: "Comprobante inexistente",
    1667: (
        "El tipo de cambio no podrá ser inferior al 20% ni superior en un 100% del que "
        "suministra AFIP como orientativo de acuerdo a la cotización oficial. "
        "Ver Metodo FEXGetPARAM_Ctz."
    ),
    # The sandbox's own codes (ARCA's were not recorded); see docs/arca-sandbox.md.
    1501: "Cbte_Tipo invalido. Valores permitidos: 19, 20 y 21. Ver Metodo FEXGetPARAM_Cbte_Tipo.",
    1502: "Punto_vta no habilitado para comprobantes de exportacion por web services.",
    1503: "Cbte_nro debe ser el siguiente al ultimo autorizado. Ver Metodo FEXGetLast_CMP.",
    1504: "Id debe ser mayor a cero. Ver Metodo FEXGetLast_ID.",
    1505: "El Id ya fue utilizado por otro comprobante. Ver Metodo FEXGetLast_ID.",
    1506: "Fecha_cbte invalida (formato yyyymmdd) o fuera del rango permitido.",
    1507: "Fecha_cbte no puede ser anterior a la del ultimo comprobante autorizado.",
    1508: "Tipo_expo invalido. Ver Metodo FEXGetPARAM_Tipo_Expo.",
    1509: "Permiso_existente debe ser S o N para Factura de exportacion de bienes.",
    1510: "Permiso_existente no debe informarse para servicios, otros, ni notas.",
    1511: "Con Permiso_existente S deben informarse los permisos de embarque.",
    1512: "Con Permiso_existente N o vacio no deben informarse permisos.",
    1513: "Dst_cmp (pais de destino) invalido. Ver Metodo FEXGetPARAM_DST_pais.",
    1514: "Cuit_pais_cliente invalido. Ver Metodo FEXGetPARAM_DST_CUIT.",
    1515: "Debe informarse Cuit_pais_cliente o Id_impositivo.",
    1516: "Cliente y Domicilio_cliente son obligatorios.",
    1517: "Moneda_Id invalida. Ver Metodo FEXGetPARAM_MON.",
    1518: "Moneda_ctz debe ser mayor a cero; para PES debe ser 1.",
    1519: "Idioma_cbte invalido. Ver Metodo FEXGetPARAM_Idiomas.",
    1520: "Incoterms es obligatorio para exportacion de bienes. Ver Metodo FEXGetPARAM_Incoterms.",
    1521: "Incoterms invalido. Ver Metodo FEXGetPARAM_Incoterms.",
    1522: "Debe informarse al menos un item con Pro_ds.",
    1523: "Pro_umed invalida. Ver Metodo FEXGetPARAM_UMed.",
    1524: "Pro_total_item debe ser Pro_qty x Pro_precio_uni - Pro_bonificacion.",
    1525: "Imp_total debe ser la suma de Pro_total_item de los items.",
    1526: "Imp_total debe ser mayor a cero.",
    1527: "Fecha_pago invalida (formato yyyymmdd).",
    1528: "Cmps_asoc: tipo de comprobante asociado invalido (19, 20 o 21).",
}
SANDBOX_CODES = frozenset(code for code in MESSAGES if code > 1500)

# Units whose items carry no arithmetic (ARCA's 0 "blank", 97 advance, 99 discount: a discount
# line is `<Pro_qty>0</Pro_qty>…<Pro_total_item>-250.0</Pro_total_item>`, pyafipws
# tests/cassettes/test_wsfexv1/test_main_prueba.yaml).
FREE_UNITS = frozenset({0, 97, 98, 99})
GOODS = 1  # Tipo_expo 1: definitive export of goods
CENT = Decimal("0.01")


def message(code: int) -> str:
    return MESSAGES[code]


def _child(element: etree._Element | None, name: str) -> etree._Element | None:
    return None if element is None else element.find(f"{{{FEX}}}{name}")


def fex_text(element: etree._Element | None, name: str) -> str | None:
    """The stripped text of child `name` in WSFEX's namespace, None when absent."""
    found = _child(element, name)
    return None if found is None else (found.text or "").strip()


def child(element: etree._Element | None, name: str) -> etree._Element | None:
    """The child `name` in WSFEX's namespace (other namespaces are ignored)."""
    return _child(element, name)


def _convert(value: str | None, kind: str, name: str) -> str | None:
    """Canonical text of a value; BadValue for one .NET could not deserialize."""
    if value is None or (value == "" and kind != "string"):
        return "0" if name in REQUIRED and kind != "string" else None
    if kind == "int":
        if not value.lstrip("+-").isdigit():
            raise BadValue(f"{name}: Input string was not in a correct format.")
        return str(int(value))
    if kind == "decimal":
        try:
            number = Decimal(value)
        except InvalidOperation as error:
            raise BadValue(f"{name}: Input string was not in a correct format.") from error
        if not number.is_finite():
            raise BadValue(f"{name}: Input string was not in a correct format.")
        return format_double(value)
    return value


def read_int(element: etree._Element | None, name: str) -> int:
    """A required integer child (0 when missing, as .NET reads it)."""
    return int(_convert(fex_text(element, name), "int", name) or 0)


def read_cmp(element: etree._Element | None) -> dict[str, Any]:
    """The request's `Cmp` as stored: canonical strings, arrays as lists of dicts."""
    raw: dict[str, Any] = {}
    for entry in LAYOUT:
        if len(entry) == 2:
            name, kind = entry
            value = _convert(fex_text(element, name), kind, name)
            if value is not None:
                raw[name] = value
            continue
        array, item, fields = entry
        container = _child(element, array)
        if container is None:
            continue
        rows = []
        for node in container.iterfind(f"{{{FEX}}}{item}"):
            row = {}
            for name, kind in fields:
                value = _convert(fex_text(node, name), kind, name)
                if value is not None:
                    row[name] = value
            rows.append(row)
        raw[array] = rows
    return raw


@dataclass(frozen=True)
class Context:
    """What the checks need besides the request: today, the sequence, the enabled points."""

    today: date
    last_number: int
    last_date: str | None
    points_of_sale: tuple[int, ...]


def check_cmp(raw: dict[str, Any], ctx: Context) -> Finding | None:
    """The first rule `raw` breaks, as (ErrCode, ErrMsg), or None. Header rules come first."""
    for check in (_header, _dates, _export_and_permits, _customer, _currency, _goods, _items):
        found = check(raw, ctx)
        if found is not None:
            return found
    return None


def _finding(code: int) -> Finding:
    return (code, message(code))


def _int(raw: dict[str, Any], name: str) -> int:
    return int(raw.get(name) or 0)


def _decimal(raw: dict[str, Any], name: str) -> Decimal:
    return Decimal(raw.get(name) or "0")


def _header(raw: dict[str, Any], ctx: Context) -> Finding | None:
    if _int(raw, "Cbte_Tipo") not in EXPORT_VOUCHER_TYPES:
        return _finding(1501)
    if _int(raw, "Punto_vta") not in ctx.points_of_sale:
        return _finding(1502)
    if _int(raw, "Id") <= 0:
        return _finding(1504)
    if _int(raw, "Cbte_nro") != ctx.last_number + 1:
        return _finding(1503)
    return None


def _dates(raw: dict[str, Any], ctx: Context) -> Finding | None:
    """Fecha_cbte within 5 days of today for goods, 10 for services and others (the WSFEX
    manual's windows); never before the sequence's last voucher. Absent: today."""
    value = raw.get("Fecha_cbte")
    if value:
        issued = parse_date(value)
        days = 5 if _int(raw, "Tipo_expo") == GOODS else 10
        if issued is None or abs((issued - ctx.today).days) > days:
            return _finding(1506)
        last = parse_date(ctx.last_date)
        if last is not None and issued < last:
            return _finding(1507)
    payment = raw.get("Fecha_pago")
    if payment and parse_date(payment) is None:
        return _finding(1527)
    return None


def _export_and_permits(raw: dict[str, Any], ctx: Context) -> Finding | None:
    tipo_expo = _int(raw, "Tipo_expo")
    if tipo_expo not in tables().export_type_ids:
        return _finding(1508)
    permit = (raw.get("Permiso_existente") or "").upper()
    permits = raw.get("Permisos") or []
    goods_invoice = tipo_expo == GOODS and _int(raw, "Cbte_Tipo") == 19
    if goods_invoice and permit not in ("S", "N"):
        return _finding(1509)
    if not goods_invoice and permit:
        return _finding(1510)
    if permit == "S" and not permits:
        return _finding(1511)
    if permit != "S" and permits:
        return _finding(1512)
    if any(_int(item, "Dst_merc") not in COUNTRY_IDS for item in permits):
        return _finding(1513)
    for asoc in raw.get("Cmps_asoc") or []:
        if _int(asoc, "Cbte_tipo") not in EXPORT_VOUCHER_TYPES:
            return _finding(1528)
    return None


def _customer(raw: dict[str, Any], ctx: Context) -> Finding | None:
    if _int(raw, "Dst_cmp") not in COUNTRY_IDS:
        return _finding(1513)
    foreign_cuit = _int(raw, "Cuit_pais_cliente")
    if foreign_cuit and foreign_cuit not in tables().foreign_cuits:
        return _finding(1514)
    if not foreign_cuit and not raw.get("Id_impositivo"):
        return _finding(1515)
    if not raw.get("Cliente") or not raw.get("Domicilio_cliente"):
        return _finding(1516)
    if _int(raw, "Idioma_cbte") not in tables().language_ids:
        return _finding(1519)
    return None


def _currency(raw: dict[str, Any], ctx: Context) -> Finding | None:
    """Moneda_Id from the table; Moneda_ctz 1 for pesos, else within -20 % / +100 % of the
    reference rate (ARCA's 1667)."""
    currency = raw.get("Moneda_Id") or ""
    if currency not in tables().currency_ids:
        return _finding(1517)
    rate = _decimal(raw, "Moneda_ctz")
    reference = reference_rate(currency)
    if rate <= 0 or (currency == "PES" and rate != 1):
        return _finding(1518)
    if not reference * Decimal("0.8") <= rate <= reference * 2:
        return _finding(1667)
    return None


def _goods(raw: dict[str, Any], ctx: Context) -> Finding | None:
    incoterm = raw.get("Incoterms") or ""
    if _int(raw, "Tipo_expo") == GOODS and _int(raw, "Cbte_Tipo") == 19 and not incoterm:
        return _finding(1520)
    if incoterm and incoterm not in tables().incoterm_ids:
        return _finding(1521)
    return None


def _items(raw: dict[str, Any], ctx: Context) -> Finding | None:
    items = raw.get("Items") or []
    if not items or any(not item.get("Pro_ds") for item in items):
        return _finding(1522)
    total = Decimal(0)
    for item in items:
        unit = _int(item, "Pro_umed")
        if unit not in tables().unit_ids:
            return _finding(1523)
        line = _decimal(item, "Pro_total_item")
        if unit not in FREE_UNITS:
            expected = _decimal(item, "Pro_qty") * _decimal(item, "Pro_precio_uni")
            expected -= _decimal(item, "Pro_bonificacion")
            if abs(expected - line) > CENT:
                return _finding(1524)
        total += line
    imp_total = _decimal(raw, "Imp_total")
    if imp_total <= 0:
        return _finding(1526)
    if abs(total - imp_total) > CENT:
        return _finding(1525)
    return None


def due_date(issued: date) -> date:
    """The CAE's expiry: the voucher's own date, as ARCA's homologation recorded it
    (`<Fecha_cbte>20210618</Fecha_cbte>` … `<Fch_venc_Cae>20210618</Fch_venc_Cae>`, pyafipws
    tests/cassettes/test_wsfexv1/test_consulta.yaml)."""
    return issued
