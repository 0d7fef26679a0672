"""Invoices before ARCA: drafts written and rewritten by the editor, and what they add up to.

A draft is saved whole: the header, the lines and ARCA's amounts computed by `totals`, in one
commit. The voucher type follows from the issuer's condition, the receiver's condition and the
kind (`letters`); the receiver is a snapshot of the customer, refreshed on every save until the
invoice is authorized.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import cast

from flask_babel import gettext as _
from sqlalchemy import case, exists, func, select

from arca.codes import DocumentType, IssuerCondition, VoucherKind
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.certificates.connection import arca_client
from blueprints.customers.models import Customer
from blueprints.customers.rules import CustomerFields, parse_document
from blueprints.customers.services import (
    IN_USE_CHECKS,
    Actor,
    DuplicateDocument,
    create_customer,
    find_abroad,
    find_by_document,
    get_customer,
)
from blueprints.invoices.letters import (
    NOTE_KINDS,
    VoucherLetter,
    invoice_type_for,
    letter_for,
    note_type_for,
)
from blueprints.invoices.models import (
    EDITABLE,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    InvoiceTax,
    InvoiceVat,
    authorization_key,
)
from blueprints.invoices.totals import (
    Line,
    OtherTax,
    Totals,
    VatTreatment,
    compute_totals,
    saving_problems,
)
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from blueprints.points_of_sale.services import ask_arca
from blueprints.webhooks.payloads import invoice_payload
from core.arca import ArcaGateway
from core.db import DbSession
from core.errors import Conflict, NotFound, ValidationFailed
from core.events import emit, wake_events
from core.inputs import parse_id
from core.tasks import cancel

ANONYMOUS_NAME = "Consumidor final"
CONSUMIDOR_FINAL = 5


@dataclass(frozen=True)
class ExportPermitInput:
    """A customs shipping permit of exported goods, and where the goods go."""

    permit_id: str
    destination_country: int


@dataclass(frozen=True)
class ExportInput:
    """What a Factura E (WSFEXv1) says besides a voucher's usual fields. The export type
    (Tipo_expo) follows from the concept: products 1, services 2, both 4 ("otros")."""

    destination_country: int
    language: int = 1  # Idioma_cbte: 1 Spanish, 2 English, 3 Portuguese
    incoterms: str | None = None  # required for goods
    incoterms_detail: str | None = None
    payment_terms: str | None = None  # Forma_pago, printed
    receiver_tax_id: str | None = None  # Id_impositivo; the customer's when None
    permit_existing: bool | None = None  # goods only: "S"/"N"
    permits: list[ExportPermitInput] = field(default_factory=list)


EXPORT_TYPE_OF_CONCEPT = {1: 1, 2: 2, 3: 4}


@dataclass(frozen=True)
class DraftInput:
    """What the editor sends, parsed (amounts as Decimal, dates as dates)."""

    point_of_sale_id: int
    customer_id: int | None  # None: an anonymous final consumer
    issue_date: dt.date
    lines: list[Line]
    # What the voucher is and what it refers to are fixed when it is created: None (the editor
    # never sends them) keeps a saved draft's own; a value that differs from it is refused.
    kind: VoucherKind | None = None
    concept: int = 1
    service_from: dt.date | None = None
    service_to: dt.date | None = None
    payment_due: dt.date | None = None
    currency: str = "PES"
    currency_rate: Decimal = Decimal("1")
    same_currency_payment: bool = False
    prices_include_vat: bool = False
    other_taxes: list[OtherTax] = field(default_factory=list)
    associated_invoice_id: int | None = None  # see `kind`
    notes: str | None = None
    # FCE MiPyME (the preflight offers it when ARCA says the receiver must get one): issued as
    # 201/206/211 with the organization's CBU; a note follows its original, and says whether it
    # cancels a voucher the buyer rejected.
    fce: bool = False
    fce_cancels_rejected: bool | None = None
    export: ExportInput | None = None  # a Factura E's own data (customer abroad)


def get_invoice(session: DbSession, organization_id: int, invoice_id: int) -> Invoice:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.organization_id != organization_id:
        raise NotFound(_("No encontramos ese comprobante."))
    return invoice


def save_draft(
    session: DbSession,
    organization: Organization,
    draft: DraftInput,
    actor: Actor,
    invoice: Invoice | None = None,
) -> Invoice:
    """Create a draft, or rewrite `invoice` (a draft or a rejected one) with `draft`. Commits.

    Raises `Conflict` for an invoice that is no longer editable, `NotFound` for another
    organization's point of sale, customer or original invoice, `ValidationFailed` for totals
    that cannot be kept (`totals.saving_problems`: a return larger than the sale, an amount
    too large), before anything is written.
    """
    if invoice is not None and invoice.status not in EDITABLE:
        raise Conflict(_("Un comprobante autorizado no se puede modificar."))
    kind, original_id = _identity(invoice, draft)
    point = _point_of_sale(session, organization.id, draft.point_of_sale_id)
    original = _original(session, organization.id, original_id)
    invoice = invoice or Invoice(
        organization_id=organization.id,
        created_by_id=actor.id if isinstance(actor, User) else None,
    )
    _apply_header(invoice, point, draft)
    if original is None:
        _snapshot_receiver(invoice, _customer(session, organization.id, draft.customer_id))
    else:
        _copy_receiver(invoice, original, draft.customer_id)
    invoice.kind = str(kind)
    invoice.letter, invoice.invoice_type = _voucher_type(
        organization, invoice, kind, original, draft.fce, _abroad(session, invoice)
    )
    invoice.associated_invoice_id = original.id if original else None
    _apply_fce(invoice, organization, draft)
    _apply_export(
        invoice, draft, original, _customer(session, organization.id, invoice.customer_id)
    )
    letter = cast(VoucherLetter, invoice.letter)
    totals = compute_totals(draft.lines, letter, draft.prices_include_vat, draft.other_taxes)
    if problems := saving_problems(draft.lines, totals):
        raise ValidationFailed(problems[0].message, field=problems[0].field)
    if invoice.id is not None:
        # An authorization asked for and still waiting would send what was reviewed before
        # this edit: withdrawn, the draft is reviewed and sent again.
        cancel(session, authorization_key(invoice.id), "the draft was edited")
        # The old rows go first: the new lines reuse their positions (unique per invoice).
        invoice.lines.clear()
        invoice.vat_rows.clear()
        invoice.tax_rows.clear()
        session.flush()
    _apply_totals(invoice, draft, totals)
    if invoice.status == InvoiceStatus.REJECTED:
        invoice.status = InvoiceStatus.DRAFT
    created = invoice.id is None
    session.add(invoice)
    session.flush()
    record_event(session, organization.id, "invoice.save", actor, subject=("invoice", invoice.id))
    task_id = None
    if created:
        payload = invoice_payload(invoice.id, "draft", kind=invoice.kind, total=invoice.total)
        task_id = emit(session, organization.id, "invoice.created", payload)
    session.commit()
    wake_events([task_id])
    return invoice


def draft_of(invoice: Invoice) -> DraftInput:
    """A saved draft as `save_draft` takes it again (to change some of it and save)."""
    return DraftInput(
        point_of_sale_id=invoice.point_of_sale_id,
        customer_id=invoice.customer_id,
        issue_date=invoice.issue_date,
        lines=[stored_line(line) for line in invoice.lines],
        concept=invoice.concept,
        service_from=invoice.service_from,
        service_to=invoice.service_to,
        payment_due=invoice.payment_due,
        currency=invoice.currency,
        currency_rate=invoice.currency_rate,
        same_currency_payment=invoice.same_currency_payment,
        prices_include_vat=invoice.prices_include_vat,
        other_taxes=[OtherTax(t.tax_id, t.description, t.base, t.rate) for t in invoice.tax_rows],
        notes=invoice.notes,
        fce=invoice.is_fce and invoice.associated_invoice_id is None,
        fce_cancels_rejected=invoice.fce_cancels_rejected,
        export=export_of(invoice),
    )


def export_of(invoice: Invoice) -> ExportInput | None:
    """A saved Factura E's export data as `save_draft` takes it; None for any other voucher."""
    if not invoice.is_export or invoice.destination_country is None:
        return None
    return ExportInput(
        destination_country=invoice.destination_country,
        language=invoice.language or 1,
        incoterms=invoice.incoterms,
        incoterms_detail=invoice.incoterms_detail,
        payment_terms=invoice.export_payment_terms,
        receiver_tax_id=invoice.receiver_tax_id,
        permit_existing=invoice.permit_existing,
        permits=[
            ExportPermitInput(str(p["permit_id"]), int(p["destination_country"]))
            for p in invoice.permits
        ],
    )


