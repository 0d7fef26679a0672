"""Server time of the invoice list and the dashboard on PostgreSQL, with 1,000,000 invoices.

Seeds one organization (Responsable Inscripto) with 1,000,000 invoices over the last three years,
about 25,000 of them this month, and a second one (monotributo) with 50,000, so the tenancy
filter has rows to skip. The seed is one `INSERT … SELECT generate_series` in PostgreSQL, then
`VACUUM ANALYZE`. The mix: mostly authorized, some drafts and rejected, a few unknown (recent
only); Factura A / Nota de Crédito A to Responsables Inscriptos, Factura B / Nota de Crédito B to
everyone else (30% of them to the anonymous final consumer), Factura C for the months before the
business became RI; two points of sale (80/20); a few hundred customers, skewed (the top one has
about 63,000 invoices, the median one about 1,000); amounts log-spread and growing with
inflation; some in dollars. Numbers run 1..n per (organization, point of sale, type) in date
order over the rows that hold one (authorized and unknown). Invoice lines and VAT rows are not
seeded: neither the list nor the dashboard reads them (and the database refuses children of an
authorized invoice anyway).

Then, logged in as the owner through the WSGI test client, it times GET /invoices/ with each kind
of filter (and page 2 through the "Más antiguos" link of page 1) and GET / (the dashboard, whose
month overview runs over the same table), and prints the p50 and p95 per kind against the
targets: list p95 < 50 ms, dashboard p95 < 100 ms. For a kind that misses (or every kind, with
--explain) it prints the SQL statements the request sends with their median time, and
PostgreSQL's plan (EXPLAIN (ANALYZE, BUFFERS)) of the slow ones.

    .venv/bin/python bench/invoices_list.py [--explain] [--invoices 1000000] [--requests 50]

Without TALONARIO_TEST_DATABASE_URL it uses postgresql+psycopg://postgres@127.0.0.1:5432/postgres
(it creates its own database there and drops it at the end); Redis on 127.0.0.1:6379 when it
answers (sessions and cache), else the in-process defaults.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arca.cuit import compute_check_digit, normalize_cuit
from bench._services import bench_app
from blueprints.auth.models import User
from blueprints.customers.models import Customer
from blueprints.customers.rules import CustomerData, build_search_text, fold
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.models import PointOfSale
from core.arca import get_arca
from core.db import db, utcnow
from core.rowsecurity import OWNER_OPTION
from tests.web import post_form

MAIN_INVOICES = 1_000_000
OTHER_INVOICES = 50_000
THIS_MONTH_SHARE = 0.025  # 25,000 of 1,000,000 this month; the rest over the 3 years before
HISTORY_DAYS = 3 * 365
MONOTRIBUTO_DAYS = 900  # the main organization issued Factura C until this many days ago
MAIN_CUSTOMERS = 400
OTHER_CUSTOMERS = 60
ANONYMOUS_SHARE = 0.30  # invoices to the anonymous final consumer
REQUESTS = 50  # per kind, after a warm-up
TIME_BUDGET_S = 12.0  # per kind: a slow kind stops early (after at least MIN_REQUESTS)
MIN_REQUESTS = 15
LIST_TARGET_MS = 50.0
DASHBOARD_TARGET_MS = 100.0
SLOW_STATEMENT_MS = 5.0  # statements explained for a missed kind
SEED = 20_261_201

SURNAMES = (
    "González", "Rodríguez", "Gómez", "Fernández", "López", "Díaz", "Martínez", "Pérez",
    "García", "Sánchez", "Romero", "Sosa", "Álvarez", "Torres", "Ruiz", "Ramírez", "Flores",
    "Acosta", "Benítez", "Medina", "Suárez", "Herrera", "Aguirre", "Pereyra", "Gutiérrez",
)  # fmt: skip
FIRST_NAMES = (
    "María", "Ana", "Lucía", "Sofía", "Camila", "Florencia", "Julieta", "Carolina", "José",
    "Juan", "Martín", "Matías", "Agustín", "Nicolás", "Sebastián", "Facundo", "Tomás", "Diego",
)  # fmt: skip
KINDS = (
    "Ferretería", "Panadería", "Almacén", "Distribuidora", "Librería", "Farmacia", "Autoservicio",
    "Taller Mecánico", "Estudio Contable", "Consultora", "Constructora", "Transportes",
    "Maderera", "Pinturería", "Corralón", "Agropecuaria", "Imprenta", "Metalúrgica", "Textil",
)  # fmt: skip
PLACES = (
    "Rivadavia", "San Martín", "Belgrano", "Sarmiento", "Mitre", "Córdoba", "Mendoza", "Salta",
    "del Sur", "del Norte", "del Centro", "Los Andes", "La Pampa", "El Progreso", "Quilmes",
)  # fmt: skip
STREETS = ("Av. Rivadavia", "San Martín", "Belgrano", "Av. Corrientes", "Mitre", "Sarmiento")
CITIES = ("CABA", "La Plata", "Rosario", "Córdoba", "Mar del Plata", "Mendoza", "Quilmes")


# --- the data ------------------------------------------------------------------------------------


def make_customers(count: int, seed_value: int) -> list[CustomerData]:
    """Customers an RI business invoices: companies (RI, some exempt), monotributistas (CUIT) and
    consumers (DNI), each with a unique document."""
    chance = random.Random(seed_value)
    used: set[str] = set()
    made: list[CustomerData] = []
    while len(made) < count:
        roll = chance.random()
        address = f"{chance.choice(STREETS)} {chance.randint(1, 8000)}, {chance.choice(CITIES)}"
        if roll < 0.70:
            company = roll < 0.45
            prefix = chance.choice(("30", "33")) if company else chance.choice(("20", "23", "27"))
            body = f"{prefix}{chance.randint(10_000_000, 72_000_000):08d}"
            digit = compute_check_digit(body)
            if digit is None or f"{body}{digit}" in used:
                continue
            number = f"{body}{digit}"
            if company:
                name = f"{chance.choice(KINDS)} {chance.choice(PLACES + SURNAMES)} SRL"
                condition = 4 if chance.random() < 0.08 else 1
            else:
                name = f"{chance.choice(FIRST_NAMES)} {chance.choice(SURNAMES)}"
                condition = 6
            made.append(CustomerData(80, number, name, condition, address=address))
        else:
            number = str(chance.randint(8_000_000, 46_000_000))
            if number in used:
                continue
            name = f"{chance.choice(FIRST_NAMES)} {chance.choice(SURNAMES)}"
            made.append(CustomerData(96, number, name, 5, address=address))
        used.add(number)
    return made


def seed_customers(organization_id: int, count: int, seed_value: int) -> None:
    now = utcnow()
    rows = [
        {
            "organization_id": organization_id,
            "doc_type": c.doc_type,
            "doc_number": c.doc_number,
            "legal_name": c.legal_name,
            "iva_condition": c.iva_condition,
            "emails": "",
            "address": c.address,
            "sort_name": fold(c.legal_name)[:200],
            "search_text": build_search_text(c),
            "created_at": now,
            "updated_at": now,
        }
        for c in make_customers(count, seed_value)
    ]
    db.session.execute(sa.insert(Customer), rows)


def seed_points_of_sale(organization_id: int) -> None:
    now = utcnow()
    for number in (1, 2):
        db.session.add(
            PointOfSale(
                organization_id=organization_id,
                number=number,
                name=f"Web service {number}",
                emission_type="CAE",
                synced_at=now,
            )
        )


# One statement: the random draws per row (materialized, so each is drawn once), the customer
# (a skewed pick among the organization's, or the anonymous consumer), the voucher type and status
# that follow from them, the number (1..n per sequence, in date order), then the amounts. Inserted
# in date order, both organizations interleaved, so ids grow with time as they do in real life.
SEED_SQL = """
WITH raw AS MATERIALIZED (
    SELECT g AS i,
           CASE WHEN g <= :main_n THEN :main_org ELSE :other_org END AS org,
           CASE WHEN g <= :main_month OR (g > :main_n AND g <= :main_n + :other_month)
                THEN CAST(:month_start AS date) + floor(random() * :month_days)::int
                ELSE CAST(:month_start AS date) - 1 - floor(random() * :history_days)::int
           END AS issue_date,
           random() AS u_status, random() AS u_customer, random() AS u_type,
           random() AS u_pos, random() AS u_amount, random() AS u_currency, random() AS u_vat,
           random() AS u_time
    FROM generate_series(1, :main_n + :other_n) AS g
),
picked AS (
    SELECT r.*,
           CASE WHEN r.u_customer < :anonymous THEN NULL
                ELSE floor(CASE WHEN r.org = :main_org THEN :main_customers
                                ELSE :other_customers END
                           * power((r.u_customer - :anonymous) / (1 - :anonymous), 2.5))::int
           END AS customer_rank
    FROM raw r
),
ranked_customers AS (
    SELECT id, organization_id, legal_name, doc_type, doc_number, iva_condition, address,
           (row_number() OVER (PARTITION BY organization_id ORDER BY id) - 1)::int AS rank
    FROM customers
),
typed AS (
    SELECT p.*, c.id AS customer_id, c.legal_name, c.doc_type, c.doc_number, c.iva_condition,
           c.address,
           CASE
               WHEN p.org = :other_org THEN CASE WHEN p.u_type < 0.04 THEN 13 ELSE 11 END
               WHEN p.issue_date < CAST(:ri_since AS date) THEN 11
               WHEN c.iva_condition = 1 THEN CASE WHEN p.u_type < 0.05 THEN 3 ELSE 1 END
               ELSE CASE WHEN p.u_type < 0.03 THEN 8 ELSE 6 END
           END AS invoice_type,
           CASE
               WHEN p.u_status < 0.015 THEN 'draft'
               WHEN p.u_status < 0.020 THEN 'rejected'
               WHEN p.u_status < 0.030 AND p.issue_date >= CAST(:today AS date) - 2
                   THEN 'unknown'
               ELSE 'authorized'
           END AS status,
           CASE WHEN p.u_pos < 0.8 THEN 1 ELSE 2 END AS pos_number,
           (CAST(:today AS date) - p.issue_date) / 365.0 AS years_ago
    FROM picked p
    LEFT JOIN ranked_customers c ON c.organization_id = p.org AND c.rank = p.customer_rank
),
numbered AS (
    SELECT t.*,
           CASE WHEN t.status IN ('authorized', 'unknown') THEN
               row_number() OVER (
                   PARTITION BY t.org, t.pos_number, t.invoice_type,
                                t.status IN ('authorized', 'unknown')
                   ORDER BY t.issue_date, t.u_time, t.i)
           END AS number,
           CASE WHEN t.invoice_type IN (1, 3) AND t.u_currency < 0.04 THEN 'DOL' ELSE 'PES' END
               AS currency,
           CASE WHEN t.invoice_type IN (11, 13) THEN 0
                WHEN t.u_vat < 0.8 THEN 0.21 ELSE 0.105 END AS vat_rate,
           (t.issue_date + time '09:00' + t.u_time * interval '10 hours')
               AT TIME ZONE 'America/Argentina/Buenos_Aires' AS issued_at
    FROM typed t
),
priced AS (
    SELECT n.*,
           CASE WHEN n.currency = 'DOL'
                THEN round((1450 * power(0.55, n.years_ago))::numeric, 2) ELSE 1 END AS rate,
           exp(7.6 + 6.0 * n.u_amount) * power(0.45, n.years_ago) AS pesos
    FROM numbered n
),
amounts AS (
    SELECT p.*, round((p.pesos / p.rate)::numeric, 2) AS net_amount FROM priced p
)
INSERT INTO invoices (
    organization_id, point_of_sale_id, point_of_sale_number, invoice_type, kind, letter, concept,
    status, customer_id, receiver_name, receiver_doc_type, receiver_doc_number,
    receiver_condition, receiver_address, issue_date, currency, currency_rate,
    same_currency_payment, prices_include_vat, untaxed, net, exempt, vat_total,
    other_taxes_total, total, number, cae, cae_due, authorized_at, observations, errors,
    created_by_id, updated_at, created_at
)
SELECT a.org, pos.id, a.pos_number, a.invoice_type,
       CASE WHEN a.invoice_type IN (3, 8, 13) THEN 'credit_note' ELSE 'invoice' END,
       CASE WHEN a.invoice_type IN (1, 3) THEN 'A' WHEN a.invoice_type IN (6, 8) THEN 'B'
            ELSE 'C' END,
       1, a.status, a.customer_id,
       coalesce(a.legal_name, 'Consumidor final'), coalesce(a.doc_type, 99),
       coalesce(a.doc_number, '0'), coalesce(a.iva_condition, 5), a.address,
       a.issue_date, a.currency, a.rate, false, a.invoice_type IN (6, 8), 0,
       a.net_amount, 0, round(a.net_amount * a.vat_rate, 2), 0,
       a.net_amount + round(a.net_amount * a.vat_rate, 2),
       a.number,
       CASE WHEN a.status = 'authorized' THEN (76000000000000 + a.i)::text END,
       CASE WHEN a.status = 'authorized' THEN a.issue_date + 10 END,
       CASE WHEN a.status = 'authorized' THEN a.issued_at + interval '2 seconds' END,
       CAST('[]' AS json),
       CASE WHEN a.status = 'rejected'
            THEN CAST('[{"code": 10015, "message": "El receptor no existe"}]' AS json)
            ELSE CAST('[]' AS json) END,
       CASE WHEN a.org = :main_org THEN :main_user ELSE :other_user END,
       a.issued_at, a.issued_at
