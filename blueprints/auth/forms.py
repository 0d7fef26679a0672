from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, Field, PasswordField, StringField
from wtforms.validators import DataRequired, Length, ValidationError

from blueprints.organizations.forms import OrganizationFieldsMixin, email_field
from core.forms import AppForm

MIN_PASSWORD_LENGTH = 10


def strong_password(_form: AppForm, field: Field) -> None:
    """Immediate feedback next to the field; the service checks again before saving."""
    if field.data and len(field.data) < MIN_PASSWORD_LENGTH:
        raise ValidationError(password_too_short())


def password_too_short() -> str:
    return _(
        "La contraseña es muy corta: tiene que tener al menos %(n)d caracteres.",
        n=MIN_PASSWORD_LENGTH,
    )


class AccountFieldsMixin:
    name = StringField(
        _l("Tu nombre"), validators=[DataRequired(_l("Escribí tu nombre.")), Length(max=120)]
    )
    email = email_field(_l("Escribí tu email."))
    password = PasswordField(
        _l("Contraseña"),
        validators=[DataRequired(_l("Elegí una contraseña.")), strong_password],
        description=_l("Al menos %(n)d caracteres.", n=MIN_PASSWORD_LENGTH),
    )


class SignUpForm(OrganizationFieldsMixin, AccountFieldsMixin, AppForm):
    """A new user and the business they register (its owner)."""


class InvitedSignUpForm(AccountFieldsMixin, AppForm):
    """A new user joining the organization that invited them."""


class LoginForm(AppForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Escribí tu email."))])
    password = PasswordField(
        _l("Contraseña"), validators=[DataRequired(_l("Escribí tu contraseña."))]
    )
    remember = BooleanField(_l("Recordarme en este dispositivo"))
