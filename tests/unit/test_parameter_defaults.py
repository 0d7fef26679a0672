"""The parameter tables Talonario ships, and the one row shape every table shares."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from arca.defaults import (
    PARAMETER_NAMES,
    ParameterName,
    ParameterRow,
    build_row,
    default_parameters,
    dump_rows,
    load_default_parameters,
    parse_rows,
)
from arca.wsfe import ParamItem, ReceiverIvaCondition


def by_id(name: ParameterName) -> dict[int | str, ParameterRow]:
    return {row.id: row for row in default_parameters()[name]}


def test_every_table_is_shipped_and_not_empty() -> None:
    tables = default_parameters()
    assert list(tables) == list(PARAMETER_NAMES)
    assert all(tables[name] for name in PARAMETER_NAMES)
    for rows in tables.values():
        ids = [row.id for row in rows]
        assert len(ids) == len(set(ids))


def test_the_codes_invoices_need_are_there() -> None:
    assert by_id(ParameterName.VOUCHER_TYPES)[1].description == "Factura A"
    assert by_id(ParameterName.VOUCHER_TYPES)[11].valid_from == dt.date(2011, 3, 30)
    assert by_id(ParameterName.DOCUMENT_TYPES)[80].description == "CUIT"
    assert by_id(ParameterName.DOCUMENT_TYPES)[99].description == "Doc. (Otro)"
    assert by_id(ParameterName.VAT_RATES)[5].description == "21%"
    assert by_id(ParameterName.CURRENCIES)["PES"].description == "Pesos Argentinos"
    assert by_id(ParameterName.TAX_TYPES)[99].description == "Otro"
    final_consumer = by_id(ParameterName.RECEIVER_IVA_CONDITIONS)[5]
    assert final_consumer.description == "Consumidor Final"
    assert final_consumer.voucher_classes == ("B", "C", "49")


def test_ids_keep_their_type_currencies_are_text() -> None:
    assert all(isinstance(row.id, str) for row in default_parameters()[ParameterName.CURRENCIES])
    assert "060" in by_id(ParameterName.CURRENCIES)
    for name in PARAMETER_NAMES:
        if name != ParameterName.CURRENCIES:
            assert all(isinstance(row.id, int) for row in default_parameters()[name])


def test_only_receiver_conditions_carry_voucher_classes() -> None:
    for name in PARAMETER_NAMES:
        has_classes = {bool(row.voucher_classes) for row in default_parameters()[name]}
        assert has_classes == {name == ParameterName.RECEIVER_IVA_CONDITIONS}


def test_rows_from_wsfe_round_trip_through_json() -> None:
    rows = (
        build_row(ParamItem(5, "21%", dt.date(2009, 2, 20), None)),
        build_row(ParamItem("DOL", "Dólar Estadounidense", None, dt.date(2030, 1, 1))),
        build_row(ReceiverIvaCondition(1, "IVA Responsable Inscripto", ("A", "ALEY", "C"))),
    )
    data = json.loads(json.dumps(dump_rows(rows)))
    assert data[0] == {"id": 5, "description": "21%", "valid_from": "2009-02-20", "valid_to": None}
    assert data[2]["voucher_classes"] == ["A", "ALEY", "C"]
    assert parse_rows(data) == rows


@pytest.mark.parametrize(
    "data",
    [{"id": 1}, [{"description": "sin id"}], [{"id": True, "description": "x"}], [["1", "x"]]],
)
def test_malformed_rows_are_refused(data: object) -> None:
    with pytest.raises(ValueError):
        parse_rows(data)


def test_a_shipped_file_missing_a_table_fails_loudly(tmp_path: Path) -> None:
    path = tmp_path / "parameters.json"
    path.write_text(json.dumps({"voucher_types": []}), encoding="utf-8")
    with pytest.raises(ValueError, match="document_types"):
        load_default_parameters(path)


def test_in_force_follows_the_validity_dates() -> None:
    row = ParameterRow(1, "Factura A", dt.date(2010, 9, 17), dt.date(2030, 12, 31))
    assert row.in_force(dt.date(2026, 1, 1))
    assert not row.in_force(dt.date(2010, 9, 16))
    assert not row.in_force(dt.date(2031, 1, 1))
    assert ParameterRow(5, "21%").in_force(dt.date(1990, 1, 1))
