"""Bulk authorization stays set-based: `reserve_batch` + `record_batch` of a whole batch take a
bounded number of SQL statements, never a few per voucher. Shared by the PostgreSQL
(integration) and SQLite (embedded) tests; run inside an app context with the in-process
sandbox."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from sqlalchemy import event, select

from arca.codes import IssuerCondition
from arca.sandbox import drop_after, reject_next
from blueprints.certificates.connection import arca_client
from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from blueprints.invoices.authorization import (
    BatchOutcome,
    authorize_batch,
    record_batch,
    reserve_batch,
)
from blueprints.invoices.models import AttemptOutcome, AuthorizationAttempt, Invoice, InvoiceStatus
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.invoices.services import DraftInput, save_draft
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from blueprints.points_of_sale.services import sync_points_of_sale
from core.arca import get_arca
from core.crypto import get_keyring
from core.db import db
from tests.factories import make_organization, make_user

BATCH = 250
# Reserve + record of one batch with its events, whatever its size (12), and its audit entries:
# the settled rows read once, the chain head locked (made the first time) and moved, one INSERT.
MOST_STATEMENTS = 18  # measured: 14 on PostgreSQL, 15 to 17 on SQLite
FACTURA_B = 6


@contextmanager
def counted() -> Iterator[list[str]]:
    """The SQL statements this context's session sent meanwhile (an executemany is one). Work
    it wakes after its commits runs in sessions of its own (without Redis, an event's fan-out
    runs inline in a nested app context) and is not the batch's: not counted."""
    sent: list[str] = []
    ours: set[int] = set()
    session = db.session()

    def begun(_session: object, _transaction: object, connection: object) -> None:
        ours.add(id(connection))

    def count(connection: object, _cursor: object, statement: str, *_rest: object) -> None:
        if id(connection) in ours:
            sent.append(statement)

    if session.in_transaction():
        ours.add(id(session.connection()))
    event.listen(session, "after_begin", begun)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
        event.remove(session, "after_begin", begun)


def certified_drafts(count: int) -> tuple[int, str, list[int]]:
    """A certified organization and `count` Factura B drafts on its point of sale 1, with two
    VAT rates each (so each voucher carries VAT rows)."""
    owner = make_user()
    organization = make_organization(owner=owner, condition=IssuerCondition.RESPONSABLE_INSCRIPTO)
    request = generate_request(db.session, organization, owner, "sandbox", "lote", get_keyring())
    issue_with_sandbox_ca(db.session, organization, owner, request, get_arca())
    sync_points_of_sale(db.session, organization.id, get_arca(), owner)
    point = db.session.scalars(
        select(PointOfSale.id).where(
            PointOfSale.organization_id == organization.id, PointOfSale.number == 1
        )
    ).one()
    today = arca_today(get_arca())
    ids = []
    for index in range(count):
        lines = [
            Line(f"Artículo {index}", Decimal(1 + index % 3), Decimal(100 + index), vat=5),
            Line("Libro", Decimal(1), Decimal("22100.00"), vat=4),
        ]
        draft = DraftInput(point, None, today, lines, prices_include_vat=True)
        ids.append(save_draft(db.session, organization, draft, None).id)
    return organization.id, organization.cuit, ids


def send_batch(organization_id: int, ids: list[int]) -> tuple[BatchOutcome, int]:
    """One FECAESolicitar for `ids` through `reserve_batch` and `record_batch`; returns the
    outcome and the statements those two sent (ARCA's calls and the ticket not counted)."""
    outcome = BatchOutcome()
    with arca_client(db.session, organization_id, get_arca()) as arca:
        last = arca.wsfe.last_authorized(1, FACTURA_B)
        with counted() as reserving:
            request, attempts = reserve_batch(db.session, ids, last + 1)
        response = arca.wsfe.authorize(request)
        with counted() as recording:
            record_batch(db.session, request, ids, attempts, response, outcome)
    if len(reserving) + len(recording) > MOST_STATEMENTS:  # what to look at when it fails
        kinds = Counter(" ".join(statement.split()[:3]) for statement in reserving + recording)
        print(f"statements sent: {kinds.most_common(8)}")
    return outcome, len(reserving) + len(recording)


