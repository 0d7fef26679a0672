"""Server time of the customers' search box on PostgreSQL, with 100,000 customers.

Seeds one organization with 100,000 realistic customers (and a second one with 10,000, so the
tenancy filter has rows to skip), then times GET /customers/?q=… as the search box asks for it
(htmx: the results fragment only) through the WSGI app, per kind of query. The target is a p95
under 30 ms. With --explain, also prints PostgreSQL's plan (EXPLAIN ANALYZE) of the query
`search_customers` sends for each kind.

    make bench            # or: .venv/bin/python bench/customers_search.py [--explain]

Without TALONARIO_TEST_DATABASE_URL it uses postgresql+psycopg://postgres@127.0.0.1:5432/postgres
(it creates its own database there and drops it at the end).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from arca.cuit import compute_check_digit, format_cuit, normalize_cuit
from bench._services import bench_app
from blueprints.customers.imports import customer_row
from blueprints.customers.models import Customer
from blueprints.customers.rules import CustomerData
from blueprints.customers.services import CustomerQuery, search_customers
from blueprints.organizations.models import Organization
from core.db import db, utcnow
from tests.web import post_form

MAIN_CUSTOMERS = 100_000
OTHER_CUSTOMERS = 10_000
BATCH = 5_000
REQUESTS = 100  # per kind of query, after a warm-up
TARGET_P95_MS = 30.0
SEED = 20_261_201

FEMALE = (
    "María", "Ana", "Lucía", "Sofía", "Valentina", "Camila", "Florencia", "Julieta", "Micaela",
    "Carolina", "Gabriela", "Inés", "Mónica", "Silvia", "Verónica", "Paula", "Romina", "Natalia",
    "Laura", "Mariana", "Lorena", "Daniela", "Cecilia", "Soledad", "Belén", "Rocío", "Marcela",
    "Patricia", "Graciela", "Norma", "Noelia", "Agustina", "Victoria", "Josefina", "Martina",
    "Milagros", "Susana", "Beatriz", "Alejandra", "Andrea", "Claudia", "Adriana", "Estela",
)  # fmt: skip
MALE = (
    "José", "Juan", "Martín", "Matías", "Agustín", "Nicolás", "Sebastián", "Facundo", "Tomás",
    "Germán", "Ramón", "Héctor", "Raúl", "Andrés", "Ignacio", "Joaquín", "Federico", "Diego",
    "Pablo", "Mariano", "Gustavo", "Hernán", "Leandro", "Rodrigo", "Emiliano", "Julián",
    "Claudio", "Oscar", "Rubén", "Alejandro", "Carlos", "Jorge", "Luis", "Miguel", "Ricardo",
    "Sergio", "Daniel", "Fernando", "Gonzalo", "Lautaro", "Ezequiel", "Maximiliano", "Damián",
)  # fmt: skip
SURNAMES = (
    "González", "Rodríguez", "Gómez", "Fernández", "López", "Díaz", "Martínez", "Pérez",
    "García", "Sánchez", "Romero", "Sosa", "Álvarez", "Torres", "Ruiz", "Ramírez", "Flores",
    "Acosta", "Benítez", "Medina", "Suárez", "Herrera", "Aguirre", "Pereyra", "Gutiérrez",
    "Giménez", "Molina", "Silva", "Castro", "Rojas", "Ortiz", "Núñez", "Luna", "Juárez",
    "Cabrera", "Ríos", "Ferreyra", "Godoy", "Morales", "Domínguez", "Moreno", "Peralta", "Vega",
    "Carrizo", "Quiroga", "Castillo", "Ledesma", "Muñoz", "Ojeda", "Ponce", "Vera", "Cardozo",
    "Villalba", "Navarro", "Ibáñez", "Méndez", "Ferrari", "Rossi", "Russo", "Bianchi", "Romano",
    "Colombo", "Costa", "Fontana", "Paz", "Ferraro", "Correa", "Figueroa", "Cáceres", "Arias",
    "Maldonado", "Bustos", "Toledo", "Zárate", "Ávila", "Miranda", "Campos", "Barrios", "Ibarra",
)  # fmt: skip
KINDS = (
    "Ferretería", "Panadería", "Almacén", "Kiosco", "Distribuidora", "Librería", "Farmacia",
    "Carnicería", "Verdulería", "Autoservicio", "Taller Mecánico", "Estudio Contable",
    "Consultora", "Constructora", "Inmobiliaria", "Transportes", "Maderera", "Pinturería",
    "Óptica", "Zapatería", "Tienda", "Corralón", "Vivero", "Bazar", "Mueblería", "Agropecuaria",
    "Lavadero", "Imprenta", "Veterinaria", "Heladería", "Pizzería", "Cervecería", "Bodega",
    "Frigorífico", "Metalúrgica", "Textil", "Laboratorio", "Clínica", "Hotel", "Gimnasio",
    "Fiambrería", "Gomería", "Electricidad", "Sanitarios", "Repuestos", "Cerrajería",
)  # fmt: skip
PLACES = (
    "Rivadavia", "San Martín", "Belgrano", "Sarmiento", "Mitre", "Moreno", "Alem", "Corrientes",
    "Santa Fe", "Córdoba", "Mendoza", "Tucumán", "Salta", "Entre Ríos", "Urquiza", "Pellegrini",
    "Lavalle", "Alvear", "Avellaneda", "Saavedra", "Palermo", "Caballito", "Flores", "Once",
    "Quilmes", "Lanús", "Morón", "Tigre", "Pilar", "Luján", "del Sur", "del Norte", "del Centro",
    "Patagonia", "Los Andes", "La Pampa", "El Progreso", "La Estrella", "Don Bosco",
    "San Cayetano", "Nueva Pompeya", "Boedo", "Almagro", "Villa Urquiza", "Banfield", "Ituzaingó",
)  # fmt: skip
SUFFIXES = ("SRL", "SA", "SAS", "S.R.L.", "S.A.", "SH", "")
STREETS = ("Av. Rivadavia", "San Martín", "Belgrano", "Av. Corrientes", "Mitre", "Sarmiento")
CITIES = ("CABA", "La Plata", "Rosario", "Córdoba", "Mar del Plata", "Mendoza", "Quilmes")
MAILBOXES = ("ventas", "administracion", "compras", "facturacion", "info", "contacto", "pagos")
WEBMAIL = ("gmail.com", "hotmail.com", "yahoo.com.ar", "outlook.com", "fibertel.com.ar")
FOREIGN = (
    ("Comercial Andina Ltda.", "CL"), ("João Pereira da Silva", "BR"),
    ("Importadora del Plata SA", "UY"), ("Sofía Martins", "UY"),
    ("Distribuidora Guaraní SRL", "PY"), ("Pedro Alves", "CL"),
)  # fmt: skip
# A name the generator never makes: the rare search term, one customer in each organization.
RARE = ("Yerbatera Itaembé Guazú SA", "itaembe")
NOTHING = "quetzal"


# --- the data ------------------------------------------------------------------------------------


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "", plain)


class Generator:
    """Deterministic customers for one organization: unique documents, valid CUITs."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.used: set[tuple[int, str]] = set()

    def customers(self, count: int) -> Iterator[tuple[CustomerData, bool]]:
        """(customer, archived) pairs."""
        for _ in range(count):
            roll = self.random.random()
            if roll < 0.38:
                data = self.company()
            elif roll < 0.68:
                data = self.self_employed()
            elif roll < 0.975:
                data = self.consumer()
            elif roll < 0.995:
                data = self.foreigner()
            else:
                data = CustomerData(99, "0", "Consumidor final", 5)
            yield data, self.random.random() < 0.03

    def cuit(self, prefix: str, body: int) -> str | None:
        digit = compute_check_digit(f"{prefix}{body:08d}")
        if digit is None:
            return None
        number = f"{prefix}{body:08d}{digit}"
        return None if (80, number) in self.used else number

    def dni(self) -> int:
        while True:
            dni = self.random.randint(8_000_000, 46_000_000)
            if (96, str(dni)) not in self.used:
                self.used.add((96, str(dni)))
                return dni

    def person(self) -> tuple[str, str, str]:
        female = self.random.random() < 0.5
        first = self.random.choice(FEMALE if female else MALE)
        surname = self.random.choice(SURNAMES)
        if self.random.random() < 0.15:
            surname = f"{surname} {self.random.choice(SURNAMES)}"
        return first, surname, "27" if female else self.random.choice(("20", "20", "23"))

    def company_name(self) -> str:
        pick, kind = self.random.random(), self.random.choice(KINDS)
        suffix = self.random.choice(SUFFIXES)
        if pick < 0.4:
            number = f" {self.random.randint(1, 9999)}" if self.random.random() < 0.3 else ""
            name = f"{kind} {self.random.choice(PLACES)}{number}"
        elif pick < 0.75:
            name = f"{kind} {self.random.choice(SURNAMES)}"
        elif pick < 0.9:
            name = f"{self.random.choice(SURNAMES)} y {self.random.choice(SURNAMES)}"
        else:
            name, suffix = f"{self.random.choice(SURNAMES)} Hnos.", ""
        return f"{name} {suffix}".strip()

    def contact(self, email: str | None) -> dict[str, Any]:
        extra: dict[str, Any] = {"emails": (email,) if email else ()}
        if self.random.random() < 0.5:
            street, city = self.random.choice(STREETS), self.random.choice(CITIES)
            extra["address"] = f"{street} {self.random.randint(1, 8000)}, {city}"
        if self.random.random() < 0.4:
            extra["phone"] = (
                f"+54 11 {self.random.randint(4000, 6999)}-{self.random.randint(0, 9999):04d}"
            )
        if self.random.random() < 0.3:
            extra["payment_terms_days"] = self.random.choice((0, 15, 30, 45, 60, 90))
        return extra

    def company(self) -> CustomerData:
        while True:
            number = self.cuit(
                self.random.choice(("30", "30", "30", "33")),
                self.random.randint(50_000_000, 72_000_000),
            )
            if number:
                break
        self.used.add((80, number))
        name = self.company_name()
        email = None
        if self.random.random() < 0.6:
            email = f"{self.random.choice(MAILBOXES)}@{ascii_slug(name)[:24]}.com.ar"
        condition = 4 if self.random.random() < 0.05 else 1
        return CustomerData(80, number, name, condition, **self.contact(email))

    def self_employed(self) -> CustomerData:
        while True:
            first, surname, prefix = self.person()
            number = self.cuit(prefix, self.dni())
            if number:
                break
        self.used.add((80, number))
        email = self.personal_email(first, surname) if self.random.random() < 0.6 else None
        condition = 6 if self.random.random() < 0.75 else 1
        return CustomerData(80, number, f"{first} {surname}", condition, **self.contact(email))

    def consumer(self) -> CustomerData:
        first, surname, _prefix = self.person()
        email = self.personal_email(first, surname) if self.random.random() < 0.35 else None
        return CustomerData(96, str(self.dni()), f"{first} {surname}", 5, **self.contact(email))

    def foreigner(self) -> CustomerData:
        name, country = self.random.choice(FOREIGN)
        while True:
            passport = f"{country}{self.random.randint(1_000_000, 9_999_999)}"
            if (94, passport) not in self.used:
                self.used.add((94, passport))
                return CustomerData(94, passport, name, 9, **self.contact(None))

    def personal_email(self, first: str, surname: str) -> str:
        local = f"{ascii_slug(first)}.{ascii_slug(surname.split()[0])}"
        if self.random.random() < 0.6:
            local += str(self.random.randint(1, 99))
        return f"{local}@{self.random.choice(WEBMAIL)}"


