"""Two-factor pages: the login's second step, enrolment under Mi cuenta → Seguridad, and the
organization rule that sends owners and admins without it to enrol."""

from __future__ import annotations

import time

from flask import Blueprint, Response, flash, g, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from blueprints.auth.sessions import start_session
from blueprints.auth.two_factor import (
    PENDING_LOGIN_KEY,
    RECOVERY_CODE,
    InvalidCode,
    LoginStepExpired,
    begin_enrolment,
    complete_login,
    confirm_enrolment,
    disable_two_factor,
    enrolment_secret,
    grouped,
    provisioning_uri,
    qr_svg,
    read_pending_login,
    regenerate_recovery_codes,
    remaining_recovery_codes,
)
from blueprints.organizations.models import MANAGER_ROLES
from core.cache import get_cache
from core.crypto import get_keyring
from core.db import db, utcnow
from core.errors import DomainError
from core.forms import AppForm
from core.web import attach_error, form_status, render, safe_next, see_other

bp = Blueprint("two_factor", __name__)

# Reachable by an owner/admin whose organization requires two-factor before they enrol.
ENROLMENT_ENDPOINTS = frozenset(
    {
        "static",
        "auth.logout",
        "organizations.switch",
        "organizations.new",
        "health.healthz",
        "health.readyz",
    }
)


class CodeForm(AppForm):
    code = StringField(
        _l("Código"),
        validators=[DataRequired(_l("Escribí el código.")), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
    )


class DisableForm(CodeForm):
    password = PasswordField(
        _l("Contraseña"), validators=[DataRequired(_l("Escribí tu contraseña."))]
    )


# --- the login's second step ---------------------------------------------------------------


@bp.route("/auth/two-factor", methods=["GET", "POST"])
def verify() -> ResponseReturnValue:
    """After the password: a code from the app or a recovery code, then the session starts."""
    if current_user.is_authenticated:
        return see_other(url_for("dashboard.index"))
    pending = read_pending_login(session, time.time())
    if pending is None:
        flash(_("Volvé a ingresar tu email y tu contraseña."), "info")
        return see_other(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            user, kind = complete_login(
                db.session, get_cache(), get_keyring(), pending, form.code.data, utcnow()
            )
        except LoginStepExpired as error:
            session.pop(PENDING_LOGIN_KEY, None)
            flash(error.message, "error")
            return see_other(url_for("auth.login"))
        except InvalidCode as error:
            attach_error(form, error)
        else:
            start_session(user, remember=pending.remember)
            if kind == RECOVERY_CODE:
                flash_recovery_code_used(remaining_recovery_codes(user))
            return see_other(safe_next(pending.next, url_for("dashboard.index")))
    return render("auth/two_factor.html", form=form, status=form_status(form))


def flash_recovery_code_used(remaining: int) -> None:
    flash(
        _(
            "Ingresaste con un código de recuperación; ya no sirve. Te quedan %(n)d. "
            "Si perdiste el teléfono, generá códigos nuevos en Mi cuenta → Seguridad.",
            n=remaining,
        ),
        "warning",
    )


# --- enrolment and management --------------------------------------------------------------


@bp.get("/account/two-factor")
@login_required
def settings() -> Response:
    return render_settings(CodeForm(), DisableForm())


@bp.post("/account/two-factor/start")
@login_required
def start() -> Response:
    begin_enrolment(db.session, get_keyring(), current_user)
    return see_other(url_for("two_factor.settings"))


@bp.post("/account/two-factor/confirm")
@login_required
def confirm() -> Response:
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = confirm_enrolment(
                db.session, get_keyring(), current_user, form.code.data, utcnow()
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("Activaste la verificación en dos pasos."), "success")
            return render_codes(codes)
    return render_settings(form, DisableForm(formdata=None), status=form_status(form))


@bp.post("/account/two-factor/recovery-codes")
@login_required
def recovery_codes() -> Response:
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = regenerate_recovery_codes(
                db.session, get_keyring(), current_user, form.code.data, utcnow()
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(
                _("Generaste códigos de recuperación nuevos; los anteriores ya no sirven."),
                "success",
            )
            return render_codes(codes)
    return render_settings(form, DisableForm(formdata=None), status=form_status(form))


@bp.post("/account/two-factor/disable")
@login_required
def disable() -> Response:
    form = DisableForm()
    if form.validate_on_submit():
        try:
            disable_two_factor(
                db.session,
                get_keyring(),
                current_user,
                form.password.data,
                form.code.data,
                utcnow(),
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(_("Desactivaste la verificación en dos pasos."), "info")
            return see_other(url_for("two_factor.settings"))
    return render_settings(CodeForm(formdata=None), form, status=form_status(form))


def render_settings(code_form: CodeForm, disable_form: DisableForm, status: int = 200) -> Response:
    secret = enrolment_secret(get_keyring(), current_user)
    enrolment = None
    if secret is not None:
        uri = provisioning_uri(secret, current_user.email)
        enrolment = {"qr": qr_svg(uri, _("Código QR para tu app")), "secret": grouped(secret)}
    response = render(
        "auth/two_factor_settings.html",
        status=status,
        enrolment=enrolment,
        code_form=code_form,
        disable_form=disable_form,
        remaining=remaining_recovery_codes(current_user),
    )
    return private(response)


def render_codes(codes: list[str]) -> Response:
    return private(render("auth/two_factor_codes.html", codes=codes))


def private(response: Response) -> Response:
    # The page shows a secret or recovery codes: never kept by a cache or the back button.
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the organization's requirement --------------------------------------------------------


@bp.before_app_request
def require_two_factor() -> ResponseReturnValue | None:
    """Owners and admins of an organization that requires two-factor enrol before anything else.

    Runs after the organization is resolved (`g.membership`); the enrolment pages, logging out,
    the account pages and switching organization stay reachable. The API (keys, no user) is not
    concerned.
    """
    if not must_enrol() or reachable_while_enrolling(request.endpoint):
        return None
    flash(
        _(
            "%(name)s exige verificación en dos pasos a dueños y administradores. "
            "Activala para seguir.",
            name=g.membership.organization.display_name,
        ),
        "warning",
    )
    return see_other(url_for("two_factor.settings"))


def must_enrol() -> bool:
    membership = g.get("membership")
    return (
        membership is not None
        and not request.path.startswith("/api/")
        and current_user.is_authenticated
        and current_user.totp_enabled_at is None
        and membership.role in MANAGER_ROLES
        and bool(membership.organization.require_two_factor)
    )


def reachable_while_enrolling(endpoint: str | None) -> bool:
    return (
        endpoint is None
        or endpoint in ENROLMENT_ENDPOINTS
        or endpoint.startswith(("two_factor.", "account."))
    )
