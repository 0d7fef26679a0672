"""Two-factor authentication (issue #15, deliver 3): TOTP enrolment with a QR, the login's
second step with a code or a recovery code (each once), and the organization setting that
requires it of owners and admins. Real HTTP stack, PostgreSQL and Redis."""

from __future__ import annotations

import datetime as dt
import re
import time

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from blueprints.auth.models import User
from blueprints.auth.two_factor import (
    PENDING_LOGIN_KEY,
    begin_enrolment,
    confirm_enrolment,
    enrolment_secret,
    recovery_digest,
    secret_aad,
)
from blueprints.organizations.models import Organization, Role
from core.crypto import DecryptionError, get_keyring
from core.db import db, utcnow
from tests.api import Api, make_api_key
from tests.factories import PASSWORD, add_member, make_organization, make_user
from tests.web import csrf_token, login, post_form, text_of

EMAIL = "ana@example.com"
SETTINGS = "/account/two-factor"


def enrolled(app: Flask, email: str = EMAIL, role: Role = Role.OWNER) -> tuple[str, list[str]]:
    """A user of a new organization with TOTP on: (secret, recovery codes).

    The confirming code is the previous step's, so that the current one is still unused.
    """
    with app.app_context():
        user = make_user(email=email)
        make_organization(owner=user) if role == Role.OWNER else None
        keyring = get_keyring()
        begin_enrolment(db.session, keyring, user)
        secret = enrolment_secret(keyring, user)
        assert secret is not None
        now = utcnow()
        code = pyotp.TOTP(secret).at(now - dt.timedelta(seconds=30))
        codes = confirm_enrolment(db.session, keyring, user, code, now)
    return secret, codes


def password_step(client: FlaskClient, email: str = EMAIL, path: str = "/auth/login", **extra):  # type: ignore[no-untyped-def]
    response = post_form(
        client, path, {"email": email, "password": PASSWORD, **extra}, token_from="/auth/login"
    )
    assert response.status_code == 303, text_of(response)
    assert response.headers["Location"] == "/auth/two-factor"
    return response


def send_code(client: FlaskClient, code: str):  # type: ignore[no-untyped-def]
    return post_form(client, "/auth/two-factor", {"code": code})


def is_logged_in(client: FlaskClient) -> bool:
    return client.get("/").status_code == 200


def logout(client: FlaskClient) -> None:
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/")})


def current_code(secret: str) -> str:
    return pyotp.TOTP(secret).at(utcnow())


def next_code(secret: str) -> str:
    # Accepted (the window is ±1 step) and later than any step used before it.
    return pyotp.TOTP(secret).at(utcnow() + dt.timedelta(seconds=30))


# --- enrolment -----------------------------------------------------------------------------


def test_enrol_shows_a_qr_and_the_secret_then_ten_recovery_codes_once(app: Flask) -> None:
    with app.app_context():
        make_organization(owner=make_user(email=EMAIL))
    client = app.test_client()
    login(client, EMAIL)
    intro = client.get(SETTINGS)
    assert "Activar la verificación en dos pasos" in text_of(intro)
    started = post_form(client, f"{SETTINGS}/start", {}, token_from=SETTINGS)
    assert started.status_code == 303

    page = client.get(SETTINGS)
    html = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "<svg" in html and 'class="qr-code"' in html and "style=" not in html.split("<svg")[1]
    shown = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html)
    assert shown, html
    secret = shown.group(1).replace(" ", "")
    assert len(secret) == 32

    # The secret is stored encrypted, bound to this user.
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        assert user is not None and user.totp_secret is not None
        assert secret not in user.totp_secret and user.totp_enabled_at is None
        assert get_keyring().decrypt(user.totp_secret, secret_aad(user.id)).decode() == secret
        with pytest.raises(DecryptionError):
            get_keyring().decrypt(user.totp_secret, secret_aad(user.id + 1))

    wrong = post_form(client, f"{SETTINGS}/confirm", {"code": "000000"}, token_from=SETTINGS)
    assert wrong.status_code == 422
    assert "El código no es válido o ya se usó." in text_of(wrong)

    done = post_form(
        client, f"{SETTINGS}/confirm", {"code": current_code(secret)}, token_from=SETTINGS
    )
    assert done.status_code == 200, text_of(done)
    assert done.headers["Cache-Control"] == "no-store"
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", done.get_data(as_text=True))
    assert len(codes) == 10 and len(set(codes)) == 10
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        assert user is not None and user.totp_enabled_at is not None
        # Only digests are kept, never the codes themselves.
        assert sorted(user.recovery_codes or []) == sorted(recovery_digest(c) for c in codes)
    # Shown once: the settings page no longer has them (nor the secret).
    after = client.get(SETTINGS).get_data(as_text=True)
    assert not any(code in after for code in codes)
    assert "totp-secret" not in after and "10 códigos de recuperación" in after