def seed(organization_id: int, count: int, seed_value: int) -> list[CustomerData]:
    """Insert `count` customers (the rare one among them) in batches; returns what it made."""
    generator = Generator(seed_value)
    made: list[CustomerData] = []
    batch: list[dict[str, Any]] = []
    now = utcnow()
    rare = CustomerData(80, "30999999995", RARE[0], 1, emails=("info@itaembe.com.ar",))
    rows = generator.customers(count - 1)
    for position, (data, archived) in enumerate(rows):
        if position == count // 2:
            made.append(rare)
            batch.append(customer_row(organization_id, rare, now))
        made.append(data)
        created = now - dt.timedelta(minutes=count - position)
        batch.append(customer_row(organization_id, data, created, created if archived else None))
        if len(batch) >= BATCH:
            db.session.execute(sa.insert(Customer), batch)
            batch = []
    if batch:
        db.session.execute(sa.insert(Customer), batch)
    db.session.commit()
    return made


# --- the measurement -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    label: str
    text: str
    after: str | None = None


def p95(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[max(int(len(ordered) * 0.95) - 1, 0)]


def report(label: str, timings: list[float], rows: str = "") -> bool:
    median, high = statistics.median(timings), p95(timings)
    ok = high < TARGET_P95_MS
    verdict = "ok" if ok else "MISSED"
    print(
        f"{label:<34} {rows:>9} n={len(timings):<4} p50 {median:6.2f} ms  p95 {high:6.2f} ms  "
        f"{verdict}"
    )
    return ok


def search(client: FlaskClient, kind: Kind) -> str:
    params = {"q": kind.text}
    if kind.after:
        params["after"] = kind.after
    response = client.get("/customers/", query_string=params, headers={"HX-Request": "true"})
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def rows_in(html: str) -> int:
    return html.count('class="customer-row')


def next_cursor(html: str) -> str:
    found = re.search(r"[?&;]after=([A-Za-z0-9_-]+)", html)
    assert found, "the first page has no 'load more' link"
    return found.group(1)


def kinds(client: FlaskClient, made: list[CustomerData]) -> list[Kind]:
    """The mix of queries, the documents and emails taken from seeded customers."""
    cuit = next(c.doc_number for c in made if c.doc_type == 80 and c.doc_number.startswith("203"))
    dni = next(c.doc_number for c in made if c.doc_type == 96 and len(c.doc_number) == 8)
    email = next(e for c in made if c.doc_type == 96 for e in c.emails if "." in e.split("@")[0])
    local = email.split("@")[0].rstrip("0123456789")
    result = [
        Kind("name prefix 'ferr'", "ferr"),
        Kind("word 'fernandez'", "fernandez"),
        Kind("accented 'maría'", "maría"),
        Kind("two words 'maría gonzález'", "maría gonzález"),
        Kind("word late in A-Z 'transportes'", "transportes"),
        Kind(f"CUIT '{format_cuit(cuit)}'", format_cuit(cuit)),
        Kind(f"DNI fragment '{dni[1:7]}'", dni[1:7]),
        Kind(f"email fragment '{local}'", local),
        Kind(f"rare '{RARE[1]}' (1 row)", RARE[1]),
        Kind(f"nothing '{NOTHING}'", NOTHING),
        Kind("empty (first page)", ""),
    ]
    for text in ("", "ferr"):
        cursor = next_cursor(search(client, Kind("", text)))
        result.append(Kind(f"load more (q='{text}', page 2)", text, cursor))
    return result


def measure(client: FlaskClient, kind: Kind) -> tuple[list[float], int]:
    found = rows_in(search(client, kind))  # warm-up
    for _ in range(4):
        search(client, kind)
    timings = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        search(client, kind)
        timings.append((time.perf_counter() - start) * 1000)
    return timings, found


def explain(app: Flask, organization_id: int, kind: Kind) -> None:
    """PostgreSQL's plan for the SELECT `search_customers` sends for this kind."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM customers" in statement:
            captured.append((statement, parameters))

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", capture)
        try:
            query = CustomerQuery(text=kind.text, after=kind.after)
            search_customers(db.session, organization_id, query)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        connection = db.session.connection().connection.dbapi_connection
        assert connection is not None
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = "\n".join(f"    {line}" for (line,) in cursor.fetchall())
        db.session.rollback()
    print(f"\n-- {kind.label}\n{plan}")


# --- setup ---------------------------------------------------------------------------------------


def sign_up(app: Flask, email: str, cuit: str, legal_name: str) -> tuple[FlaskClient, int]:
    """A logged-in owner of a new organization (the signup form), and the organization's id."""
    client = app.test_client()
    form = {
        "name": "Bench",
        "email": email,
        "password": "una-clave-larga",
        "cuit": cuit,
        "legal_name": legal_name,
        "iva_condition": "responsable_inscripto",
    }
    assert post_form(client, "/auth/signup", form).status_code == 303
    login = {"email": email, "password": form["password"]}  # sign-up logs nobody in
    assert post_form(client, "/auth/login", login).status_code == 303
    with app.app_context():
        found = db.session.scalar(
            sa.select(Organization.id).where(Organization.cuit == normalize_cuit(cuit))
        )
    assert found is not None
    return client, found


def main() -> None:
    show_plans = "--explain" in sys.argv[1:]
    with bench_app() as app:
        run(app, show_plans)


def run(app: Flask, show_plans: bool) -> None:
    with app.app_context():
        upgrade()
        cache = app.extensions["talonario.cache"].backend
        version = ".".join(str(part) for part in db.engine.dialect.server_version_info or ())
        print(
            f"database: {db.engine.dialect.name} {version}, cache: {cache}, {os.cpu_count()} CPUs"
        )
    client, main_id = sign_up(app, "bench@example.com", "30-71234567-1", "Bench SRL")
    _other, other_id = sign_up(app, "otra@example.com", "30-71111111-1", "Otra Bench SA")

    start = time.perf_counter()
    with app.app_context():
        made = seed(main_id, MAIN_CUSTOMERS, SEED)
        seed(other_id, OTHER_CUSTOMERS, SEED + 1)
        inserted = time.perf_counter() - start
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            # VACUUM too: the steady state (visibility map set, the GIN index's pending list
            # merged) and no autovacuum kicking in while the timings run.
            connection.execute(sa.text("VACUUM ANALYZE customers"))
    seeded = time.perf_counter() - start
    print(
        f"seeded {MAIN_CUSTOMERS:,} + {OTHER_CUSTOMERS:,} customers in {seeded:.1f} s "
        f"(insert {inserted:.1f} s, VACUUM ANALYZE {seeded - inserted:.1f} s)"
    )

    mix = kinds(client, made)
    print(f"\nGET /customers/?q=… (HX-Request), {REQUESTS} requests per kind, target p95 < 30 ms")
    print(f"{'kind':<34} {'rows':>9}")
    everything: list[float] = []
    missed = []
    for kind in mix:
        timings, found = measure(client, kind)
        everything += timings
        if not report(kind.label, timings, f"{found} rows"):
            missed.append(kind)
    report("overall", everything)
    if show_plans or missed:
        print("\nEXPLAIN ANALYZE of the search query" + ("" if show_plans else " (missed kinds)"))
        for kind in mix if show_plans else missed:
            explain(app, main_id, kind)


if __name__ == "__main__":
    main()
