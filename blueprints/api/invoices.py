"""Invoices over the API: drafts, preflight, authorization, notes, the PDF and bulk authorization.

Each view parses a typed model, calls what the invoice pages call (`invoices.services`, `jobs`,
`bulk`, `listing`, `printing`) and serializes (`schemas.invoices`). A draft is checked by the
editor's rules (`forms.draft_value_problems`, then `save_draft`); its problems are named as the
request names them ("lines.0.quantity").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, cast

from flask import Response, g, url_for
from flask_babel import gettext as _
from flask_openapi3 import Tag
from flask_openapi3.types import ResponseDict
from sqlalchemy import select

from arca.codes import DocumentType, VoucherKind
from blueprints.api import api
from blueprints.api.auth import api_actor, api_auth
from blueprints.api.idempotency import idempotent
from blueprints.api.problems import problem, problem_responses, title_for
from blueprints.api.responses import respond
from blueprints.api.schemas import invoices as schema
from blueprints.api.schemas.common import decode_cursor
from blueprints.api.schemas.customers import api_field
from blueprints.customers.services import CustomerInvalid, get_customer
from blueprints.invoices import services
from blueprints.invoices.bulk import BulkProgress, load_progress, start_bulk_authorization
from blueprints.invoices.fce import fce_obligation
from blueprints.invoices.forms import draft_value_problems, lines_problems
from blueprints.invoices.jobs import (
    PreflightRefused,
    is_queued,
    is_settled,
    refresh,
    start_authorization,
    wait_until_settled,
)
from blueprints.invoices.listing import InvoiceFilter, list_page
from blueprints.invoices.models import EDITABLE, Invoice, InvoiceStatus, with_children
from blueprints.invoices.package import pdf_file_name
from blueprints.invoices.preflight_adapter import (
    arca_today,
    preflight_problems,
    preflight_warnings,
)
from blueprints.invoices.printing import invoice_pdf
from blueprints.invoices.totals import Line, Problem
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from core.arca import get_arca
from core.db import db
from core.errors import Conflict, ValidationFailed

TAG = Tag(
    name="Invoices", description="Vouchers from draft to CAE: invoices, credit and debit notes."
)
BATCH_TAG = Tag(name="Invoice batches", description="Many drafts authorized in one job.")
PDF_RESPONSE = {
    "description": "The voucher as printed (ORIGINAL); a draft prints as an unauthorized preview.",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}
RESPONSES_409: ResponseDict = dict(problem_responses(409).items())
# Text in the address with control characters is refused before any view (`core.inputs`).
RESPONSES_400: ResponseDict = dict(problem_responses(400).items())


class InvalidDraft(ValidationFailed):
    """Every problem the editor's checks found, each on its field (editor's names)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].message, field=problems[0].field)
        self.problems = problems


# --- drafts ------------------------------------------------------------------------------------


@api.post(
    "/invoices",
    tags=[TAG],
    responses={201: schema.Invoice, **RESPONSES_409},
)
@api_auth("invoices:write")
@idempotent
def create_invoice(body: schema.InvoiceCreate) -> Response:
    """Create a draft

    The receiver by `customer_id`, by document (`customer`: the organization's customer with
    it, else a new one) or none (an anonymous final consumer). Checked as the editor checks a
    draft; nothing is sent to ARCA. Answers 201 with the draft and its `Location`.
    """
    organization = current_organization()
    base = services.DraftInput(
        point_of_sale_id=0, customer_id=None, issue_date=arca_today(get_arca()), lines=[]
    )
    with request_fields():
        draft = draft_from(body, base, organization.id)
        invoice = services.save_draft(db.session, organization, draft, api_actor())
    return respond(invoice_model(invoice), 201, {"Location": invoice_url(invoice.id)})


@api.get("/invoices/<int:invoice_id>", tags=[TAG], responses={200: schema.Invoice})
@api_auth("invoices:read")
def get_invoice(path: schema.InvoicePath) -> Response:
    """Get an invoice

    Everything about it: type, point of sale, number, status, CAE, receiver, lines, totals,
    the invoice a note refers to, ARCA's observations and errors, and links.
    """
    return respond(invoice_model(find_invoice(path.invoice_id)))


