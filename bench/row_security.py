"""What row-level security costs: the same queries in a tenant scope (SET LOCAL ROLE
talonario_app + the organization setting, the policies applied) and as the tables' owner (no
policy: the app's own filter only), on PostgreSQL.

Seeds two organizations with 20,000 customers each, then times, per transaction (BEGIN, the
query, COMMIT, as a request does), a customer fetched by id and a page of 50 in name order, N
times each way, interleaved. Prints the median and p95 in milliseconds and the ratio.

    .venv/bin/python bench/row_security.py [--customers 20000] [--rounds 400]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flask_migrate import upgrade
from sqlalchemy import Connection, text

from bench._services import bench_app

PAGE = text(
    "SELECT id, legal_name FROM customers WHERE organization_id = :o "
    "ORDER BY sort_name, id LIMIT 50"
)
BY_ID = text("SELECT legal_name FROM customers WHERE organization_id = :o AND id = :id")


def seed(connection: Connection, customers: int) -> tuple[int, int]:
    ids = []
    for cuit in ("30712345674", "30712345682"):
        ids.append(
            connection.execute(
                text(
                    "INSERT INTO organizations (cuit, legal_name, iva_condition) "
                    "VALUES (:c, 'Bench SA', 'responsable_inscripto') RETURNING id"
                ),
                {"c": cuit},
            ).scalar_one()
        )
    now = dt.datetime.now(dt.UTC)
    for organization_id in ids:
        connection.execute(
            text(
                "INSERT INTO customers (organization_id, doc_type, doc_number, legal_name,"
                " iva_condition, emails, sort_name, search_text, created_at, updated_at)"
                " SELECT :o, 80, '20' || lpad(n::text, 9, '0'), 'Cliente ' || n, 5, '',"
                " 'cliente ' || lpad(n::text, 6, '0'), 'cliente ' || n, :now, :now"
                " FROM generate_series(1, :n) AS n"
            ),
            {"o": organization_id, "n": customers, "now": now},
        )
    connection.execute(text("ANALYZE customers"))
    return ids[0], ids[1]


def timed(run: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(name: str, tenant: list[float], owner: list[float]) -> None:
    def p95(samples: list[float]) -> float:
        return statistics.quantiles(samples, n=20)[-1]

    ratio = statistics.median(tenant) / statistics.median(owner)
    print(
        f"{name:<22} tenant p50 {statistics.median(tenant):6.3f} ms p95 {p95(tenant):6.3f}"
        f" | owner p50 {statistics.median(owner):6.3f} ms p95 {p95(owner):6.3f}"
        f" | ratio {ratio:4.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=400)
    args = parser.parse_args()

    from core.db import db
    from core.rowsecurity import owner_scope, tenant_scope

    with bench_app() as app, app.app_context():
        upgrade()
        owner = db.engine.connect().execution_options(talonario_owner=True)
        with owner as connection, connection.begin():
            mine, _theirs = seed(connection, args.customers)
        first_id = db.session.execute(text("SELECT min(id) FROM customers")).scalar_one()
        db.session.commit()

        def page() -> None:
            db.session.execute(PAGE, {"o": mine}).all()
            db.session.commit()

        def by_id() -> None:
            db.session.execute(BY_ID, {"o": mine, "id": first_id}).all()
            db.session.commit()

        for name, query in (("customer by id", by_id), ("page of 50 by name", page)):
            tenant: list[float] = []
            as_owner: list[float] = []
            for _ in range(args.rounds // 50):  # interleaved, so drift hits both alike
                with tenant_scope(mine):
                    tenant += timed(query, 50)
                with owner_scope():
                    as_owner += timed(query, 50)
            report(name, tenant, as_owner)
        with tenant_scope(mine):
            seen = db.session.execute(text("SELECT count(*) FROM customers")).scalar_one()
            db.session.commit()
        print(f"unfiltered count in the tenant scope: {seen} of {2 * args.customers} rows")


if __name__ == "__main__":
    main()