def _identity(invoice: Invoice | None, draft: DraftInput) -> tuple[VoucherKind, int | None]:
    """The kind and the original voucher of what is being saved: a new draft takes the
    draft's (an invoice when it says nothing); a saved one keeps its own whatever a form
    posts, so no save, autosave or review can turn a credit note into an invoice."""
    if invoice is None:
        kind = draft.kind or VoucherKind.INVOICE
        if (kind in NOTE_KINDS) != (draft.associated_invoice_id is not None):
            raise ValidationFailed(_("Una nota de crédito o débito necesita su comprobante."))
        return kind, draft.associated_invoice_id
    kind = VoucherKind(invoice.kind)
    changed_kind = draft.kind is not None and draft.kind != kind
    changed_original = (
        draft.associated_invoice_id is not None
        and draft.associated_invoice_id != invoice.associated_invoice_id
    )
    if changed_kind or changed_original:
        raise Conflict(_("Un borrador no cambia de tipo: creá otro comprobante."))
    return kind, invoice.associated_invoice_id


def _apply_header(invoice: Invoice, point: PointOfSale, draft: DraftInput) -> None:
    invoice.point_of_sale_id = point.id
    invoice.point_of_sale_number = point.number
    invoice.concept = draft.concept
    invoice.issue_date = draft.issue_date
    services = draft.concept in (2, 3)
    invoice.service_from = draft.service_from if services else None
    invoice.service_to = draft.service_to if services else None
    # FchVtoPago goes with services (10049) and with every FCE invoice (10163), products too.
    note = draft.associated_invoice_id is not None or invoice.associated_invoice_id is not None
    invoice.payment_due = draft.payment_due if services or (draft.fce and not note) else None
    invoice.currency = draft.currency
    foreign = draft.currency != "PES"
    invoice.currency_rate = draft.currency_rate if foreign else Decimal("1")
    invoice.same_currency_payment = draft.same_currency_payment if foreign else False
    invoice.prices_include_vat = draft.prices_include_vat
    invoice.notes = (draft.notes or "").strip() or None


