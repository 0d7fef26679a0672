"""Sign-up: one commit creates user, organization and owner membership, or nothing at all."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from blueprints.auth.models import User
from blueprints.organizations.models import Membership, Organization, Role
from core.db import db
from tests.factories import make_organization, make_user
from tests.web import login, post_form, text_of

VALID = {
    "name": "Ana García",
    "email": "Ana@Example.com",
    "password": "una-clave-larga",
    "cuit": "30-71234567-1",
    "legal_name": "Almacén Demo SRL",
    "trade_name": "Almacén Demo",
    "iva_condition": "responsable_inscripto",
    "iibb": "901-123456-7",
    "activity_start": "2019-03-01",
    "address": "Av. Corrientes 1234, CABA",
}


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(  # type: ignore[return-value]
            db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Organization, Membership)
        )


def test_signup_creates_user_organization_and_owner(app: Flask) -> None:
    client = app.test_client()
    response = post_form(client, "/auth/signup", VALID)
    assert response.status_code == 303
    # Nobody is logged in by the form (it answers the same for a taken email): the person
    # confirms the address and logs in.
    assert response.headers["Location"] == "/auth/signup/check-email"
    login(client, "ana@example.com", VALID["password"])
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Almacén Demo" in text_of(dashboard)
    assert "Primeros pasos para facturar" in text_of(dashboard)
    with app.app_context():
        user = db.session.scalar(select(User))
        organization = db.session.scalar(select(Organization))
        membership = db.session.scalar(select(Membership))
        assert user.email == "ana@example.com"
        assert user.password_hash.startswith("$argon2id$")
        assert "una-clave-larga" not in user.password_hash
        assert organization.cuit == "30712345671"
        assert organization.activity_start.isoformat() == "2019-03-01"
        assert (membership.user_id, membership.organization_id) == (user.id, organization.id)
        assert membership.role == Role.OWNER


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"cuit": "30-71234567-2"},
            "El CUIT 30-71234567-2 no es válido: el dígito verificador no coincide.",
        ),
        ({"cuit": "3071234567"}, "El CUIT tiene que tener 11 dígitos."),
        (
            {"password": "corta123"},
            "La contraseña es muy corta: tiene que tener al menos 12 caracteres.",
        ),
        ({"email": "no-es-un-email"}, "Ese email no parece válido."),
        ({"legal_name": ""}, "Escribí la razón social."),
        ({"iva_condition": "inventada"}, "Opción inválida."),
    ],
)
def test_bad_input_is_reported_and_nothing_is_written(
    app: Flask, changes: dict[str, Any], message: str
) -> None:
    response = post_form(app.test_client(), "/auth/signup", {**VALID, **changes})
    assert response.status_code == 422
    assert message in text_of(response)
    assert counts(app) == (0, 0, 0)


def test_duplicate_email_creates_nothing_and_does_not_say_so(app: Flask) -> None:
    # The account's owner is emailed instead (tests/integration/security/
    # test_email_verification.py): the form must not tell who has an account.
    with app.app_context():
        make_user(email="ana@example.com")
    before = counts(app)
    response = post_form(app.test_client(), "/auth/signup", VALID)
    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/signup/check-email"
    assert counts(app) == before


def test_taken_cuit_is_refused(app: Flask) -> None:
    with app.app_context():
        organization = make_organization(owner=make_user())
        cuit = organization.cuit
    before = counts(app)
    response = post_form(app.test_client(), "/auth/signup", {**VALID, "cuit": cuit})
    assert response.status_code == 422
    assert f"Ya hay una organización registrada con el CUIT {cuit}." in text_of(response)
    assert counts(app) == before


def test_missing_csrf_token_is_refused_and_nothing_is_written(app: Flask) -> None:
    client = app.test_client()
    response = client.post("/auth/signup", data=VALID)
    assert response.status_code == 400
    assert "le falta el código de seguridad (CSRF)" in text_of(response)
    assert counts(app) == (0, 0, 0)


def test_forged_csrf_token_is_refused(app: Flask) -> None:
    response = app.test_client().post("/auth/signup", data={**VALID, "csrf_token": "forged"})
    assert response.status_code == 400
    assert counts(app) == (0, 0, 0)


def test_every_problem_is_reported_at_once(app: Flask) -> None:
    bad = {**VALID, "cuit": "30-71234567-2", "password": "corta", "legal_name": ""}
    text = text_of(post_form(app.test_client(), "/auth/signup", bad))
    assert "el dígito verificador no coincide" in text
    assert "tiene que tener al menos 12 caracteres" in text
    assert "Escribí la razón social." in text
    assert counts(app) == (0, 0, 0)


def test_wrong_field_keeps_what_the_user_typed(app: Flask) -> None:
    response = post_form(app.test_client(), "/auth/signup", {**VALID, "cuit": "30-71234567-2"})
    html = response.get_data(as_text=True)
    assert 'value="Almacén Demo SRL"' in html
    assert "una-clave-larga" not in html  # passwords are never echoed back
