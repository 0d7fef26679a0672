"""Fault injection: latency, HTTP 500, dropped connections, forced rejections, WSAA and WSFEv1
outages.

Tests add faults in Python (`sandbox.faults.add(latency(2.0))`) or through the admin API
(`POST /_sandbox/faults` with the same fields as JSON). Each fault matches a service and/or an
operation (None = any), hits every `every`-th matching request (1 = each one, 5 = "20 % of
calls") and is used up after `count` hits (None = never).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

FaultKind = Literal[
    "latency",
    "http_500",
    "drop_before",
    "drop_after",
    "reject_next",
    "wsaa_unavailable",
    "wsfe_unavailable",
]
KINDS: tuple[str, ...] = (
    "latency",
    "http_500",
    "drop_before",
    "drop_after",
    "reject_next",
    "wsaa_unavailable",
    "wsfe_unavailable",
)


@dataclass(frozen=True)
class Fault:
    """One fault rule. `seconds` is for latency; `code`/`message` for reject_next."""

    kind: FaultKind
    service: str | None = None
    operation: str | None = None
    count: int | None = 1
    every: int = 1
    seconds: float = 0.0
    code: int | None = None
    message: str | None = None

    def matches(self, service: str, operation: str) -> bool:
        return self.service in (None, service) and self.operation in (None, operation)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fault:
        """Build a fault from admin-API JSON; ValueError on an unknown kind or bad field."""
        kind = data.get("kind")
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        factory = _FACTORIES[str(kind)]
        fields = {key: value for key, value in data.items() if key != "kind"}
        try:
            return factory(**fields)
        except TypeError as error:
            raise ValueError(str(error)) from error


def latency(
    seconds: float,
    service: str | None = None,
    operation: str | None = None,
    count: int | None = 1,
    every: int = 1,
) -> Fault:
    """Sleep `seconds` before handling the request."""
    return Fault("latency", service, operation, count, every, seconds=seconds)


def http_500(
    service: str | None = None, operation: str | None = None, count: int | None = 1, every: int = 1
) -> Fault:
    """Answer HTTP 500 with a server SOAP fault, without processing the request."""
    return Fault("http_500", service, operation, count, every)


def drop_before(
    service: str | None = None, operation: str | None = None, count: int | None = 1, every: int = 1
) -> Fault:
    """Drop the connection before processing (`ConnectionDropped(after_processing=False)`)."""
    return Fault("drop_before", service, operation, count, every)


def drop_after(
    operation: str | None = "FECAESolicitar",
    service: str | None = None,
    count: int | None = 1,
    every: int = 1,
) -> Fault:
    """Process the request fully (e.g. grant and store the CAE), then drop the connection."""
    return Fault("drop_after", service, operation, count, every)


def reject_next(
    code: int,
    message: str | None = None,
    operation: str | None = "FECAESolicitar",
    service: str | None = None,
    count: int | None = 1,
    every: int = 1,
) -> Fault:
    """Reject the next voucher with `code`: as an Err for request-level codes (< 10000 and the
    header codes), as an Obs on the voucher otherwise. `message` defaults to ARCA's text."""
    return Fault("reject_next", service, operation, count, every, code=code, message=message)


def wsaa_unavailable(count: int | None = 1, every: int = 1) -> Fault:
    """loginCms answers the `ns1:wsaa.unavailable` fault."""
    return Fault("wsaa_unavailable", "wsaa", "loginCms", count, every)


def wsfe_unavailable(
    operation: str | None = None, count: int | None = None, every: int = 1, service: str = "wsfe"
) -> Fault:
    """WSFEv1 is down: every SOAP request (FEDummy included, unless `operation` narrows it)
    gets `OUTAGE_RESPONSE` without being processed, until the fault is removed (`count` None)
    or used up. For "ARCA is down, issue with the CAEA" scenarios. `service` "wsfex" takes
    WSFEXv1 down instead."""
    return Fault("wsfe_unavailable", service, operation, count, every)


# What a client sees while WSFEv1 is down: the front end's HTTP 503 with an HTML page, not a
# SOAP answer (status, body, content type). Nothing behind it processed the request.
OUTAGE_RESPONSE = (
    503,
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">'
    "<HTML><HEAD><TITLE>Service Unavailable</TITLE></HEAD><BODY><h2>Service Unavailable</h2>"
    "<hr><p>HTTP Error 503. The service is unavailable.</p></BODY></HTML>",
    "text/html; charset=us-ascii",
)


_FACTORIES: dict[str, Any] = {
    "latency": latency,
    "http_500": http_500,
    "drop_before": drop_before,
    "drop_after": drop_after,
    "reject_next": reject_next,
    "wsaa_unavailable": wsaa_unavailable,
    "wsfe_unavailable": wsfe_unavailable,
}


@dataclass
class _Slot:
    fault: Fault
    seen: int = 0
    hits: int = 0


class FaultBook:
    """The active faults. Thread-safe; `take` consumes a hit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: list[_Slot] = []

    def add(self, fault: Fault) -> None:
        if fault.every < 1 or (fault.count is not None and fault.count < 1):
            raise ValueError("a fault needs every >= 1 and count >= 1 (or None)")
        with self._lock:
            self._slots.append(_Slot(fault))

    def clear(self) -> None:
        with self._lock:
            self._slots.clear()

    def active(self) -> list[Fault]:
        """The faults not used up yet, `count` showing what is left."""
        with self._lock:
            return [_remaining(slot) for slot in self._slots]

    def take(self, kind: FaultKind, service: str, operation: str) -> Fault | None:
        """The first fault of `kind` that hits this request, counting the hit; else None."""
        with self._lock:
            for slot in self._slots:
                if slot.fault.kind != kind or not slot.fault.matches(service, operation):
                    continue
                slot.seen += 1
                if (slot.seen - 1) % slot.fault.every:
                    continue
                slot.hits += 1
                if slot.fault.count is not None and slot.hits >= slot.fault.count:
                    self._slots.remove(slot)
                return slot.fault
        return None


def _remaining(slot: _Slot) -> Fault:
    if slot.fault.count is None:
        return slot.fault
    return replace(slot.fault, count=slot.fault.count - slot.hits)