def _snapshot_receiver(invoice: Invoice, customer: Customer | None) -> None:
    """The receiver as the invoice prints it; frozen once authorized."""
    invoice.customer_id = customer.id if customer else None
    if customer is None:
        invoice.receiver_name = ANONYMOUS_NAME
        invoice.receiver_doc_type, invoice.receiver_doc_number = DocumentType.OTHER, "0"
        invoice.receiver_condition, invoice.receiver_address = CONSUMIDOR_FINAL, None
        return
    invoice.receiver_name = customer.legal_name
    invoice.receiver_doc_type = customer.doc_type
    invoice.receiver_doc_number = customer.doc_number
    invoice.receiver_condition = customer.iva_condition
    invoice.receiver_address = customer.address


def _copy_receiver(note: Invoice, original: Invoice, customer_id: int | None) -> None:
    """A note goes to the receiver of the voucher it corrects, as that voucher printed it."""
    if customer_id is not None and customer_id != original.customer_id:
        raise ValidationFailed(
            _("Una nota va al mismo cliente que el comprobante que corrige."),
            field="customer_label",
        )
    note.customer_id = original.customer_id
    note.receiver_name, note.receiver_address = original.receiver_name, original.receiver_address
    note.receiver_doc_type = original.receiver_doc_type
    note.receiver_doc_number = original.receiver_doc_number
    note.receiver_condition = original.receiver_condition


