"""Pages for password reset and email verification, on the auth blueprint (`app.py` imports
this module so its routes exist).

Tokens in URLs: the reset link's token is moved into the session at once and the browser is
sent on to a URL without it, so it is not in the page's address, its history entry, the
language form's `next`, or any Referer; both steps answer with `Referrer-Policy: no-referrer`.
"""

from __future__ import annotations

from flask import Response, flash, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from blueprints.auth.forms import ForgotPasswordForm, ResetPasswordForm
from blueprints.auth.models import User
from blueprints.auth.recovery import (
    SIGNUP_EMAIL_KEY,
    InvalidLink,
    confirm_email,
    request_password_reset,
    resend_verification,
    reset_password,
    user_for_reset,
)
from blueprints.auth.views import bp
from core.cache import get_cache
from core.db import db
from core.errors import DomainError
from core.web import attach_error, form_status, render, same_site_path, see_other

RESET_TOKEN_KEY = "password_reset_token"  # noqa: S105 - a session key, not a secret


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> Response:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        request_password_reset(db.session, get_cache(), form.email.data)
        return see_other(url_for("auth.forgot_password_sent"))
    return render("auth/forgot_password.html", form=form, status=form_status(form))


@bp.get("/password/forgot/sent")
def forgot_password_sent() -> Response:
    return render("auth/forgot_password.html", sent=True)


@bp.get("/password/reset/<token>")
def reset_link(token: str) -> Response:
    session[RESET_TOKEN_KEY] = token
    return no_referrer(see_other(url_for("auth.reset_password_page")))


@bp.route("/password/reset", methods=["GET", "POST"])
def reset_password_page() -> Response:
    token = session.get(RESET_TOKEN_KEY)
    try:
        user_for_reset(db.session, token)
    except InvalidLink as error:
        page = render("auth/reset_password.html", invalid=error.message, status=404)
        return no_referrer(page)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = reset_password(db.session, token, form.password.data, end_sessions)
        except DomainError as error:
            attach_error(form, error)
        else:
            return after_reset(user)
    page = render("auth/reset_password.html", form=form, status=form_status(form))
    return no_referrer(page)


def after_reset(user: User) -> Response:
    session.pop(RESET_TOKEN_KEY, None)
    if current_user.is_authenticated and current_user.id == user.id:
        logout_user()
    flash(_("Cambiaste tu contraseña: ingresá con la nueva."), "success")
    return see_other(url_for("auth.login"))


def end_sessions(user: User) -> None:
    """Every login of the user ends: their sessions, their remember-me cookies."""
    from blueprints.auth.sessions import end_all  # A1's module, imported where it is used

    end_all(db.session, user)


@bp.get("/verify/<token>")
def verify_email(token: str) -> Response:
    if not current_user.is_authenticated:
        flash(_("Ingresá con tu cuenta para confirmar tu email."), "info")
        return no_referrer(see_other(url_for("auth.login", next=request.path)))
    if confirm_email(db.session, current_user, token):
        flash(_("Confirmaste tu email. ¡Gracias!"), "success")
    else:
        flash(_("Tu email ya estaba confirmado."), "info")
    return no_referrer(see_other(url_for("dashboard.index")))


@bp.post("/verify/resend")
@login_required
def resend_verification_email() -> Response:
    if current_user.email_verified_at is not None:
        flash(_("Tu email ya está confirmado."), "info")
    elif resend_verification(db.session, get_cache(), current_user):
        flash(_("Te enviamos otro enlace a %(email)s.", email=current_user.email), "success")
    else:
        flash(_("Ya te enviamos un enlace hace menos de un minuto: revisá tu email."), "info")
    return see_other(same_site_path(request.referrer) or url_for("dashboard.index"))


@bp.get("/signup/check-email")
def check_email() -> Response:
    return render("auth/check_email.html", email=session.get(SIGNUP_EMAIL_KEY))


def no_referrer(response: Response) -> Response:
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
