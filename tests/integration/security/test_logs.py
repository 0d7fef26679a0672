"""Password hashes in the log (issue #15, finding 4) and invitation tokens in the access log
(finding 7): a failed INSERT logged every bound parameter (three argon2 hashes), and werkzeug's
access log printed `/organizations/invitations/<token>`, with which anyone reading the log could
join with the invited role.

Every log record of these flows is captured from the root logger (SQLAlchemy's statement log
switched on too) while a real server on loopback serves sign-up, login, an invitation and a
certificate import with a PEM private key; none may hold `$argon2`, a PEM block or a token.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
import requests
from flask import Flask
from sqlalchemy.exc import IntegrityError

from blueprints.auth.models import User
from blueprints.organizations.models import Organization, Role
from blueprints.organizations.services import invite_member
from core.arca import get_arca
from core.db import db
from core.logging import redact
from core.security import hash_password
from tests.factories import PASSWORD, add_member, make_organization, make_user
from tests.integration.security.live_http import Browser, serve

EMAIL = "ana@example.com"
LEAKS = re.compile(r"\$argon2|-----BEGIN|tal_[A-Za-z0-9_-]{20}|whsec_[A-Za-z0-9+/=]{10}")


class Captured(logging.Handler):
    """Every record that reaches the root logger, formatted as a log file would show it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def captured() -> Iterator[Captured]:
    handler = Captured()
    root = logging.getLogger()
    engine_log = logging.getLogger("sqlalchemy.engine")
    previous = engine_log.level
    engine_log.setLevel(logging.INFO)  # every statement and (were they shown) its parameters
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        engine_log.setLevel(previous)


@pytest.fixture
def owner(app: Flask) -> tuple[int, int]:
    with app.app_context():
        ana = make_user(email=EMAIL, name="Ana")
        organization = make_organization(legal_name="Almacén Demo SRL")
        add_member(organization, ana, Role.OWNER)
        return ana.id, organization.id


def test_a_failed_insert_shows_no_bound_parameter(
    app: Flask, owner: tuple[int, int], captured: Captured
) -> None:
    """The probe's case: a second account with a taken email fails at INSERT."""
    log = logging.getLogger("blueprints.auth.services")
    with app.app_context():
        db.session.add(User(email=EMAIL, name="Otra Ana", password_hash=hash_password("x" * 12)))
        try:
            db.session.commit()
        except IntegrityError as error:
            failure = str(error)
            log.exception("sign-up failed")  # what an unhandled error's handler does
            db.session.rollback()
        else:
            pytest.fail("the duplicate email was accepted")
    assert "$argon2" not in failure
    assert "SQL parameters hidden" in failure
    assert "sign-up failed" in captured.text and "IntegrityError" in captured.text
    assert "[SQL parameters hidden due to hide_parameters=True]" in captured.text
    assert not LEAKS.search(captured.text), LEAKS.search(captured.text)


def test_sign_up_login_invitation_and_a_pem_import_leave_no_secret_in_the_log(
    app: Flask, owner: tuple[int, int], captured: Captured
) -> None:
    _owner_id, organization_id = owner
    with app.test_request_context("/"):  # the invitation's link is built from a request
        ana = db.session.get_one(User, _owner_id)
        _membership, token = invite_member(
            db.session, organization_id, ana, Role.OWNER, "beto@example.com", Role.ADMIN, 7
        )
        cuit = db.session.get_one(Organization, organization_id).cuit
        key, certificate = get_arca().sandbox().ca.issue_key_and_certificate(cuit, alias="log")
    with serve(app) as base_url:
        sign_up(Browser(base_url))
        invited = Browser(base_url)
        assert invited.get(f"/organizations/invitations/{token}").status_code in (200, 302, 303)
        assert invited.get(f"/auth/signup?invitation={token}").status_code in (200, 302, 303)
        invited.get(f"/auth/signup?invitation={token}&password=hunter2hunter2")
        browser = Browser(base_url)
        browser.post("/auth/login", {"email": EMAIL, "password": "equivocada-12"})
        assert (
            browser.post("/auth/login", {"email": EMAIL, "password": PASSWORD}).status_code == 303
        )
        imported = import_pair(browser, key, certificate)
        assert imported.status_code == 204, imported.text
        # Twice: the second is refused (already there), an error path of its own.
        assert import_pair(browser, key, certificate).status_code in (409, 422)
    assert "/organizations/invitations/[redacted]" in captured.text  # the access log was captured
    assert token not in captured.text
    assert "hunter2hunter2" not in captured.text
    assert not LEAKS.search(captured.text), LEAKS.search(captured.text)


def test_secrets_a_log_call_is_handed_are_redacted(app: Flask, captured: Captured) -> None:
    """Whatever code logs by mistake: the record is redacted before any handler sees it."""
    log = logging.getLogger("blueprints.anything")
    pem = (
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"
    )
    log.warning("key %s", pem)
    log.warning("api key %s and %s", "tal_" + "a" * 43, "whsec_" + "b" * 32)
    log.warning("hash %r", {"password_hash": hash_password("correcto-caballo")})
    log.warning("url %s", "postgresql+psycopg://talonario:s3cr3t0@db/talonario")
    try:
        raise ValueError(f"could not load {pem}")
    except ValueError:
        log.exception("import failed")
    assert not LEAKS.search(captured.text), captured.text
    assert "s3cr3t0" not in captured.text
    assert captured.text.count("[redacted PEM]") == 2


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        (
            '"GET /organizations/invitations/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde HTTP/1.1"',
            '"GET /organizations/invitations/[redacted] HTTP/1.1"',
        ),
        (
            '"GET /auth/signup?invitation=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde HTTP/1.1"',
            '"GET /auth/signup?invitation=[redacted] HTTP/1.1"',
        ),
        (
            '"GET /auth/reset/Zm9vYmFyYmF6cXV4cXV1eHh5enp5eHd2dXRzcnFwb24 HTTP/1.1"',
            '"GET /auth/reset/[redacted] HTTP/1.1"',
        ),
        (
            "{'email': 'a@b.c', 'password': 'no es esta'}",
            "{'email': 'a@b.c', 'password': '[redacted]'}",
        ),
        ("Authorization: Bearer tal_abc", "Authorization: Bearer [redacted]"),
        ('"GET /invoices/42/pdf HTTP/1.1" 200', '"GET /invoices/42/pdf HTTP/1.1" 200'),
        ("ARCA code=10016 observation", "ARCA code=10016 observation"),
    ],
)
def test_redaction_keeps_what_is_not_secret(line: str, kept: str) -> None:
    assert redact(line) == kept


def sign_up(browser: Browser) -> requests.Response:
    """A sign-up through the form (its outcome is another test's business; its log is ours)."""
    response = browser.post(
        "/auth/signup",
        {
            "name": "Carla",
            "email": "carla@example.com",
            "password": "una-clave-bastante-larga-9",
            "legal_name": "Carla Servicios SRL",
            "cuit": "30-71234567-1",
            "iva_condition": "responsable_inscripto",
        },
    )
    browser.close()
    return response


def import_pair(browser: Browser, key: bytes, certificate: bytes) -> requests.Response:
    token = browser.csrf_token("/certificates/")
    return browser.post(
        "/certificates/import",
        {"password": ""},
        token,
        files={"key_file": ("k.key", key), "certificate_file": ("c.crt", certificate)},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
