"""Customers over the API: list (search, status, keyset pages), create, get, update, archive.

Each view parses, calls the customers page's service, serializes: the same validation (the
CUIT's check digit, the document an IVA condition needs, duplicates), the same audit events
(recorded as the key), the same search and order.
"""

from __future__ import annotations

from flask import Response, g, url_for
from flask_babel import gettext as _
from flask_openapi3 import Tag
from flask_openapi3.types import ResponseDict
from pydantic import BaseModel

from blueprints.api import api
from blueprints.api.auth import api_actor, api_auth
from blueprints.api.idempotency import idempotent
from blueprints.api.problems import problem, problem_responses, title_for
from blueprints.api.responses import respond
from blueprints.api.schemas.customers import (
    Customer,
    CustomerChanges,
    CustomerCreate,
    CustomerListQuery,
    CustomerPage,
    CustomerPath,
    Labels,
    api_field,
    customer_of,
)
from blueprints.customers import services as customers
from blueprints.customers.services import CustomerInvalid, CustomerQuery, DuplicateDocument
from core.db import db

TAG = Tag(
    name="Customers",
    description="The people and companies the organization invoices, validated as on the "
    "customers page.",
)


def documented(status: int, model: type[BaseModel], *problems: int) -> ResponseDict:
    """An operation's responses besides the API's common ones: 400 is a query string or path
    with control characters (refused before any view), 409 a document already taken."""
    responses: ResponseDict = {status: model}
    for code, response in problem_responses(400, *problems).items():
        responses[code] = response
    return responses


@api.get("/customers", tags=[TAG], responses=documented(200, CustomerPage))
@api_auth("customers:read")
def list_customers(query: CustomerListQuery) -> Response:
    """List customers

    The organization's customers matching `q` (as the customers page's search box: name,
    document or email), active ones unless `status` says otherwise, in `sort` order with the
    id breaking ties. Pass `next_cursor` back as `cursor` for the next page: the cursor holds
    the last row's position, so customers added between pages never make another appear
    twice or be skipped.
    """
    search = CustomerQuery(
        text=query.q, status=query.status, sort=query.sort, after=query.cursor or None
    )
    customers.check_cursor(search)
    page = customers.search_customers(db.session, g.organization_id, search, query.limit)
    tables = labels()
    data = [customer_of(row, tables) for row in page.customers]
    return respond(CustomerPage(data=data, next_cursor=page.next_cursor))


@api.post("/customers", tags=[TAG], responses=documented(201, Customer, 409))
@api_auth("customers:write")
@idempotent
def create_customer(body: CustomerCreate) -> Response:
    """Create a customer

    Validated as the customers page validates it: a CUIT, CUIL or CDI must have its check
    digit right, a registered IVA condition needs a CUIT, «Doc. (Otro)» (number 0) is only for
    an anonymous final consumer; each problem is listed on its field (422). A document the
    organization already has is a 409 naming that customer.
    """
    try:
        row = customers.create_customer(db.session, g.organization_id, body.fields(), api_actor())
    except (CustomerInvalid, DuplicateDocument) as error:
        return refused(error)
    location = url_for("api.get_customer", customer_id=row.id)
    return respond(customer_of(row, labels()), 201, {"Location": location})


@api.get("/customers/<int:customer_id>", tags=[TAG], responses=documented(200, Customer))
@api_auth("customers:read")
def get_customer(path: CustomerPath) -> Response:
    """Get a customer

    One of the organization's customers; another organization's id is a 404, as an unknown one.
    """
    row = customers.get_customer(db.session, g.organization_id, path.customer_id)
    return respond(customer_of(row, labels()))


@api.patch("/customers/<int:customer_id>", tags=[TAG], responses=documented(200, Customer, 409))
@api_auth("customers:write")
def update_customer(path: CustomerPath, body: CustomerChanges) -> Response:
    """Update a customer

    Only the fields sent change (null clears an optional one); the result is validated as a
    whole, as the customers page's edit form is.
    """
    row = customers.get_customer(db.session, g.organization_id, path.customer_id)
    fields = customers.fields_of(row, **body.changes())
    try:
        customers.update_customer(db.session, row, fields, api_actor())
    except (CustomerInvalid, DuplicateDocument) as error:
        return refused(error)
    return respond(customer_of(row, labels()))


@api.post("/customers/<int:customer_id>/archive", tags=[TAG], responses=documented(200, Customer))
@api_auth("customers:write")
def archive_customer(path: CustomerPath) -> Response:
    """Archive a customer

    Hidden from the list's default view and from the invoice editor's picker, kept with its
    invoices. Archiving an archived customer changes nothing.
    """
    return change_archived(path.customer_id, archived=True)


@api.post("/customers/<int:customer_id>/unarchive", tags=[TAG], responses=documented(200, Customer))
@api_auth("customers:write")
def unarchive_customer(path: CustomerPath) -> Response:
    """Unarchive a customer

    Back in the list and the picker. Unarchiving an active customer changes nothing.
    """
    return change_archived(path.customer_id, archived=False)


def change_archived(customer_id: int, archived: bool) -> Response:
    row = customers.get_customer(db.session, g.organization_id, customer_id)
    customers.set_archived(db.session, row, archived, api_actor())
    return respond(customer_of(row, labels()))


def labels() -> Labels:
    return customers.document_types(), customers.receiver_conditions()


def refused(error: CustomerInvalid | DuplicateDocument, prefix: str = "") -> Response:
    """The customer service's refusal as a problem, each field under the API's name (after
    `prefix`, e.g. "customer." for a customer given inside another body)."""
    db.session.rollback()
    if isinstance(error, CustomerInvalid):
        found = [(item.field, item.message) for item in error.problems]
        detail = _("Revisá los datos enviados: hay %(count)s error(es).", count=len(found))
    else:
        found = [(error.field or "", error.message)]
        detail = error.message
    errors = [{"field": prefix + api_field(field), "message": text} for field, text in found]
    return problem(error.status, title_for(error.status), detail, errors)
