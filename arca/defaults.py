"""WSFEv1's parameter tables in one shape, and the copy of them Talonario ships.

Six FEParamGet* tables matter for invoicing (see `ParameterName`). ARCA answers each with its
own element names; here every row becomes a `ParameterRow` (`id`, `description`, validity dates,
and the voucher classes for receiver IVA conditions), stored and cached as JSON in that same
shape (`dump_rows` / `parse_rows`).

`default_parameters()` is the shipped copy (`arca/data/parameters.json`, ARCA's public tables):
what the app uses for an environment until FEParamGet* has answered there once. Pure: no Flask,
no database, no network.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from arca.wsfe import ParamItem, ReceiverIvaCondition

DEFAULTS_FILE = Path(__file__).resolve().parent / "data" / "parameters.json"


class ParameterName(StrEnum):
    """A parameter table, by the name it is stored, cached and shipped under."""

    VOUCHER_TYPES = "voucher_types"  # FEParamGetTiposCbte
    DOCUMENT_TYPES = "document_types"  # FEParamGetTiposDoc
    VAT_RATES = "vat_rates"  # FEParamGetTiposIva
    CURRENCIES = "currencies"  # FEParamGetTiposMonedas
    RECEIVER_IVA_CONDITIONS = "receiver_iva_conditions"  # FEParamGetCondicionIvaReceptor
    TAX_TYPES = "tax_types"  # FEParamGetTiposTributos (tributos: other taxes)


PARAMETER_NAMES: tuple[ParameterName, ...] = tuple(ParameterName)


@dataclass(frozen=True)
class ParameterRow:
    """One row of a parameter table.

    `id` is an int, except for currencies (`PES`, `DOL`, `060`: 3-character strings). A None
    `valid_to` means "no end date" (ARCA's `NULL`); a None `valid_from` that it is not known
    (the shipped copy lacks some). `voucher_classes` (A, ALEY, B, C, 49) is only filled for
    receiver IVA conditions: the classes that may be issued to such a receiver.
    """

    id: int | str
    description: str
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    voucher_classes: tuple[str, ...] = ()

    def in_force(self, on: dt.date) -> bool:
        """Whether ARCA accepts this code on `on` (unknown start dates count as started)."""
        started = self.valid_from is None or self.valid_from <= on
        return started and (self.valid_to is None or on <= self.valid_to)


def build_row(item: ParamItem | ReceiverIvaCondition) -> ParameterRow:
    """A `ParameterRow` from what `arca.wsfe` returns for an FEParamGet* table."""
    if isinstance(item, ReceiverIvaCondition):
        return ParameterRow(item.id, item.description, voucher_classes=item.voucher_classes)
    return ParameterRow(item.id, item.description, item.valid_from, item.valid_to)


def dump_rows(rows: Iterable[ParameterRow]) -> list[dict[str, Any]]:
    """`rows` as JSON-ready dicts; `voucher_classes` only where there are any."""
    return [_dump_row(row) for row in rows]


def _dump_row(row: ParameterRow) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row.id,
        "description": row.description,
        "valid_from": row.valid_from.isoformat() if row.valid_from else None,
        "valid_to": row.valid_to.isoformat() if row.valid_to else None,
    }
    if row.voucher_classes:
        data["voucher_classes"] = list(row.voucher_classes)
    return data


def parse_rows(data: Any) -> tuple[ParameterRow, ...]:
    """Rows back from `dump_rows`' JSON. Raises ValueError when `data` is not in that shape."""
    if not isinstance(data, list):
        raise ValueError("a parameter table is a list of rows")
    return tuple(_parse_row(item) for item in data)


def _parse_row(item: Any) -> ParameterRow:
    if not isinstance(item, dict):
        raise ValueError(f"not a parameter row: {item!r}")
    identifier, description = item.get("id"), item.get("description")
    if isinstance(identifier, bool) or not isinstance(identifier, int | str):
        raise ValueError(f"bad id in {item!r}")
    if not isinstance(description, str):
        raise ValueError(f"bad description in {item!r}")
    return ParameterRow(
        id=identifier,
        description=description,
        valid_from=_parse_day(item.get("valid_from")),
        valid_to=_parse_day(item.get("valid_to")),
        voucher_classes=tuple(str(value) for value in item.get("voucher_classes") or ()),
    )


def _parse_day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def load_default_parameters(
    path: Path = DEFAULTS_FILE,
) -> dict[ParameterName, tuple[ParameterRow, ...]]:
    """Every table from the shipped JSON file. Raises ValueError if one is missing or malformed
    (a packaging mistake, which should fail loudly rather than leave a form without choices)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    missing = [name for name in PARAMETER_NAMES if name not in data]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}")
    return {name: parse_rows(data[name]) for name in PARAMETER_NAMES}


@functools.cache
def default_parameters() -> Mapping[ParameterName, tuple[ParameterRow, ...]]:
    """The shipped tables, read once per process."""
    return load_default_parameters()
