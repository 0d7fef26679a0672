"""Event payloads: the object as the JSON API serializes it (`GET /api/v1/...`), so a receiver
needs no call back.

Invoice events are written by set-based code (`record_batch` emits 250 in one INSERT) as thin
snapshots — the facts of the moment (status, number, CAE, errors) marked `"complete": false`;
the fan-out completes them once (`complete_invoices`) from the database, keeping those facts,
and stores the result on the event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from core.db import DbSession
from core.events import Event, enriches
from core.web import url_context

if TYPE_CHECKING:
    from blueprints.customers.models import Customer

SNAPSHOT_FACTS = ("status", "number", "cae", "cae_due", "errors")


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
    """The thin snapshot (completed by the fan-out)."""
    payload: dict[str, Any] = {"object": "invoice", "id": invoice_id, "status": status}
    payload["complete"] = False
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


@enriches("invoice")
def complete_invoices(session: DbSession, events: list[Event]) -> None:
    """Each thin invoice event becomes the API's invoice with the event's own facts (an invoice
    deleted since keeps its snapshot, marked complete: there is nothing more to say)."""
    from blueprints.api.invoices import links  # the API imports the invoices' services
    from blueprints.api.schemas.invoices import InvoiceStatus, invoice_of, messages_of
    from blueprints.invoices.models import Invoice, with_children

    ids = {int(event.payload["id"]) for event in events}
    invoices = {
        invoice.id: invoice
        for invoice in session.scalars(
            select(Invoice)
            .where(Invoice.id.in_(ids), Invoice.organization_id == events[0].organization_id)
            .options(*with_children())
        )
    }
    with url_context():
        for event in events:
            snapshot = event.payload
            invoice = invoices.get(int(snapshot["id"]))
            if invoice is None:
                event.payload = {key: value for key, value in snapshot.items() if key != "complete"}
                continue
            model = invoice_of(invoice, links(invoice.id))
            facts: dict[str, Any] = {"status": InvoiceStatus(snapshot["status"])}
            if snapshot["status"] != InvoiceStatus.AUTHORIZED:  # what it was then, not now
                facts.update(number=None, cae=None, cae_due=None, authorized_at=None)
            if "number" in snapshot:
                facts["number"] = snapshot["number"]
            if "cae" in snapshot:
                due = snapshot.get("cae_due")
                facts["cae"] = snapshot["cae"]
                facts["cae_due"] = dt.date.fromisoformat(due) if due else None
            if "errors" in snapshot:
                facts["errors"] = messages_of(snapshot["errors"] or [])
            full = model.model_copy(update=facts).model_dump(mode="json")
            event.payload = {"object": "invoice", **full}
