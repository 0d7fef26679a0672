"""CAEA contingency (RG 5782/2025): keep invoicing while WSFE is down, tell ARCA afterwards.

How a shopkeeper lives it: the fortnight's CAEA is asked for ahead (a chore, a button, a CLI).
When an authorization cannot reach ARCA, the voucher's page offers "Emitir con CAEA"; only if
ARCA really is down (FEDummy fails: RG 5782 allows CAEA for contingency only) the draft is
issued at once on the organization's CAEA point of sale, numbered locally, and printed with the
CAEA. A banner stays on every page while such vouchers wait. A job, as soon as FEDummy answers
OK again, informs them (FECAEARegInformativo, with CbteFchHsGen) in number order, and once a
fortnight is over reports the CAEA points of sale that issued nothing with it.

The contract is `authorization`'s: never a database transaction open across an ARCA call; one
numbering at a time per sequence (`locks.sequence_lock`); an answer that may have been lost is
settled by asking ARCA (FECompUltimoAutorizado + FECompConsultar), never by informing twice.
A CAEA voucher is `authorized` from the moment it is issued (so it is immutable, counted and
printed like any other); where it stands with ARCA lives in its `CaeaReport`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby

from flask_babel import gettext as _
from sqlalchemy import func, select

from arca import errors as arca_errors
from arca.caea import Caea, fortnight_of, next_fortnight, request_window
from arca.wsfe import CaeRequest, CaeResponse, WsfeClient
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.certificates.connection import arca_client, describe_arca_error
from blueprints.invoices.authorization import (
    InvoiceNotEditable,
    build_request,
    messages,
    sequence_of,
)
from blueprints.invoices.locks import Sequence, sequence_lock
from blueprints.invoices.models import (
    EDITABLE,
    AuthorizationMode,
    CaeaCode,
    CaeaReport,
    CaeaReportStatus,
    Invoice,
    InvoiceStatus,
    authorization_key,
)
from blueprints.invoices.preflight_adapter import arca_today, preflight_problems
from blueprints.points_of_sale.models import PointOfSale, VoucherCounter
from blueprints.points_of_sale.services import ArcaCallFailed
from blueprints.webhooks.payloads import invoice_payload
from core.arca import ArcaGateway
from core.db import DbSession, utcnow
from core.errors import Conflict
from core.events import emit, wake_events
from core.tasks import cancel

log = logging.getLogger(__name__)

INFORM_BATCH = 50  # vouchers per FECAEARegInformativo (ARCA takes up to FECompTotXRequest)
# "Not the next number" (703 for FECAEARegInformativo; 10016 as FECAESolicitar says it): after
# an earlier voucher's refusal, a refusal for this reason alone is not the voucher's own fault.
NUMBERING = (703, 10016)
CAE_LOCK_SECONDS = 5.0  # a CAE authorization of the draft still running: don't wait for long


class ContingencyRefused(Conflict):
    """The voucher cannot be issued with a CAEA: `message` says why, in the user's words."""


class ArcaIsAnswering(ContingencyRefused):
    """WSFE answers: RG 5782 allows the CAEA only while it does not."""


# --- the fortnight's CAEA ------------------------------------------------------------------------


def current_caea(session: DbSession, organization_id: int, day: dt.date) -> CaeaCode | None:
    """The organization's CAEA covering `day`, if it was asked for."""
    return session.scalar(
        select(CaeaCode).where(
            CaeaCode.organization_id == organization_id,
            CaeaCode.valid_from <= day,
            CaeaCode.valid_to >= day,
        )
    )


def fortnights_to_request(today: dt.date) -> list[tuple[int, int]]:
    """The current fortnight and, within ARCA's window (5 days ahead), the next one."""
    current = fortnight_of(today)
    following = next_fortnight(*current)
    ahead = request_window(*following)[0] <= today
    return [current, following] if ahead else [current]