FROM amounts a
JOIN points_of_sale pos ON pos.organization_id = a.org AND pos.number = a.pos_number
ORDER BY a.issue_date, a.u_time, a.i
"""


# Each credit note corrects the organization's latest earlier invoice of its letter (the first
# one, for a note older than any), as a shopkeeper's refunds do.
LINK_NOTES_SQL = """
WITH linked AS (
    SELECT id, kind,
           coalesce(
               max(id) FILTER (WHERE kind = 'invoice')
                   OVER (PARTITION BY organization_id, letter ORDER BY id),
               min(id) FILTER (WHERE kind = 'invoice')
                   OVER (PARTITION BY organization_id, letter)
           ) AS original
    FROM invoices
)
UPDATE invoices SET associated_invoice_id = linked.original
FROM linked WHERE linked.id = invoices.id AND linked.kind <> 'invoice'
"""
NOTE_CHECK = (
    "ck_invoices_note_has_original CHECK (kind = 'invoice' OR associated_invoice_id IS NOT NULL)"
)


@dataclass(frozen=True)
class Seeded:
    main_id: int
    today: dt.date
    month_start: dt.date
    heavy_customer: int
    typical_customer: int
    needle_total: str  # one invoice's exact total, as a person types it ("123456,78")
    heavy_name: str  # the top customer's name, and the median one's name and CUIT/DNI
    typical_name: str
    typical_document: str
    insert_s: float
    vacuum_s: float


def seed(app: Flask, main_id: int, other_id: int, main_n: int, other_n: int) -> Seeded:
    with app.app_context():
        today = arca_today(get_arca())
        month_start = today.replace(day=1)
        users = dict(
            db.session.execute(
                sa.select(User.email, User.id).where(
                    User.email.in_(("bench@example.com", "otra@example.com"))
                )
            ).all()
        )
        for organization_id, count, offset in (
            (main_id, MAIN_CUSTOMERS, 0),
            (other_id, OTHER_CUSTOMERS, 1),
        ):
            seed_customers(organization_id, count, SEED + offset)
            seed_points_of_sale(organization_id)
        db.session.commit()
        began = time.perf_counter()
        # The tables' owner (no row-security role): the seeding drops and re-adds a constraint.
        owner = db.engine.execution_options(**{OWNER_OPTION: True})
        with owner.begin() as connection:
            connection.execute(sa.text("SET LOCAL work_mem = '512MB'"))
            connection.execute(sa.text("SELECT setseed(0.2026)"))
            # The notes' originals are only known once the invoices have ids: the check that a
            # note has one waits until LINK_NOTES_SQL has set them, inside this transaction.
            connection.execute(
                sa.text(f"ALTER TABLE invoices DROP CONSTRAINT {NOTE_CHECK.split()[0]}")
            )
            connection.execute(
                sa.text(SEED_SQL),
                {
                    "main_org": main_id,
                    "other_org": other_id,
                    "main_n": main_n,
                    "other_n": other_n,
                    "main_month": round(main_n * THIS_MONTH_SHARE),
                    "other_month": round(other_n * THIS_MONTH_SHARE),
                    "month_start": month_start,
                    "month_days": (today - month_start).days + 1,
                    "history_days": HISTORY_DAYS,
                    "today": today,
                    "ri_since": today - dt.timedelta(days=MONOTRIBUTO_DAYS),
                    "anonymous": ANONYMOUS_SHARE,
                    "main_customers": MAIN_CUSTOMERS,
                    "other_customers": OTHER_CUSTOMERS,
                    "main_user": users["bench@example.com"],
                    "other_user": users["otra@example.com"],
                },
            )
            # Linking an authorized note is refused by the immutability trigger: replica mode
            # skips triggers for this one seeding statement.
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            connection.execute(sa.text(LINK_NOTES_SQL))
            connection.execute(sa.text("SET LOCAL session_replication_role = origin"))
            connection.execute(sa.text(f"ALTER TABLE invoices ADD CONSTRAINT {NOTE_CHECK}"))
        inserted = time.perf_counter()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # The steady state: visibility map set (index-only scans), statistics fresh, and no
            # autovacuum kicking in while the timings run.
            connection.execute(sa.text("VACUUM ANALYZE invoices, customers, points_of_sale"))
        vacuumed = time.perf_counter()
        by_customer = db.session.execute(
            sa.text(
                "SELECT customer_id, count(*) FROM invoices WHERE organization_id = :org "
                "AND customer_id IS NOT NULL GROUP BY customer_id ORDER BY count(*) DESC"
            ),
            {"org": main_id},
        ).all()
        needle = db.session.scalar(
            sa.text(
                "SELECT total FROM invoices WHERE organization_id = :org "
                "ORDER BY id OFFSET :middle LIMIT 1"
            ),
            {"org": main_id, "middle": main_n // 2},
        )
        names = {
            row.id: (row.legal_name, row.doc_number)
            for row in db.session.execute(
                sa.select(Customer.id, Customer.legal_name, Customer.doc_number).where(
                    Customer.id.in_((by_customer[0][0], by_customer[len(by_customer) // 2][0]))
                )
            )
        }
        db.session.remove()
    heavy, typical = by_customer[0][0], by_customer[len(by_customer) // 2][0]
    return Seeded(
        main_id=main_id,
        today=today,
        month_start=month_start,
        heavy_customer=by_customer[0][0],
        typical_customer=by_customer[len(by_customer) // 2][0],
        needle_total=f"{needle:.2f}".replace(".", ","),
        heavy_name=names[heavy][0],
        typical_name=names[typical][0],
        typical_document=names[typical][1],
        insert_s=inserted - began,
        vacuum_s=vacuumed - inserted,
    )


def describe(app: Flask, main_id: int, month_start: dt.date) -> None:
    """What the seed made, in figures: the reader checks the distribution at a glance."""
    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT status, count(*) FROM invoices WHERE organization_id = :org "
                "GROUP BY status ORDER BY count(*) DESC"
            ),
            {"org": main_id},
        ).all()
        print("  status: " + ", ".join(f"{status} {count:,}" for status, count in rows))
        rows = db.session.execute(
            sa.text(
                "SELECT invoice_type, count(*) FROM invoices WHERE organization_id = :org "
                "GROUP BY invoice_type ORDER BY invoice_type"
            ),
            {"org": main_id},
        ).all()
        print("  type:   " + ", ".join(f"{kind} {count:,}" for kind, count in rows))
        row = db.session.execute(
            sa.text(
                "SELECT min(issue_date), max(issue_date) FROM invoices WHERE organization_id = :org"
            ),
            {"org": main_id},
        ).one()
        month = db.session.execute(
            sa.text(
                "SELECT count(*), count(*) FILTER (WHERE currency <> 'PES'), "
                "count(*) FILTER (WHERE customer_id IS NULL), "
                "percentile_cont(ARRAY[0.1, 0.5, 0.9]) WITHIN GROUP (ORDER BY total) "
                "FROM invoices WHERE organization_id = :org AND issue_date >= :start"
            ),
            {"org": main_id, "start": month_start},
        ).one()
        print(
            f"  dates:  {row[0]} .. {row[1]}; this month {month[0]:,} "
            f"({month[1]:,} in USD, {month[2]:,} to the anonymous consumer, totals p10/p50/p90 "
            + "/".join(f"{value:,.0f}" for value in month[3])
            + ")"
        )
        db.session.remove()


# --- the measurement -----------------------------------------------------------------------------


@dataclass
class Kind:
    label: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    target_ms: float = LIST_TARGET_MS
    htmx: bool = False

    def get(self, client: FlaskClient) -> str:
        headers = {"HX-Request": "true"} if self.htmx else {}
        response = client.get(self.path, query_string=self.params, headers=headers)
        assert response.status_code == 200, (self.label, response.status_code)
        return response.get_data(as_text=True)


def p95(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[max(int(len(ordered) * 0.95) - 1, 0)]


def shown(page: str) -> str:
    """What the list says about itself: rows on the page, and the filter's count."""
    rows = page.count('<tr id="invoice-row-')
    found = re.search(r'id="invoice-totals-summary">\s*([\d.,]+)', page)
    return f"{rows} of {found.group(1)}" if found else ""