@api.get("/invoices", tags=[TAG], responses={200: schema.InvoicePage, **RESPONSES_400})
@api_auth("invoices:read")
def list_invoices(query: schema.InvoiceListQuery) -> Response:
    """List invoices

    Newest first (issue date, then id), with the invoices page's filters. Pass `next_cursor`
    back as `cursor` for the next page.
    """
    page = list_page(db.session, g.organization_id, invoice_filter(query), query.limit)
    with_details(page.invoices)
    data = [invoice_model(invoice) for invoice in page.invoices]
    return respond(schema.InvoicePage(data=data, next_cursor=page.next_cursor))


@api.patch(
    "/invoices/<int:invoice_id>",
    tags=[TAG],
    responses={200: schema.Invoice, **RESPONSES_409},
)
@api_auth("invoices:write")
def update_invoice(path: schema.InvoicePath, body: schema.InvoiceChanges) -> Response:
    """Update a draft

    The fields sent replace the draft's (`lines` replace all its lines); a draft never changes
    its kind or the invoice it refers to. Only drafts (and rejected invoices) change: 409
    otherwise.
    """
    invoice = find_invoice(path.invoice_id)
    if invoice.status not in EDITABLE:
        raise Conflict(_("Un comprobante autorizado no se puede modificar."))
    with request_fields():
        draft = draft_from(body, services.draft_of(invoice), invoice.organization_id)
        invoice = services.save_draft(
            db.session, current_organization(), draft, api_actor(), invoice
        )
    return respond(invoice_model(invoice))


# --- authorization -----------------------------------------------------------------------------


@api.post(
    "/invoices/<int:invoice_id>/preflight",
    tags=[TAG],
    responses={200: schema.Preflight, **RESPONSES_409},
)
@api_auth("invoices:read")
def preflight_invoice(path: schema.InvoicePath) -> Response:
    """Preflight a draft

    Every reason ARCA would refuse the draft as saved (with the ARCA error code it would
    cost), and its totals. Nothing is sent to ARCA's invoicing services; for an invoice of
    class A, B or C to a CUIT, `fce` says whether ARCA requires an FCE MiPyME (wsfecred).
    """
    invoice = find_invoice(path.invoice_id)
    if invoice.status not in EDITABLE:
        raise Conflict(_("Este comprobante ya fue autorizado o se está autorizando."))
    # ARCA's FCE answer first: asking it ends the transaction, and the preflight reads it cached.
    fce = fce_answer(invoice)
    problems = preflight_problems(db.session, invoice, get_arca())
    return respond(schema.preflight_of(invoice, problems, preflight_warnings(invoice), fce))


@api.post(
    "/invoices/<int:invoice_id>/authorize",
    tags=[TAG],
    responses={200: schema.Invoice, 202: schema.AuthorizationStatus, **RESPONSES_409},
)
@api_auth("invoices:authorize")
@idempotent
def authorize_invoice(path: schema.InvoicePath, query: schema.WaitQuery) -> Response:
    """Authorize in ARCA

    The preflight first: with problems, a 422 problem whose `errors` list them (each with its
    ARCA `code`), nothing sent. Else the authorization is queued: 202 with the status URL in
    `Location` and `Retry-After`; with `?wait=N` the answer waits up to N seconds for the
    final state and is then a 200 with the invoice. An invoice already authorized answers 200
    with it (never a second voucher); one being authorized, 202.
    """
    invoice = find_invoice(path.invoice_id)
    try:
        start_authorization(db.session, invoice, get_arca())
    except PreflightRefused as refused:
        db.session.rollback()
        return preflight_problem(refused)
    # Without Redis the job ran inline and closed the session: the id, not `invoice`, from here.
    return authorization_answer(wait_until_settled(db.session, path.invoice_id, query.wait))


@api.get(
    "/invoices/<int:invoice_id>/status",
    tags=[TAG],
    responses={200: schema.AuthorizationStatus},
)
@api_auth("invoices:read")
def get_invoice_status(path: schema.InvoicePath) -> Response:
    """Authorization status

    The status and, while ARCA is being asked, `retry_after` (also as the Retry-After header).
    """
    refresh(db.session, find_invoice(path.invoice_id).id)  # without Redis, a due retry runs
    status = status_model(find_invoice(path.invoice_id))
    headers = {} if status.settled else {"Retry-After": str(schema.RETRY_AFTER_SECONDS)}
    return respond(status, headers=headers)


# --- notes and the PDF -------------------------------------------------------------------------