def _voucher_type(
    organization: Organization,
    invoice: Invoice,
    kind: VoucherKind,
    original: Invoice | None,
    fce: bool,
    abroad: bool,
) -> tuple[str, int]:
    if original is not None:
        return original.letter, note_type_for(original.invoice_type, kind)
    letter = letter_for(
        IssuerCondition(organization.iva_condition),
        invoice.receiver_condition,
        organization.a_with_legend,
        export=abroad,
    )
    if fce and letter not in ("A", "B", "C"):
        raise ValidationFailed(
            _("Una Factura de Crédito Electrónica MiPyME es de clase A, B o C."), field="fce"
        )
    return letter, invoice_type_for(letter, kind, fce=fce)


def _abroad(session: DbSession, invoice: Invoice) -> bool:
    """The receiver is a customer abroad (with its country): the voucher is a Factura E."""
    if invoice.customer_id is None:
        return False
    customer = session.get(Customer, invoice.customer_id)
    return customer is not None and customer.country is not None


def _apply_fce(invoice: Invoice, organization: Organization, draft: DraftInput) -> None:
    """An FCE invoice carries the organization's CBU, alias and transfer option as they are
    when it is saved (the PDF and ARCA get the same); an FCE note, optional 22."""
    fce_invoice = invoice.is_fce and invoice.kind == VoucherKind.INVOICE
    invoice.fce_cbu = organization.cbu if fce_invoice else None
    invoice.fce_alias = organization.cbu_alias if fce_invoice else None
    invoice.fce_transfer = organization.fce_transfer if fce_invoice else None
    fce_note = invoice.is_fce and not fce_invoice
    invoice.fce_cancels_rejected = bool(draft.fce_cancels_rejected) if fce_note else None


def _apply_export(
    invoice: Invoice, draft: DraftInput, original: Invoice | None, customer: Customer | None
) -> None:
    """A Factura E's export data: the draft's, or for a note its original's; the customer's
    country and tax id where the draft leaves them out. Cleared on any other voucher."""
    export = draft.export
    if original is not None and original.is_export and export is None:
        export = ExportInput(
            destination_country=original.destination_country or 0,
            language=original.language or 1,
            incoterms=original.incoterms,
            incoterms_detail=original.incoterms_detail,
            payment_terms=original.export_payment_terms,
            receiver_tax_id=original.receiver_tax_id,
        )
    if not invoice.is_export:
        export = None
    elif export is None:
        country = customer.country if customer and customer.country else 0
        export = ExportInput(destination_country=country)
    goods = invoice.concept in (1, 3)
    invoice.export_type = EXPORT_TYPE_OF_CONCEPT.get(invoice.concept) if export else None
    invoice.destination_country = export.destination_country if export else None
    invoice.language = export.language if export else None
    invoice.incoterms = (export.incoterms or None) if export and goods else None
    invoice.incoterms_detail = (export.incoterms_detail or None) if export and goods else None
    invoice.export_payment_terms = (export.payment_terms or None) if export else None
    tax_id = (export.receiver_tax_id if export else None) or (
        customer.foreign_tax_id if export and customer else None
    )
    invoice.receiver_tax_id = tax_id or None
    invoice.receiver_country_cuit = (
        invoice.receiver_doc_number
        if export and invoice.receiver_doc_type == DocumentType.CUIT
        else None
    )
    invoice_of_goods = export is not None and goods and invoice.kind == VoucherKind.INVOICE
    invoice.permit_existing = export.permit_existing if invoice_of_goods and export else None
    invoice.permits = (
        [
            {"permit_id": p.permit_id, "destination_country": p.destination_country}
            for p in export.permits
        ]
        if invoice_of_goods and export
        else []
    )


def _apply_totals(invoice: Invoice, draft: DraftInput, totals: Totals) -> None:
    invoice.untaxed, invoice.net, invoice.exempt = totals.untaxed, totals.net, totals.exempt
    invoice.vat_total, invoice.other_taxes_total = totals.vat_total, totals.other_taxes_total
    invoice.total = totals.total
    invoice.lines = [
        InvoiceLine(
            position=index,
            description=line.description.strip(),
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            vat=str(line.vat),
            net=amount.net,
            vat_amount=amount.vat,
            total=amount.total,
        )
        for index, (line, amount) in enumerate(zip(draft.lines, totals.lines, strict=True))
    ]
    invoice.vat_rows = [
        InvoiceVat(rate_id=v.rate_id, base=v.base, amount=v.amount) for v in totals.vat
    ]
    invoice.tax_rows = [
        InvoiceTax(
            tax_id=t.tax_id,
            description=t.description or "",
            base=t.base,
            rate=t.rate,
            amount=t.amount,
        )
        for t in totals.other_taxes
    ]