def request_caeas(
    session: DbSession,
    organization_id: int,
    gateway: ArcaGateway,
    actor: User | None = None,
    today: dt.date | None = None,
) -> list[CaeaCode]:
    """FECAEASolicitar for the current fortnight and, when its window is open, the next one;
    those already held are kept (asked for once). FECAEAConsultar first: a CAEA granted to
    another program, or whose answer was lost, is read back, never asked twice. Returns the
    CAEAs held for those fortnights. Raises `ArcaCallFailed` (ARCA's words) when ARCA could
    not give one."""
    today = today or arca_day(gateway)
    wanted = fortnights_to_request(today)
    held = {(code.period, code.fortnight) for code in caeas_of(session, organization_id)}
    missing = [fortnight for fortnight in wanted if fortnight not in held]
    granted: list[Caea] = []
    failure: ArcaCallFailed | None = None
    if missing:
        with arca_client(session, organization_id, gateway) as arca:
            for period, order in missing:
                try:
                    granted.append(_ask_for_caea(arca.wsfe, period, order))
                except ArcaCallFailed as error:  # keep what was granted before it
                    failure = error
                    break
    held = {(code.period, code.fortnight) for code in caeas_of(session, organization_id)}
    for caea in granted:
        if (caea.period, caea.order) in held:  # stored meanwhile (the chore and a click)
            continue
        session.add(
            CaeaCode(
                organization_id=organization_id,
                period=caea.period,
                fortnight=caea.order,
                code=caea.code,
                valid_from=caea.valid_from,
                valid_to=caea.valid_to,
                report_deadline=caea.report_deadline,
                no_movement=[],
            )
        )
        details = {"period": caea.period, "order": caea.order, "caea": caea.code}
        record_event(session, organization_id, "caea.requested", actor, None, details)
    session.commit()
    if failure is not None:
        raise failure
    return [
        code
        for code in caeas_of(session, organization_id)
        if (code.period, code.fortnight) in wanted
    ]


def _ask_for_caea(wsfe: WsfeClient, period: int, order: int) -> Caea:
    try:
        return wsfe.caea_consult(period, order) or wsfe.caea_request(period, order)
    except arca_errors.ArcaError as error:
        raise ArcaCallFailed(describe_arca_error(error)) from error


def caeas_of(session: DbSession, organization_id: int) -> list[CaeaCode]:
    """The organization's CAEAs, the latest fortnight first."""
    codes = session.scalars(
        select(CaeaCode)
        .where(CaeaCode.organization_id == organization_id)
        .order_by(CaeaCode.period.desc(), CaeaCode.fortnight.desc())
    ).all()
    return list(codes)


def caea_point_of_sale(session: DbSession, organization_id: int) -> PointOfSale | None:
    """The point of sale contingency vouchers go on: ARCA numbers CAEA vouchers only on a point
    of sale whose emission type is CAEA (the lowest usable one)."""
    return session.scalar(
        select(PointOfSale)
        .where(
            PointOfSale.organization_id == organization_id,
            func.upper(PointOfSale.emission_type).like("CAEA%"),
            PointOfSale.blocked.is_(False),
            PointOfSale.closed_on.is_(None),
        )
        .order_by(PointOfSale.number)
        .limit(1)
    )


def arca_day(gateway: ArcaGateway) -> dt.date:
    return arca_today(gateway)


# --- is ARCA down? -------------------------------------------------------------------------------


def arca_answers(session: DbSession, organization_id: int, gateway: ArcaGateway) -> bool:
    """FEDummy says app, database and authentication servers are OK. Any failure to get that
    answer (a transport error, a 5xx, a fault) is the contingency RG 5782 speaks of. Ends
    `session`'s transaction; no ticket is needed (FEDummy takes no Auth)."""
    with arca_client(session, organization_id, gateway) as arca:
        try:
            return arca.wsfe.dummy().ok
        except arca_errors.ArcaError as error:
            log.info("organization %s: FEDummy failed: %s", organization_id, error)
            return False


# --- issuing with the CAEA -----------------------------------------------------------------------


