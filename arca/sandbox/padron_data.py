"""The sandbox's padrón: a few fixed, documented taxpayers and a deterministic one for any other
valid CUIT (the same CUIT always gives the same person, on every machine).

Everyone here is fictitious except 20-20179706-4, ARCA's own homologation test taxpayer, whose
answer is copied from a recorded exchange (pyafipws `tests/cassettes/test_ws_sr_padron/
test_consultar.yaml`) so that the sandbox's shape can be checked against ARCA's.

Unknown: a valid CUIT whose prefix is not a taxpayer's (20, 23, 24, 27, 30, 33, 34), and the
fixed `UNKNOWN_CUITS`. See docs/arca-sandbox.md, "Padrón", for the table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import TypeVar

from arca.cuit import compute_check_digit, is_valid_cuit, normalize_cuit

T = TypeVar("T")

PERSON_PREFIXES = frozenset({"20", "23", "24", "27"})
COMPANY_PREFIXES = frozenset({"30", "33", "34"})
# Receiver IVA conditions (FEParamGetCondicionIvaReceptor).
RI, EXENTO, CONSUMIDOR_FINAL, MONOTRIBUTO = 1, 4, 5, 6


@dataclass(frozen=True)
class Place:
    street: str
    city: str  # "" in CABA, as ARCA sends it
    province: str
    province_id: int
    postal_code: str


@dataclass(frozen=True)
class PadronEntry:
    """One taxpayer. `iva` drives which tax blocks the constancia carries."""

    cuit: str
    kind: str  # FISICA / JURIDICA
    last_name: str = ""
    first_name: str = ""
    company_name: str = ""
    state: str = "ACTIVO"
    place: Place | None = None
    iva: int = CONSUMIDOR_FINAL
    category: str = ""  # monotributo category letter
    activities: tuple[tuple[int, str], ...] = ()
    deceased_on: dt.date | None = None
    since: int = 201101  # periodo (yyyymm) of the registrations
    document: str = ""  # DNI of a person
    recorded: bool = False  # copied from ARCA's recorded answer
    extra_taxes: tuple[tuple[int, str], ...] = field(default=())

    @property
    def display_name(self) -> str:
        return self.company_name or f"{self.last_name} {self.first_name}".strip()


FIXED: dict[str, PadronEntry] = {
    entry.cuit: entry
    for entry in (
        PadronEntry(
            cuit="30712345671",
            kind="JURIDICA",
            company_name="TALLERES DEL PLATA S.A.",
            place=Place(
                "AV CORRIENTES 1234 Piso:5 Dpto:B", "", "CIUDAD AUTONOMA BUENOS AIRES", 0, "1043"
            ),
            iva=RI,
            activities=((331101, "REPARACIÓN Y MANTENIMIENTO DE MAQUINARIA DE USO GENERAL"),),
        ),
        PadronEntry(
            cuit="20123456786",
            kind="FISICA",
            last_name="PEREYRA",
            first_name="JUAN CARLOS",
            place=Place("SAN MARTIN 455", "ROSARIO", "SANTA FE", 12, "2000"),
            iva=MONOTRIBUTO,
            category="D",
            activities=((742000, "SERVICIOS DE FOTOGRAFÍA"),),
            document="12345678",
        ),
        PadronEntry(
            cuit="30700000083",
            kind="JURIDICA",
            company_name="FUNDACION ARBOLES DEL SUR",
            place=Place("BELGRANO 870", "MENDOZA", "MENDOZA", 7, "5500"),
            iva=EXENTO,
            activities=((949990, "SERVICIOS DE ASOCIACIONES N.C.P."),),
        ),
        PadronEntry(
            cuit="20234567897",
            kind="FISICA",
            last_name="RIOS",
            first_name="ALBERTO",
            state="INACTIVO",
            place=Place("MITRE 22", "LA PLATA", "BUENOS AIRES", 1, "1900"),
            iva=MONOTRIBUTO,
            category="A",
            document="23456789",
        ),
        PadronEntry(
            cuit="27298765433",
            kind="FISICA",
            last_name="FERNANDEZ",
            first_name="ELENA",
            state="INACTIVO",
            place=Place("ITUZAINGO 1500", "CORDOBA", "CORDOBA", 3, "5000"),
            iva=RI,
            deceased_on=dt.date(2024, 3, 15),
            document="29876543",
        ),
        PadronEntry(
            cuit="20201797064",
            kind="FISICA",
            last_name="VICTORIA CAROLINA",
            first_name="DARIO",
            place=Place("LARREA 1", "", "CIUDAD AUTONOMA BUENOS AIRES", 0, "1030"),
            iva=RI,
            activities=(
                (853300, "FORMACIÓN DE POSGRADO"),
                (353001, "SUMINISTRO DE VAPOR Y AIRE ACONDICIONADO"),
            ),
            extra_taxes=(
                (11, "GANANCIAS PERSONAS FISICAS"),
                (936, "DACIÓN EN PAGO DE ESP.PUBLICI."),
            ),
            recorded=True,
        ),
    )
}
# Valid CUITs the padrón has never heard of (for demos of the "unknown" answer).
UNKNOWN_CUITS = frozenset({"20301112220"})

_SURNAMES = (
    "GARCIA",
    "LOPEZ",
    "MARTINEZ",
    "RODRIGUEZ",
    "SOSA",
    "ROMERO",
    "ALVAREZ",
    "BENITEZ",
    "ACOSTA",
    "MEDINA",
    "HERRERA",
    "SUAREZ",
    "AGUIRRE",
    "GIMENEZ",
    "MOLINA",
    "CASTRO",
)
_MALE = ("JUAN", "CARLOS", "JORGE", "LUIS", "MIGUEL", "DIEGO", "PABLO", "MARTIN")
_FEMALE = ("MARIA", "ANA", "LAURA", "SILVIA", "CLAUDIA", "PAULA", "LUCIA", "SOFIA")
_COMPANY_WORDS = (
    "ANDINA",
    "DEL LITORAL",
    "PAMPEANA",
    "RIOPLATENSE",
    "DEL NORTE",
    "AUSTRAL",
    "CUYANA",
    "PATAGONICA",
)
_COMPANY_TRADES = (
    "DISTRIBUIDORA",
    "SERVICIOS",
    "CONSTRUCTORA",
    "TEXTIL",
    "LOGISTICA",
    "ALIMENTOS",
    "METALURGICA",
    "AGROPECUARIA",
)
_COMPANY_FORMS = ("S.A.", "S.R.L.", "S.A.S.")
_STREETS = (
    "SARMIENTO",
    "RIVADAVIA",
    "BELGRANO",
    "MORENO",
    "ALSINA",
    "LAVALLE",
    "TUCUMAN",
    "ESMERALDA",
)
_PLACES = (
    ("", "CIUDAD AUTONOMA BUENOS AIRES", 0, "1406"),
    ("QUILMES", "BUENOS AIRES", 1, "1878"),
    ("CORDOBA", "CORDOBA", 3, "5000"),
    ("ROSARIO", "SANTA FE", 12, "2000"),
    ("MENDOZA", "MENDOZA", 7, "5500"),
    ("SAN MIGUEL DE TUCUMAN", "TUCUMAN", 24, "4000"),
    ("NEUQUEN", "NEUQUEN", 20, "8300"),
    ("SALTA", "SALTA", 17, "4400"),
)
_ACTIVITIES = (
    (471190, "VENTA AL POR MENOR EN KIOSCOS, POLIRRUBROS Y COMERCIOS NO ESPECIALIZADOS N.C.P."),
    (620100, "SERVICIOS DE CONSULTORES EN INFORMÁTICA Y SUMINISTROS DE PROGRAMAS DE INFORMÁTICA"),
    (561011, "SERVICIOS DE RESTAURANTES Y CANTINAS SIN ESPECTÁCULO"),
    (439990, "ACTIVIDADES ESPECIALIZADAS DE CONSTRUCCIÓN N.C.P."),
    (464999, "VENTA AL POR MAYOR DE ARTÍCULOS DE USO DOMÉSTICO O PERSONAL N.C.P."),
    (692000, "SERVICIOS DE CONTABILIDAD, AUDITORÍA Y ASESORÍA FISCAL"),
)


def find_entry(cuit: str) -> PadronEntry | None:
    """The taxpayer with `cuit`, or None when the padrón has nobody with it (or it is invalid)."""
    digits = normalize_cuit(cuit)
    if digits in FIXED:
        return FIXED[digits]
    if not is_valid_cuit(digits) or digits in UNKNOWN_CUITS:
        return None
    if digits[:2] in PERSON_PREFIXES:
        return _person(digits, _seed(digits))
    if digits[:2] in COMPANY_PREFIXES:
        return _company(digits, _seed(digits))
    return None


def _seed(cuit: str) -> bytes:
    return hashlib.sha256(f"talonario-padron:{cuit}".encode()).digest()


def _pick(options: tuple[T, ...], seed: bytes, index: int) -> T:
    return options[seed[index] % len(options)]


def _place(seed: bytes) -> Place:
    city, province, province_id, postal = _pick(_PLACES, seed, 10)
    street = f"{_pick(_STREETS, seed, 11)} {100 + seed[12] * 7}"
    return Place(street, city, province, province_id, postal)


def _person(cuit: str, seed: bytes) -> PadronEntry:
    female = cuit.startswith("27") or (cuit[:2] in ("23", "24") and seed[0] % 2 == 1)
    first = _pick(_FEMALE if female else _MALE, seed, 1)
    # Persons: mostly monotributistas, then RI, final consumers (employees) and a few exempt.
    iva = (MONOTRIBUTO,) * 5 + (RI,) * 3 + (CONSUMIDOR_FINAL,) + (EXENTO,)
    condition = _pick(iva, seed, 3)
    return PadronEntry(
        cuit=cuit,
        kind="FISICA",
        last_name=_pick(_SURNAMES, seed, 2),
        first_name=first,
        place=_place(seed),
        iva=condition,
        category="ABCDEFGHIJK"[seed[4] % 11] if condition == MONOTRIBUTO else "",
        activities=(_pick(_ACTIVITIES, seed, 5),) if condition != CONSUMIDOR_FINAL else (),
        since=200001 + (seed[6] % 24) * 100,
        document=cuit[2:10].lstrip("0"),
    )


def _company(cuit: str, seed: bytes) -> PadronEntry:
    name = f"{_pick(_COMPANY_TRADES, seed, 1)} {_pick(_COMPANY_WORDS, seed, 2)} "
    return PadronEntry(
        cuit=cuit,
        kind="JURIDICA",
        company_name=name + _pick(_COMPANY_FORMS, seed, 3),
        place=_place(seed),
        iva=_pick((RI,) * 9 + (EXENTO,), seed, 4),
        activities=(_pick(_ACTIVITIES, seed, 5),),
        since=199001 + (seed[6] % 30) * 100,
    )


def cuits_for_document(document: str) -> list[str]:
    """A13's getIdPersonaListByDocumento: the CUITs of the persons with that DNI (fixed ones,
    then 20-/27-DNI-x when its check digit exists and the padrón knows it)."""
    digits = "".join(ch for ch in document if ch.isdigit()).lstrip("0")
    found = [cuit for cuit, entry in FIXED.items() if entry.document and entry.document == digits]
    if found or not digits or len(digits) > 8:
        return found
    for prefix in ("20", "27"):
        base = prefix + digits.zfill(8)
        check = compute_check_digit(base)
        if check is not None and find_entry(base + str(check)) is not None:
            found.append(base + str(check))
    return found