def next_page(page: str) -> dict[str, str]:
    """The query arguments of page 1's "Más antiguos" link."""
    found = re.search(r'href="([^"]*)" id="invoices-next"', page)
    assert found, "page 1 has no 'Más antiguos' link"
    return dict(parse_qsl(urlsplit(html.unescape(found.group(1))).query))


def kinds(client: FlaskClient, seeded: Seeded) -> list[Kind]:
    today, start = seeded.today, seeded.month_start
    last_month_end = start - dt.timedelta(days=1)
    last_month = {"desde": last_month_end.replace(day=1).isoformat(), "hasta": str(last_month_end)}
    result = [
        Kind("list: no filter", "/invoices/"),
        Kind("list: status=authorized", "/invoices/", {"status": "authorized"}),
        Kind("list: status=draft", "/invoices/", {"status": "draft"}),
        Kind("list: last month (date range)", "/invoices/", last_month),
        Kind(
            "list: last month + Factura B, htmx",
            "/invoices/",
            {**last_month, "tipo": "6"},
            htmx=True,
        ),
        Kind("list: top customer", "/invoices/", {"cliente": str(seeded.heavy_customer)}),
        Kind("list: median customer", "/invoices/", {"cliente": str(seeded.typical_customer)}),
        Kind(
            "list: amount 100.000-110.000", "/invoices/", {"minimo": "100000", "maximo": "110000"}
        ),
        Kind(
            "list: this month + amount",
            "/invoices/",
            {"desde": start.isoformat(), "hasta": today.isoformat(), "minimo": "100000"},
        ),
        Kind(
            f"list: exact amount {seeded.needle_total}",
            "/invoices/",
            {"minimo": seeded.needle_total, "maximo": seeded.needle_total},
        ),
    ]
    result += [
        Kind("list: search number 00001-00012345", "/invoices/", {"q": "00001-00012345"}),
        Kind("list: search number 777", "/invoices/", {"q": "777"}),
        Kind("list: search top customer's name", "/invoices/", {"q": seeded.heavy_name}),
        Kind("list: search median customer's name", "/invoices/", {"q": seeded.typical_name}),
        Kind("list: search median customer's doc", "/invoices/", {"q": seeded.typical_document}),
        Kind("list: search 'sur' (3 letters)", "/invoices/", {"q": "sur"}),
    ]
    for label, params in (("no filter", {}), ("status=authorized", {"status": "authorized"})):
        after = next_page(Kind("", "/invoices/", params).get(client))
        result.append(Kind(f"list: page 2 ({label})", "/invoices/", after))
    result.append(Kind("dashboard GET /", "/", target_ms=DASHBOARD_TARGET_MS))
    return result