def contingency_offer(session: DbSession, invoice: Invoice, gateway: ArcaGateway) -> str | None:
    """For the voucher's page: why "Emitir con CAEA" cannot be offered (None: it can). Checks
    only what the database knows; `issue_with_caea` asks ARCA whether it is really down."""
    if invoice.status not in EDITABLE:
        return _("Sólo se emite con CAEA un borrador.")
    if invoice.is_export:
        # The CAEA is WSFEv1's; WSFEXv1 has no contingency regime: a Factura E waits for ARCA.
        return _("Una Factura E no se emite con CAEA: se autoriza con CAE cuando ARCA responda.")
    if caea_point_of_sale(session, invoice.organization_id) is None:
        return _("No hay un punto de venta de tipo CAEA: habilitalo en ARCA y sincronizá.")
    if current_caea(session, invoice.organization_id, invoice.issue_date) is None:
        return _("No hay CAEA para la fecha del comprobante: pedilo en Contingencia (CAEA).")
    return None


def issue_with_caea(
    session: DbSession, invoice_id: int, gateway: ArcaGateway, actor: User | None = None
) -> Invoice:
    """Issue the draft with the fortnight's CAEA: moved to the CAEA point of sale, numbered
    next in that sequence (locally: ARCA is down), `authorized` with the CAEA as its code and
    `generated_at` now, and a pending `CaeaReport` for the job that informs it. Commits.

    Refuses (`ContingencyRefused`) without a CAEA point of sale or a CAEA covering the
    voucher's date, and (`ArcaIsAnswering`) while FEDummy answers OK: then it goes by CAE.
    Raises `InvoiceNotEditable` unless a draft (or rejected); an authorization request still
    queued for it is cancelled, one running holds its sequence's lock (`SequenceBusy`)."""
    invoice = session.get_one(Invoice, invoice_id)
    organization_id = invoice.organization_id
    if (refusal := contingency_offer(session, invoice, gateway)) is not None:
        session.commit()
        raise ContingencyRefused(refusal)
    # ARCA checks a CAEA voucher when it is informed, too late to fix a printed one: the same
    # preflight as for a CAE (it asks ARCA nothing), on the draft as it stands.
    if problems := preflight_problems(session, invoice, gateway):
        session.commit()
        raise ContingencyRefused(
            _("ARCA lo rechazaría: %(reason)s", reason="; ".join(p.message for p in problems))
        )
    if arca_answers(session, organization_id, gateway):
        raise ArcaIsAnswering(
            _("ARCA está respondiendo: autorizalo con CAE (la CAEA es sólo para contingencias).")
        )
    invoice = session.get_one(Invoice, invoice_id)
    point = caea_point_of_sale(session, organization_id)
    caea = current_caea(session, organization_id, invoice.issue_date)
    if point is None or caea is None:  # checked above: only a concurrent change gets here
        raise ContingencyRefused(_("No hay CAEA o punto de venta CAEA: revisá Contingencia."))
    target = Sequence(organization_id, point.number, invoice.invoice_type)
    with _locks(sequence_of(invoice), target):
        session.expire_all()
        invoice = session.get_one(Invoice, invoice_id)
        if invoice.status not in EDITABLE:
            session.commit()
            raise InvoiceNotEditable(_("Este comprobante ya fue autorizado o se está autorizando."))
        cancel(session, authorization_key(invoice_id), "issued with the CAEA")
        number = next_local_number(session, target)
        _issue(session, invoice, point, caea, number)
        session.add(
            CaeaReport(
                organization_id=organization_id,
                invoice_id=invoice_id,
                caea_code_id=caea.id,
                status=CaeaReportStatus.PENDING,
                messages=[],
            )
        )
        payload = invoice_payload(
            invoice_id, "authorized", number=number, cae=caea.code, cae_due=caea.valid_to
        )
        task_id = emit(session, organization_id, "invoice.authorized", payload)
        details = {
            "kind": invoice.kind,
            "point_of_sale": point.number,
            "number": number,
            "caea": caea.code,
            "total": str(invoice.total),
        }
        subject = ("invoice", invoice_id)
        record_event(session, organization_id, "invoice.issued_with_caea", actor, subject, details)
        session.commit()
    wake_events([task_id])
    return session.get_one(Invoice, invoice_id)


