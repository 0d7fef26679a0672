"""Authorizations per second through the in-process sandbox, one voucher per request (FECAESolicitar
with CantReg 1), with 1 and 4 worker processes, on PostgreSQL.

Each scenario gets its own certified organization (so its sequences start at 1) and N drafted
Facturas B; then worker processes, each a whole app of its own (multiprocessing spawn), run
`authorize_invoice` on their share, exactly as the RQ workers do. Every process's in-process
sandbox keeps its state in the same SQLite file, so ARCA's numbering is shared between them, and
the sequence lock is PostgreSQL's advisory lock. Scenarios:

- 1 process, one sequence: the baseline;
- 4 processes, one sequence: every invoice on one (point of sale, type), so the processes take
  turns on its lock (ARCA numbers a sequence one voucher at a time: last + 1);
- 4 processes, four sequences: one point of sale each, nothing shared but the sandbox's file.

Each worker authorizes its first invoice untimed (app start, ticket, sandbox file), then they all
start together. Prints invoices/second (timed invoices over the wall time from the common start
to the last worker's end) and the median and p95 of one `authorize_invoice` call, then checks
that every invoice was authorized exactly once: one attempt, approved; numbers 1..n in each
sequence; the CAE the sandbox's ledger holds; one FECAESolicitar per invoice in its request log.

Then the bulk job (`run_bulk`: FECAESolicitar with up to 250 vouchers each) over N drafts of one
sequence, with a latency fault on every ARCA call (200 ms by default). Prints SQL statements per
voucher (and per batch inside `reserve_batch` + `record_batch`), the app's own ms per voucher
(wall time minus the time spent in the SOAP transport, the sandbox included) and the wall time
against the network floor (SOAP calls x the latency); then checks the same exactly-once facts.

    .venv/bin/python bench/authorizations.py [--invoices 400] [--bulk 1000] [--latency 0.2]
        [--only single|bulk]

Without TALONARIO_TEST_DATABASE_URL it uses postgresql+psycopg://postgres@127.0.0.1:5432/postgres
(it creates its own database there and drops it at the end); Redis on 127.0.0.1:6379 when it
answers (the ticket lock and cache), else the file lock in the shared instance folder.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import traceback
import uuid
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import create_app
from arca.sandbox.faults import latency
from arca.transport import WSGIAdapter
from bench._services import make_database, redis_url
from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from blueprints.invoices import authorization
from blueprints.invoices.authorization import authorize_invoice
from blueprints.invoices.bulk import BULK as BULK_TASK
from blueprints.invoices.bulk import BulkProgress, run_bulk
from blueprints.invoices.models import AttemptOutcome, AuthorizationAttempt, Invoice, InvoiceStatus
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.invoices.services import DraftInput, save_draft
from blueprints.invoices.totals import Line
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from blueprints.points_of_sale.services import sync_points_of_sale
from core.arca import get_arca
from core.crypto import generate_key, get_keyring
from core.db import db
from core.tasks import submit
from tests.factories import make_organization, make_user

INVOICES = 400
BULK = 1000
LATENCY = 0.2  # seconds, on every ARCA call of the bulk run
FACTURA_B = 6
LINES = [
    Line("Café en grano 1 kg", Decimal("2"), Decimal("12100.00"), vat=5),
    Line("Libro", Decimal("1"), Decimal("22100.00"), vat=4),
]


@dataclass(frozen=True)
class Scenario:
    label: str
    processes: int
    sequences: int  # points of sale 1..sequences, the invoices dealt round-robin


SCENARIOS = (
    Scenario("1 process, one sequence", 1, 1),
    Scenario("4 processes, one sequence", 4, 1),
    Scenario("4 processes, four sequences", 4, 4),
)


@dataclass(frozen=True)
class Outcome:
    latencies: list[float]  # ms, timed calls only
    start: float  # time.perf_counter() (CLOCK_MONOTONIC: comparable across processes)
    end: float


# --- the workers ---------------------------------------------------------------------------------


def worker(
    config: dict[str, Any], invoice_ids: list[int], barrier: Any, results: Any, index: int
) -> None:
    """One process: its own app; the first invoice untimed, then the rest after the barrier."""
    try:
        app = create_app(config)
        with app.app_context():
            authorize(invoice_ids[0])
            barrier.wait()
            start = time.perf_counter()
            latencies = []
            for invoice_id in invoice_ids[1:]:
                began = time.perf_counter()
                authorize(invoice_id)
                latencies.append((time.perf_counter() - began) * 1000)
            end = time.perf_counter()
            db.session.remove()
            db.engine.dispose()
            get_arca().close()
        results.put((index, Outcome(latencies, start, end), None))
    except BaseException:
        barrier.abort()
        results.put((index, None, traceback.format_exc()))


def authorize(invoice_id: int) -> None:
    invoice = authorize_invoice(db.session, invoice_id, get_arca())
    if invoice.status != InvoiceStatus.AUTHORIZED:
        raise RuntimeError(f"invoice {invoice_id}: {invoice.status} {invoice.errors}")


def run_workers(config: dict[str, Any], shares: list[list[int]]) -> list[Outcome]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(shares))
    results = context.Queue()
    processes = [
        context.Process(target=worker, args=(config, share, barrier, results, index))
        for index, share in enumerate(shares)
    ]
    for process in processes:
        process.start()
    collected = [results.get() for _ in processes]
    for process in processes:
        process.join()
    failures = [error for _index, _outcome, error in collected if error]
    if failures:
        raise RuntimeError("a worker failed:\n" + "\n".join(failures))
    return [outcome for _index, outcome, _error in sorted(collected, key=lambda row: row[0])]


# --- setup ---------------------------------------------------------------------------------------


def certified() -> Organization:
    """An organization with an active sandbox certificate, its ticket and ARCA's points of sale
    (as tests/integration/test_invoices.py `certified()` makes one)."""
    owner = make_user()
    organization = make_organization(owner=owner)
    request = generate_request(
        db.session, organization, owner, "sandbox", "facturas", get_keyring()
    )
    issue_with_sandbox_ca(db.session, organization, owner, request, get_arca())
    sync_points_of_sale(db.session, organization.id, get_arca(), owner)
    return organization


def draft_invoices(organization: Organization, count: int, sequences: int) -> list[list[int]]:
    """`count` anonymous Facturas B dealt round-robin over points of sale 1..`sequences`; the
    ids per point of sale."""
    points = dict(
        db.session.execute(
            sa.select(PointOfSale.number, PointOfSale.id).where(
                PointOfSale.organization_id == organization.id
            )
        ).all()
    )
    today = arca_today(get_arca())
    per_point: list[list[int]] = [[] for _ in range(sequences)]
    for index in range(count):
        number = index % sequences + 1
        draft = DraftInput(points[number], None, today, LINES, prices_include_vat=True)
        per_point[number - 1].append(save_draft(db.session, organization, draft, None).id)
    return per_point


def deal(ids: list[list[int]], processes: int) -> list[list[int]]:
    """The workers' shares: a sequence each when there are as many, else round-robin."""
    if len(ids) == processes:
        return ids
    flat = [invoice_id for point in ids for invoice_id in point]
    return [flat[index::processes] for index in range(processes)]


