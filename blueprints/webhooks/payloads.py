"""Event payloads: small JSON snapshots built from what the emitting code already holds (no
extra queries: `record_batch` emits 250 of them in one INSERT). Not yet the full API
serialization (`blueprints.api.schemas.invoice_of` needs url_for in a request); a receiver
fetches `/api/v1/invoices/<id>` for the rest."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blueprints.customers.models import Customer


def invoice_payload(
    invoice_id: int,
    status: str,
    *,
    number: int | None = None,
    cae: str | None = None,
    cae_due: dt.date | None = None,
    errors: list[dict[str, object]] | None = None,
    kind: str | None = None,
    total: Decimal | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"object": "invoice", "id": invoice_id, "status": status}
    if kind is not None:
        payload["kind"] = kind
    if total is not None:
        payload["total"] = str(total)
    if number is not None:
        payload["number"] = number
    if cae is not None:
        payload["cae"] = cae
        payload["cae_due"] = cae_due.isoformat() if cae_due else None
    if errors is not None:
        payload["errors"] = errors
    return payload


def customer_payload(customer: Customer) -> dict[str, Any]:
    """The customer as the API serializes it (`GET /api/v1/customers/<id>`), with ARCA's
    known names for its codes (no request, no parameter table needed)."""
    from blueprints.api.schemas.customers import customer_of  # the API imports the services

    return {"object": "customer", **customer_of(customer, ({}, {})).model_dump(mode="json")}