def measure(client: FlaskClient, kind: Kind, requests: int) -> tuple[list[float], str]:
    page = kind.get(client)  # warm-up: templates compiled, connections open, caches filled
    kind.get(client)
    timings: list[float] = []
    began = time.perf_counter()
    while len(timings) < requests:
        start = time.perf_counter()
        kind.get(client)
        timings.append((time.perf_counter() - start) * 1000)
        if len(timings) >= MIN_REQUESTS and time.perf_counter() - began > TIME_BUDGET_S:
            break
    return timings, shown(page)


def report(kind: Kind, timings: list[float], rows: str) -> bool:
    median, high = statistics.median(timings), p95(timings)
    ok = high < kind.target_ms
    verdict = "ok" if ok else "MISSED"
    print(
        f"{kind.label:<34} {rows:>18} n={len(timings):<3} p50 {median:7.1f} ms  "
        f"p95 {high:7.1f} ms  (< {kind.target_ms:.0f}) {verdict}"
    )
    return ok


# --- where the time goes -------------------------------------------------------------------------


@dataclass
class Statement:
    sql: str
    parameters: Any
    timings: list[float] = field(default_factory=list)


@contextmanager
def statements(app: Flask) -> Iterator[dict[str, Statement]]:
    """Every statement the requests inside send, with its execution time (keyed by its SQL and
    parameters, so repeated requests gather timings of the same statement)."""
    seen: dict[str, Statement] = {}
    started: list[float] = []

    def before(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_: Any) -> None:
        took = (time.perf_counter() - started.pop()) * 1000
        key = f"{sql}\n{parameters!r}"
        seen.setdefault(key, Statement(sql, parameters)).timings.append(took)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)


