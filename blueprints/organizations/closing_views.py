"""The owner's "Cerrar la organización" page, on the organizations blueprint (imported by
app.py), and the read-only rule for closed organizations registered on every request."""

from __future__ import annotations

from flask import Response, flash, g, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from blueprints.organizations.closing import refuse_writes_while_closed, request_closing
from blueprints.organizations.models import Role
from blueprints.organizations.views import bp
from core.cache import get_cache
from core.crypto import get_keyring
from core.db import db, utcnow
from core.errors import DomainError
from core.forms import AppForm
from core.tenancy import role_required
from core.web import attach_error, form_status, render, see_other

# After load_current_membership (views.py registers it first): the hook reads g.membership.
bp.before_app_request(refuse_writes_while_closed)


class CloseOrganizationForm(AppForm):
    """The organization's CUIT typed again and the owner's password: no closing by a slip."""

    cuit = StringField(
        _l("CUIT de la organización"),
        validators=[DataRequired(_l("Escribí el CUIT de la organización.")), Length(max=20)],
    )
    password = PasswordField(
        _l("Tu contraseña"), validators=[DataRequired(_l("Escribí tu contraseña."))]
    )


@bp.route("/close", methods=["GET", "POST"])
@role_required(Role.OWNER)
def close() -> Response:
    organization = g.membership.organization
    form = CloseOrganizationForm()
    if organization.closed_at is None and form.validate_on_submit():
        try:
            request_closing(
                db.session,
                organization,
                current_user,
                form.cuit.data,
                form.password.data,
                get_keyring(),
                get_cache(),
                utcnow(),
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            flash(
                _("Cerraste %(name)s: queda en modo sólo lectura.", name=organization.display_name),
                "success",
            )
            return see_other(url_for("organizations.close"))
    return render(
        "organizations/close.html", form=form, organization=organization, status=form_status(form)
    )
