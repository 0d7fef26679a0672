"""`invoices verify` from ARCA's side: walk each sequence's numbers at ARCA and match the app.

For every sequence (organization, point of sale, type) ARCA's numbers 1 … FECompUltimoAutorizado
are looked up with FECompConsultar, from a stored checkpoint (the highest number already verified
and matched) so a daily run only asks about new numbers. Each number is matched to the invoice
holding it: a voucher the app does not hold is a lost CAE (or a duplicate, when an authorized
invoice has the same receiver, date and amounts under another number); an authorized invoice
ARCA lacks is a gap; a different CAE or voucher is a mismatch.

Self-healing, with the sequence's lock held (no authorization runs meanwhile): a voucher ARCA
granted after the app released its number is adopted onto the one draft it belongs to (same
receiver, date and amounts: `same_voucher`); an invoice left `unknown` under a number ARCA gave
to another voucher is released (its request can never be granted at that number), which frees
the sequence. What cannot be healed is recorded as an `invoice.needs_attention` audit event with
both sides, and keeps the checkpoint below it so every run reports it until a person settles it.

Two services, one walk: WSFEv1 sequences (A, B, C, FCE MiPyME 201-213) through
FECompUltimoAutorizado/FECompConsultar (`WsfeSide`), Factura E sequences (19/20/21) through
FEXGetLast_CMP/FEXGetCMP (`ExportSide`); the findings are the same.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask_babel import gettext as _
from sqlalchemy import ForeignKey, Index, func, select
from sqlalchemy.orm import Mapped, mapped_column

from arca import errors as arca_errors
from arca.codes import IssuerCondition
from arca.wsfe import StoredVoucher, WsfeClient
from arca.wsfex import StoredExportVoucher, WsfexClient
from blueprints.audit.models import AuditEvent
from blueprints.audit.services import record_event
from blueprints.certificates.connection import arca_client, export_client
from blueprints.invoices.authorization import (
    UNSETTLED,
    adopt,
    build_request,
    last_attempt,
    release,
    same_voucher,
    settle_sequence,
    unsettled_ids,
)
from blueprints.invoices.export_authorization import (
    build_export_voucher,
    request_id_lock,
    same_export_voucher,
    settle_export_sequence,
)
from blueprints.invoices.letters import EXPORT_TYPES, FCE_TYPE_CODES, is_export
from blueprints.invoices.locks import Sequence, sequence_lock
from blueprints.invoices.models import (
    EDITABLE,
    AttemptOutcome,
    AuthorizationAttempt,
    Invoice,
    InvoiceStatus,
)
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from blueprints.points_of_sale.services import invoice_types_for
from core.arca import ArcaGateway, get_arca
from core.db import DbSession, db, utcnow
from core.errors import DomainError

log = logging.getLogger(__name__)

NEEDS_ATTENTION = "invoice.needs_attention"
ADOPTED = "invoice.adopted_by_verify"
RELEASED = "invoice.released_by_verify"


class VerifyCheckpoint(db.Model):  # type: ignore[name-defined]
    """Per sequence, the highest number verified against ARCA with 1 … it all matched."""

    __tablename__ = "verify_checkpoints"
    __table_args__ = (
        Index(
            "ix_verify_checkpoints_sequence",
            "organization_id",
            "point_of_sale",
            "invoice_type",
            unique=True,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    point_of_sale: Mapped[int]
    invoice_type: Mapped[int]
    verified_through: Mapped[int] = mapped_column(default=0)
    verified_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


@dataclass
class Finding:
    """One discrepancy (or what was done about it). `healed`: the app equals ARCA again."""

    kind: str  # lost, duplicate, gap, mismatch, pending, unreachable, adopted, released
    number: int | None
    text: str
    invoice_id: int | None = None
    arca: str | None = None
    app: str | None = None
    healed: bool = False


@dataclass
class SequenceReport:
    sequence: Sequence
    cuit: str
    last: int = 0
    start: int = 0
    verified_through: int = 0
    queries: int = 0
    authorized_checked: int = 0  # the app's side: its authorized invoices above `start`
    walked: int = 0  # the last number asked about
    contiguous: bool = True  # every number from `start` to `walked` matched (or healed)
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [finding for finding in self.findings if not finding.healed]

    def label(self) -> str:
        return (
            f"{self.cuit} point {self.sequence.point_of_sale:05d} type {self.sequence.invoice_type}"
        )


class Side(Protocol):
    """One ARCA service as the walk sees it: its numbers, its records, how to settle and adopt."""

    def last(self, sequence: Sequence) -> int: ...

    def consult(self, sequence: Sequence, number: int) -> Any: ...

    def settle(self, session: DbSession, sequence: Sequence) -> None: ...

    def code(self, stored: Any) -> str | None: ...

    def same(self, stored: Any, invoice: Invoice, number: int) -> bool: ...

    def key(self, stored: Any) -> tuple[dt.date | None, Any]: ...

    def adopt(self, invoice: Invoice, stored: Any) -> None: ...

    def describe(self, stored: Any) -> str: ...

    def describe_invoice(self, invoice: Invoice) -> str: ...


@dataclass(frozen=True)
class WsfeSide:
    """WSFEv1: A, B, C, FCE MiPyME."""

    wsfe: WsfeClient

    def last(self, sequence: Sequence) -> int:
        return self.wsfe.last_authorized(sequence.point_of_sale, sequence.invoice_type)

    def consult(self, sequence: Sequence, number: int) -> StoredVoucher | None:
        return self.wsfe.consult(sequence.point_of_sale, sequence.invoice_type, number)

    def settle(self, session: DbSession, sequence: Sequence) -> None:
        settle_sequence(session, sequence, self.wsfe)

    def code(self, stored: StoredVoucher) -> str | None:
        return stored.authorization_code

    def same(self, stored: StoredVoucher, invoice: Invoice, number: int) -> bool:
        return same_voucher(stored, build_request(invoice, number).details[0])

    def key(self, stored: StoredVoucher) -> tuple[dt.date | None, Any]:
        return stored.detail.date, stored.detail.total

    def adopt(self, invoice: Invoice, stored: StoredVoucher) -> None:
        adopt(invoice, stored.authorization_code or "", stored.due_date, stored.observations)

    def describe(self, stored: StoredVoucher) -> str:
        return describe_stored(stored)

    def describe_invoice(self, invoice: Invoice) -> str:
        return describe_invoice(invoice)


@dataclass(frozen=True)
class ExportSide:
    """WSFEXv1: Factura E and its notes."""

    wsfex: WsfexClient

    def last(self, sequence: Sequence) -> int:
        return self.wsfex.last_authorized(sequence.point_of_sale, sequence.invoice_type).number

    def consult(self, sequence: Sequence, number: int) -> StoredExportVoucher | None:
        return self.wsfex.consult(sequence.invoice_type, sequence.point_of_sale, number)

    def settle(self, session: DbSession, sequence: Sequence) -> None:
        with sequence_lock(request_id_lock(sequence.organization_id)):
            settle_export_sequence(session, sequence, self.wsfex)

    def code(self, stored: StoredExportVoucher) -> str | None:
        return stored.cae if stored.result == "A" else None

    def same(self, stored: StoredExportVoucher, invoice: Invoice, number: int) -> bool:
        ours = build_export_voucher(invoice, number, invoice.export_request_id or 0)
        return same_export_voucher(stored.voucher, ours)

    def key(self, stored: StoredExportVoucher) -> tuple[dt.date | None, Any]:
        return stored.voucher.date, stored.voucher.total

    def adopt(self, invoice: Invoice, stored: StoredExportVoucher) -> None:
        adopt(invoice, stored.cae or "", stored.cae_due, [])

    def describe(self, stored: StoredExportVoucher) -> str:
        theirs = stored.voucher
        return (
            f"ARCA {theirs.point_of_sale:05d}-{theirs.number:08d} CAE {stored.cae}"
            f" date {theirs.date} receiver {theirs.customer_country_cuit or theirs.customer_tax_id}"
            f" country {theirs.destination_country} total {theirs.total} {theirs.currency}"
        )

    def describe_invoice(self, invoice: Invoice) -> str:
        ours = build_export_voucher(invoice, invoice.number or 0, invoice.export_request_id or 0)
        number = f"{invoice.number:08d}" if invoice.number else "(no number)"
        return (
            f"app invoice {invoice.id} [{invoice.status}] {invoice.point_of_sale_number:05d}-"
            f"{number} {invoice.cae or '-'} date {ours.date}"
            f" receiver {ours.customer_country_cuit or ours.customer_tax_id}"
            f" country {ours.destination_country} total {ours.total} {ours.currency}"
        )


def verify_all(
    session: DbSession, organization_id: int | None, gateway: ArcaGateway, full: bool = False
) -> list[SequenceReport]:
    """Verify every sequence (of one organization, or all) from ARCA's side, healing what can be
    healed. Commits as it goes; never holds a transaction across an ARCA call. `full` walks from
    number 1 whatever the checkpoints say."""
    reports: list[SequenceReport] = []
    for org_id, cuit in _organizations(session, organization_id):
        sequences = sequences_of(session, org_id)
        domestic = [s for s in sequences if not is_export(s.invoice_type)]
        exports = [s for s in sequences if is_export(s.invoice_type)]
        try:
            with arca_client(session, org_id, gateway) as arca:
                for sequence in domestic:
                    reports.append(
                        _verify_locked(session, sequence, cuit, WsfeSide(arca.wsfe), full)
                    )
        except (DomainError, arca_errors.ArcaError) as error:  # no certificate, no ticket
            reports.append(_unreachable(org_id, cuit, 0, error))
        if not exports:
            continue
        try:
            with export_client(session, org_id, gateway) as export:
                for sequence in exports:
                    side = ExportSide(export.wsfex)
                    reports.append(_verify_locked(session, sequence, cuit, side, full))
        except (DomainError, arca_errors.ArcaError) as error:
            reports.append(_unreachable(org_id, cuit, min(EXPORT_TYPES), error))
    return reports


def _unreachable(
    organization_id: int, cuit: str, invoice_type: int, error: Exception
) -> SequenceReport:
    report = SequenceReport(Sequence(organization_id, 0, invoice_type), cuit)
    report.findings.append(Finding("unreachable", None, str(error)))
    return report


def verify_job(organization_id: int | None = None) -> int:
    """The scheduled check (the scheduler's nightly job, or `invoices verify --enqueue`): returns
    the problems found. Each problem is already an `invoice.needs_attention` audit event."""
    reports = verify_all(db.session, organization_id, get_arca())
    problems = sum(len(report.problems) for report in reports)
    for report in reports:
        for finding in report.problems:
            log.warning("needs attention: %s #%s: %s", report.label(), finding.number, finding.text)
    log.info("invoices verified against ARCA: %s sequences, %s problems", len(reports), problems)
    return problems


def _verify_locked(
    session: DbSession, sequence: Sequence, cuit: str, side: Side, full: bool
) -> SequenceReport:
    try:
        return verify_sequence(session, sequence, cuit, side, full)
    except DomainError as error:  # SequenceBusy, a ticket ARCA would not give…
        report = SequenceReport(sequence, cuit)
        report.findings.append(Finding("unreachable", None, str(error)))
        return report


def verify_sequence(
    session: DbSession, sequence: Sequence, cuit: str, side: Side, full: bool = False
) -> SequenceReport:
    """Walk ARCA's numbers of one sequence from its checkpoint; match, heal, record what needs
    a person, store the new checkpoint. Commits.

    Numbers the app holds authorized are compared without the sequence's lock (both sides are
    immutable: a first run over years of vouchers never blocks invoicing). From the first number
    it does not, or when some invoice of the sequence is unsettled, the rest is walked with the
    lock held, after settling as an authorization would: nothing is being authorized meanwhile,
    so what the app holds is stable and can be healed.
    """
    report = SequenceReport(sequence, cuit)
    report.start = report.verified_through = report.walked = (
        0 if full else checkpoint(session, sequence)
    )
    session.commit()
    if _walk(session, report, side, locked=False) and (
        report.walked < report.last or unsettled_ids(session, sequence)
    ):
        with sequence_lock(sequence):
            side.settle(session, sequence)
            _walk(session, report, side, locked=True)
    report.findings += _beyond_arca(session, sequence, report.last, side)
    report.authorized_checked = _authorized_above(session, sequence, report.start)
    _record_attention(session, report)
    _store_checkpoint(session, sequence, report.verified_through)
    return report


def _walk(session: DbSession, report: SequenceReport, side: Side, locked: bool) -> bool:
    """FECompConsultar for ARCA's numbers after `report.walked`, each matched to the app. Not
    `locked`, stops before the first number the app does not hold authorized. False when ARCA
    could not say its last number."""
    sequence = report.sequence
    try:
        report.last = side.last(sequence)
    except arca_errors.ArcaError as error:
        report.findings.append(Finding("unreachable", None, f"ARCA could not be asked: {error}"))
        return False
    for number in range(report.walked + 1, report.last + 1):
        if not locked and not _held_authorized(session, sequence, number):
            return True
        report.queries += 1
        try:
            stored = side.consult(sequence, number)
        except arca_errors.ArcaError as error:
            found = [Finding("unreachable", number, f"ARCA could not be asked: {error}")]
        else:
            found = _match_number(session, sequence, number, stored, side)
        report.findings += found
        report.walked = number
        report.contiguous = report.contiguous and all(finding.healed for finding in found)
        if report.contiguous:
            report.verified_through = number
    return True


def _held_authorized(session: DbSession, sequence: Sequence, number: int) -> bool:
    status = session.scalar(
        _of(sequence).where(Invoice.number == number).with_only_columns(Invoice.status)
    )
    session.commit()
    return status == InvoiceStatus.AUTHORIZED


# --- one number ----------------------------------------------------------------------------------


def _match_number(
    session: DbSession, sequence: Sequence, number: int, stored: Any, side: Side
) -> list[Finding]:
    """ARCA's voucher `number` (or None) against the app's invoice holding it. Commits."""
    invoice = session.scalar(_of(sequence).where(Invoice.number == number))
    found: list[Finding] = []
    if invoice is not None and invoice.status == InvoiceStatus.AUTHORIZED:
        found += _compare(invoice, number, stored, side)
    elif invoice is not None:  # unknown: settling could not decide it
        if stored is None or not side.code(stored):
            found.append(_pending(invoice, number, side))
        elif side.same(stored, invoice, number):
            found.append(_adopt_late(session, invoice, number, stored, side))
        else:
            found.append(_release_other(session, invoice, number, stored, side))
            found += _unheld(session, sequence, number, stored, side)
    elif stored is None or not side.code(stored):
        found.append(Finding("gap", number, "ARCA lists no voucher under a number it used"))
    else:
        found += _unheld(session, sequence, number, stored, side)
    session.commit()
    return found


def _compare(invoice: Invoice, number: int, stored: Any, side: Side) -> list[Finding]:
    if stored is None:
        problem, kind = "authorized here, ARCA has no such voucher", "gap"
    elif side.code(stored) != invoice.cae:
        problem, kind = f"CAE {invoice.cae} here, {side.code(stored)} at ARCA", "mismatch"
    elif not side.same(stored, invoice, number):
        problem, kind = "receiver, date or amounts differ from ARCA's record", "mismatch"
    else:
        return []
    return [
        Finding(
            kind,
            number,
            problem,
            invoice.id,
            side.describe(stored) if stored else None,
            side.describe_invoice(invoice),
        )
    ]


def _pending(invoice: Invoice, number: int, side: Side) -> Finding:
    text = "still unsettled (ARCA has not recorded it yet; reconcile will settle it)"
    return Finding("pending", number, text, invoice.id, None, side.describe_invoice(invoice))


def _release_other(
    session: DbSession, invoice: Invoice, number: int, stored: Any, side: Side
) -> Finding:
    """ARCA gave `number` to another voucher: this invoice's request can never be granted under
    it, so the number goes back and the sequence is free again."""
    app_side = side.describe_invoice(invoice)
    message = _(
        "ARCA registró otro comprobante con el número %(number)s: este nunca lo recibió. "
        "Podés enviarlo de nuevo.",
        number=number,
    )
    why = f"ARCA holds another voucher under {number} (invoices verify)"
    invoice_id, organization_id = invoice.id, invoice.organization_id
    release(
        session,
        invoice_id,
        last_attempt(session, invoice_id),
        AttemptOutcome.RECONCILED,
        why,
        message,
    )
    details = {"number": number, "arca": side.describe(stored), "app": app_side}
    record_event(session, organization_id, RELEASED, None, ("invoice", invoice_id), details)
    session.commit()
    text = "left unknown under a number ARCA gave to another voucher: released, sequence freed"
    return Finding("released", number, text, invoice_id, side.describe(stored), app_side, True)


def _unheld(
    session: DbSession, sequence: Sequence, number: int, stored: Any, side: Side
) -> list[Finding]:
    """A voucher at ARCA that no invoice holds: adopt it onto its one matching draft, else flag
    it as a duplicate (an authorized invoice is the same voucher) or a lost CAE."""
    arca_side = side.describe(stored)
    drafts = _same_vouchers(session, sequence, stored, EDITABLE, side, number)
    if len(drafts) == 1:
        return [_adopt_late(session, drafts[0], number, stored, side)]
    twins = _same_vouchers(session, sequence, stored, (InvoiceStatus.AUTHORIZED,), side, None)
    if twins:
        twin = twins[0]
        text = f"the same voucher as invoice {twin.id} (number {twin.number}): ARCA has it twice"
        twin_side = side.describe_invoice(twin)
        return [Finding("duplicate", number, text, twin.id, arca_side, twin_side)]
    if drafts:
        ids = ", ".join(str(draft.id) for draft in drafts)
        text = f"CAE the app does not hold: {len(drafts)} drafts match it ({ids}), choose one"
        draft_side = side.describe_invoice(drafts[0])
        return [Finding("lost", number, text, None, arca_side, draft_side)]
    return [
        Finding(
            "lost",
            number,
            "CAE the app does not hold: no invoice holds or matches it",
            None,
            arca_side,
        )
    ]


def _same_vouchers(
    session: DbSession,
    sequence: Sequence,
    stored: Any,
    statuses: tuple[InvoiceStatus, ...],
    side: Side,
    number: int | None,
) -> list[Invoice]:
    """The invoices in `statuses` that are ARCA's voucher, compared under `number` (a draft
    holds none) or their own."""
    date, total = side.key(stored)
    candidates = session.scalars(
        _of(sequence)
        .where(Invoice.status.in_(statuses), Invoice.issue_date == date, Invoice.total == total)
        .order_by(Invoice.id)
    ).all()
    return [
        invoice
        for invoice in candidates
        if side.same(stored, invoice, number if number is not None else invoice.number or 0)
    ]


def _adopt_late(
    session: DbSession, invoice: Invoice, number: int, stored: Any, side: Side
) -> Finding:
    """A CAE ARCA granted after the number was released: the draft takes it (audited)."""
    app_side = side.describe_invoice(invoice)  # the draft as it was
    invoice.number = number
    side.adopt(invoice, stored)
    detail = "late CAE found and adopted by invoices verify"
    session.add(
        AuthorizationAttempt(
            invoice_id=invoice.id,
            number=number,
            outcome=AttemptOutcome.RECONCILED,
            finished_at=utcnow(),
            detail=detail,
        )
    )
    arca_side = side.describe(stored)
    details = {"number": number, "cae": invoice.cae, "arca": arca_side, "app": app_side}
    subject = ("invoice", invoice.id)
    record_event(session, invoice.organization_id, ADOPTED, None, subject, details)
    session.commit()
    text = "late CAE adopted onto its draft"
    return Finding("adopted", number, text, invoice.id, arca_side, app_side, True)


# --- beyond ARCA's last number, checkpoints, events ----------------------------------------------


def _beyond_arca(session: DbSession, sequence: Sequence, last: int, side: Side) -> list[Finding]:
    """Invoices holding numbers ARCA never reached: authorized ones are gaps; unsettled ones
    wait for reconcile (within the grace period, or ARCA unreachable)."""
    invoices = session.scalars(
        _of(sequence).where(Invoice.number > last).order_by(Invoice.number)
    ).all()
    found = []
    for invoice in invoices:
        if invoice.status == InvoiceStatus.AUTHORIZED and invoice.by_caea:
            # Issued in contingency: ARCA learns of it when the job informs it (or refused it).
            text = "issued with the CAEA, not yet informed to ARCA (the CAEA job informs it)"
            app_side = side.describe_invoice(invoice)
            found.append(Finding("pending", invoice.number, text, invoice.id, None, app_side))
        elif invoice.status == InvoiceStatus.AUTHORIZED:
            text = "authorized here, ARCA has no such voucher"
            app_side = side.describe_invoice(invoice)
            found.append(Finding("gap", invoice.number, text, invoice.id, None, app_side))
        elif invoice.status in UNSETTLED:
            found.append(_pending(invoice, invoice.number or 0, side))
    session.commit()
    return found


def _authorized_above(session: DbSession, sequence: Sequence, start: int) -> int:
    """How many of the app's authorized invoices this walk compared with ARCA (or found
    beyond ARCA's last number): the app's side of the check, with no call of its own."""
    count = session.scalar(
        _of(sequence)
        .where(Invoice.status == InvoiceStatus.AUTHORIZED, Invoice.number > start)
        .with_only_columns(func.count())
    )
    session.commit()
    return count or 0


def checkpoint(session: DbSession, sequence: Sequence) -> int:
    return (
        session.scalar(
            _checkpoint_query(sequence).with_only_columns(VerifyCheckpoint.verified_through)
        )
        or 0
    )


def _store_checkpoint(session: DbSession, sequence: Sequence, verified_through: int) -> None:
    row = session.scalar(_checkpoint_query(sequence))
    if row is None:
        row = VerifyCheckpoint(
            organization_id=sequence.organization_id,
            point_of_sale=sequence.point_of_sale,
            invoice_type=sequence.invoice_type,
        )
        session.add(row)
    row.verified_through, row.verified_at = verified_through, utcnow()
    session.commit()


def _checkpoint_query(sequence: Sequence) -> Any:
    return select(VerifyCheckpoint).where(
        VerifyCheckpoint.organization_id == sequence.organization_id,
        VerifyCheckpoint.point_of_sale == sequence.point_of_sale,
        VerifyCheckpoint.invoice_type == sequence.invoice_type,
    )


def _record_attention(session: DbSession, report: SequenceReport) -> None:
    """Each problem as an `invoice.needs_attention` audit event with both sides, once: a
    problem a person has not settled yet is reported by every run, recorded by the first."""
    sequence = report.sequence
    flagged = _flagged(session, sequence)
    for finding in report.problems:
        if (finding.kind, finding.number, finding.invoice_id) in flagged:
            continue
        details = {
            "kind": finding.kind,
            "point_of_sale": sequence.point_of_sale,
            "invoice_type": sequence.invoice_type,
            "number": finding.number,
            "invoice_id": finding.invoice_id,
            "problem": finding.text,
            "arca": finding.arca,
            "app": finding.app,
        }
        subject = ("invoice", finding.invoice_id) if finding.invoice_id else None
        record_event(session, sequence.organization_id, NEEDS_ATTENTION, None, subject, details)
    session.commit()


def _flagged(session: DbSession, sequence: Sequence) -> set[tuple[Any, Any, Any]]:
    details: list[dict[str, Any]] = list(
        session.scalars(
            select(AuditEvent.details).where(
                AuditEvent.organization_id == sequence.organization_id,
                AuditEvent.action == NEEDS_ATTENTION,
            )
        )
    )
    return {
        (detail.get("kind"), detail.get("number"), detail.get("invoice_id"))
        for detail in details
        if detail.get("point_of_sale") == sequence.point_of_sale
        and detail.get("invoice_type") == sequence.invoice_type
    }


# --- which sequences -----------------------------------------------------------------------------


def _organizations(session: DbSession, organization_id: int | None) -> list[tuple[int, str]]:
    """Organizations with invoices (the app's own sequences exist only there)."""
    query = select(Organization.id, Organization.cuit).where(
        Organization.id.in_(select(Invoice.organization_id).distinct())
    )
    if organization_id is not None:
        query = query.where(Organization.id == organization_id)
    rows = [(row[0], row[1]) for row in session.execute(query.order_by(Organization.id))]
    session.commit()
    return rows


def sequences_of(session: DbSession, organization_id: int) -> list[Sequence]:
    """The sequences the app used, and every web-service point × everyday type of the
    organization's class (a voucher sent behind the app's back may be on any of them)."""
    used = session.execute(
        select(Invoice.point_of_sale_number, Invoice.invoice_type)
        .where(Invoice.organization_id == organization_id)
        .distinct()
    ).all()
    organization = session.get_one(Organization, organization_id)
    points = session.scalars(
        select(PointOfSale.number).where(
            PointOfSale.organization_id == organization_id,
            PointOfSale.blocked.is_(False),
            func.upper(PointOfSale.emission_type).not_like("CAEA%"),
        )
    ).all()
    types = [voucher.code for voucher in invoice_types_for(organization.iva_condition)]
    # FCE MiPyME of the organization's classes too: a large company's buyer may have been
    # invoiced with them behind the app's back. Factura E: the sequences the app used.
    classes = IssuerCondition(organization.iva_condition).voucher_classes
    types += [code for letter in classes for code in FCE_TYPE_CODES[letter].values()]
    found = {(int(point), int(kind)) for point, kind in used}
    found |= {(int(point), kind) for point in points for kind in types}
    session.commit()
    return [Sequence(organization_id, point, kind) for point, kind in sorted(found)]


def _of(sequence: Sequence) -> Any:
    return select(Invoice).where(
        Invoice.organization_id == sequence.organization_id,
        Invoice.point_of_sale_number == sequence.point_of_sale,
        Invoice.invoice_type == sequence.invoice_type,
    )


# --- both sides, for people ----------------------------------------------------------------------


def describe_stored(stored: StoredVoucher) -> str:
    theirs = stored.detail
    return (
        f"ARCA {stored.point_of_sale:05d}-{theirs.number_from:08d} CAE {stored.authorization_code}"
        f" date {theirs.date} receiver {theirs.doc_type}/{theirs.doc_number}"
        f" net {theirs.net} VAT {theirs.vat_total} total {theirs.total} {theirs.currency}"
    )


def describe_invoice(invoice: Invoice) -> str:
    ours = build_request(invoice, invoice.number or 0).details[0]
    number = f"{invoice.number:08d}" if invoice.number else "(no number)"
    return (
        f"app invoice {invoice.id} [{invoice.status}] {invoice.point_of_sale_number:05d}-{number}"
        f" {invoice.authorization_mode} {invoice.cae or '-'} date {ours.date}"
        f" receiver {ours.doc_type}/{ours.doc_number}"
        f" net {ours.net} VAT {ours.vat_total} total {ours.total} {ours.currency}"
    )
