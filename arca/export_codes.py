"""WSFEXv1's code tables as the app offers them (Factura E): countries, foreign-country CUITs,
Incoterms, languages, export types and units.

The shipped copy (`arca/data/wsfex_parameters.json`) holds ARCA's rows as homologation answered
FEXGetPARAM_*; the sandbox serves the same. Pure: no Flask, no database, no network.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

TABLES_FILE = Path(__file__).resolve().parent / "data" / "wsfex_parameters.json"
ARGENTINA = 200  # ARCA's code for Argentina itself: never a destination of an export


@dataclass(frozen=True)
class ExportCodes:
    countries: dict[int, str]  # Dst_cmp (FEXGetPARAM_DST_pais)
    foreign_cuits: dict[str, str]  # Cuit_pais_cliente (FEXGetPARAM_DST_CUIT)
    incoterms: dict[str, str]
    languages: dict[int, str]  # Idioma_cbte
    export_types: dict[int, str]  # Tipo_expo
    units: dict[int, str]  # Pro_umed


@functools.cache
def export_codes() -> ExportCodes:
    raw = json.loads(TABLES_FILE.read_text(encoding="utf-8"))
    return ExportCodes(
        countries={int(code): name for code, name in raw["countries"]},
        foreign_cuits={str(cuit): name for cuit, name in raw["foreign_cuits"]},
        incoterms={str(code): name for code, name in raw["incoterms"]},
        languages={int(code): name for code, name in raw["languages"]},
        export_types={int(code): name for code, name in raw["export_types"]},
        units={int(code): name for code, name in raw["units"]},
    )


def country_name(code: int | None) -> str:
    """ARCA's name of a destination country ("ESTADOS UNIDOS"); the code when unknown."""
    if code is None:
        return ""
    return export_codes().countries.get(code, str(code))
