"""CSV import on PostgreSQL + Redis: preview of every bad row, one-transaction import run by a
real RQ worker for a 10,000-row file, idempotent re-imports (skip or update)."""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from arca.cuit import compute_check_digit
from blueprints.audit.models import AuditEvent
from blueprints.customers.models import Customer, CustomerImport
from core.db import db
from core.jobs import job_queue
from core.tasks import run_worker
from tests.factories import add_member, make_organization, make_user
from tests.web import csrf_token, login, post_files, text_of

HEADER = "tipo_documento;numero_documento;razón social;condición iva;email;domicilio"
BAD_ROWS = 37


@pytest.fixture
def owner(app: Flask) -> FlaskClient:
    with app.app_context():
        organization = make_organization(legal_name="Almacén Demo SRL")
        add_member(organization, make_user(email="ana@example.com"), "owner")
    client = app.test_client()
    login(client, "ana@example.com")
    return client


def valid_cuit(body: int) -> str:
    while (digit := compute_check_digit(f"20{body:08d}")) is None:
        body += 1
    return f"20{body:08d}{digit}"


def valid_row(index: int, suffix: str = "") -> str:
    if index % 3 == 0:
        return f"DNI;{20_000_000 + index};Señora Núñez {index}{suffix};Consumidor Final;;"
    return (
        f"80;{valid_cuit(30_000_000 + index * 3)};Comercio Ñandú {index}{suffix};1;"
        f"ventas{index}@example.com;Av. Siempreviva {index}"
    )


BAD_KINDS = [
    ("numero_documento", "80;20111111113;Dígito Malo;1;;", "dígito verificador"),
    ("numero_documento", "96;123;DNI Corto;5;;", "El DNI es un número"),
    ("condición iva", "96;30111222;Condición Rara;Marciano;;", "no es una condición"),
    ("tipo_documento", "96;30111223;RI con DNI;Responsable Inscripto;;", "con su CUIT"),
    ("razón social", "96;30111224;;5;;", "Escribí el nombre"),
    ("email", "96;30111225;Mail Roto;5;ventas@;", "no es un email válido"),
    ("numero_documento", None, "Documento repetido"),
]


# Japanese names in Shift-JIS: every byte decodes as Windows-1252, into garbage like "ŽR“c".
SHIFT_JIS_FILE = (
    "tipo_documento;numero_documento;razon_social;condicion_iva\n"
    "80;20111111112;株式会社山田;1\n"
    "96;30111222;田中太郎;5\n"
).encode("shift_jis")


def build_file(rows: int, suffix: str = "") -> tuple[bytes, set[int]]:
    """`rows` data rows, BAD_ROWS of them bad (one problem each), as Excel writes it: cp1252,
    `;`. Returns the file and the spreadsheet row numbers of the bad rows."""
    bad_at = {2 + (index * 269) % rows for index in range(1, BAD_ROWS + 1)}
    assert len(bad_at) == BAD_ROWS
    lines = [HEADER]
    for row in range(2, rows + 2):
        if row in bad_at:
            _column, line, _reason = BAD_KINDS[row % len(BAD_KINDS)]
            # A duplicate repeats the document of the row above (valid unless itself bad).
            lines.append(line or valid_row(row - 1 if row - 1 not in bad_at else row - 2))
        else:
            lines.append(valid_row(row, suffix))
    return ("\r\n".join(lines) + "\r\n").encode("cp1252"), bad_at


def upload(client: FlaskClient, data: bytes, name: str = "clientes.csv") -> str:
    token = csrf_token(client, "/customers/import")
    response = post_files(
        client,
        "/customers/import",
        {"csrf_token": token, "file": (io.BytesIO(data), name)},
        {},
    )
    assert response.status_code == 303, text_of(response)
    return response.headers["Location"]


def confirm(client: FlaskClient, preview_url: str, mode: str) -> None:
    token = csrf_token(client, preview_url)
    response = client.post(f"{preview_url}/confirm", data={"csrf_token": token, "mode": mode})
    assert response.status_code == 303


def customers(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Customer)) or 0


def work(app: Flask) -> None:
    """A real RQ worker drains the queue, as `flask --app app worker --burst` does."""
    with app.app_context():
        run_worker(burst=True)


