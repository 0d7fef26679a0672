from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from blueprints.auth.forms import InvitedSignUpForm, LoginForm, SignUpForm
from blueprints.auth.models import User
from blueprints.auth.services import (
    AccountDetails,
    Throttle,
    authenticate,
    load_user,
    sign_up,
    sign_up_invited,
)
from blueprints.organizations.forms import details_from
from blueprints.organizations.services import find_invitation
from core.cache import get_cache
from core.db import db
from core.errors import DomainError, TooManyRequests
from core.security import login_manager
from core.web import attach_error, form_status, render, safe_next, see_other

bp = Blueprint("auth", __name__, url_prefix="/auth")


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    return load_user(db.session, user_id)


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response:
    if token := request.args.get("invitation"):
        return invited_signup(token)
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            user, _organization = sign_up(db.session, account_from(form), details_from(form))
        except DomainError as error:
            attach_error(form, error)
        else:
            start_session(user, remember=False)
            flash(_("¡Listo! Tu cuenta y tu negocio quedaron registrados."), "success")
            return see_other(url_for("dashboard.index"))
    return render("auth/signup.html", form=form, status=form_status(form))


def invited_signup(token: str) -> Response:
    invitation = find_invitation(db.session, token)
    form = InvitedSignUpForm(email=invitation.email)
    if form.validate_on_submit():
        try:
            membership = sign_up_invited(db.session, account_from(form), token)
        except DomainError as error:
            attach_error(form, error)
        else:
            start_session(
                membership.user, remember=False, organization_id=membership.organization_id
            )
            flash(_("Te sumaste a %(name)s.", name=membership.organization.display_name), "success")
            return see_other(url_for("dashboard.index"))
    return render("auth/signup.html", form=form, invitation=invitation, status=form_status(form))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(
                db.session,
                get_cache(),
                throttle(),
                form.email.data,
                form.password.data,
                client_ip(),
            )
        except TooManyRequests as error:
            attach_error(form, error)
            status = 429
        except DomainError as error:
            attach_error(form, error)
        else:
            start_session(user, remember=bool(form.remember.data))
            return see_other(safe_next(request.args.get("next"), url_for("dashboard.index")))
    response = render(
        "auth/login.html", form=form, status=status if status != 200 else form_status(form)
    )
    if status == 429:
        response.headers["Retry-After"] = str(current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"])
    return response


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    rotate_session()
    session.clear()
    flash(_("Cerraste la sesión."), "info")
    return see_other(url_for("auth.login"))


def start_session(user: User | None, remember: bool, organization_id: int | None = None) -> None:
    """Log in under a fresh session id, so an id planted before login is worth nothing after it."""
    locale = session.get("locale")
    rotate_session()
    session.clear()
    if locale:
        session["locale"] = locale
    if organization_id is not None:
        session["organization_id"] = organization_id
    login_user(user, remember=remember)


def rotate_session() -> None:
    regenerate = getattr(current_app.session_interface, "regenerate", None)
    if regenerate is not None and session:
        regenerate(session)


def throttle() -> Throttle:
    config = current_app.config
    return Throttle(config["LOGIN_MAX_FAILURES"], config["LOGIN_FAILURE_WINDOW_SECONDS"])


def client_ip() -> str:
    return request.remote_addr or "unknown"


def account_from(form: SignUpForm | InvitedSignUpForm) -> AccountDetails:
    return AccountDetails(name=form.name.data, email=form.email.data, password=form.password.data)
