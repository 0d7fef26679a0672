"""Getting a CAE, exactly once, whatever happens on the network (NOTES §12.1, §12.2).

The contract, for every function here: never inside an open database transaction while ARCA
is called; one authorization at a time per sequence (`locks.sequence_lock`); a number is
reserved durably (invoice `authorizing` + a pending attempt, committed) before FECAESolicitar;
the outcome is recorded after it; an outcome that may have happened is settled by asking ARCA
(FECompConsultar), never by sending again.

Export vouchers (Factura E, types 19/20/21) go through WSFEXv1 under the same contract:
`authorize_invoice` and `reconcile_pending` hand them to `export_authorization`. FCE MiPyME
vouchers (201-213) are WSFEv1 vouchers with their own "datos opcionales" (`arca.fce`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    ARRAY,
    JSON,
    Integer,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import object_session, selectinload

from arca import errors as arca_errors
from arca.codes import VoucherKind
from arca.errors import Message
from arca.fce import invoice_optionals, note_optionals
from arca.wsfe import (
    AssociatedVoucher,
    CaeRequest,
    CaeResponse,
    OptionalValue,
    StoredVoucher,
    TaxAmount,
    VatAmount,
    VoucherDetail,
    WsfeClient,
)
from blueprints.audit.services import build_event, record_events
from blueprints.certificates.connection import ArcaSession, arca_client, describe_arca_error
from blueprints.invoices.letters import is_export
from blueprints.invoices.locks import Sequence, sequence_lock
from blueprints.invoices.models import (
    EDITABLE,
    AttemptOutcome,
    AuthorizationAttempt,
    Invoice,
    InvoiceStatus,
)
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.services import ArcaCallFailed
from blueprints.webhooks.payloads import invoice_payload
from core.arca import ArcaGateway
from core.db import DbSession, utcnow
from core.errors import Conflict, ValidationFailed
from core.events import emit, emit_once, emit_rows, wake_events

log = logging.getLogger(__name__)
T = TypeVar("T")

UNSETTLED = (InvoiceStatus.AUTHORIZING, InvoiceStatus.UNKNOWN)
NUMBERING = 10016  # "not the next number" (or an earlier date): the voucher itself is fine


class SequencePending(Conflict):
    """A voucher of the same sequence is still unsettled: no new number until it is."""


class InvoiceNotEditable(Conflict):
    """The invoice is authorized, or being authorized: it cannot be sent again."""


def sequence_of(invoice: Invoice) -> Sequence:
    return Sequence(invoice.organization_id, invoice.point_of_sale_number, invoice.invoice_type)


def authorize_invoice(session: DbSession, invoice_id: int, gateway: ArcaGateway) -> Invoice:
    """Ask ARCA for the invoice's CAE; returns it in its final state for this attempt.

    Approved: `authorized`. Rejected: `rejected` with ARCA's reasons, number released.
    Outcome unknown: settled at once if ARCA can say (authorized, or back to `draft`: safe to
    retry), else left `unknown` for `reconcile_pending`. Raises `InvoiceNotEditable` unless the
    invoice is a draft or rejected, `ArcaCallFailed` when ARCA could not be reached before
    anything was sent (the invoice is as it was), `SequenceBusy` when the sequence stays locked,
    `ValidationFailed` for an FCE invoice ARCA would refuse for want of its CBU (nothing sent).
    A Factura E goes through WSFEXv1 (`export_authorization.authorize_export`), same contract.
    """
    invoice = session.get_one(Invoice, invoice_id)
    if invoice.status in EDITABLE and (problem := fce_problem(invoice)) is not None:
        session.commit()
        raise ValidationFailed(problem, field="fce")
    if invoice.is_export:
        # Imported here: export_authorization builds on this module's helpers.
        from blueprints.invoices.export_authorization import authorize_export

        return authorize_export(session, invoice_id, gateway)
    sequence = sequence_of(invoice)
    with sequence_lock(sequence):
        session.expire_all()  # whatever was read before the lock may be stale
        if session.get_one(Invoice, invoice_id).status == InvoiceStatus.AUTHORIZED:
            raise InvoiceNotEditable(_("Este comprobante ya fue autorizado o se está autorizando."))
        with arca_client(session, sequence.organization_id, gateway) as arca:
            # Settled first: the invoice itself may be unsettled (a request resumed after a
            # crash), and may come back a draft (ARCA never got it) to be sent now.
            unsettled = settle_sequence(session, sequence, arca.wsfe)
            if session.get_one(Invoice, invoice_id).status not in EDITABLE:
                session.commit()
                raise InvoiceNotEditable(
                    _("Este comprobante ya fue autorizado o se está autorizando.")
                )
            if unsettled:
                raise sequence_pending()
            last = ask_arca(lambda: arca.wsfe.last_authorized(*_numbering(sequence)))
            request, attempt_id = reserve(session, invoice_id, last + 1)
            _send(session, invoice_id, attempt_id, request, arca.wsfe)
    session.expire_all()
    return session.get_one(Invoice, invoice_id)


def sequence_pending() -> SequencePending:
    """NOTES §12.1: never a new number while one of the sequence is unsettled."""
    return SequencePending(
        _(
            "Hay un comprobante de este punto de venta y tipo sin confirmar: ARCA no "
            "respondió si lo recibió. Lo volvemos a consultar; probá en unos minutos."
        )
    )


def fce_problem(invoice: Invoice) -> str | None:
    """Why an FCE invoice cannot be sent as it stands (None: it can): without a CBU of 22
    digits ARCA refuses it (10168/10165), and it would carry a CBU the buyer cannot pay into.
    For the preflight too."""
    if not invoice.is_fce or invoice.kind != VoucherKind.INVOICE:
        return None
    cbu = invoice.fce_cbu or ""
    if len(cbu) != 22 or not cbu.isdigit():
        return _(
            "Una Factura de Crédito Electrónica MiPyME lleva el CBU donde te pagan: cargalo "
            "en los datos de la organización (22 dígitos) y guardá el comprobante de nuevo."
        )
    return None


def _numbering(sequence: Sequence) -> tuple[int, int]:
    return sequence.point_of_sale, sequence.invoice_type


def reserve(session: DbSession, invoice_id: int, number: int) -> tuple[CaeRequest, int]:
    """The number, durably: `authorizing` + a pending attempt, committed. Returns the request
    built *before* the commit, so nothing reads the database (and opens a transaction) while
    ARCA is called."""
    invoice = session.get_one(Invoice, invoice_id)
    invoice.status = InvoiceStatus.AUTHORIZING
    invoice.number = number
    invoice.errors = []
    attempt = AuthorizationAttempt(invoice_id=invoice.id, number=number)
    session.add(attempt)
    session.flush()
    request = build_request(invoice, number)
    attempt_id = attempt.id
    session.commit()
    return request, attempt_id


def _send(
    session: DbSession, invoice_id: int, attempt_id: int, request: CaeRequest, wsfe: WsfeClient
) -> None:
    send_once(
        session,
        invoice_id,
        attempt_id,
        lambda: wsfe.authorize(request),
        record_response,
        lambda: _settle_one(session, invoice_id, wsfe),
    )


def send_once(
    session: DbSession,
    invoice_id: int,
    attempt_id: int,
    call: Callable[[], T],
    record: Callable[[DbSession, int, int, T], None],
    settle: Callable[[], None],
) -> None:
    """The send step of the contract, whichever service `call` asks (FECAESolicitar,
    FEXAuthorize), with the number already reserved: ARCA's answer is `record`ed; a lost one
    is recorded as unknown and `settle`d by asking ARCA; anything else (a SoapFault, ARCA
    unreachable, no ticket from WSAA) means certainly not processed: the number goes back, the
    draft stays as it was, and `ArcaCallFailed` says why."""
    try:
        answer = call()
    except arca_errors.OutcomeUnknown as error:
        record_unknown(session, invoice_id, attempt_id, error)
        settle()
        return
    except arca_errors.ArcaError as error:
        message = describe_arca_error(error)
        release(session, invoice_id, attempt_id, AttemptOutcome.NOT_SENT, str(error), message)
        raise ArcaCallFailed(message) from error
    record(session, invoice_id, attempt_id, answer)


def record_response(
    session: DbSession, invoice_id: int, attempt_id: int, response: CaeResponse
) -> None:
    """ARCA answered: approved or rejected (with its reasons). Commits."""
    invoice = session.get_one(Invoice, invoice_id)
    attempt = session.get_one(AuthorizationAttempt, attempt_id)
    attempt.request_xml, attempt.response_xml = response.raw_request_xml, response.raw_response_xml
    attempt.finished_at = utcnow()
    detail = response.details[0] if response.details else None
    if response.approved and detail is not None and detail.cae:
        attempt.outcome = AttemptOutcome.APPROVED
        adopt(invoice, detail.cae, detail.cae_due, detail.observations)
    else:
        attempt.outcome = AttemptOutcome.REJECTED
        observations = detail.observations if detail else []
        invoice.status = InvoiceStatus.REJECTED
        invoice.number = None
        invoice.errors = messages(response.errors)
        invoice.observations = messages(observations)
        attempt.detail = "; ".join(str(m) for m in [*response.errors, *observations])
    task_id = emit(session, invoice.organization_id, *invoice_event(invoice))
    audit_outcomes(session, [invoice.id])
    session.commit()
    wake_events([task_id])


def audit_outcomes(session: DbSession, invoice_ids: list[int]) -> None:
    """`invoice.authorized` (number, CAE, kind, total) or `invoice.rejected` (ARCA's codes)
    for each settled invoice, in the transaction that settles it (one SELECT for a batch)."""
    session.flush()
    columns = (Invoice.id, Invoice.organization_id, Invoice.status, Invoice.kind)
    extra = (Invoice.point_of_sale_number, Invoice.number, Invoice.cae, Invoice.total)
    query = select(*columns, *extra, Invoice.errors, Invoice.observations)
    events = []
    for row in session.execute(query.where(Invoice.id.in_(invoice_ids)).order_by(Invoice.id)):
        details: dict[str, object] = {"kind": row.kind, "point_of_sale": row.point_of_sale_number}
        if row.status == InvoiceStatus.AUTHORIZED:
            details.update(number=row.number, cae=row.cae, total=str(row.total))
            action = "invoice.authorized"
        else:
            found = [*(row.errors or []), *(row.observations or [])]
            details["codes"] = [item.get("code") for item in found if isinstance(item, dict)]
            action = "invoice.rejected"
        subject = ("invoice", row.id)
        events.append(build_event(row.organization_id, action, None, subject, details))
    record_events(session, events)


def invoice_event(invoice: Invoice) -> tuple[str, dict[str, object]]:
    """The event of an invoice ARCA answered for: (type, payload)."""
    if invoice.status == InvoiceStatus.AUTHORIZED:
        payload = invoice_payload(
            invoice.id,
            "authorized",
            number=invoice.number,
            cae=invoice.cae,
            cae_due=invoice.cae_due,
        )
        return "invoice.authorized", payload
    return "invoice.rejected", invoice_payload(invoice.id, "rejected", errors=invoice.errors)


# --- settling what may have happened ------------------------------------------------------------


def settle_sequence(session: DbSession, sequence: Sequence, wsfe: WsfeClient) -> int:
    """Settle every invoice of the sequence left `authorizing` or `unknown` (a crash, a lost
    answer) before a new number is taken; returns how many are still unsettled (ARCA could
    not say). Call with the sequence's lock held."""
    pending = unsettled_ids(session, sequence)
    for invoice_id in pending:
        _settle_one(session, invoice_id, wsfe)
    return _unsettled_count(session, sequence) if pending else 0


def _settle_one(session: DbSession, invoice_id: int, wsfe: WsfeClient) -> None:
    """FECompConsultar for the reserved number: ARCA has our voucher → adopt its CAE; ARCA has
    nothing → release (safe to send again); ARCA unreachable → leave it `unknown`."""
    invoice = session.get_one(Invoice, invoice_id)
    number, sequence = invoice.number, sequence_of(invoice)
    if number is None:
        session.commit()
        return
    attempt = last_attempt(session, invoice_id)
    recent = within_grace(session, attempt)
    ours = build_request(invoice, number).details[0]
    session.commit()
    try:
        stored = wsfe.consult(sequence.point_of_sale, sequence.invoice_type, number)
    except arca_errors.ArcaError as error:
        settle_unreachable(session, invoice_id, attempt, recent, error)
        return
    if stored is None:
        settle_missing(session, invoice_id, attempt, recent, number)
    elif stored.result == "A" and stored.authorization_code and same_voucher(stored, ours):
        _adopt_stored(session, invoice_id, attempt, stored)
    else:
        settle_other(session, invoice_id, attempt, number)


def settle_unreachable(
    session: DbSession,
    invoice_id: int,
    attempt: int | None,
    recent: bool,
    error: arca_errors.ArcaError,
) -> None:
    """ARCA could not be asked about the reserved number: left `unknown` (a person is told
    once the grace period is over)."""
    log.warning("invoice %s: ARCA could not be asked: %s", invoice_id, error)
    _mark_unknown(session, invoice_id, describe_arca_error(error), None if recent else attempt)


def settle_missing(
    session: DbSession, invoice_id: int, attempt: int | None, recent: bool, number: int
) -> None:
    """ARCA has no voucher under the reserved number: released once the grace period is over."""
    if recent:
        # A request that timed out may still be processed by ARCA after we asked: "not there"
        # counts only once the grace period has passed, else the number could be reused.
        _mark_unknown(
            session,
            invoice_id,
            _(
                "ARCA todavía no lo registra: lo volvemos a consultar en un momento, antes "
                "de enviarlo de nuevo."
            ),
        )
        return
    release(
        session,
        invoice_id,
        attempt,
        AttemptOutcome.RECONCILED,
        "ARCA has no such voucher",
        _(
            "ARCA nunca recibió el envío del número %(number)s: no lo autorizó y el número "
            "quedó libre. Podés enviarlo de nuevo.",
            number=number,
        ),
    )


def settle_other(session: DbSession, invoice_id: int, attempt: int | None, number: int) -> None:
    """ARCA holds a *different* voucher under our number: never adopt it, never resend."""
    _mark_unknown(
        session,
        invoice_id,
        _(
            "ARCA tiene registrado otro comprobante con el número %(number)s: "
            "revisalo con tu contador.",
            number=number,
        ),
        attempt or 0,
    )


def reconcile_pending(session: DbSession, organization_id: int | None, gateway: ArcaGateway) -> int:
    """Settle every `authorizing`/`unknown` invoice (of one organization, or all). For the
    periodic job and `flask --app app invoices reconcile`. Returns how many were settled.
    Export vouchers are settled through WSFEXv1 (`export_authorization.reconcile_exports`)."""
    from blueprints.invoices.export_authorization import reconcile_exports

    query = select(
        Invoice.organization_id, Invoice.point_of_sale_number, Invoice.invoice_type
    ).where(Invoice.status.in_(UNSETTLED))
    if organization_id is not None:
        query = query.where(Invoice.organization_id == organization_id)
    sequences = {Sequence(*row) for row in session.execute(query.distinct())}
    session.commit()
    settled = reconcile_exports(
        session, [s for s in sequences if is_export(s.invoice_type)], gateway
    )
    sequences = {s for s in sequences if not is_export(s.invoice_type)}
    for sequence in sorted(sequences, key=str):
        with (
            sequence_lock(sequence),
            arca_client(session, sequence.organization_id, gateway) as arca,
        ):
            before = _unsettled_count(session, sequence)
            settle_sequence(session, sequence, arca.wsfe)
            settled += before - _unsettled_count(session, sequence)
    return settled


def unsettled_ids(session: DbSession, sequence: Sequence) -> list[int]:
    """The sequence's invoices left `authorizing` or `unknown` (the read's transaction ended)."""
    ids = session.scalars(
        select(Invoice.id).where(
            Invoice.organization_id == sequence.organization_id,
            Invoice.point_of_sale_number == sequence.point_of_sale,
            Invoice.invoice_type == sequence.invoice_type,
            Invoice.status.in_(UNSETTLED),
        )
    ).all()
    session.commit()
    return list(ids)


def _unsettled_count(session: DbSession, sequence: Sequence) -> int:
    return len(unsettled_ids(session, sequence))


def same_voucher(stored: StoredVoucher, ours: VoucherDetail) -> bool:
    """ARCA's record is the voucher we sent (NOTES §12.1): receiver, date, amounts, currency."""
    theirs = stored.detail
    return (
        theirs.doc_type == ours.doc_type
        and theirs.doc_number == ours.doc_number
        and theirs.date == ours.date
        and theirs.concept == ours.concept
        and theirs.currency == ours.currency
        and all(
            getattr(theirs, name) == getattr(ours, name)
            for name in ("total", "net", "untaxed", "exempt", "vat_total", "other_taxes_total")
        )
    )


# --- state changes -------------------------------------------------------------------------------


def adopt(
    invoice: Invoice, cae: str, cae_due: dt.date | None, observations: Iterable[Message]
) -> None:
    invoice.status = InvoiceStatus.AUTHORIZED
    invoice.cae, invoice.cae_due = cae, cae_due
    invoice.authorized_at = utcnow()
    invoice.observations = messages(observations)
    invoice.errors = []


def _adopt_stored(
    session: DbSession, invoice_id: int, attempt_id: int | None, stored: StoredVoucher
) -> None:
    invoice = session.get_one(Invoice, invoice_id)
    adopt(invoice, stored.authorization_code or "", stored.due_date, stored.observations)
    finish_adopted(session, invoice, attempt_id, "CAE found by FECompConsultar")


def finish_adopted(
    session: DbSession, invoice: Invoice, attempt_id: int | None, detail: str
) -> None:
    """After `adopt` of a CAE ARCA was found to hold: the attempt reconciled, the event and
    the audit written, committed."""
    _finish_attempt(session, attempt_id, AttemptOutcome.RECONCILED, detail)
    task_id = emit(session, invoice.organization_id, *invoice_event(invoice))
    audit_outcomes(session, [invoice.id])
    session.commit()
    wake_events([task_id])


def release(
    session: DbSession,
    invoice_id: int,
    attempt_id: int | None,
    outcome: AttemptOutcome,
    why: str,
    user_message: str | None = None,
) -> None:
    invoice = session.get_one(Invoice, invoice_id)
    invoice.status = InvoiceStatus.DRAFT
    invoice.number = None
    invoice.errors = [{"code": None, "text": user_message}] if user_message else []
    _finish_attempt(session, attempt_id, outcome, why)
    session.commit()


def record_unknown(
    session: DbSession, invoice_id: int, attempt_id: int, error: arca_errors.OutcomeUnknown
) -> None:
    attempt = session.get_one(AuthorizationAttempt, attempt_id)
    attempt.request_xml = error.raw_request_xml or None
    _finish_attempt(session, attempt_id, AttemptOutcome.UNKNOWN, str(error))
    session.get_one(Invoice, invoice_id).status = InvoiceStatus.UNKNOWN
    session.commit()


def _mark_unknown(
    session: DbSession, invoice_id: int, why: str, attention: int | None = None
) -> None:
    """Leave the invoice `unknown`. `attention` (the attempt's id) when a person must look: the
    grace period is over and ARCA still can't say, or holds another voucher — an
    "invoice.needs_attention" event, once per attempt however often this runs."""
    invoice = session.get_one(Invoice, invoice_id)
    invoice.status = InvoiceStatus.UNKNOWN
    invoice.errors = [{"code": None, "text": why}]
    task_id = None
    if attention is not None:
        payload = invoice_payload(
            invoice.id, "unknown", number=invoice.number, errors=invoice.errors
        )
        task_id = emit_once(
            session,
            invoice.organization_id,
            "invoice.needs_attention",
            payload,
            key=f"invoice.needs_attention:{invoice.id}:{attention}",
        )
    session.commit()
    wake_events([task_id])


def _finish_attempt(
    session: DbSession, attempt_id: int | None, outcome: AttemptOutcome, detail: str
) -> None:
    if attempt_id is None:
        return
    attempt = session.get_one(AuthorizationAttempt, attempt_id)
    attempt.outcome, attempt.detail, attempt.finished_at = outcome, detail, utcnow()


def within_grace(session: DbSession, attempt_id: int | None) -> bool:
    """Whether the attempt started less than `ARCA_UNKNOWN_GRACE_SECONDS` ago."""
    grace = dt.timedelta(seconds=float(current_app.config["ARCA_UNKNOWN_GRACE_SECONDS"]))
    if attempt_id is None or not grace:
        return False
    started = session.get_one(AuthorizationAttempt, attempt_id).started_at
    return utcnow() - started < grace


def last_attempt(session: DbSession, invoice_id: int) -> int | None:
    return session.scalar(
        select(AuthorizationAttempt.id)
        .where(AuthorizationAttempt.invoice_id == invoice_id)
        .order_by(AuthorizationAttempt.id.desc())
        .limit(1)
    )


def messages(items: Iterable[Message]) -> list[dict[str, object]]:
    return [{"code": item.code, "text": item.text} for item in items]


def ask_arca(call: Callable[[], T]) -> T:
    """A read-only ARCA call (nothing changes at ARCA): any `ArcaError` becomes `ArcaCallFailed`
    with the user's words, as for every call around an authorization."""
    try:
        return call()
    except arca_errors.ArcaError as error:
        raise ArcaCallFailed(describe_arca_error(error)) from error


# --- the request ---------------------------------------------------------------------------------


def build_request(invoice: Invoice, number: int) -> CaeRequest:
    """FECAESolicitar for one voucher, from the stored invoice (amounts already ARCA's). An FCE
    invoice carries its CBU, alias and transfer option and its FchVtoPago; an FCE note, optional
    22 and its original with the issuer's CUIT and date (`arca.fce`)."""
    services = invoice.concept in (2, 3)
    fce_invoice = invoice.is_fce and invoice.kind == VoucherKind.INVOICE
    foreign = invoice.currency != "PES"
    detail = VoucherDetail(
        concept=invoice.concept,
        doc_type=invoice.receiver_doc_type,
        doc_number=int("".join(ch for ch in invoice.receiver_doc_number if ch.isdigit()) or 0),
        number_from=number,
        number_to=number,
        date=invoice.issue_date,
        total=invoice.total,
        untaxed=invoice.untaxed,
        net=invoice.net,
        exempt=invoice.exempt,
        vat_total=invoice.vat_total,
        other_taxes_total=invoice.other_taxes_total,
        service_from=invoice.service_from if services else None,
        service_to=invoice.service_to if services else None,
        payment_due=invoice.payment_due if services or fce_invoice else None,
        currency=invoice.currency,
        currency_rate=invoice.currency_rate if foreign else Decimal(1),
        same_currency_quantity=invoice.same_currency_payment if foreign else None,
        receiver_iva_condition=invoice.receiver_condition,
        vat=[VatAmount(row.rate_id, row.base, row.amount) for row in invoice.vat_rows],
        taxes=[
            TaxAmount(row.tax_id, row.base, row.rate, row.amount, row.description)
            for row in invoice.tax_rows
        ],
        associated=_associated(invoice),
        optionals=_fce_optionals(invoice),
    )
    return CaeRequest(invoice.point_of_sale_number, invoice.invoice_type, [detail])


def _associated(invoice: Invoice) -> list[AssociatedVoucher]:
    original = invoice.associated_invoice
    if original is None or original.number is None:
        return []
    return [
        AssociatedVoucher(
            invoice_type=original.invoice_type,
            point_of_sale=original.point_of_sale_number,
            number=original.number,
            # An FCE note names its original's issuer (10151/10155): the organization itself.
            cuit=issuer_cuit(invoice) if invoice.is_fce else None,
            date=original.issue_date,
        )
    ]


def _fce_optionals(invoice: Invoice) -> list[OptionalValue]:
    """FCE only: the invoice's CBU/alias/transfer, or a note's 22 (S/N); [] otherwise. An FCE
    invoice without a valid CBU is stopped before (`fce_problem`): none is sent then."""
    if not invoice.is_fce:
        return []
    if invoice.kind != VoucherKind.INVOICE:
        return note_optionals(bool(invoice.fce_cancels_rejected))
    if fce_problem(invoice) is not None:
        return []
    return invoice_optionals(
        invoice.fce_cbu or "", invoice.fce_transfer or "SCA", invoice.fce_alias
    )


def issuer_cuit(invoice: Invoice) -> str:
    """The CUIT of the invoice's organization (its issuer), read through the invoice's session."""
    session = object_session(invoice)
    if session is None:
        raise ValueError(f"invoice {invoice.id} is detached: its issuer cannot be read")
    return session.get_one(Organization, invoice.organization_id).cuit


# --- several vouchers in one FECAESolicitar -------------------------------------------------------


@dataclass
class BatchOutcome:
    authorized: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)  # released: only their numbering failed
    unknown: list[int] = field(default_factory=list)