def issuing_points(session: DbSession, organization_id: int) -> list[PointOfSale]:
    """The points of sale a draft may be saved on (usable for web services), by number."""
    query = (
        select(PointOfSale)
        .where(PointOfSale.organization_id == organization_id)
        .order_by(PointOfSale.number)
    )
    return [point for point in session.scalars(query) if point.usable]


def customer_for_document(
    session: DbSession, organization_id: int, fields: CustomerFields, actor: Actor
) -> Customer | None:
    """The organization's customer with the document in `fields` (the rest of `fields` is then
    not needed), else a new one made from `fields`, validated as the customer form validates it
    (commits). None for the anonymous final consumer ("Otro", number 0). Raises
    `CustomerInvalid` with every problem."""
    if fields.country.strip():
        return _customer_abroad(session, organization_id, fields, actor)
    doc_type = parse_id(fields.doc_type)
    number = parse_document(doc_type, fields.doc_number) if doc_type else None
    if doc_type == DocumentType.OTHER and number == "0":
        return None
    if isinstance(number, str) and doc_type is not None:
        existing = find_by_document(session, organization_id, doc_type, number)
        if existing is not None:
            return existing
    try:
        return create_customer(session, organization_id, fields, actor)
    except DuplicateDocument as taken:  # stored by another request in between
        return taken.existing


def _customer_abroad(
    session: DbSession, organization_id: int, fields: CustomerFields, actor: Actor
) -> Customer:
    """A customer abroad is found by its country and tax id (many share their country's CUIT,
    and "Otro" 0 is not the anonymous consumer for them), else made from `fields`."""
    country, tax_id = parse_id(fields.country), fields.foreign_tax_id.strip()
    if country is not None and tax_id:
        existing = find_abroad(session, organization_id, country, tax_id)
        if existing is not None:
            return existing
    try:
        return create_customer(session, organization_id, fields, actor)
    except DuplicateDocument as taken:  # stored by another request in between
        return taken.existing


def _point_of_sale(session: DbSession, organization_id: int, point_id: int) -> PointOfSale:
    point = session.get(PointOfSale, point_id)
    if point is None or point.organization_id != organization_id:
        raise ValidationFailed(_("Elegí un punto de venta."), field="point_of_sale_id")
    return point


def _customer(session: DbSession, organization_id: int, customer_id: int | None) -> Customer | None:
    return None if customer_id is None else get_customer(session, organization_id, customer_id)


def _original(session: DbSession, organization_id: int, invoice_id: int | None) -> Invoice | None:
    if invoice_id is None:
        return None
    original = get_invoice(session, organization_id, invoice_id)
    if original.status != InvoiceStatus.AUTHORIZED:
        raise Conflict(_("Una nota solo se emite sobre un comprobante autorizado."))
    return original


def delete_draft(session: DbSession, invoice: Invoice, actor: Actor) -> None:
    """Drafts only: an invoice that ever took a number is kept (the database refuses too)."""
    if invoice.status not in EDITABLE or any(a.number for a in invoice.attempts):
        raise Conflict(_("Solo se borran borradores que nunca se enviaron a ARCA."))
    record_event(
        session, invoice.organization_id, "invoice.delete", actor, subject=("invoice", invoice.id)
    )
    session.delete(invoice)
    session.commit()


def credited_so_far(session: DbSession, original: Invoice) -> Decimal:
    """What authorized credit notes have already taken from `original`."""
    total = session.scalar(
        select(func.coalesce(func.sum(Invoice.total), 0)).where(
            Invoice.associated_invoice_id == original.id,
            Invoice.kind == str(VoucherKind.CREDIT_NOTE),
            Invoice.status == InvoiceStatus.AUTHORIZED,
        )
    )
    return Decimal(total or 0)


def customer_has_invoices(session: DbSession, customer_id: int) -> bool:
    return bool(session.scalar(select(exists().where(Invoice.customer_id == customer_id))))


IN_USE_CHECKS.append(customer_has_invoices)