# --- checks and figures --------------------------------------------------------------------------


def verify(organization_id: int, cuit: str, count: int) -> None:
    """Every invoice authorized exactly once: numbers 1..n per sequence, one approved attempt
    each, the CAE in the sandbox's ledger, one FECAESolicitar per invoice."""
    invoices = db.session.scalars(
        sa.select(Invoice).where(Invoice.organization_id == organization_id)
    ).all()
    assert len(invoices) == count, (len(invoices), count)
    assert all(invoice.status == InvoiceStatus.AUTHORIZED for invoice in invoices)
    sequences: dict[tuple[int, int], list[int]] = {}
    for invoice in invoices:
        key = (invoice.point_of_sale_number, invoice.invoice_type)
        sequences.setdefault(key, []).append(invoice.number or 0)
    for key, numbers in sequences.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), key
    attempts = db.session.execute(
        sa.select(AuthorizationAttempt.invoice_id, AuthorizationAttempt.outcome)
        .join(Invoice, Invoice.id == AuthorizationAttempt.invoice_id)
        .where(Invoice.organization_id == organization_id)
    ).all()
    assert len(attempts) == count and {outcome for _id, outcome in attempts} == {
        AttemptOutcome.APPROVED
    }
    assert len({invoice_id for invoice_id, _outcome in attempts}) == count
    ledger = get_arca().sandbox().ledger
    for invoice in invoices:
        pos, kind, number = invoice.point_of_sale_number, invoice.invoice_type, invoice.number
        stored = ledger.find_voucher(cuit, pos, kind, number or 0)
        assert stored is not None and stored.cae == invoice.cae, invoice.id
    for (pos, kind), numbers in sequences.items():
        assert ledger.last_voucher(cuit, pos, kind)[0] == len(numbers)
    sent = [
        entry
        for entry in ledger.requests()
        if entry.operation == "FECAESolicitar" and entry.cuit == cuit
    ]
    assert len(sent) == count and {entry.outcome for entry in sent} == {"A"}, len(sent)
    db.session.rollback()