def authorize_batch(
    session: DbSession,
    invoice_ids: list[int],
    gateway: ArcaGateway,
    sequence: Sequence | None = None,
    arca: ArcaSession | None = None,
) -> BatchOutcome:
    """Authorize drafts of ONE sequence in a single FECAESolicitar (CantReg = len), with the
    same contract as `authorize_invoice`, per voucher: numbers reserved in order and committed
    before the call; each detail's verdict recorded; a voucher refused only because an earlier
    one of the batch was (10016) is released for a later batch; a lost answer is settled by
    FECompConsultar voucher by voucher. Invoices no longer editable are skipped. A caller
    sending several batches (bulk) passes their `sequence` and its open `arca` session."""
    sequence = sequence or sequence_of(session.get_one(Invoice, invoice_ids[0]))
    with sequence_lock(sequence):
        session.expire_all()
        if arca is not None:
            return _send_batch(session, invoice_ids, sequence, arca)
        with arca_client(session, sequence.organization_id, gateway) as opened:
            return _send_batch(session, invoice_ids, sequence, opened)


def _send_batch(
    session: DbSession, invoice_ids: list[int], sequence: Sequence, arca: ArcaSession
) -> BatchOutcome:
    outcome = BatchOutcome()
    # Settled first: a resumed job's own vouchers may be unsettled, and those ARCA never got
    # come back as drafts to send now.
    unsettled = settle_sequence(session, sequence, arca.wsfe)
    # Still drafts once the lock is held (one statement for the whole batch).
    editable = set(
        session.scalars(
            select(Invoice.id).where(Invoice.id.in_(invoice_ids), Invoice.status.in_(EDITABLE))
        )
    )
    ids = [i for i in invoice_ids if i in editable]
    if not ids:
        session.commit()
        return outcome
    if unsettled:
        session.commit()
        outcome.retry = ids
        return outcome
    last = ask_arca(lambda: arca.wsfe.last_authorized(*_numbering(sequence)))
    request, attempts = reserve_batch(session, ids, last + 1)
    try:
        response = arca.wsfe.authorize(request)
    except arca_errors.OutcomeUnknown as error:
        for invoice_id, attempt_id in zip(ids, attempts, strict=True):
            record_unknown(session, invoice_id, attempt_id, error)
            _settle_one(session, invoice_id, arca.wsfe)
        return _tally(session, ids, outcome)
    except arca_errors.ArcaError as error:
        # Anything but OutcomeUnknown means FECAESolicitar was certainly not processed
        # (`arca.errors`: a SoapFault, ARCA unreachable, no ticket): numbers go back.
        message = describe_arca_error(error)
        for invoice_id, attempt_id in zip(ids, attempts, strict=True):
            release(session, invoice_id, attempt_id, AttemptOutcome.NOT_SENT, str(error), message)
        raise ArcaCallFailed(message) from error
    record_batch(session, request, ids, attempts, response, outcome)
    return outcome