@contextlib.contextmanager
def _locks(draft: Sequence, target: Sequence) -> Iterator[None]:
    """The draft's CAE sequence (no authorization of it may be running; not waited for long)
    and the CAEA sequence it is numbered in (the same one when the draft was already there)."""
    with contextlib.ExitStack() as stack:
        if draft != target:
            stack.enter_context(sequence_lock(draft, CAE_LOCK_SECONDS))
        stack.enter_context(sequence_lock(target))
        yield


def _issue(
    session: DbSession, invoice: Invoice, point: PointOfSale, caea: CaeaCode, number: int
) -> None:
    now = utcnow()
    # Read before the first change: a lazy load would autoflush a half-issued invoice.
    point_id, point_number, code, due = point.id, point.number, caea.code, caea.valid_to
    invoice.point_of_sale_id, invoice.point_of_sale_number = point_id, point_number
    invoice.number = number
    invoice.status = InvoiceStatus.AUTHORIZED
    invoice.authorization_mode = AuthorizationMode.CAEA
    invoice.cae, invoice.cae_due = code, due
    invoice.generated_at = invoice.authorized_at = now
    invoice.errors, invoice.observations = [], []
    session.flush()


def next_local_number(session: DbSession, sequence: Sequence) -> int:
    """The next number of a CAEA sequence, without ARCA: the highest the app used, or the last
    ARCA said it had (`VoucherCounter`, from a sync), whichever is higher, plus one. Call with
    the sequence's lock held."""
    used = session.scalar(
        select(func.max(Invoice.number)).where(
            Invoice.organization_id == sequence.organization_id,
            Invoice.point_of_sale_number == sequence.point_of_sale,
            Invoice.invoice_type == sequence.invoice_type,
        )
    )
    known = session.scalar(
        select(func.max(VoucherCounter.last_number))
        .join(PointOfSale, PointOfSale.id == VoucherCounter.point_of_sale_id)
        .where(
            PointOfSale.organization_id == sequence.organization_id,
            PointOfSale.number == sequence.point_of_sale,
            VoucherCounter.invoice_type == sequence.invoice_type,
        )
    )
    return max(used or 0, known or 0) + 1


# --- what waits for ARCA -------------------------------------------------------------------------


@dataclass
class PendingSummary:
    """For the banner and the contingency page."""

    pending: int = 0
    rejected: int = 0

    @property
    def any(self) -> bool:
        return bool(self.pending or self.rejected)


def pending_summary(session: DbSession, organization_id: int) -> PendingSummary:
    counts = dict(
        session.execute(
            select(CaeaReport.status, func.count())
            .where(
                CaeaReport.organization_id == organization_id,
                CaeaReport.status != CaeaReportStatus.INFORMED,
            )
            .group_by(CaeaReport.status)
        ).all()
    )
    return PendingSummary(
        counts.get(CaeaReportStatus.PENDING, 0), counts.get(CaeaReportStatus.REJECTED, 0)
    )


def reports_of(
    session: DbSession, organization_id: int, statuses: tuple[str, ...] | None = None
) -> list[CaeaReport]:
    """The organization's contingency vouchers (with their invoice), by point of sale, type
    and number."""
    query = (
        select(CaeaReport)
        .join(Invoice, Invoice.id == CaeaReport.invoice_id)
        .where(CaeaReport.organization_id == organization_id)
        .order_by(Invoice.point_of_sale_number, Invoice.invoice_type, Invoice.number)
    )
    if statuses is not None:
        query = query.where(CaeaReport.status.in_(statuses))
    return list(session.scalars(query).all())


def caea_report_of(session: DbSession, invoice: Invoice) -> CaeaReport | None:
    return session.scalar(select(CaeaReport).where(CaeaReport.invoice_id == invoice.id))


