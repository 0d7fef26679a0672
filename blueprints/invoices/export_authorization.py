"""A Factura E (types 19/20/21) authorized through WSFEXv1, exactly once (NOTES §12.1).

The contract is `authorization`'s, for the export service: never inside an open database
transaction while ARCA is called; one authorization at a time per sequence (`sequence_lock`)
and, while a request `Id` is taken and used, one per organization (`request_id_lock`: ARCA's
`Id` is unique per CUIT across every sequence, so two export sequences sent at once could take
the same one); the number and the `Id` are reserved durably (invoice `authorizing` with its
`export_request_id` + a pending attempt, committed) before FEXAuthorize; ARCA's verdict is
recorded after it; an outcome that may have happened is settled by asking ARCA (FEXGetCMP) and
comparing its voucher with ours, never by sending again. A voucher sent again after ARCA was
found not to hold it gets a new `Id`, higher than any this organization sent.

Lock order, everywhere: the voucher's sequence, then the organization's request Id.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from arca import errors as arca_errors
from arca.wsfex import (
    EXPORT_INVOICE,
    AssociatedExport,
    ExportAuthorization,
    ExportItem,
    ExportPermit,
    ExportVoucher,
    WsfexClient,
)
from blueprints.certificates.connection import export_client
from blueprints.invoices.authorization import (
    InvoiceNotEditable,
    adopt,
    ask_arca,
    audit_outcomes,
    finish_adopted,
    invoice_event,
    issuer_cuit,
    last_attempt,
    messages,
    send_once,
    sequence_of,
    sequence_pending,
    settle_missing,
    settle_other,
    settle_unreachable,
    unsettled_ids,
    within_grace,
)
from blueprints.invoices.locks import Sequence, sequence_lock
from blueprints.invoices.models import (
    EDITABLE,
    AttemptOutcome,
    AuthorizationAttempt,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
)
from core.arca import ArcaGateway
from core.db import DbSession, utcnow
from core.events import emit, wake_events

UNITS = 7  # WSFEX's Pro_umed 7 "unidades" (arca.export_codes units): the editor's lines
CENT = Decimal("0.01")


def request_id_lock(organization_id: int) -> Sequence:
    """The organization's request-Id lock: a sequence no voucher has (ARCA numbers points of
    sale from 1), so it never collides with a real one's lock."""
    return Sequence(organization_id, 0, EXPORT_INVOICE)


def authorize_export(session: DbSession, invoice_id: int, gateway: ArcaGateway) -> Invoice:
    """`authorization.authorize_invoice` for a Factura E, through WSFEXv1: the same outcomes
    and the same errors (`InvoiceNotEditable`, `SequencePending`, `ArcaCallFailed`,
    `SequenceBusy`)."""
    invoice = session.get_one(Invoice, invoice_id)
    sequence = sequence_of(invoice)
    with sequence_lock(sequence), sequence_lock(request_id_lock(sequence.organization_id)):
        session.expire_all()  # whatever was read before the locks may be stale
        if session.get_one(Invoice, invoice_id).status == InvoiceStatus.AUTHORIZED:
            raise InvoiceNotEditable(_already())
        with export_client(session, sequence.organization_id, gateway) as arca:
            # Settled first: the invoice itself may be unsettled (a crash after reserving) and
            # come back a draft (ARCA never got it) to be sent now.
            unsettled = settle_export_sequence(session, sequence, arca.wsfex)
            if session.get_one(Invoice, invoice_id).status not in EDITABLE:
                session.commit()
                raise InvoiceNotEditable(_already())
            if unsettled:
                raise sequence_pending()
            wsfex = arca.wsfex
            last = ask_arca(lambda: wsfex.last_authorized(*_numbering(sequence))).number
            arca_last_id = ask_arca(wsfex.last_request_id)
            request_id = next_request_id(session, sequence.organization_id, arca_last_id)
            voucher, attempt_id = reserve_export(session, invoice_id, last + 1, request_id)
            _send(session, invoice_id, attempt_id, voucher, wsfex)
    session.expire_all()
    return session.get_one(Invoice, invoice_id)


def _already() -> str:
    return _("Este comprobante ya fue autorizado o se está autorizando.")


def _numbering(sequence: Sequence) -> tuple[int, int]:
    return sequence.point_of_sale, sequence.invoice_type