def reserve_batch(
    session: DbSession, invoice_ids: list[int], first_number: int
) -> tuple[CaeRequest, list[int]]:
    """Consecutive numbers for the invoices, in order, committed; the request built before.

    Set-based, whatever the batch's size: one SELECT of the invoices (their VAT and tax rows
    and associated voucher loaded by `selectinload`), one UPDATE (`_number_invoices`) and one
    INSERT of the attempts RETURNING their ids, one commit."""
    loaded = session.scalars(
        select(Invoice)
        .where(Invoice.id.in_(invoice_ids))
        .options(
            selectinload(Invoice.vat_rows),
            selectinload(Invoice.tax_rows),
            selectinload(Invoice.associated_invoice),
        )
    ).all()
    invoices = {invoice.id: invoice for invoice in loaded}
    if missing := [i for i in invoice_ids if i not in invoices]:
        raise NoResultFound(f"no invoices {missing}")
    numbers = [first_number + offset for offset in range(len(invoice_ids))]
    details = [
        build_request(invoices[invoice_id], number).details[0]
        for invoice_id, number in zip(invoice_ids, numbers, strict=True)
    ]
    first = invoices[invoice_ids[0]]
    request = CaeRequest(first.point_of_sale_number, first.invoice_type, details)
    _number_invoices(session, invoice_ids, first_number)
    attempts = AuthorizationAttempt.__table__
    started = utcnow()
    rows = session.execute(
        insert(attempts).returning(attempts.c.invoice_id, attempts.c.id),
        [
            {"invoice_id": invoice_id, "number": number, "started_at": started}
            for invoice_id, number in zip(invoice_ids, numbers, strict=True)
        ],
    )
    attempt_of: dict[int, int] = {row.invoice_id: row.id for row in rows}
    attempt_ids = [attempt_of[invoice_id] for invoice_id in invoice_ids]
    session.commit()
    return request, attempt_ids


