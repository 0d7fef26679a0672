from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.auth.forms import InvitedSignUpForm, LoginForm, SignUpForm
from blueprints.auth.models import User
from blueprints.auth.recovery import SIGNUP_EMAIL_KEY
from blueprints.auth.services import (
    AccountDetails,
    Throttle,
    authenticate,
    load_user,
    sign_up,
    sign_up_invited,
)
from blueprints.auth.sessions import end_current, sign_out, start_session
from blueprints.auth.two_factor import hold_login, requires_second_step
from blueprints.organizations.forms import details_from
from blueprints.organizations.services import find_invitation, normalize_email
from core.cache import get_cache
from core.db import db, utcnow
from core.errors import DomainError, TooManyRequests
from core.security import login_manager
from core.web import attach_error, form_status, render, safe_next, see_other

bp = Blueprint("auth", __name__, url_prefix="/auth")


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    return load_user(db.session, user_id, utcnow())


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Response:
    if token := request.args.get("invitation"):
        return invited_signup(token)
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            sign_up(db.session, get_cache(), account_from(form), details_from(form))
        except DomainError as error:
            attach_error(form, error)
        else:
            return check_your_email(form.email.data)
    return render("auth/signup.html", form=form, status=form_status(form))


def invited_signup(token: str) -> Response:
    invitation = find_invitation(db.session, token)
    form = InvitedSignUpForm(email=invitation.email)
    if form.validate_on_submit():
        try:
            sign_up_invited(db.session, get_cache(), account_from(form), token)
        except DomainError as error:
            attach_error(form, error)
        else:
            return check_your_email(form.email.data)
    return render("auth/signup.html", form=form, invitation=invitation, status=form_status(form))


def check_your_email(email: str) -> Response:
    """Sign-up's one answer, new address or not (it must not tell who has an account): no
    session starts here; the person confirms the address and logs in."""
    session[SIGNUP_EMAIL_KEY] = normalize_email(email)
    return see_other(url_for("auth.check_email"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    status, retry_after = 200, 0
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
            status, retry_after = 429, error.retry_after
        except DomainError as error:
            attach_error(form, error)
        else:
            return password_passed(user, remember=bool(form.remember.data))
    response = render(
        "auth/login.html", form=form, status=status if status != 200 else form_status(form)
    )
    if status == 429:
        response.headers["Retry-After"] = str(retry_after)
    return response


def password_passed(user: User, remember: bool) -> Response:
    """In at once, or, with two-factor on, on to the code step (blueprints/auth/two_factor.py)."""
    next_url = request.args.get("next")
    if requires_second_step(user):
        hold_login(session, user, remember, next_url, time.time())
        return see_other(url_for("two_factor.verify"))
    start_session(user, remember=remember)
    return see_other(safe_next(next_url, url_for("dashboard.index")))


@bp.post("/logout")
def logout() -> Response:
    """End this login: its row is revoked, so its cookies (remember me too) are worth nothing."""
    if current_user.is_authenticated:
        end_current(db.session, current_user, utcnow())
    sign_out()
    flash(_("Cerraste la sesión."), "info")
    return see_other(url_for("auth.login"))


def throttle() -> Throttle:
    return Throttle.from_config(current_app.config)


def client_ip() -> str:
    return request.remote_addr or "unknown"


def account_from(form: SignUpForm | InvitedSignUpForm) -> AccountDetails:
    return AccountDetails(name=form.name.data, email=form.email.data, password=form.password.data)
