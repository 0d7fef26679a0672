from __future__ import annotations

from flask import Blueprint, Response, request, session, url_for
from flask_login import current_user
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from blueprints.auth.services import set_locale
from core.db import db
from core.forms import AppForm
from core.i18n import LANGUAGES
from core.web import safe_next, see_other

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
