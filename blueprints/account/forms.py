"""Forms of the signed-in person's own account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from core.forms import AppForm


class PasswordChangeForm(AppForm):
    """The current password (someone at an unlocked screen must not take the account) and the
    new one twice; its strength is checked by the service, by the rules sign-up uses."""

    current_password = PasswordField(
        _l("Contraseña actual"),
        validators=[DataRequired(_l("Escribí tu contraseña actual."))],
    )
    password = PasswordField(
        _l("Contraseña nueva"), validators=[DataRequired(_l("Elegí una contraseña nueva."))]
    )
    password_repeat = PasswordField(
        _l("Repetí la contraseña nueva"),
        validators=[
            DataRequired(_l("Repetí la contraseña nueva.")),
            EqualTo("password", _l("Las dos contraseñas nuevas no coinciden.")),
        ],
    )


class ActionForm(AppForm):
    """Buttons that post nothing but the CSRF token (close a session, close them all)."""