def retry_rejected(session: DbSession, organization_id: int, actor: User | None = None) -> int:
    """Put the vouchers ARCA refused back in the queue (after the cause was fixed at ARCA, e.g.
    the point of sale's emission type). Returns how many. Commits."""
    rejected = reports_of(session, organization_id, (CaeaReportStatus.REJECTED,))
    for report in rejected:
        report.status = CaeaReportStatus.PENDING
    if rejected:
        details = {"count": len(rejected)}
        record_event(session, organization_id, "caea.retry_requested", actor, None, details)
    session.commit()
    return len(rejected)


# --- informing ARCA ------------------------------------------------------------------------------


@dataclass
class InformOutcome:
    informed: list[int] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    no_movement: list[tuple[str, int]] = field(default_factory=list)
    task_ids: list[int | None] = field(default_factory=list)  # events to wake once committed


def inform_pending(
    session: DbSession, organization_id: int, gateway: ArcaGateway, today: dt.date | None = None
) -> InformOutcome:
    """Inform every pending contingency voucher, then the points of sale without movement of
    the fortnights that ended. Raises `ArcaCallFailed` while ARCA does not answer FEDummy OK
    (nothing is sent) or fails midway (what was recorded stays; the rest waits), `SequenceBusy`
    when a sequence stays locked. Commits as it goes."""
    today = today or arca_day(gateway)
    outcome = InformOutcome()
    # Events of refusals made before a failure midway are committed: the dispatcher wakes them.
    with arca_client(session, organization_id, gateway) as arca:
        if not _ok(arca.wsfe):
            raise ArcaCallFailed(_("ARCA sigue sin responder: lo informamos cuando vuelva."))
        for sequence, caea_id in _pending_sequences(session, organization_id):
            with sequence_lock(sequence):
                _inform_sequence(session, sequence, caea_id, arca.wsfe, outcome)
        _inform_no_movement(session, organization_id, arca.wsfe, today, outcome)
    wake_events(outcome.task_ids)
    return outcome


def _ok(wsfe: WsfeClient) -> bool:
    try:
        return wsfe.dummy().ok
    except arca_errors.ArcaError:
        return False


def _pending_sequences(session: DbSession, organization_id: int) -> list[tuple[Sequence, int]]:
    rows = session.execute(
        select(Invoice.point_of_sale_number, Invoice.invoice_type, CaeaReport.caea_code_id)
        .join(CaeaReport, CaeaReport.invoice_id == Invoice.id)
        .where(
            CaeaReport.organization_id == organization_id,
            CaeaReport.status == CaeaReportStatus.PENDING,
        )
        .distinct()
    ).all()
    session.commit()
    return sorted(
        (Sequence(organization_id, int(point), int(kind)), int(caea_id))
        for point, kind, caea_id in rows
    )


def _inform_sequence(
    session: DbSession, sequence: Sequence, caea_id: int, wsfe: WsfeClient, outcome: InformOutcome
) -> None:
    """The sequence's pending vouchers of one CAEA, in number order: those ARCA already holds
    (a lost answer) are settled by FECompConsultar; the rest go in batches. Stops at the first
    refusal: ARCA takes a sequence's numbers only in order."""
    try:
        last = wsfe.last_authorized(sequence.point_of_sale, sequence.invoice_type)
    except arca_errors.ArcaError as error:
        raise ArcaCallFailed(describe_arca_error(error)) from error
    reports = _pending_of(session, sequence, caea_id)
    held = [report for report in reports if (report.invoice.number or 0) <= last]
    for report in held:
        _settle_held(session, report, wsfe, outcome)
    todo = [report.id for report in reports if (report.invoice.number or 0) > last]
    blocked = _has_refused(session, sequence)
    session.commit()
    if blocked:  # ARCA takes the numbers in order: the refused one must be settled first
        return
    for batch in _chunks(todo, INFORM_BATCH):
        if not _inform_batch(session, batch, wsfe, outcome):
            return


def _has_refused(session: DbSession, sequence: Sequence) -> bool:
    refused = session.scalar(
        select(func.count())
        .select_from(CaeaReport)
        .join(Invoice, Invoice.id == CaeaReport.invoice_id)
        .where(
            CaeaReport.status == CaeaReportStatus.REJECTED,
            Invoice.organization_id == sequence.organization_id,
            Invoice.point_of_sale_number == sequence.point_of_sale,
            Invoice.invoice_type == sequence.invoice_type,
        )
    )
    return bool(refused)