def has_invoices(session: DbSession, organization_id: int) -> bool:
    """The dashboard's last setup step: an invoice authorized."""
    query = exists().where(
        Invoice.organization_id == organization_id, Invoice.status == InvoiceStatus.AUTHORIZED
    )
    return bool(session.scalar(select(query)))


def note_from(
    session: DbSession,
    organization: Organization,
    original: Invoice,
    kind: VoucherKind,
    today: dt.date,
    actor: Actor,
    lines: list[Line] | None = None,
) -> Invoice:
    """A draft credit or debit note on `original` (its lines copied, to edit for a partial
    note, or `lines` instead), dated `today`, with CbtesAsoc pointing at it. Commits. A credit
    note is refused once the original is fully credited; the preflight keeps a partial one
    within what is left."""
    if original.status != InvoiceStatus.AUTHORIZED:
        raise Conflict(_("Una nota solo se emite sobre un comprobante autorizado."))
    if original.kind == str(VoucherKind.CREDIT_NOTE):
        raise Conflict(_("No se emite una nota sobre una nota de crédito."))
    if kind == VoucherKind.CREDIT_NOTE and original.total <= credited_so_far(session, original):
        raise Conflict(_("Ese comprobante ya está acreditado por completo."))
    draft = DraftInput(
        point_of_sale_id=original.point_of_sale_id,
        customer_id=original.customer_id,
        issue_date=today,
        lines=lines if lines is not None else [stored_line(line) for line in original.lines],
        kind=kind,
        concept=original.concept,
        service_from=original.service_from,
        service_to=original.service_to,
        payment_due=original.payment_due and max(original.payment_due, today),
        currency=original.currency,
        currency_rate=original.currency_rate,
        same_currency_payment=original.same_currency_payment,
        prices_include_vat=original.prices_include_vat,
        associated_invoice_id=original.id,
    )
    return save_draft(session, organization, draft, actor)


def stored_line(line: InvoiceLine) -> Line:
    """A saved line as `totals` takes it."""
    return Line(
        line.description, line.quantity, line.unit_price, line.discount_percent, vat_of(line.vat)
    )


def vat_of(stored: str) -> VatTreatment:
    """A line's stored VAT column ("5", "exempt") as `totals` takes it."""
    if stored in ("exempt", "untaxed"):
        return stored  # type: ignore[return-value]
    return int(stored)


@dataclass(frozen=True)
class CustomerSummary:
    invoices: list[Invoice]
    invoiced: Decimal  # in pesos: invoices and debit notes less credit notes, authorized only


def customer_summary(session: DbSession, organization_id: int, customer_id: int) -> CustomerSummary:
    """A customer's latest invoices and what has been invoiced to them (the customer page)."""
    query = select(Invoice).where(
        Invoice.organization_id == organization_id, Invoice.customer_id == customer_id
    )
    latest = list(
        session.scalars(query.order_by(Invoice.issue_date.desc(), Invoice.id.desc()).limit(20))
    )
    sign = case((Invoice.kind == str(VoucherKind.CREDIT_NOTE), -1), else_=1)
    invoiced = session.scalar(
        select(func.coalesce(func.sum(sign * Invoice.total * Invoice.currency_rate), 0)).where(
            Invoice.organization_id == organization_id,
            Invoice.customer_id == customer_id,
            Invoice.status == InvoiceStatus.AUTHORIZED,
        )
    )
    return CustomerSummary(latest, Decimal(invoiced or 0).quantize(Decimal("0.01")))


def arca_exchange_rate(
    session: DbSession, organization_id: int, gateway: ArcaGateway, currency: str
) -> Decimal:
    """ARCA's latest rate for `currency` (a read-only call). Raises `ArcaCallFailed`."""
    with arca_client(session, organization_id, gateway) as arca:
        rate, _day = ask_arca(lambda: arca.wsfe.exchange_rate(currency))
    return rate


def notes_on(session: DbSession, invoice: Invoice) -> list[Invoice]:
    """The credit and debit notes issued (or drafted) against `invoice`, oldest first."""
    query = select(Invoice).where(Invoice.associated_invoice_id == invoice.id).order_by(Invoice.id)
    return list(session.scalars(query))
