"""Weak passwords (issue #15, finding 7: `aaaaaaaaaa`, `password12` and the email itself were
accepted): at least 12 characters, not common or guessable, not containing the email or the
business's name; one clear message per rule, at sign-up and at reset. PostgreSQL and Redis,
through the sign-up form."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from blueprints.auth.models import User
from blueprints.auth.passwords import password_problem
from core.db import db
from tests.factories import PASSWORD
from tests.integration.security.account_mail import SIGN_UP, sign_up
from tests.web import text_of

SHORT = "La contraseña es muy corta: tiene que tener al menos 12 caracteres."
GUESSABLE = "Esa contraseña es muy común o fácil de adivinar."
HAS_EMAIL = "La contraseña no puede contener tu email (ni la parte antes de la @)."
HAS_NAME = "La contraseña no puede contener el nombre Almacén Demo SRL."


def users(app: Flask) -> int:
    with app.app_context():
        count = int(db.session.scalar(select(func.count()).select_from(User)) or 0)
        db.session.commit()
    return count


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("aaaaaaaaaa", SHORT),  # the finding's own examples
        ("password12", SHORT),
        ("corta-123", SHORT),
        ("aaaaaaaaaaaa", GUESSABLE),
        ("password1234", GUESSABLE),
        ("qwertyuiop123", GUESSABLE),
        ("123456789012", GUESSABLE),
        ("contraseña2024", GUESSABLE),
        ("ana@example.com", HAS_EMAIL),  # the email itself
        ("ANA-la-mejor-2024", HAS_EMAIL),  # its local part, any case
        ("almacen-demo-srl-99", HAS_NAME),  # the business's name, accents and dashes aside
        ("AlmacenDemo#2024!", HAS_NAME),  # without its legal form
    ],
)
def test_a_weak_password_is_refused_with_its_reason(
    app: Flask, password: str, message: str
) -> None:
    response = sign_up(app.test_client(), password=password)
    assert response.status_code == 422
    text = text_of(response)
    assert message in text
    assert password not in response.get_data(as_text=True)  # never echoed back
    assert users(app) == 0


@pytest.mark.parametrize(
    "password", [PASSWORD, SIGN_UP["password"], "tres tigres tragan trigo", "Vj7#qL2!mZ9@"]
)
def test_a_good_password_is_taken(app: Flask, password: str) -> None:
    response = sign_up(app.test_client(), password=password)
    assert response.status_code == 303, text_of(response)
    assert users(app) == 1


def test_the_rules_name_one_reason_at_a_time(app: Flask) -> None:
    with app.test_request_context():
        # Too short wins over everything else; the email before the name; the name before
        # guessability: the person is told the most precise reason.
        assert password_problem("ana", "ana@example.com", ["Ana SA"]) == SHORT
        assert password_problem("ana-almacen-demo", "ana@example.com", ["Almacén Demo"]) == (
            HAS_EMAIL
        )
        assert password_problem("almacen-demo-1234", "x@example.com", ["Almacén Demo SRL"]) == (
            HAS_NAME
        )
        # Short pieces are no reason: "al" is in too many good passwords.
        assert password_problem("caballo-alado-azul-7", "al@example.com", ["SA"]) is None


def test_the_form_says_twelve_characters(app: Flask) -> None:
    page = text_of(app.test_client().get("/auth/signup"))
    assert "Al menos 12 caracteres" in page