def record_batch(
    session: DbSession,
    request: CaeRequest,
    invoice_ids: list[int],
    attempt_ids: list[int],
    response: CaeResponse,
    outcome: BatchOutcome,
) -> None:
    """Each voucher's verdict, in one commit (`request` as `reserve_batch` built it, in the
    order of `invoice_ids`: it holds their numbers).

    Set-based: an UPDATE per kind of verdict (authorized, rejected, numbering only: back to
    draft; `_update_rows`) and two for the attempts: each one's outcome, and the exchange
    (request and response XML, the whole batch's) on the batch's first attempt only, not
    copied into all of them (250 copies of some 260 kB each cost more than the rest of the
    batch). The batch's attempts share their `started_at`."""
    verdicts = {detail.number: detail for detail in response.details}
    number_of = {
        invoice_id: detail.number_from
        for invoice_id, detail in zip(invoice_ids, request.details, strict=True)
    }
    now = utcnow()
    approved: list[dict[str, object]] = []
    rejected: list[dict[str, object]] = []
    retry: list[dict[str, object]] = []
    attempt_rows: list[dict[str, object]] = []
    for invoice_id, attempt_id in zip(invoice_ids, attempt_ids, strict=True):
        detail = verdicts.get(number_of[invoice_id] or 0)
        if detail is not None and detail.result == "A" and detail.cae:
            approved.append(
                {
                    "row_id": invoice_id,
                    "cae": detail.cae,
                    "cae_due": detail.cae_due,
                    "observations": messages(detail.observations),
                }
            )
            attempt_rows.append(
                {"row_id": attempt_id, "outcome": AttemptOutcome.APPROVED, "detail": None}
            )
            outcome.authorized.append(invoice_id)
            continue
        reasons = [*response.errors, *(detail.observations if detail else [])]
        attempt_rows.append(
            {
                "row_id": attempt_id,
                "outcome": AttemptOutcome.REJECTED,
                "detail": "; ".join(str(reason) for reason in reasons),
            }
        )
        if reasons and all(reason.code == NUMBERING for reason in reasons):
            retry.append({"row_id": invoice_id})  # an earlier voucher of the batch failed
            outcome.retry.append(invoice_id)
        else:
            rejected.append(
                {
                    "row_id": invoice_id,
                    "errors": messages(response.errors),
                    "observations": messages(detail.observations if detail else []),
                }
            )
            outcome.rejected.append(invoice_id)
    authorized = {"status": InvoiceStatus.AUTHORIZED, "errors": [], "authorized_at": now}
    _update_invoices(session, authorized, approved)
    _update_invoices(session, {"status": InvoiceStatus.REJECTED, "number": None}, rejected)
    _update_invoices(session, {"status": InvoiceStatus.DRAFT, "number": None}, retry)
    attempts = AuthorizationAttempt.__table__
    session.execute(
        update(attempts)
        .where(attempts.c.id == attempt_ids[0])
        .values(request_xml=response.raw_request_xml, response_xml=response.raw_response_xml)
    )
    _update_rows(session, attempts, {"finished_at": now}, attempt_rows)
    task_ids = _emit_batch(session, invoice_ids[0], approved, rejected, number_of)
    audit_outcomes(session, [int(str(row["row_id"])) for row in [*approved, *rejected]])
    session.commit()
    wake_events(task_ids)


