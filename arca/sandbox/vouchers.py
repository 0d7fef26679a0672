"""FECAEDetRequest as the sandbox reads, stores and returns it.

A request detail becomes a plain dict of canonical strings in WSDL order (what the ledger keeps
and FECompConsultar returns), and a typed `Detail` the rules check. Values that .NET could not
deserialize (text in an int or double field) raise BadValue, which the service turns into
ASP.NET's HTTP 500 fault, as ARCA does.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from arca.sandbox.soap import Node

FEV1 = "http://ar.gov.afip.dif.FEV1/"

# (element, type) in WSDL order; "int"/"long" integers, "double" decimals, "string" text.
SCALARS: tuple[tuple[str, str], ...] = (
    ("Concepto", "int"),
    ("DocTipo", "int"),
    ("DocNro", "long"),
    ("CbteDesde", "long"),
    ("CbteHasta", "long"),
    ("CbteFch", "string"),
    ("ImpTotal", "double"),
    ("ImpTotConc", "double"),
    ("ImpNeto", "double"),
    ("ImpOpEx", "double"),
    ("ImpTrib", "double"),
    ("ImpIVA", "double"),
    ("FchServDesde", "string"),
    ("FchServHasta", "string"),
    ("FchVtoPago", "string"),
    ("MonId", "string"),
    ("MonCotiz", "double"),
    ("CanMisMonExt", "string"),
    ("CondicionIVAReceptorId", "int"),
)
# Elements with minOccurs=1 in the WSDL: .NET reads a missing one as 0.
REQUIRED = frozenset(
    {"Concepto", "DocTipo", "DocNro", "CbteDesde", "CbteHasta", "ImpTotal", "ImpTotConc"}
    | {"ImpNeto", "ImpOpEx", "ImpTrib", "ImpIVA", "Tipo", "PtoVta", "Nro", "Id", "BaseImp"}
    | {"Alic", "Importe", "Porcentaje"}
)
# (array element, item element, item fields) in WSDL order; PeriodoAsoc is a single item.
ARRAYS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "CbtesAsoc",
        "CbteAsoc",
        (
            ("Tipo", "int"),
            ("PtoVta", "int"),
            ("Nro", "long"),
            ("Cuit", "string"),
            ("CbteFch", "string"),
        ),
    ),
    (
        "Tributos",
        "Tributo",
        (
            ("Id", "int"),
            ("Desc", "string"),
            ("BaseImp", "double"),
            ("Alic", "double"),
            ("Importe", "double"),
        ),
    ),
    ("Iva", "AlicIva", (("Id", "int"), ("BaseImp", "double"), ("Importe", "double"))),
    ("Opcionales", "Opcional", (("Id", "string"), ("Valor", "string"))),
    (
        "Compradores",
        "Comprador",
        (("DocTipo", "int"), ("DocNro", "long"), ("Porcentaje", "double")),
    ),
    ("PeriodoAsoc", "", (("FchDesde", "string"), ("FchHasta", "string"))),
    ("Actividades", "Actividad", (("Id", "long"),)),
)


class BadValue(Exception):
    """A value .NET's deserializer would refuse (e.g. "abc" in an int)."""


@dataclass(frozen=True)
class AlicIva:
    id: int
    base_imp: Decimal
    importe: Decimal


@dataclass(frozen=True)
class Tributo:
    id: int
    desc: str | None
    base_imp: Decimal
    alic: Decimal
    importe: Decimal


@dataclass(frozen=True)
class CbteAsoc:
    tipo: int
    pto_vta: int
    nro: int
    cuit: str | None
    cbte_fch: str | None


@dataclass(frozen=True)
class Detail:
    """One FECAEDetRequest, typed. Amounts keep the decimals as sent (for validation 10056)."""

    concepto: int
    doc_tipo: int
    doc_nro: int
    cbte_desde: int
    cbte_hasta: int
    cbte_fch: str | None
    imp_total: Decimal
    imp_tot_conc: Decimal
    imp_neto: Decimal
    imp_op_ex: Decimal
    imp_trib: Decimal
    imp_iva: Decimal
    fch_serv_desde: str | None = None
    fch_serv_hasta: str | None = None
    fch_vto_pago: str | None = None
    mon_id: str | None = "PES"
    mon_cotiz: Decimal | None = Decimal(1)
    can_mis_mon_ext: str | None = None
    condicion_iva_receptor_id: int | None = None
    cbtes_asoc: tuple[CbteAsoc, ...] = ()
    tributos: tuple[Tributo, ...] = ()
    iva: tuple[AlicIva, ...] = ()
    periodo_asoc: tuple[str | None, str | None] | None = None

    @property
    def amounts(self) -> dict[str, Decimal]:
        return {
            "ImpTotal": self.imp_total,
            "ImpTotConc": self.imp_tot_conc,
            "ImpNeto": self.imp_neto,
            "ImpOpEx": self.imp_op_ex,
            "ImpTrib": self.imp_trib,
            "ImpIVA": self.imp_iva,
        }


def child(element: etree._Element | None, name: str) -> etree._Element | None:
    """The child `name` in ARCA's namespace (elements in any other namespace are ignored)."""
    return None if element is None else element.find(f"{{{FEV1}}}{name}")


def text(element: etree._Element | None, name: str) -> str | None:
    found = child(element, name)
    return None if found is None else (found.text or "").strip()