def next_request_id(session: DbSession, organization_id: int, arca_last: int) -> int:
    """The `Id` for the next FEXAuthorize: above ARCA's last (FEXGetLast_ID) and above every
    one this organization ever sent, so a request whose fate was settled without ARCA holding
    it (ARCA counts only authorized Ids) never shares its `Id` with the next one."""
    ours = session.scalar(
        select(func.max(Invoice.export_request_id)).where(
            Invoice.organization_id == organization_id
        )
    )
    session.commit()
    return max(arca_last, ours or 0) + 1


def reserve_export(
    session: DbSession, invoice_id: int, number: int, request_id: int
) -> tuple[ExportVoucher, int]:
    """The number and the request `Id`, durably: `authorizing` + a pending attempt,
    committed. Returns the voucher built before the commit (nothing read during the call)."""
    invoice = session.get_one(Invoice, invoice_id)
    invoice.status = InvoiceStatus.AUTHORIZING
    invoice.number = number
    invoice.export_request_id = request_id
    invoice.errors = []
    attempt = AuthorizationAttempt(invoice_id=invoice.id, number=number)
    session.add(attempt)
    session.flush()
    voucher = build_export_voucher(invoice, number, request_id)
    attempt_id = attempt.id
    session.commit()
    return voucher, attempt_id


def _send(
    session: DbSession,
    invoice_id: int,
    attempt_id: int,
    voucher: ExportVoucher,
    wsfex: WsfexClient,
) -> None:
    send_once(
        session,
        invoice_id,
        attempt_id,
        lambda: wsfex.authorize(voucher),
        record_export_answer,
        lambda: _settle_one(session, invoice_id, wsfex),
    )


def record_export_answer(
    session: DbSession, invoice_id: int, attempt_id: int, answer: ExportAuthorization
) -> None:
    """ARCA answered: approved, or rejected with its one error. Commits."""
    invoice = session.get_one(Invoice, invoice_id)
    attempt = session.get_one(AuthorizationAttempt, attempt_id)
    attempt.request_xml, attempt.response_xml = answer.raw_request_xml, answer.raw_response_xml
    attempt.finished_at = utcnow()
    if answer.approved and answer.cae:
        attempt.outcome = AttemptOutcome.APPROVED
        adopt(invoice, answer.cae, answer.cae_due, [])
        invoice.observations = _observations(answer.observations)
    else:
        attempt.outcome = AttemptOutcome.REJECTED
        reasons = [answer.error] if answer.error is not None else []
        invoice.status = InvoiceStatus.REJECTED
        invoice.number = None
        invoice.errors = messages(reasons)
        invoice.observations = _observations(answer.observations)
        attempt.detail = "; ".join(
            part for part in [*map(str, reasons), answer.observations] if part
        )
    task_id = emit(session, invoice.organization_id, *invoice_event(invoice))
    audit_outcomes(session, [invoice.id])
    session.commit()
    wake_events([task_id])


def _observations(text: str) -> list[dict[str, object]]:
    """WSFEX's `Motivos_Obs` is one free text, with no code."""
    return [{"code": None, "text": text}] if text.strip() else []


# --- settling what may have happened ------------------------------------------------------------


def settle_export_sequence(session: DbSession, sequence: Sequence, wsfex: WsfexClient) -> int:
    """`authorization.settle_sequence` through FEXGetCMP: every voucher of the sequence left
    `authorizing` or `unknown` settled; returns how many ARCA could not settle. Call with the
    sequence's lock and the request-Id lock held."""
    pending = unsettled_ids(session, sequence)
    for invoice_id in pending:
        _settle_one(session, invoice_id, wsfex)
    return len(unsettled_ids(session, sequence)) if pending else 0


def _settle_one(session: DbSession, invoice_id: int, wsfex: WsfexClient) -> None:
    """FEXGetCMP for the reserved number: ARCA has our voucher → adopt its CAE; nothing →
    release once the grace period is over; another voucher or no answer → `unknown`."""
    invoice = session.get_one(Invoice, invoice_id)
    number, sequence = invoice.number, sequence_of(invoice)
    if number is None:
        session.commit()
        return
    attempt = last_attempt(session, invoice_id)
    recent = within_grace(session, attempt)
    ours = build_export_voucher(invoice, number, invoice.export_request_id or 0)
    session.commit()
    try:
        stored = wsfex.consult(sequence.invoice_type, sequence.point_of_sale, number)
    except arca_errors.ArcaError as error:
        settle_unreachable(session, invoice_id, attempt, recent, error)
        return
    if stored is None:
        settle_missing(session, invoice_id, attempt, recent, number)
    elif stored.result == "A" and stored.cae and same_export_voucher(stored.voucher, ours):
        invoice = session.get_one(Invoice, invoice_id)
        adopt(invoice, stored.cae, stored.cae_due, [])
        invoice.observations = _observations(stored.observations)
        finish_adopted(session, invoice, attempt, "CAE found by FEXGetCMP")
    else:
        settle_other(session, invoice_id, attempt, number)


