"""The embedded default (`make run` with nothing configured): SQLite, in-process cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from blueprints.auth.models import User
from blueprints.organizations.models import Membership, Organization
from core.db import db
from tests.web import login, post_form, text_of

pytestmark = pytest.mark.embedded


def test_migrations_and_signup_on_sqlite(embedded_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert (tmp_path / "talonario.db").exists()
    client = embedded_app.test_client()
    response = post_form(
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
    assert response.status_code == 303
    login(client, "ana@example.com", "una-clave-larga")  # sign-up logs nobody in
    assert "Ana García" in text_of(client.get("/"))
    with embedded_app.app_context():
        assert db.engine.dialect.name == "sqlite"
        membership = db.session.scalar(select(Membership))
        assert membership.user_id == db.session.scalar(select(User.id))
        assert membership.organization_id == db.session.scalar(select(Organization.id))


def test_health_on_the_embedded_default(embedded_app) -> None:  # type: ignore[no-untyped-def]
    assert embedded_app.test_client().get("/healthz").json == {"status": "ok"}
    response = embedded_app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json["database"] == {"ok": True, "dialect": "sqlite"}
    assert response.json["migrations"] == {"ok": True}
    assert response.json["cache"] == {"ok": True, "backend": "memory"}
