from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, Field, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from blueprints.auth.passwords import MIN_LENGTH, too_short
from blueprints.organizations.forms import OrganizationFieldsMixin, email_field
from core.forms import AppForm

MIN_PASSWORD_LENGTH = MIN_LENGTH
# Password managers offer a generated password for these, and never fill in an old one.
NEW_PASSWORD = {"autocomplete": "new-password"}


def strong_password(_form: AppForm, field: Field) -> None:
    """Immediate feedback next to the field; the service checks the whole policy (it knows
    the email and the business) before saving."""
    if field.data and len(field.data) < MIN_PASSWORD_LENGTH:
        raise ValidationError(password_too_short())


def password_too_short() -> str:
    return too_short()


def new_password_field(label: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(_l("Elegí una contraseña.")), strong_password],
        description=_l(
            "Al menos %(n)d caracteres; mejor una frase de varias palabras.", n=MIN_PASSWORD_LENGTH
        ),
        render_kw=NEW_PASSWORD,
    )


class AccountFieldsMixin:
    name = StringField(
        _l("Tu nombre"), validators=[DataRequired(_l("Escribí tu nombre.")), Length(max=120)]
    )
    email = email_field(_l("Escribí tu email."))
    password = new_password_field(_l("Contraseña"))


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


class ForgotPasswordForm(AppForm):
    email = email_field(_l("Escribí el email de tu cuenta."))


class ResetPasswordForm(AppForm):
    password = new_password_field(_l("Contraseña nueva"))
    confirm = PasswordField(
        _l("Repetí la contraseña nueva"),
        validators=[
            DataRequired(_l("Repetí la contraseña.")),
            EqualTo("password", _l("Las dos contraseñas no coinciden.")),
        ],
        render_kw=NEW_PASSWORD,
    )