def test_new_recovery_codes_replace_the_old_ones_and_disabling_needs_password_and_code(
    app: Flask,
) -> None:
    secret, old_codes = enrolled(app)
    client = app.test_client()
    password_step(client)
    assert send_code(client, current_code(secret)).status_code == 303

    fresh = post_form(
        client, f"{SETTINGS}/recovery-codes", {"code": next_code(secret)}, token_from=SETTINGS
    )
    assert fresh.status_code == 200
    new_codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", fresh.get_data(as_text=True))
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)

    wrong_password = post_form(
        client,
        f"{SETTINGS}/disable",
        {"password": "no-es-esta-clave", "code": new_codes[0]},
        token_from=SETTINGS,
    )
    assert wrong_password.status_code == 422
    assert "La contraseña no es correcta." in text_of(wrong_password)
    no_code = post_form(
        client,
        f"{SETTINGS}/disable",
        {"password": PASSWORD, "code": old_codes[0]},
        token_from=SETTINGS,
    )
    assert no_code.status_code == 422  # an old recovery code no longer counts
    off = post_form(
        client,
        f"{SETTINGS}/disable",
        {"password": PASSWORD, "code": new_codes[0]},
        token_from=SETTINGS,
    )
    assert off.status_code == 303
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == EMAIL))
        assert user is not None
        assert (user.totp_secret, user.totp_enabled_at, user.recovery_codes) == (None, None, None)
    logout(client)
    login(client, EMAIL)  # one step again
    assert is_logged_in(client)


# --- the login's second step ---------------------------------------------------------------


def test_the_password_alone_does_not_log_in_a_user_with_two_factor(app: Flask) -> None:
    secret, _codes = enrolled(app)
    client = app.test_client()
    password_step(client)
    assert not is_logged_in(client)
    page = client.get("/auth/two-factor")
    assert page.status_code == 200
    assert "Verificación en dos pasos" in text_of(page)
    response = send_code(client, current_code(secret))
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert is_logged_in(client)


def test_login_keeps_next_and_remember_me_through_the_second_step(app: Flask) -> None:
    secret, _codes = enrolled(app)
    client = app.test_client()
    password_step(client, path="/auth/login?next=/customers/", remember="y")
    assert client.get_cookie("talonario_remember") is None  # nothing to remember yet
    response = send_code(client, current_code(secret))
    assert response.headers["Location"] == "/customers/"
    assert client.get_cookie("talonario_remember") is not None


def test_a_code_is_accepted_once_its_replay_is_refused(app: Flask) -> None:
    secret, _codes = enrolled(app)
    client = app.test_client()
    code = current_code(secret)
    password_step(client)
    assert send_code(client, code).status_code == 303
    logout(client)

    other = app.test_client()
    password_step(other)
    replay = send_code(other, code)
    assert replay.status_code == 422
    assert "El código no es válido o ya se usó." in text_of(replay)
    assert not is_logged_in(other)
    # A code of an earlier step than the last used is refused as well.
    earlier = pyotp.TOTP(secret).at(utcnow() - dt.timedelta(seconds=30))
    assert send_code(other, earlier).status_code == 422
    assert send_code(other, next_code(secret)).status_code == 303
    assert is_logged_in(other)


def test_a_recovery_code_logs_in_once(app: Flask) -> None:
    _secret, codes = enrolled(app)
    client = app.test_client()
    password_step(client)
    response = send_code(client, codes[3].upper().replace("-", " "))  # typed loosely
    assert response.status_code == 303
    assert "Te quedan 9" in text_of(client.get("/"))
    logout(client)

    password_step(client)
    again = send_code(client, codes[3])
    assert again.status_code == 422
    assert not is_logged_in(client)
    assert send_code(client, codes[4]).status_code == 303


def test_five_wrong_codes_send_back_to_the_password_step(app: Flask) -> None:
    secret, _codes = enrolled(app)
    client = app.test_client()
    password_step(client)
    for _ in range(4):
        assert send_code(client, "123456").status_code == 422
    fifth = send_code(client, "123456")
    assert fifth.status_code == 303 and fifth.headers["Location"] == "/auth/login"
    # The pending login is gone: even the right code needs the password again.
    assert client.get("/auth/two-factor").headers["Location"] == "/auth/login"
    assert "Volvé a ingresar tu email y tu contraseña." in text_of(client.get("/auth/login"))
    password_step(client)
    assert send_code(client, current_code(secret)).status_code == 303