@api.post(
    "/invoices/<int:invoice_id>/credit-notes",
    tags=[TAG],
    responses={201: schema.Invoice, **RESPONSES_409},
)
@api_auth("invoices:write")
@idempotent
def create_credit_note(path: schema.InvoicePath, body: schema.NoteCreate) -> Response:
    """Create a credit note

    A draft credit note on an authorized invoice, dated today: the invoice's lines, or `lines`
    for a partial one. Refused (409) once the invoice is fully credited.
    """
    return new_note(path.invoice_id, VoucherKind.CREDIT_NOTE, body)


@api.post(
    "/invoices/<int:invoice_id>/debit-notes",
    tags=[TAG],
    responses={201: schema.Invoice, **RESPONSES_409},
)
@api_auth("invoices:write")
@idempotent
def create_debit_note(path: schema.InvoicePath, body: schema.NoteCreate) -> Response:
    """Create a debit note

    A draft debit note on an authorized invoice, dated today: the invoice's lines, or `lines`.
    """
    return new_note(path.invoice_id, VoucherKind.DEBIT_NOTE, body)


@api.get("/invoices/<int:invoice_id>/pdf", tags=[TAG], responses={200: PDF_RESPONSE})
@api_auth("invoices:read")
def get_invoice_pdf(path: schema.InvoicePath) -> Response:
    """The PDF

    The voucher as the invoice page prints it, with its CAE and QR once authorized.
    """
    invoice = find_invoice(path.invoice_id)
    response = Response(invoice_pdf(db.session, invoice), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{pdf_file_name(invoice)}"'
    return response


# --- bulk authorization ------------------------------------------------------------------------


@api.post(
    "/invoice-batches",
    tags=[BATCH_TAG],
    responses={202: schema.Batch, **RESPONSES_409},
)
@api_auth("invoices:authorize")
@idempotent
def create_invoice_batch(body: schema.BatchCreate) -> Response:
    """Authorize many drafts

    The organization's drafts among `invoice_ids` go to ARCA in batches, as one job; those the
    preflight refuses are left out, listed in `skipped` with their reasons. 202 with the job,
    whose `Location` reports its progress. 422 when none of them is a draft.
    """
    key, progress = start_bulk_authorization(
        db.session, g.organization_id, body.invoice_ids, get_arca()
    )
    return respond(batch_model(key, progress), 202, {"Location": batch_url(key)})


@api.get("/invoice-batches/<key>", tags=[BATCH_TAG], responses={200: schema.Batch, **RESPONSES_400})
@api_auth("invoices:read")
def get_invoice_batch(path: schema.BatchPath) -> Response:
    """Bulk authorization progress

    How many were sent, authorized and rejected (with ARCA's reasons) so far; `finished` once
    done. Kept 24 hours.
    """
    progress = load_progress(db.session, path.key, g.organization_id)
    headers = {} if progress.finished else {"Retry-After": str(schema.RETRY_AFTER_SECONDS)}
    return respond(batch_model(path.key, progress), headers=headers)


# --- parsing -----------------------------------------------------------------------------------


def draft_from(
    body: schema.DraftFields, base: services.DraftInput, organization_id: int
) -> services.DraftInput:
    """`base` with what `body` sent, checked by the editor's rules (raises `InvalidDraft`);
    then the receiver, a customer found or created by document when `body` gives one."""
    changes: dict[str, Any] = {
        name: getattr(body, name)
        for name in body.model_fields_set & DRAFT_FIELDS
        if getattr(body, name) is not None or name in NULLABLE
    }
    if body.lines is not None:
        changes["lines"] = [line_of(line) for line in body.lines]
    if (point := point_of_sale_id(body, organization_id)) is not None:
        changes["point_of_sale_id"] = point
    draft = replace(base, **changes)
    points = {p.id for p in services.issuing_points(db.session, organization_id)}
    if problems := draft_value_problems(draft, points):
        raise InvalidDraft(problems)
    return with_export(with_receiver(draft, body, organization_id), body, organization_id)


# What a body sets as it is (the rest is read: lines, the point of sale, the receiver, export).
DRAFT_FIELDS = frozenset(services.DraftInput.__dataclass_fields__) - {
    "lines",
    "point_of_sale_id",
    "customer_id",
    "other_taxes",
    "export",
}
# Fields a PATCH may clear with null; for the others null means "as it is".
NULLABLE = frozenset({"service_from", "service_to", "payment_due", "notes", "fce_cancels_rejected"})


def line_of(line: schema.LineIn) -> Line:
    return Line(line.description, line.quantity, line.unit_price, line.discount_percent, line.vat)


def with_receiver(
    draft: services.DraftInput, body: schema.DraftFields, organization_id: int
) -> services.DraftInput:
    """`draft` to the receiver `body` names, by id or by document (found or created)."""
    if body.customer is not None:
        if body.customer.country is not None and not body.customer.foreign_tax_id:
            # Customers abroad share their country's CUIT: their tax id tells them apart.
            message = _(
                "Un cliente del exterior se identifica por su país y su identificación "
                "tributaria: enviá foreign_tax_id, o el cliente por customer_id."
            )
            raise FieldProblems([("customer.foreign_tax_id", message)])
        fields = body.customer.fields()
        customer = services.customer_for_document(db.session, organization_id, fields, api_actor())
        return replace(draft, customer_id=customer.id if customer else None)
    if "customer_id" in body.model_fields_set:
        return replace(draft, customer_id=body.customer_id)
    return draft


def with_export(
    draft: services.DraftInput, body: schema.DraftFields, organization_id: int
) -> services.DraftInput:
    """`draft` with the export data `body` sends merged over the draft's: the fields sent
    replace, the rest stay; the destination defaults to the customer's country. Null clears it
    (the voucher then takes the customer's defaults, if it is an E at all)."""
    if "export" not in body.model_fields_set:
        return draft
    if body.export is None:
        return replace(draft, export=None)
    sent = body.export
    current = draft.export or services.ExportInput(destination_country=0)
    values = {name: getattr(sent, name) for name in sent.model_fields_set - {"permits"}}
    if "permits" in sent.model_fields_set:
        values["permits"] = [
            services.ExportPermitInput(p.permit_id, p.destination_country) for p in sent.permits
        ]
    if values.get("destination_country") is None and not current.destination_country:
        values["destination_country"] = customer_country(organization_id, draft.customer_id)
    return replace(draft, export=replace(current, **values))


def customer_country(organization_id: int, customer_id: int | None) -> int:
    """The country of the draft's customer abroad; 0 (the preflight asks for one) otherwise."""
    if customer_id is None:
        return 0
    return get_customer(db.session, organization_id, customer_id).country or 0


def point_of_sale_id(body: schema.DraftFields, organization_id: int) -> int | None:
    """The point of sale the body names, by ARCA's number or by id (0 for a number the
    organization does not have: the editor's checks refuse it)."""
    if body.point_of_sale is not None:
        point = db.session.scalar(
            select(PointOfSale.id).where(
                PointOfSale.organization_id == organization_id,
                PointOfSale.number == body.point_of_sale,
            )
        )
        return point or 0
    return body.point_of_sale_id


def invoice_filter(query: schema.InvoiceListQuery) -> InvoiceFilter:
    after = None
    if query.cursor is not None:
        decode_cursor(query.cursor, 2)  # a malformed cursor is a 422, not the first page
        after = query.cursor
    return InvoiceFilter(
        status=query.status.value if query.status else None,
        date_from=query.date_from,
        date_to=query.date_to,
        customer_id=query.customer_id,
        invoice_type=query.type,
        point_of_sale=query.point_of_sale,
        amount_min=query.amount_min,
        amount_max=query.amount_max,
        text=(query.q or "").strip() or None,
        after=after,
    )


def new_note(invoice_id: int, kind: VoucherKind, body: schema.NoteCreate) -> Response:
    original = find_invoice(invoice_id)
    lines = [line_of(line) for line in body.lines] if body.lines is not None else None
    with request_fields():
        if lines is not None and (problems := lines_problems(lines)):
            raise InvalidDraft(problems)
        today = arca_today(get_arca())
        note = services.note_from(
            db.session, current_organization(), original, kind, today, api_actor(), lines
        )
    return respond(invoice_model(note), 201, {"Location": invoice_url(note.id)})


@contextmanager
def request_fields() -> Iterator[None]:
    """Refusals about fields raised inside, as `FieldProblems` named as the request names them."""
    try:
        yield
    except CustomerInvalid as error:
        errors = [(f"customer.{api_field(p.field)}", p.message) for p in error.problems]
        raise FieldProblems(errors) from error
    except InvalidDraft as error:
        errors = [(schema.request_field(p.field), p.message) for p in error.problems]
        raise FieldProblems(errors) from error
    except ValidationFailed as error:
        if not error.field:
            raise
        raise FieldProblems([(schema.request_field(error.field), error.message)]) from error


class FieldProblems(ValidationFailed):
    """A 422 problem whose `errors` list every field with its message (and an ARCA `code`)."""

    def __init__(
        self, errors: list[tuple[str, str]], codes: list[int | None] | None = None
    ) -> None:
        super().__init__(errors[0][1], field=errors[0][0])
        self.errors = errors
        self.codes = codes or [None] * len(errors)


def field_problems_response(error: FieldProblems) -> Response:
    db.session.rollback()
    errors: list[dict[str, Any]] = [
        {"field": field, "message": message, **({"code": code} if code else {})}
        for (field, message), code in zip(error.errors, error.codes, strict=True)
    ]
    detail = (
        error.message
        if len(errors) == 1
        else _("Revisá los datos enviados: hay %(count)s error(es).", count=len(errors))
    )
    # `problem` is typed for text values; an ARCA code is a number in JSON.
    return problem(422, title_for(422), detail, cast(list[dict[str, str]], errors))


api.register_error_handler(FieldProblems, field_problems_response)


# --- answers -----------------------------------------------------------------------------------


def current_organization() -> Organization:
    return db.session.get_one(Organization, g.organization_id)


def find_invoice(invoice_id: int) -> Invoice:
    """The key's organization's invoice; another organization's is a 404 like a missing one."""
    return services.get_invoice(db.session, g.organization_id, invoice_id)


def invoice_url(invoice_id: int) -> str:
    return url_for("api.get_invoice", invoice_id=invoice_id)


def status_url(invoice_id: int) -> str:
    return url_for("api.get_invoice_status", invoice_id=invoice_id)


def batch_url(key: str) -> str:
    return url_for("api.get_invoice_batch", key=key)


def links(invoice_id: int) -> schema.InvoiceLinks:
    return schema.InvoiceLinks(
        self=invoice_url(invoice_id),
        status=status_url(invoice_id),
        pdf=url_for("api.get_invoice_pdf", invoice_id=invoice_id),
    )


def with_details(invoices: list[Invoice]) -> None:
    """Load a page's lines, VAT and tax rows and originals in four statements, not four per
    invoice: the objects already in the session get the collections they lack."""
    if invoices:
        db.session.scalars(
            select(Invoice)
            .where(Invoice.id.in_([invoice.id for invoice in invoices]))
            .options(*with_children())
        ).all()


def invoice_model(invoice: Invoice) -> schema.Invoice:
    return schema.invoice_of(invoice, links(invoice.id))


def status_model(invoice: Invoice) -> schema.AuthorizationStatus:
    queued = is_queued(db.session, invoice.id)
    return schema.status_of(invoice, queued, is_settled(invoice, queued), links(invoice.id))


def batch_model(key: str, progress: BulkProgress) -> schema.Batch:
    return schema.batch_of(key, progress, {"self": batch_url(key)})


def fce_answer(invoice: Invoice) -> schema.FceOffer | None:
    """What ARCA's wsfecred says about an FCE for this invoice (A, B or C to a CUIT); None
    for other vouchers or when ARCA could not be asked (see `invoices.fce`)."""
    if invoice.kind != VoucherKind.INVOICE or invoice.letter not in ("A", "B", "C"):
        return None
    if invoice.receiver_doc_type != DocumentType.CUIT:
        return None
    obligation = fce_obligation(
        db.session,
        invoice.organization_id,
        invoice.receiver_doc_number,
        invoice.issue_date,
        get_arca(),
    )
    if obligation is None:
        return None
    in_pesos = invoice.total * invoice.currency_rate  # ARCA's threshold is in pesos
    return schema.FceOffer(
        required=obligation.requires_fce(in_pesos),
        threshold=obligation.amount_from if obligation.obligated else None,
        chosen=invoice.is_fce,
    )


def authorization_answer(invoice: Invoice) -> Response:
    """200 with the invoice once authorized (or settled otherwise: rejected, or back to a
    draft with the reason); 202 with its status while ARCA is being asked."""
    status = status_model(invoice)
    if invoice.status == InvoiceStatus.AUTHORIZED or status.settled:
        return respond(invoice_model(invoice))
    headers = {
        "Location": status_url(invoice.id),
        "Retry-After": str(schema.RETRY_AFTER_SECONDS),
    }
    return respond(status, 202, headers)


def preflight_problem(refused: PreflightRefused) -> Response:
    """422: what the preflight found, each with the ARCA code it would cost."""
    errors = [(schema.request_field(p.field), p.message) for p in refused.problems]
    return field_problems_response(FieldProblems(errors, [p.code for p in refused.problems]))