def p95(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[max(int(len(ordered) * 0.95) - 1, 0)]


def report(scenario: Scenario, outcomes: list[Outcome]) -> None:
    timings = [ms for outcome in outcomes for ms in outcome.latencies]
    wall = max(o.end for o in outcomes) - min(o.start for o in outcomes)
    rate = len(timings) / wall
    print(
        f"{scenario.label:<30} {scenario.processes:>5} {scenario.sequences:>4} "
        f"{len(timings):>5} {wall:7.2f} s {rate:8.1f} {statistics.median(timings):8.2f} "
        f"{p95(timings):8.2f}",
        flush=True,
    )


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=INVOICES, help="per scenario")
    parser.add_argument("--bulk", type=int, default=BULK, help="drafts in the bulk job")
    parser.add_argument("--latency", type=float, default=LATENCY, help="seconds per ARCA call")
    parser.add_argument("--only", choices=("single", "bulk"), help="run one part only")
    arguments = parser.parse_args()
    for name in [name for name in os.environ if name.startswith("TALONARIO_ARCA_")]:
        del os.environ[name]  # the in-process sandbox, whatever the shell says
    database_url, drop = make_database()
    with tempfile.TemporaryDirectory() as instance:
        config = {
            "INSTANCE_PATH": instance,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url(),
            "CACHE_KEY_PREFIX": f"talonario-bench-{uuid.uuid4().hex[:6]}:",
            "ENCRYPTION_KEYS": generate_key(),
            "SECRET_KEY": uuid.uuid4().hex,
            "ARCA_ENVIRONMENT": "sandbox",
            "ARCA_SANDBOX_URL": None,
            # One sandbox state for every process: ARCA's numbering is shared, as ARCA's is.
            "ARCA_SANDBOX_STATE": str(Path(instance) / "arca-sandbox.sqlite3"),
        }
        app = create_app(config)
        try:
            with app.app_context():
                upgrade()
            if arguments.only != "bulk":
                run(app, config, arguments.invoices)
            if arguments.only != "single":
                run_bulk_bench(app, arguments.bulk, arguments.latency)
        finally:
            with app.app_context():
                db.engine.dispose()
                get_arca().close()
            drop()


def run(app: Flask, config: dict[str, Any], count: int) -> None:
    with app.app_context():
        cache = app.extensions["talonario.cache"].backend
        version = ".".join(str(part) for part in db.engine.dialect.server_version_info or ())
        print(
            f"database: {db.engine.dialect.name} {version}, cache: {cache}, "
            f"{os.cpu_count()} CPUs, sandbox in-process (state in one SQLite file)",
            flush=True,
        )
        start = time.perf_counter()
        planned = []
        for scenario in SCENARIOS:
            organization = certified()
            ids = draft_invoices(organization, count, scenario.sequences)
            planned.append((scenario, organization.id, organization.cuit, ids))
        drafted = time.perf_counter() - start
        print(f"drafted {count} invoices x {len(SCENARIOS)} scenarios in {drafted:.1f} s")
        db.session.remove()
    print(
        f"\n{'FECAESolicitar, one voucher each':<30} {'procs':>5} {'seqs':>4} {'timed':>5} "
        f"{'wall':>9} {'inv/s':>8} {'p50 ms':>8} {'p95 ms':>8}"
    )
    for scenario, _id, _cuit, ids in planned:
        report(scenario, run_workers(config, deal(ids, scenario.processes)))
    with app.app_context():
        for _scenario, organization_id, cuit, _ids in planned:
            verify(organization_id, cuit, count)
    print(
        f"\nverified: {count * len(SCENARIOS)} invoices authorized exactly once (one approved "
        "attempt and one FECAESolicitar each), numbers 1..n in every sequence, CAEs as the "
        "sandbox's ledger holds them"
    )


# --- bulk at the network floor -------------------------------------------------------------------