def test_restoring_the_pending_login_does_not_reset_the_failure_count(app: Flask) -> None:
    secret, _codes = enrolled(app)
    client = app.test_client()
    password_step(client)
    with client.session_transaction() as session:
        saved = dict(session[PENDING_LOGIN_KEY])
    for _ in range(5):
        send_code(client, "123456")
    # As a replayed older session (a signed cookie in the embedded default) would bring back:
    # the failures are counted in Redis per pending login, so the right code is still refused.
    with client.session_transaction() as session:
        session[PENDING_LOGIN_KEY] = saved
    refused = send_code(client, current_code(secret))
    assert refused.status_code == 303 and refused.headers["Location"] == "/auth/login"
    assert not is_logged_in(client)


def test_the_pending_login_expires_after_five_minutes(app: Flask) -> None:
    secret, _codes = enrolled(app)
    client = app.test_client()
    password_step(client)
    with client.session_transaction() as session:
        session[PENDING_LOGIN_KEY] = {**session[PENDING_LOGIN_KEY], "expires_at": time.time() - 1}
    response = post_form(
        client, "/auth/two-factor", {"code": current_code(secret)}, token_from="/auth/login"
    )
    assert response.status_code == 303 and response.headers["Location"] == "/auth/login"
    assert not is_logged_in(client)
    assert client.get("/auth/two-factor").headers["Location"] == "/auth/login"


# --- the organization's requirement --------------------------------------------------------


def require_two_factor(app: Flask, organization_id: int) -> None:
    with app.app_context():
        db.session.get_one(Organization, organization_id).require_two_factor = True
        db.session.commit()


def test_settings_form_turns_the_requirement_on(app: Flask) -> None:
    with app.app_context():
        organization = make_organization(owner=make_user(email=EMAIL), legal_name="Almacén SRL")
        organization_id, cuit = organization.id, organization.cuit
    client = app.test_client()
    login(client, EMAIL)
    form = client.get("/organizations/settings")
    assert "Exigir verificación en dos pasos a dueños y administradores" in text_of(form)
    saved = post_form(
        client,
        "/organizations/settings",
        {
            "cuit": cuit,
            "legal_name": "Almacén SRL",
            "iva_condition": "responsable_inscripto",
            "require_two_factor": "y",
        },
    )
    assert saved.status_code == 303, text_of(saved)
    with app.app_context():
        assert db.session.get_one(Organization, organization_id).require_two_factor is True


def test_an_owner_without_two_factor_is_sent_to_enrol_when_required(app: Flask) -> None:
    with app.app_context():
        owner = make_user(email=EMAIL)
        organization = make_organization(owner=owner, legal_name="Almacén SRL")
        member = make_user(email="beto@example.com")
        add_member(organization, member, Role.MEMBER)
        organization_id = organization.id
    require_two_factor(app, organization_id)
    secret_key = make_api_key(app, organization_id)

    client = app.test_client()
    login(client, EMAIL)
    for path in ("/", "/customers/", "/organizations/settings"):
        sent = client.get(path)
        assert sent.status_code == 303 and sent.headers["Location"] == SETTINGS, path
    page = client.get(SETTINGS)
    assert page.status_code == 200
    assert "Almacén SRL exige verificación en dos pasos" in text_of(page)
    # A member is not concerned, nor is the API (keys, no user).
    colleague = app.test_client()
    login(colleague, "beto@example.com")
    assert colleague.get("/").status_code == 200
    assert Api(app, secret_key).get("/api/v1/organization").status_code == 200

    # Enrolling lets the owner in; logging out stayed reachable throughout.
    post_form(client, f"{SETTINGS}/start", {}, token_from=SETTINGS)
    html = client.get(SETTINGS).get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")  # type: ignore[union-attr]
    confirmed = post_form(
        client, f"{SETTINGS}/confirm", {"code": current_code(secret)}, token_from=SETTINGS
    )
    assert confirmed.status_code == 200
    assert client.get("/").status_code == 200
    logout(client)
    assert client.get("/").status_code == 302  # logged out


def test_an_htmx_request_is_sent_to_enrol_with_a_client_side_redirect(app: Flask) -> None:
    with app.app_context():
        organization = make_organization(owner=make_user(email=EMAIL))
        organization_id = organization.id
    require_two_factor(app, organization_id)
    client = app.test_client()
    login(client, EMAIL)
    response = client.get("/customers/", headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Location"] == SETTINGS