def test_ten_thousand_rows_with_37_bad_ones(app: Flask, owner: FlaskClient) -> None:
    data, bad_at = build_file(10_000)
    preview_url = upload(owner, data)
    preview = owner.get(preview_url)
    html = preview.get_data(as_text=True)
    shown = [
        int(row) for row in re.findall(r'<tr class="import-problem"><td class="mono">(\d+)', html)
    ]
    assert sorted(shown) == sorted(bad_at)
    assert "37 filas con problemas" in text_of(preview)
    assert "Importar 9963 clientes" in text_of(preview)
    for row in bad_at:
        column, _line, reason = BAD_KINDS[row % len(BAD_KINDS)]
        match = re.search(rf'<td class="mono">{row}</td><td>([^<]*)</td><td>([^<]*)</td>', html)
        assert match, row
        assert match.group(1) == column and reason in match.group(2), (row, match.groups())

    confirm(owner, preview_url, "skip")
    queued = owner.get(preview_url, headers={"HX-Request": "true"})
    assert 'hx-trigger="every 1s"' in queued.get_data(as_text=True)
    assert "Importando" in text_of(queued)
    assert customers(app) == 0  # nothing until a worker takes the job
    work(app)
    done = owner.get(preview_url, headers={"HX-Request": "true"})
    assert "every 1s" not in done.get_data(as_text=True)
    assert "Listo: 9963 clientes nuevos, 0 actualizados" in text_of(done)
    assert customers(app) == 9_963

    # The same file again, skipping: nothing changes.
    again = upload(owner, data)
    assert "Ya cargados (mismo documento) 9963" in text_of(owner.get(again))
    confirm(owner, again, "skip")
    work(app)
    assert "0 clientes nuevos, 0 actualizados, 0 sin cambios y 9963 que ya estaban" in text_of(
        owner.get(again)
    )
    assert customers(app) == 9_963

    # The file with every name changed, updating: each existing customer is updated.
    changed, _bad = build_file(10_000, suffix=" (nuevo)")
    updated = upload(owner, changed)
    confirm(owner, updated, "update")
    work(app)
    assert "0 clientes nuevos, 9963 actualizados" in text_of(owner.get(updated))
    with app.app_context():
        assert customers(app) == 9_963
        names = db.session.scalars(select(Customer.legal_name).limit(50)).all()
        assert all(name.endswith(" (nuevo)") for name in names)
        events = db.session.scalars(
            select(AuditEvent.details).where(AuditEvent.action == "customers.import")
        ).all()
        assert [(e["created"], e["updated"], e["skipped"]) for e in events] == [
            (9963, 0, 0),
            (0, 0, 9963),
            (0, 9963, 0),
        ]


def test_a_small_file_imports_at_once_and_confirming_twice_is_refused(
    app: Flask, owner: FlaskClient
) -> None:
    data = (
        "\ufeffdocumento,nombre,iva,emails\n"
        "20-11111111-2,Ana López,Responsable Monotributo,ana@example.com\n"
    )
    preview_url = upload(owner, data.encode("utf-8"))
    confirm(owner, preview_url, "skip")
    assert "Listo: 1 clientes nuevos" in text_of(owner.get(preview_url))
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        assert (customer.doc_type, customer.doc_number, customer.iva_condition) == (
            80,
            "20111111112",
            6,
        )
    token = csrf_token(owner, preview_url)
    twice = owner.post(f"{preview_url}/confirm", data={"csrf_token": token, "mode": "skip"})
    assert twice.status_code == 409
    assert "ya se confirmó" in text_of(twice)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "El archivo está vacío"),
        (b"\x00\x01\x02binario", "no es un CSV de texto"),
        (b"PK\x03\x04planilla", "Es una planilla de Excel"),
        (b"nombre;email\nAna;ana@example.com\n", "Faltan las columnas"),
        (SHIFT_JIS_FILE, "ni en la codificación de Excel"),
    ],
)
def test_an_unusable_file_is_refused_and_nothing_is_kept(
    app: Flask, owner: FlaskClient, data: bytes, message: str
) -> None:
    token = csrf_token(owner, "/customers/import")
    response = post_files(
        owner,
        "/customers/import",
        {"csrf_token": token, "file": (io.BytesIO(data), "clientes.csv")},
        {},
    )
    assert response.status_code == 422
    assert message in text_of(response)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CustomerImport)) == 0


def test_an_import_whose_job_was_lost_runs_all_the_same(app: Flask, owner: FlaskClient) -> None:
    """Redis lost the job after the confirmation: the import's request is in the database, and
    the workers' dispatcher queues it again."""
    app.config["CUSTOMER_IMPORT_BACKGROUND_ROWS"] = 10
    try:
        data, _bad_at = build_file(400)
        preview_url = upload(owner, data)
        valid = re.search(r"Importar (\d+) clientes", text_of(owner.get(preview_url)))
        assert valid, text_of(owner.get(preview_url))
        confirm(owner, preview_url, "skip")
        with app.app_context():
            queue = job_queue()
            assert queue is not None and queue.count == 1
            queue.empty()
        assert customers(app) == 0
        work(app)
        assert customers(app) == int(valid.group(1)) == 400 - BAD_ROWS
        assert f"{400 - BAD_ROWS} clientes nuevos, 0 actualizados" in text_of(
            owner.get(preview_url)
        )
    finally:
        app.config["CUSTOMER_IMPORT_BACKGROUND_ROWS"] = 10_000