def reconcile_exports(session: DbSession, sequences: list[Sequence], gateway: ArcaGateway) -> int:
    """Settle the unsettled export vouchers of `sequences` (for `reconcile_pending`); returns
    how many were settled."""
    settled = 0
    for sequence in sorted(sequences, key=str):
        with (
            sequence_lock(sequence),
            sequence_lock(request_id_lock(sequence.organization_id)),
            export_client(session, sequence.organization_id, gateway) as arca,
        ):
            before = len(unsettled_ids(session, sequence))
            after = settle_export_sequence(session, sequence, arca.wsfex)
            settled += before - after
    return settled


def same_export_voucher(theirs: ExportVoucher, ours: ExportVoucher) -> bool:
    """ARCA's record is the voucher we sent (NOTES §12.1): the number, the receiver, the date,
    the currency, the total and every item. Not the request `Id`: a voucher found by verify may
    have been granted under an `Id` the app no longer holds."""
    return _essence(theirs) == _essence(ours)


def _essence(voucher: ExportVoucher) -> tuple[object, ...]:
    items = tuple(
        (item.description.strip(), item.quantity, item.unit_price, item.discount, item.total)
        for item in voucher.items
    )
    return (
        voucher.invoice_type,
        voucher.point_of_sale,
        voucher.number,
        voucher.date,
        voucher.destination_country,
        voucher.customer_country_cuit,
        voucher.customer_tax_id.strip(),
        voucher.currency,
        voucher.total,
        items,
    )


# --- the voucher ---------------------------------------------------------------------------------


def build_export_voucher(invoice: Invoice, number: int, request_id: int) -> ExportVoucher:
    """FEXAuthorize's `Cmp` from the stored invoice: its lines as items in units, its export
    data, the receiver's foreign CUIT (`Cuit_pais_cliente`) or else its tax id abroad."""
    foreign_cuit = int(invoice.receiver_country_cuit or 0)
    foreign = invoice.currency != "PES"
    return ExportVoucher(
        request_id=request_id,
        invoice_type=invoice.invoice_type,
        point_of_sale=invoice.point_of_sale_number,
        number=number,
        export_type=invoice.export_type or 0,
        destination_country=invoice.destination_country or 0,
        customer_name=invoice.receiver_name,
        customer_address=invoice.receiver_address or "",
        currency=invoice.currency,
        currency_rate=invoice.currency_rate if foreign else Decimal(1),
        total=invoice.total,
        items=[export_item(line) for line in invoice.lines],
        date=invoice.issue_date,
        language=invoice.language or 1,
        permit_existing=invoice.permit_existing,
        permits=[
            ExportPermit(str(p["permit_id"]), int(p["destination_country"]))
            for p in invoice.permits
        ],
        customer_country_cuit=foreign_cuit,
        customer_tax_id="" if foreign_cuit else (invoice.receiver_tax_id or ""),
        same_currency_quantity=invoice.same_currency_payment if foreign else None,
        associated=_associated(invoice),
        payment_terms=invoice.export_payment_terms or "",
        incoterms=invoice.incoterms or "",
        incoterms_description=invoice.incoterms_detail or "",
        payment_date=invoice.payment_due,
    )


def export_item(line: InvoiceLine) -> ExportItem:
    """A line as an `Item`: ARCA checks quantity × price − discount = total, so the discount
    is the gross amount (to cents) less the line's stored total, whatever its percentage."""
    gross = (line.quantity * line.unit_price).quantize(CENT, ROUND_HALF_EVEN)
    return ExportItem(
        description=line.description,
        quantity=line.quantity,
        unit=UNITS,
        unit_price=line.unit_price,
        discount=gross - line.total,
        total=line.total,
    )


def _associated(invoice: Invoice) -> list[AssociatedExport]:
    original = invoice.associated_invoice
    if original is None or original.number is None:
        return []
    return [
        AssociatedExport(
            invoice_type=original.invoice_type,
            point_of_sale=original.point_of_sale_number,
            number=original.number,
            cuit=int(issuer_cuit(invoice)),
        )
    ]
