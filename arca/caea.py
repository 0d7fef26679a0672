"""CAEA (Código de Autorización Electrónico Anticipado): WSFEv1's contingency authorisation.

Since RG 5782/2025 a CAEA is for contingency only: request the fortnight's CAEA ahead
(FECAEASolicitar), issue vouchers with it while ARCA is down, then inform each of them
(FECAEARegInformativo, with `CbteFchHsGen`) and every point of sale that issued none
(FECAEASinMovimientoInformar) before the CAEA's `FchTopeInf`.

This module holds the pure parts: the dataclasses, the fortnight arithmetic, the request
builders and the answer parsers. The network calls are thin methods on `arca.wsfe.WsfeClient`
(`caea_request`, `caea_consult`, `caea_inform`, `caea_no_movement_inform`,
`caea_no_movement_consult`), which raise exactly what its other methods raise.

A CAEA covers a fortnight: `period` is yyyymm and `order` 1 (days 1-15) or 2 (16 to the end
of the month). ARCA accepts the request from 5 calendar days before the fortnight starts until
its last day (error 15006 otherwise; the text in ARCA's recorded answer gives both dates).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from arca.errors import Message
from arca.wsfe import (
    ARGENTINA,
    CaeRequest,
    _int,
    _text,
    build_detail,
    parse_date,
    parse_messages,
    parse_timestamp,
)

REQUEST_DAYS_AHEAD = 5
"""FECAEASolicitar is accepted from this many calendar days before the fortnight starts."""


@dataclass(frozen=True)
class Caea:
    """A CAEA as ARCA granted it (FECAEASolicitar / FECAEAConsultar `ResultGet`).

    `valid_from`/`valid_to` are the fortnight (FchVigDesde/FchVigHasta); every voucher issued
    with it must be dated within them and informed by `report_deadline` (FchTopeInf).
    """

    code: str
    period: int
    order: int
    valid_from: dt.date
    valid_to: dt.date
    report_deadline: dt.date
    processed_at: dt.datetime | None
    observations: tuple[Message, ...] = ()

    def covers(self, day: dt.date) -> bool:
        """Whether a voucher dated `day` may carry this CAEA."""
        return self.valid_from <= day <= self.valid_to


@dataclass(frozen=True)
class NoMovementReport:
    """FECAEASinMovimientoInformar's answer, or one row of FECAEASinMovimientoConsultar.

    `result` is "A" (accepted) or "R"; the consult rows are accepted reports, so "A".
    """

    caea: str
    point_of_sale: int
    processed_on: dt.date | None
    result: str


# --- Fortnights -----------------------------------------------------------------------------------


def fortnight_of(day: dt.date) -> tuple[int, int]:
    """(period yyyymm, order) of the fortnight `day` falls in."""
    return day.year * 100 + day.month, 1 if day.day <= 15 else 2


def fortnight_dates(period: int, order: int) -> tuple[dt.date, dt.date]:
    """First and last day of fortnight (`period`, `order`). ValueError if either is invalid."""
    year, month = divmod(period, 100)
    if not 1 <= month <= 12 or year < 1000:
        raise ValueError(f"period {period} is not yyyymm")
    if order not in (1, 2):
        raise ValueError(f"order {order} is not 1 or 2")
    if order == 1:
        return dt.date(year, month, 1), dt.date(year, month, 15)
    last = calendar.monthrange(year, month)[1]
    return dt.date(year, month, 16), dt.date(year, month, last)


def next_fortnight(period: int, order: int) -> tuple[int, int]:
    """The fortnight after (`period`, `order`)."""
    if order == 1:
        return period, 2
    year, month = divmod(period, 100)
    return (year + 1) * 100 + 1 if month == 12 else period + 1, 1


def request_window(period: int, order: int) -> tuple[dt.date, dt.date]:
    """The days on which ARCA accepts FECAEASolicitar for (`period`, `order`), both included."""
    start, end = fortnight_dates(period, order)
    return start - dt.timedelta(days=REQUEST_DAYS_AHEAD), end


# --- Requests -------------------------------------------------------------------------------------


def format_generated_at(moment: dt.datetime) -> str:
    """`CbteFchHsGen`: when the voucher was generated, `yyyymmddhhmmss` in Argentina time.

    A naive datetime is taken as already in Argentina time (ARCA's clock has no offset field).
    """
    local = moment if moment.tzinfo is None else moment.astimezone(ARGENTINA)
    return local.strftime("%Y%m%d%H%M%S")


def build_caea_inform_request(
    request: CaeRequest, caea: str, generated_at: Sequence[dt.datetime]
) -> dict[str, Any]:
    """`request` as zeep's `FeCAEARegInfReq` value: each detail is a `FECAEADetRequest`, the
    FECAESolicitar detail plus `CAEA` and `CbteFchHsGen` (in that order, the WSDL's).

    Raises `ValueError` when there is not exactly one `generated_at` per detail, when a detail
    has no date (a CAEA voucher must carry its own) or when `caea` is not 14 digits.
    """
    if len(generated_at) != len(request.details):
        raise ValueError("caea_inform needs one generated_at per voucher")
    if not (len(caea) == 14 and caea.isdigit()):
        raise ValueError(f"a CAEA is 14 digits: {caea!r}")
    details = []
    for detail, moment in zip(request.details, generated_at, strict=True):
        if detail.date is None:
            raise ValueError("a voucher informed with a CAEA needs its CbteFch")
        data = build_detail(detail)
        data["CAEA"] = caea
        data["CbteFchHsGen"] = format_generated_at(moment)
        details.append(data)
    return {
        "FeCabReq": {
            "CantReg": len(request.details),
            "PtoVta": request.point_of_sale,
            "CbteTipo": request.invoice_type,
        },
        "FeDetReq": {"FECAEADetRequest": details},
    }


# --- Answers --------------------------------------------------------------------------------------


def parse_caea(result_get: Any) -> Caea | None:
    """A `FECAEAGet` (`ResultGet`) as a `Caea`; None when it carries no CAEA.

    ARCA echoes `Periodo` and `Orden` in `ResultGet` even when it refuses (recorded in
    pyafipws tests/cassettes/test_wsfev1/test_main_solicitar_caea.yaml), so the CAEA itself
    is what says whether one was granted.
    """
    if result_get is None:
        return None
    code = _text(result_get, "CAEA") or ""
    valid_from = parse_date(_text(result_get, "FchVigDesde"))
    valid_to = parse_date(_text(result_get, "FchVigHasta"))
    deadline = parse_date(_text(result_get, "FchTopeInf"))
    if not code or valid_from is None or valid_to is None or deadline is None:
        return None
    return Caea(
        code=code,
        period=_int(result_get, "Periodo"),
        order=_int(result_get, "Orden"),
        valid_from=valid_from,
        valid_to=valid_to,
        report_deadline=deadline,
        processed_at=parse_timestamp(_text(result_get, "FchProceso")),
        observations=tuple(parse_messages(result_get, "Observaciones", "Obs")),
    )


def parse_no_movement(node: Any, default_result: str = "A") -> NoMovementReport:
    """A `FECAEASinMovResponse` (inform) or `FECAEASinMov` (consult row) as a report."""
    return NoMovementReport(
        caea=_text(node, "CAEA") or "",
        point_of_sale=_int(node, "PtoVta", 0),
        processed_on=parse_date(_text(node, "FchProceso")),
        result=_text(node, "Resultado") or default_result,
    )