def _emit_batch(
    session: DbSession,
    any_invoice_id: int,
    approved: list[dict[str, object]],
    rejected: list[dict[str, object]],
    number_of: dict[int, int],
) -> list[int | None]:
    """A batch's events in the batch's transaction, set-based: one INSERT for all of them and
    one fan-out request (the organization read by a subquery, not a SELECT of its own)."""
    organization_id = (
        select(Invoice.organization_id).where(Invoice.id == any_invoice_id).scalar_subquery()
    )
    rows: list[tuple[str, dict[str, object]]] = [
        (
            "invoice.authorized",
            invoice_payload(
                int(str(row["row_id"])),
                "authorized",
                number=number_of.get(int(str(row["row_id"]))),
                cae=str(row["cae"]),
                cae_due=row["cae_due"],  # type: ignore[arg-type]
            ),
        )
        for row in approved
    ]
    rows += [
        (
            "invoice.rejected",
            invoice_payload(int(str(row["row_id"])), "rejected", errors=row["errors"]),  # type: ignore[arg-type]
        )
        for row in rejected
    ]
    return [emit_rows(session, organization_id, rows)]


def _tally(session: DbSession, invoice_ids: list[int], outcome: BatchOutcome) -> BatchOutcome:
    status_of = {
        invoice_id: status
        for invoice_id, status in session.execute(
            select(Invoice.id, Invoice.status).where(Invoice.id.in_(invoice_ids))
        )
    }
    for invoice_id in invoice_ids:
        status = status_of[invoice_id]
        if status == InvoiceStatus.AUTHORIZED:
            outcome.authorized.append(invoice_id)
        elif status in UNSETTLED:
            outcome.unknown.append(invoice_id)
        else:
            outcome.retry.append(invoice_id)
    session.commit()
    return outcome


