"""WSFEXv1's parameter tables, as ARCA's homologation answered them.

The rows live in `wsfex_tables.json` (voucher types, export types, Incoterms, languages, units,
currencies and the foreign-CUIT table), extracted from pyafipws
tests/cassettes/test_wsfexv1/test_main_params.yaml (2021). Destination countries are
`arca.sandbox.countries` (the same recording's FEXGetPARAM_DST_pais). Reference exchange rates are
WSFEv1's (`arca.sandbox.params.REFERENCE_RATES`), so both services quote the same figure.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

from arca.sandbox import params
from arca.sandbox.countries import COUNTRIES

# Activities (FEXGetPARAM_Actividades): not recorded; the sandbox answers WSFEv1's table.
OPTIONAL_TYPES: tuple[tuple[int, str, str], ...] = ()  # FEXGetPARAM_Opcionales: none recorded


@dataclass(frozen=True)
class Tables:
    """Every FEXGetPARAM_* table, rows as ARCA sends them (ids, descriptions, valid-from)."""

    cbte_tipo: tuple[tuple[int, str, str], ...]
    tipo_expo: tuple[tuple[int, str, str], ...]
    incoterms: tuple[tuple[str, str, str], ...]
    idiomas: tuple[tuple[int, str, str], ...]
    umed: tuple[tuple[int, str, str], ...]
    mon: tuple[tuple[str, str, str], ...]
    dst_cuit: tuple[tuple[int, str], ...]

    @property
    def currency_ids(self) -> frozenset[str]:
        return frozenset(row[0] for row in self.mon)

    @property
    def incoterm_ids(self) -> frozenset[str]:
        return frozenset(row[0] for row in self.incoterms)

    @property
    def unit_ids(self) -> frozenset[int]:
        return frozenset(row[0] for row in self.umed)

    @property
    def language_ids(self) -> frozenset[int]:
        return frozenset(row[0] for row in self.idiomas)

    @property
    def export_type_ids(self) -> frozenset[int]:
        return frozenset(row[0] for row in self.tipo_expo)

    @property
    def foreign_cuits(self) -> frozenset[int]:
        return frozenset(row[0] for row in self.dst_cuit)


COUNTRY_IDS = frozenset(code for code, _ in COUNTRIES)
EXPORT_VOUCHER_TYPES = frozenset({19, 20, 21})


@functools.cache
def tables() -> Tables:
    """The tables, read once per process from the package's JSON."""
    raw: dict[str, Any] = json.loads(
        resources.files("arca.sandbox").joinpath("wsfex_tables.json").read_text(encoding="utf-8")
    )
    return Tables(
        cbte_tipo=tuple((int(a), str(b), str(c)) for a, b, c in raw["cbte_tipo"]),
        tipo_expo=tuple((int(a), str(b), str(c)) for a, b, c in raw["tipo_expo"]),
        incoterms=tuple((str(a), str(b), str(c)) for a, b, c in raw["incoterms"]),
        idiomas=tuple((int(a), str(b), str(c)) for a, b, c in raw["idiomas"]),
        umed=tuple((int(a), str(b), str(c)) for a, b, c in raw["umed"]),
        mon=tuple((str(a), str(b), str(c)) for a, b, c in raw["mon"]),
        dst_cuit=tuple((int(a), str(b)) for a, b in raw["dst_cuit"]),
    )


def reference_rate(currency: str) -> Decimal:
    """The sandbox's fixed rate for `currency` (1 for pesos), as FEXGetPARAM_Ctz quotes it."""
    if currency == "PES":
        return Decimal(1)
    return params.REFERENCE_RATES.get(currency, params.DEFAULT_RATE)