# The ORM's 41-column select lists, shortened in what is printed (not in what is explained).
_COLUMNS = re.compile(
    r"invoices\.id(?: AS id)?, invoices\.organization_id.*?invoices\.created_at(?: AS created_at)?"
)


def condensed(sql: str) -> str:
    return _COLUMNS.sub("invoices.*", " ".join(sql.split()))


def explain(app: Flask, client: FlaskClient, kind: Kind, planned: set[str]) -> None:
    """The request's statements with their median time, and the plans of the slow ones (each
    statement once: `planned` holds those already shown)."""
    with statements(app) as seen:
        for _ in range(5):
            kind.get(client)
    ranked = sorted(seen.values(), key=lambda s: -statistics.median(s.timings))
    total = sum(statistics.median(s.timings) for s in ranked)
    print(f"\n== {kind.label}: {len(ranked)} statements, {total:.1f} ms median in the database")
    for statement in ranked:
        print(f"  {statistics.median(statement.timings):7.2f} ms  {condensed(statement.sql)[:110]}")
    with app.app_context():
        connection = db.session.connection().connection.dbapi_connection
        assert connection is not None
        for statement in ranked:
            if statistics.median(statement.timings) < SLOW_STATEMENT_MS:
                break
            key = f"{statement.sql}\n{statement.parameters!r}"
            if key in planned:
                print(f"\n  -- {condensed(statement.sql)[:60]}…: its plan is above")
                continue
            planned.add(key)
            cursor = connection.cursor()
            try:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, statement.parameters)
                plan = "\n".join(f"    {line}" for (line,) in cursor.fetchall())
            finally:
                cursor.close()
            print(f"\n  -- {condensed(statement.sql)}\n  -- {statement.parameters!r}\n{plan}")
        db.session.rollback()
        db.session.remove()