def _pending_of(session: DbSession, sequence: Sequence, caea_id: int) -> list[CaeaReport]:
    return list(
        session.scalars(
            select(CaeaReport)
            .join(Invoice, Invoice.id == CaeaReport.invoice_id)
            .where(
                CaeaReport.status == CaeaReportStatus.PENDING,
                CaeaReport.caea_code_id == caea_id,
                Invoice.organization_id == sequence.organization_id,
                Invoice.point_of_sale_number == sequence.point_of_sale,
                Invoice.invoice_type == sequence.invoice_type,
            )
            .order_by(Invoice.number)
        ).all()
    )


def _settle_held(
    session: DbSession, report: CaeaReport, wsfe: WsfeClient, outcome: InformOutcome
) -> None:
    """ARCA's last number is past this voucher's: it holds it already (our earlier answer got
    lost) or another voucher took the number (a person must look)."""
    invoice = report.invoice
    try:
        stored = wsfe.consult(
            invoice.point_of_sale_number, invoice.invoice_type, invoice.number or 0
        )
    except arca_errors.ArcaError as error:
        raise ArcaCallFailed(describe_arca_error(error)) from error
    if stored is not None and stored.authorization_code == invoice.cae:
        _record(session, report, CaeaReportStatus.INFORMED, [], outcome)
    else:
        text = _(
            "ARCA tiene otro comprobante con el número %(number)s de este punto de venta: "
            "revisalo con tu contador.",
            number=invoice.number,
        )
        _record(session, report, CaeaReportStatus.REJECTED, [{"code": None, "text": text}], outcome)
    session.commit()


def _inform_batch(
    session: DbSession, report_ids: list[int], wsfe: WsfeClient, outcome: InformOutcome
) -> bool:
    """One FECAEARegInformativo; False when the sequence must stop here (a refusal, or an
    answer that may have been lost: the next run asks ARCA first)."""
    reports = [session.get_one(CaeaReport, report_id) for report_id in report_ids]
    invoices = [report.invoice for report in reports]
    details = [build_request(invoice, invoice.number or 0).details[0] for invoice in invoices]
    first = invoices[0]
    request = CaeRequest(first.point_of_sale_number, first.invoice_type, details)
    generated = [invoice.generated_at or invoice.authorized_at or utcnow() for invoice in invoices]
    caea = first.cae or ""
    for report in reports:
        report.attempts += 1
    session.commit()
    try:
        response = wsfe.caea_inform(request, caea, generated)
    except arca_errors.OutcomeUnknown as error:
        log.warning("CAEA report of %s may be lost: %s", report_ids, error)
        return False
    except arca_errors.ArcaError as error:
        raise ArcaCallFailed(describe_arca_error(error)) from error
    return _record_answer(session, report_ids, response, outcome)


def _record_answer(
    session: DbSession, report_ids: list[int], response: CaeResponse, outcome: InformOutcome
) -> bool:
    """Each voucher's verdict, in number order. The first refusal is recorded with ARCA's
    reasons; after it, a refusal for numbering alone (703: the refused one left a hole)
    leaves the voucher pending, to go once the first is settled. False after any refusal."""
    verdicts = {detail.number: detail for detail in response.details}
    going = True
    for report_id in report_ids:
        report = session.get_one(CaeaReport, report_id)
        detail = verdicts.get(report.invoice.number or 0)
        if detail is not None and detail.result == "A":
            found = messages(detail.observations)
            _record(session, report, CaeaReportStatus.INFORMED, found, outcome)
            continue
        reasons = [*response.errors, *(detail.observations if detail else [])]
        numbering_only = bool(reasons) and all(reason.code in NUMBERING for reason in reasons)
        if going or not numbering_only:
            _record(session, report, CaeaReportStatus.REJECTED, messages(reasons), outcome)
        going = False
    session.commit()
    return going


