from __future__ import annotations

from flask import Blueprint, Response, flash, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from blueprints.account.devices import build_entries
from blueprints.account.forms import ActionForm, PasswordChangeForm
from blueprints.account.services import change_password
from blueprints.auth.services import set_locale
from blueprints.auth.sessions import (
    current_session,
    end_others,
    end_session,
    list_sessions,
    sign_out,
    start_session,
)
from core.db import db, utcnow
from core.errors import DomainError, NotFound
from core.forms import AppForm
from core.i18n import LANGUAGES
from core.inputs import parse_id
from core.web import (
    attach_error,
    form_status,
    render,
    safe_next,
    see_other,
    wants_fragment,
)

bp = Blueprint("account", __name__, url_prefix="/account")


class LanguageForm(AppForm):
    locale = SelectField(choices=[SelectChoice(code, label) for code, label in LANGUAGES.items()])


@bp.post("/language")
def language() -> Response:
    """Pick the UI language: kept on the user when signed in, in the session otherwise."""
    form = LanguageForm()
    back = safe_next(request.form.get("next"), url_for("dashboard.index"))
    if form.validate_on_submit():
        session["locale"] = form.locale.data
        if current_user.is_authenticated:
            set_locale(db.session, current_user, form.locale.data)
    return see_other(back)


@bp.get("/")
@login_required
def index() -> Response:
    return render("account/index.html")


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Response:
    """Change the password: every other login ends; this browser is signed in again."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        current = current_session(db.session, user)
        try:
            change_password(db.session, user, form.current_password.data, form.password.data)
        except DomainError as error:
            attach_error(form, error)
        else:
            remember = current is not None and current.remember
            start_session(user, remember, session.get("organization_id"))
            flash(_("Cambiaste tu contraseña. Cerramos tus otras sesiones."), "success")
            return see_other(url_for("account.index"))
    return render("account/password.html", form=form, status=form_status(form))


@bp.get("/sessions")
@login_required
def sessions() -> Response:
    return render_sessions()


@bp.post("/sessions/end")
@login_required
def session_end() -> Response:
    ActionForm()  # CSRF is checked globally; the form only documents the contract.
    session_id = parse_id(request.form.get("session_id"))
    if session_id is None:
        raise NotFound(_("Esa sesión no existe o ya se cerró."))
    end_session(db.session, current_user, session_id, utcnow())
    return sessions_changed()


@bp.post("/sessions/end-others")
@login_required
def sessions_end_others() -> Response:
    ActionForm()
    user = current_user._get_current_object()
    end_others(db.session, user, current_session(db.session, user), utcnow())
    return sessions_changed()


@bp.post("/sessions/end-all")
@login_required
def sessions_end_all() -> Response:
    """Close every login, this one too: back to the login page."""
    ActionForm()
    end_others(db.session, current_user, None, utcnow())
    sign_out()
    flash(_("Cerraste todas tus sesiones."), "info")
    return see_other(url_for("auth.login"))


def sessions_changed() -> Response:
    """The list again for htmx; a plain form goes back to the page (303)."""
    if wants_fragment():
        return render_sessions()
    return see_other(url_for("account.sessions"))


def render_sessions() -> Response:
    user = current_user._get_current_object()
    current = current_session(db.session, user)
    rows = list_sessions(db.session, user, utcnow())
    entries = build_entries(rows, current.id if current else None)
    return render("account/sessions.html", "account/_sessions.html", entries=entries)