# --- setup ---------------------------------------------------------------------------------------


def sign_up(
    app: Flask, email: str, cuit: str, legal_name: str, condition: str
) -> tuple[FlaskClient, int]:
    """A logged-in owner of a new organization (the signup form), and the organization's id."""
    client = app.test_client()
    form = {
        "name": "Bench",
        "email": email,
        "password": "una-clave-larga",
        "cuit": cuit,
        "legal_name": legal_name,
        "iva_condition": condition,
    }
    assert post_form(client, "/auth/signup", form).status_code == 303
    login = {"email": email, "password": form["password"]}  # sign-up logs nobody in
    assert post_form(client, "/auth/login", login).status_code == 303
    with app.app_context():
        found = db.session.scalar(
            sa.select(Organization.id).where(Organization.cuit == normalize_cuit(cuit))
        )
        db.session.remove()
    assert found is not None
    return client, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--explain", action="store_true", help="plans for every kind")
    parser.add_argument("--invoices", type=int, default=MAIN_INVOICES)
    parser.add_argument("--other", type=int, default=OTHER_INVOICES)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    options = parser.parse_args()
    with bench_app() as app:
        run(app, options)


def run(app: Flask, options: argparse.Namespace) -> None:
    began = time.perf_counter()
    with app.app_context():
        upgrade()
        cache = app.extensions["talonario.cache"].backend
        version = ".".join(str(part) for part in db.engine.dialect.server_version_info or ())
        print(
            f"database: {db.engine.dialect.name} {version}, cache: {cache}, {os.cpu_count()} CPUs"
        )
    client, main_id = sign_up(
        app, "bench@example.com", "30-71234567-1", "Bench SRL", "responsable_inscripto"
    )
    _other, other_id = sign_up(app, "otra@example.com", "30-71111111-1", "Otra SA", "monotributo")

    start = time.perf_counter()
    seeded = seed(app, main_id, other_id, options.invoices, options.other)
    print(
        f"seeded {options.invoices:,} + {options.other:,} invoices "
        f"({MAIN_CUSTOMERS} + {OTHER_CUSTOMERS} customers, no lines or VAT rows) "
        f"in {time.perf_counter() - start:.1f} s (INSERT … SELECT {seeded.insert_s:.1f} s, "
        f"VACUUM ANALYZE {seeded.vacuum_s:.1f} s)"
    )
    describe(app, main_id, seeded.month_start)

    mix = kinds(client, seeded)
    print(
        f"\n{options.requests} requests per kind (fewer past {TIME_BUDGET_S:.0f} s), "
        "server time through the WSGI app, logged in as the owner"
    )
    missed = []
    for kind in mix:
        timings, rows = measure(client, kind, options.requests)
        if not report(kind, timings, rows):
            missed.append(kind)
    if options.explain or missed:
        print("\nWhere the time goes" + ("" if options.explain else " (missed kinds)"))
        planned: set[str] = set()
        for kind in mix if options.explain else missed:
            explain(app, client, kind, planned)
    print(f"\ntotal run {time.perf_counter() - began:.0f} s")


if __name__ == "__main__":
    main()
