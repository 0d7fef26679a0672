"""Customers on the embedded default (SQLite, no Redis): search, pages, and an import whose
"background" job runs inline because there is no queue."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import func, select

from app import create_app
from blueprints.customers.models import Customer
from core.db import db
from tests.web import csrf_token, login, post_files, post_form, text_of

pytestmark = pytest.mark.embedded


@pytest.fixture
def embedded_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    for name in list(os.environ):
        if name.startswith("TALONARIO_"):
            monkeypatch.delenv(name)
    # Every import counts as "large": with no Redis, the job runs inline all the same.
    app = create_app({"INSTANCE_PATH": str(tmp_path), "CUSTOMER_IMPORT_BACKGROUND_ROWS": 1})
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_import_then_search_on_sqlite(embedded_app: Flask) -> None:
    client = embedded_app.test_client()
    signed_up = post_form(
        client,
        "/auth/signup",
        {
            "name": "Ana",
            "email": "ana@example.com",
            "password": "una-clave-larga",
            "cuit": "20-11111111-2",
            "legal_name": "Ana García",
            "iva_condition": "monotributo",
        },
    )
    assert signed_up.status_code == 303
    login(client, "ana@example.com", "una-clave-larga")  # sign-up logs nobody in
    lines = ["numero_documento;razon_social;condicion_iva"]
    lines += [f"{20_000_000 + n};Cliente Ñandú {n:03d};Consumidor Final" for n in range(1, 131)]
    lines += ["123;Documento Corto;5"]
    token = csrf_token(client, "/customers/import")
    uploaded = post_files(
        client,
        "/customers/import",
        {
            "csrf_token": token,
            "file": (io.BytesIO("\r\n".join(lines).encode("cp1252")), "c.csv"),
        },
        {},
    )
    assert uploaded.status_code == 303
    preview_url = uploaded.headers["Location"]
    assert "1 fila con problemas" in text_of(client.get(preview_url))
    token = csrf_token(client, preview_url)
    confirmed = client.post(f"{preview_url}/confirm", data={"csrf_token": token, "mode": "skip"})
    assert confirmed.status_code == 303
    assert "Listo: 130 clientes nuevos" in text_of(client.get(preview_url))
    with embedded_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 130

    found = text_of(client.get("/customers/?q=nandu 007"))
    assert "Cliente Ñandú 007" in found and "Cliente Ñandú 008" not in found
    first = client.get("/customers/").get_data(as_text=True)
    assert first.count('class="customer-name"') == 50
    assert 'id="customers-load-more"' in first