def _number_invoices(session: DbSession, invoice_ids: list[int], first_number: int) -> None:
    """`authorizing`, numbered from `first_number` in the order of `invoice_ids`: on PostgreSQL
    one UPDATE for the whole batch (each number from the id's place in the array), else one
    UPDATE per row (an executemany)."""
    if session.get_bind().dialect.name != "postgresql":
        rows: list[dict[str, object]] = [
            {"row_id": invoice_id, "number": first_number + offset}
            for offset, invoice_id in enumerate(invoice_ids)
        ]
        _update_invoices(session, {"status": InvoiceStatus.AUTHORIZING, "errors": []}, rows)
        return
    ids = cast(invoice_ids, ARRAY(Integer))
    session.execute(
        update(Invoice)
        .where(Invoice.id == any_(ids))
        .values(
            status=InvoiceStatus.AUTHORIZING,
            errors=[],
            updated_at=utcnow(),
            number=first_number - 1 + func.array_position(ids, Invoice.id),
        )
    )


def _update_invoices(
    session: DbSession, same: dict[str, object], rows: list[dict[str, object]]
) -> None:
    _update_rows(session, Invoice.__table__, same, rows)


def _update_rows(
    session: DbSession, table: Table, same: dict[str, object], rows: list[dict[str, object]]
) -> None:
    """One UPDATE for many rows: `same` for every row, each row's own values (the keys of its
    dict, all rows alike) and its id under `row_id`. Nothing when no rows. On PostgreSQL one
    statement joined to the rows' values as arrays (`unnest`), else an executemany."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        _update_from_arrays(session, table, same, rows)
        return
    own: dict[str, object] = {
        name: bindparam(f"new_{name}") for name in rows[0] if name != "row_id"
    }
    statement = update(table).where(table.c.id == bindparam("row_id")).values({**same, **own})
    session.execute(
        statement,
        [
            {key if key == "row_id" else f"new_{key}": value for key, value in row.items()}
            for row in rows
        ],
    )


def _update_from_arrays(
    session: DbSession, table: Table, same: dict[str, object], rows: list[dict[str, object]]
) -> None:
    """UPDATE … FROM (SELECT unnest(ids), unnest(values)…): a handful of array parameters
    instead of a statement per row (JSON values travel as text and are cast back)."""
    names = [name for name in rows[0] if name != "row_id"]
    columns = [func.unnest(cast([row["row_id"] for row in rows], ARRAY(Integer))).label("row_id")]
    for name in names:
        values = [row[name] for row in rows]
        if isinstance(table.c[name].type, JSON):
            values = [json.dumps(value) for value in values]
            columns.append(func.unnest(cast(values, ARRAY(Text))).label(name))
        else:
            columns.append(func.unnest(cast(values, ARRAY(table.c[name].type))).label(name))
    source = select(*columns).subquery("new")
    own = {
        name: cast(source.c[name], JSON) if isinstance(table.c[name].type, JSON) else source.c[name]
        for name in names
    }
    session.execute(update(table).where(table.c.id == source.c.row_id).values({**same, **own}))