def _record(
    session: DbSession,
    report: CaeaReport,
    status: CaeaReportStatus,
    found: list[dict[str, object]],
    outcome: InformOutcome,
) -> None:
    """The report's new state, its audit entry and, for a refusal, the event a person acts on."""
    invoice = report.invoice
    report.status, report.messages = status, found
    subject = ("invoice", invoice.id)
    details: dict[str, object] = {"number": invoice.number, "caea": invoice.cae}
    if status == CaeaReportStatus.INFORMED:
        report.informed_at = utcnow()
        outcome.informed.append(invoice.id)
        action = "invoice.caea_informed"
    else:
        outcome.rejected.append(invoice.id)
        details["codes"] = [item.get("code") for item in found]
        action = "invoice.caea_rejected"
        payload = invoice_payload(invoice.id, "authorized", number=invoice.number, errors=found)
        outcome.task_ids.append(
            emit(session, invoice.organization_id, "invoice.needs_attention", payload)
        )
    record_event(session, invoice.organization_id, action, None, subject, details)


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- fortnights without movement -----------------------------------------------------------------


def _inform_no_movement(
    session: DbSession,
    organization_id: int,
    wsfe: WsfeClient,
    today: dt.date,
    outcome: InformOutcome,
) -> None:
    """Once a fortnight is over, each CAEA point of sale that issued nothing with its CAEA is
    reported (FECAEASinMovimientoInformar), once."""
    points = _caea_points(session, organization_id)
    for code in caeas_of(session, organization_id):
        if code.valid_to >= today:
            continue
        done = {item.get("point_of_sale") for item in code.no_movement}
        used = _points_used(session, code)
        for point in points:
            if point in done or point in used:
                continue
            session.commit()
            try:
                report = wsfe.caea_no_movement_inform(code.code, point)
            except arca_errors.ArcaError as error:
                raise ArcaCallFailed(describe_arca_error(error)) from error
            entry = {
                "point_of_sale": point,
                "result": report.result,
                "processed_on": report.processed_on.isoformat() if report.processed_on else None,
            }
            code.no_movement = [*code.no_movement, entry]
            details = {"caea": code.code, "point_of_sale": point, "result": report.result}
            record_event(session, organization_id, "caea.no_movement_informed", None, None, details)
            session.commit()
            outcome.no_movement.append((code.code, point))


def _caea_points(session: DbSession, organization_id: int) -> list[int]:
    return list(
        session.scalars(
            select(PointOfSale.number).where(
                PointOfSale.organization_id == organization_id,
                func.upper(PointOfSale.emission_type).like("CAEA%"),
                PointOfSale.blocked.is_(False),
            )
        ).all()
    )


def _points_used(session: DbSession, code: CaeaCode) -> set[int]:
    rows = session.scalars(
        select(Invoice.point_of_sale_number)
        .join(CaeaReport, CaeaReport.invoice_id == Invoice.id)
        .where(CaeaReport.caea_code_id == code.id)
        .distinct()
    ).all()
    return {int(point) for point in rows}


def awaiting_no_movement(session: DbSession, organization_id: int, today: dt.date) -> bool:
    """Whether some ended fortnight still has a CAEA point of sale to report without movement."""
    points = set(_caea_points(session, organization_id))
    if not points:
        return False
    for code in caeas_of(session, organization_id):
        if code.valid_to >= today:
            continue
        done = {item.get("point_of_sale") for item in code.no_movement}
        if points - done - _points_used(session, code):
            return True
    return False


def groups(reports: list[CaeaReport]) -> list[tuple[str, list[CaeaReport]]]:
    """Reports grouped by status, for the page (pending first)."""
    order = {
        CaeaReportStatus.REJECTED: 0,
        CaeaReportStatus.PENDING: 1,
        CaeaReportStatus.INFORMED: 2,
    }
    ordered = sorted(reports, key=lambda report: order[CaeaReportStatus(report.status)])
    return [(status, list(items)) for status, items in groupby(ordered, key=lambda r: r.status)]