class Meter:
    """SQL statements (a `before_cursor_execute` listener; an executemany counts once) and the
    time spent in the SOAP transport (the in-process sandbox's adapter: ARCA's side, latency
    fault included), while `on`."""

    def __init__(self) -> None:
        self.statements = 0
        self.soap_calls = 0
        self.soap_seconds = 0.0
        self.on = False
        self.in_batch = False  # inside reserve_batch / record_batch
        self.batch_statements: list[int] = []
        self.batch_seconds = 0.0

    def count(self, *_args: Any) -> None:
        if self.on:
            self.statements += 1
            if self.in_batch:
                self.batch_statements[-1] += 1

    def install(self) -> None:
        sa.event.listen(db.engine, "before_cursor_execute", self.count)
        send = WSGIAdapter.send
        meter = self

        def timed_send(adapter: WSGIAdapter, *args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return send(adapter, *args, **kwargs)
            finally:
                if meter.on:
                    meter.soap_calls += 1
                    meter.soap_seconds += time.perf_counter() - began

        WSGIAdapter.send = timed_send  # type: ignore[method-assign]
        for name in ("reserve_batch", "record_batch"):
            setattr(authorization, name, self.counted(getattr(authorization, name), name))

    def counted(self, function: Any, name: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if name == "reserve_batch":
                self.batch_statements.append(0)
            self.in_batch = True
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.in_batch = False
                self.batch_seconds += time.perf_counter() - began

        return wrapper


def run_bulk_bench(app: Flask, count: int, delay: float) -> None:
    """One bulk job over `count` drafts of one sequence, `delay` seconds on every ARCA call."""
    with app.app_context():
        organization = certified()
        organization_id, cuit = organization.id, organization.cuit
        (ids,) = draft_invoices(organization, count, 1)
        db.session.remove()
        sandbox = get_arca().sandbox()
        sandbox.faults.add(latency(delay, count=None))
        meter = Meter()
        meter.install()
        gc.freeze()  # as `flask worker` does once the app is loaded
        # The bulk request as `start_bulk` writes it, not woken: this process runs it.
        key = submit(
            db.session,
            BULK_TASK,
            {"invoice_ids": ids},
            organization_id=organization_id,
            state=asdict(BulkProgress(organization_id, total=len(ids))),
        )
        db.session.commit()
        assert key is not None
        meter.on = True
        start = time.perf_counter()
        progress = run_bulk(db.session, organization_id, ids, get_arca(), key)
        wall = time.perf_counter() - start
        meter.on = False
        sandbox.faults.clear()
        db.session.remove()
        assert progress.authorized == count and not progress.failure, progress
    app_ms = (wall - meter.soap_seconds) * 1000 / count
    floor = meter.soap_calls * delay
    batches = meter.batch_statements
    print(
        f"\nbulk job, {count} drafts of one sequence, {delay * 1000:.0f} ms latency on every "
        f"ARCA call\n"
        f"  SQL statements: {meter.statements} ({meter.statements / count:.3f} per voucher, "
        f"{meter.statements / len(batches):.1f} per batch of up to 250, the job's own "
        f"included); reserve_batch + record_batch: {batches} per batch, "
        f"{meter.batch_seconds * 1000 / count:.3f} ms per voucher\n"
        f"  SOAP: {meter.soap_calls} calls, {meter.soap_seconds:.2f} s in the transport\n"
        f"  app-side: {app_ms:.3f} ms per voucher (wall minus SOAP)\n"
        f"  wall: {wall:.2f} s against a network floor of {floor:.2f} s "
        f"({meter.soap_calls} calls x {delay * 1000:.0f} ms): {wall / floor:.2f}x the floor",
        flush=True,
    )
    with app.app_context():
        verify_bulk(organization_id, cuit, count)


def verify_bulk(organization_id: int, cuit: str, count: int) -> None:
    """Every invoice authorized once: numbers 1..n, one approved attempt each, the CAEs of the
    sandbox's ledger, and as many vouchers in the FECAESolicitar calls as invoices."""
    invoices = db.session.scalars(
        sa.select(Invoice).where(Invoice.organization_id == organization_id)
    ).all()
    assert len(invoices) == count
    assert all(invoice.status == InvoiceStatus.AUTHORIZED for invoice in invoices)
    assert sorted(invoice.number or 0 for invoice in invoices) == list(range(1, count + 1))
    outcomes = db.session.execute(
        sa.select(AuthorizationAttempt.invoice_id, AuthorizationAttempt.outcome)
        .join(Invoice, Invoice.id == AuthorizationAttempt.invoice_id)
        .where(Invoice.organization_id == organization_id)
    ).all()
    assert len(outcomes) == count and {outcome for _id, outcome in outcomes} == {
        AttemptOutcome.APPROVED
    }
    ledger = get_arca().sandbox().ledger
    for invoice in invoices:
        stored = ledger.find_voucher(cuit, 1, FACTURA_B, invoice.number or 0)
        assert stored is not None and stored.cae == invoice.cae, invoice.id
    sent = [
        entry
        for entry in ledger.requests()
        if entry.operation == "FECAESolicitar" and entry.cuit == cuit
    ]
    assert sum(entry.cant_reg or 0 for entry in sent) == count, len(sent)
    db.session.rollback()
    print(
        f"  verified: {count} invoices authorized exactly once (one approved attempt each), "
        f"numbers 1..{count}, CAEs as the sandbox's ledger holds them, {len(sent)} "
        "FECAESolicitar carrying them all",
        flush=True,
    )


if __name__ == "__main__":
    main()