def convert(value: str | None, kind: str, name: str) -> str | None:
    """Canonical text for a value of WSDL type `kind`; BadValue if .NET could not read it."""
    if value is None:
        return "0" if name in REQUIRED and kind != "string" else None
    if kind in ("int", "long"):
        if not value.lstrip("+-").isdigit():
            raise BadValue(f"{name}: Input string was not in a correct format.")
        return str(int(value))
    if kind == "double":
        try:
            number = Decimal(value)
        except InvalidOperation as error:
            raise BadValue(f"{name}: Input string was not in a correct format.") from error
        if not number.is_finite():
            raise BadValue(f"{name}: Input string was not in a correct format.")
        return value
    return value


def read_int(element: etree._Element | None, name: str) -> int:
    """A required int child (0 when missing, as .NET reads it); BadValue if not numeric."""
    return int(convert(text(element, name), "int", name) or 0)


def read_detail(element: etree._Element) -> dict[str, Any]:
    """The detail as stored: canonical strings, arrays as lists of dicts, in WSDL order."""
    raw: dict[str, Any] = {}
    for name, kind in SCALARS:
        value = convert(text(element, name), kind, name)
        if value is not None:
            raw[name] = value
    for array, item, fields in ARRAYS:
        container = child(element, array)
        if container is None:
            continue
        items = [container] if not item else container.findall(f"{{{FEV1}}}{item}")
        rows = [_read_row(row, fields) for row in items]
        raw[array] = rows[0] if not item else rows
    return raw


def _read_row(element: etree._Element, fields: tuple[tuple[str, str], ...]) -> dict[str, str]:
    row: dict[str, str] = {}
    for name, kind in fields:
        value = convert(text(element, name), kind, name)
        if value is not None:
            row[name] = value
    return row


def to_detail(raw: dict[str, Any]) -> Detail:
    """The typed view of a stored detail (raw comes from `read_detail`)."""
    periodo = raw.get("PeriodoAsoc")
    return Detail(
        concepto=int(raw["Concepto"]),
        doc_tipo=int(raw["DocTipo"]),
        doc_nro=int(raw["DocNro"]),
        cbte_desde=int(raw["CbteDesde"]),
        cbte_hasta=int(raw["CbteHasta"]),
        cbte_fch=raw.get("CbteFch"),
        imp_total=Decimal(raw["ImpTotal"]),
        imp_tot_conc=Decimal(raw["ImpTotConc"]),
        imp_neto=Decimal(raw["ImpNeto"]),
        imp_op_ex=Decimal(raw["ImpOpEx"]),
        imp_trib=Decimal(raw["ImpTrib"]),
        imp_iva=Decimal(raw["ImpIVA"]),
        fch_serv_desde=raw.get("FchServDesde"),
        fch_serv_hasta=raw.get("FchServHasta"),
        fch_vto_pago=raw.get("FchVtoPago"),
        mon_id=raw.get("MonId"),
        mon_cotiz=Decimal(raw["MonCotiz"]) if "MonCotiz" in raw else None,
        can_mis_mon_ext=raw.get("CanMisMonExt"),
        condicion_iva_receptor_id=_optional_int(raw.get("CondicionIVAReceptorId")),
        cbtes_asoc=tuple(_cbte_asoc(row) for row in raw.get("CbtesAsoc", [])),
        tributos=tuple(_tributo(row) for row in raw.get("Tributos", [])),
        iva=tuple(_alic(row) for row in raw.get("Iva", [])),
        periodo_asoc=(periodo.get("FchDesde"), periodo.get("FchHasta")) if periodo else None,
    )


def _optional_int(value: str | None) -> int | None:
    return None if value is None else int(value)


def _cbte_asoc(row: dict[str, str]) -> CbteAsoc:
    return CbteAsoc(
        int(row["Tipo"]), int(row["PtoVta"]), int(row["Nro"]), row.get("Cuit"), row.get("CbteFch")
    )


def _tributo(row: dict[str, str]) -> Tributo:
    return Tributo(
        int(row["Id"]),
        row.get("Desc"),
        Decimal(row["BaseImp"]),
        Decimal(row["Alic"]),
        Decimal(row["Importe"]),
    )


def _alic(row: dict[str, str]) -> AlicIva:
    return AlicIva(int(row["Id"]), Decimal(row["BaseImp"]), Decimal(row["Importe"]))


def format_double(value: str) -> str:
    """How .NET writes a double: no trailing zeros, no exponent ("121.50" -> "121.5")."""
    number = Decimal(value)
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def detail_nodes(raw: dict[str, Any]) -> list[Node]:
    """A stored detail as response nodes, in the WSDL order of FECAEDetRequest."""
    kinds = dict(SCALARS)
    nodes: list[Node] = [
        (name, format_double(raw[name]) if kinds[name] == "double" else raw[name])
        for name, _ in SCALARS
        if name in raw
    ]
    for array, item, fields in ARRAYS:
        if array not in raw:
            continue
        if not item:
            nodes.append((array, _row_nodes(raw[array], fields)))
        else:
            nodes.append((array, [(item, _row_nodes(row, fields)) for row in raw[array]]))
    return nodes


def _row_nodes(row: dict[str, str], fields: tuple[tuple[str, str], ...]) -> list[Node]:
    return [
        (name, format_double(row[name]) if kind == "double" else row[name])
        for name, kind in fields
        if name in row
    ]