def check_batches_are_set_based() -> None:
    """A batch of 250 whose first voucher ARCA rejects (the other 249 fail their numbering and
    go back to draft), then those 249 in the next batch, all authorized; then a lost answer
    settled voucher by voucher. Each batch's reserve + record stays within MOST_STATEMENTS, and
    every voucher ends as ARCA's ledger says."""
    organization_id, cuit, ids = certified_drafts(BATCH + 5)
    sandbox = get_arca().sandbox()
    sandbox.faults.add(reject_next(10048))
    first, statements = send_batch(organization_id, ids[:BATCH])
    assert statements <= MOST_STATEMENTS, statements
    assert first.rejected == ids[:1] and first.retry == ids[1:BATCH] and not first.authorized
    rejected = db.session.get_one(Invoice, ids[0])
    assert rejected.status == InvoiceStatus.REJECTED and rejected.number is None
    assert "10048" in str(rejected.errors + rejected.observations)
    released = db.session.get_one(Invoice, ids[1])
    assert released.status == InvoiceStatus.DRAFT and released.number is None
    db.session.commit()

    second, statements = send_batch(organization_id, ids[1:BATCH])
    assert statements <= MOST_STATEMENTS, statements
    assert second.authorized == ids[1:BATCH] and not (second.rejected or second.retry)

    # The answer is lost after ARCA granted the CAEs: settled by FECompConsultar, then tallied.
    sandbox.faults.add(drop_after())
    lost = authorize_batch(db.session, ids[BATCH:], get_arca())
    assert lost.authorized == ids[BATCH:] and not (lost.rejected or lost.retry or lost.unknown)

    invoices = db.session.scalars(select(Invoice).where(Invoice.id.in_(ids[1:]))).all()
    assert {invoice.status for invoice in invoices} == {InvoiceStatus.AUTHORIZED}
    assert sorted(invoice.number or 0 for invoice in invoices) == list(range(1, len(ids)))
    for invoice in invoices:
        stored = sandbox.ledger.find_voucher(cuit, 1, FACTURA_B, invoice.number or 0)
        assert stored is not None and stored.cae == invoice.cae, invoice.id
        assert invoice.cae_due is not None and invoice.authorized_at is not None
    attempts = db.session.execute(
        select(
            AuthorizationAttempt.invoice_id,
            AuthorizationAttempt.number,
            AuthorizationAttempt.outcome,
        )
        .where(AuthorizationAttempt.invoice_id.in_(ids))
        .order_by(AuthorizationAttempt.id)
    ).all()
    # Each voucher of the first batch: one attempt for number n, rejected; then the approved one.
    assert len(attempts) == BATCH + (BATCH - 1) + 5
    assert [row.outcome for row in attempts[:BATCH]] == [AttemptOutcome.REJECTED] * BATCH
    assert [row.number for row in attempts[:BATCH]] == list(range(1, BATCH + 1))
    assert {row.outcome for row in attempts[BATCH : 2 * BATCH - 1]} == {AttemptOutcome.APPROVED}
    assert {row.outcome for row in attempts[2 * BATCH - 1 :]} == {AttemptOutcome.RECONCILED}
    # The second batch: every attempt finished, started together; the exchange (the whole
    # batch's request and response) kept once, on the batch's first attempt.
    second_batch = db.session.scalars(
        select(AuthorizationAttempt)
        .where(
            AuthorizationAttempt.invoice_id.in_(ids[1:BATCH]),
            AuthorizationAttempt.outcome == AttemptOutcome.APPROVED,
        )
        .order_by(AuthorizationAttempt.id)
    ).all()
    assert len(second_batch) == BATCH - 1
    assert all(attempt.finished_at is not None for attempt in second_batch)
    assert len({attempt.started_at for attempt in second_batch}) == 1
    first_attempt = second_batch[0]
    assert first_attempt.request_xml and first_attempt.response_xml
    assert first_attempt.request_xml.count("FECAEDetRequest>") == 2 * (BATCH - 1)
    assert all(attempt.request_xml is None for attempt in second_batch[1:])
    assert sandbox.ledger.last_voucher(cuit, 1, FACTURA_B)[0] == len(ids) - 1
    assert db.session.get_one(Organization, organization_id).cuit == cuit
    db.session.commit()
