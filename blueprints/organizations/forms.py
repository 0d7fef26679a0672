from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf.file import FileAllowed, FileField
from wtforms import BooleanField, DateField, EmailField, Field, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from arca.codes import ISSUER_CONDITION_LABELS
from blueprints.organizations.models import Role
from blueprints.organizations.services import OrganizationDetails, parse_cuit
from core.errors import ValidationFailed
from core.forms import AppForm


def role_choices() -> list[SelectChoice]:
    return [
        SelectChoice(Role.OWNER.value, str(_l("Dueño/a"))),
        SelectChoice(Role.ADMIN.value, str(_l("Administrador/a"))),
        SelectChoice(Role.ACCOUNTANT.value, str(_l("Contador/a (ver y exportar)"))),
        SelectChoice(Role.MEMBER.value, str(_l("Integrante"))),
    ]


def valid_cuit(_form: AppForm, field: Field) -> None:
    """Immediate feedback next to the field; the service checks again before saving."""
    if field.data:
        try:
            parse_cuit(field.data)
        except ValidationFailed as error:
            raise ValidationError(error.message) from None


def role_label(role: str) -> str:
    return next((c.label for c in role_choices() if c.value == role), role)


class OrganizationFieldsMixin:
    cuit = StringField(
        _l("CUIT"),
        validators=[
            DataRequired(_l("Escribí el CUIT del negocio.")),
            Length(max=20),
            valid_cuit,
        ],
        description=_l("11 dígitos, con o sin guiones: 30-71234567-1"),
    )
    legal_name = StringField(
        _l("Razón social"),
        validators=[DataRequired(_l("Escribí la razón social.")), Length(max=200)],
    )
    trade_name = StringField(_l("Nombre de fantasía"), validators=[Optional(), Length(max=200)])
    iva_condition = SelectField(
        _l("Condición frente al IVA"),
        choices=[SelectChoice(key.value, label) for key, label in ISSUER_CONDITION_LABELS.items()],
        validators=[DataRequired(_l("Elegí la condición frente al IVA."))],
    )
    iibb = StringField(_l("Ingresos Brutos (N.º)"), validators=[Optional(), Length(max=30)])
    activity_start = DateField(
        _l("Inicio de actividades"),
        validators=[Optional()],
        render_kw={"max": "2100-12-31"},
    )
    address = StringField(_l("Domicilio comercial"), validators=[Optional(), Length(max=300)])


class OrganizationForm(OrganizationFieldsMixin, AppForm):
    a_with_legend = BooleanField(
        _l("ARCA me exige emitir «A con leyenda» (operación sujeta a retención)"),
        description=_l(
            "Solo para Responsables Inscriptos a los que ARCA se lo indicó: las facturas A "
            "salen como clase «A con leyenda» (códigos 51 a 53)."
        ),
    )
    email_invoices = BooleanField(
        _l("Enviar cada comprobante autorizado por email al cliente"),
        description=_l(
            "Con el PDF adjunto, a los emails cargados en el cliente. También podés enviarlo "
            "a mano desde cada comprobante."
        ),
    )
    require_two_factor = BooleanField(
        _l("Exigir verificación en dos pasos a dueños y administradores"),
        description=_l(
            "Quien sea dueño/a o administrador/a y no la tenga activada tendrá que activarla "
            "(en Mi cuenta → Seguridad) antes de seguir trabajando en esta organización."
        ),
    )
    cbu = StringField(
        _l("CBU"),
        validators=[Optional(), Length(max=30)],
        description=_l(
            "Los 22 dígitos de la cuenta donde te pagan: van en cada Factura de Crédito "
            "Electrónica MiPyME (FCE)."
        ),
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    cbu_alias = StringField(
        _l("Alias del CBU"),
        validators=[Optional(), Length(max=60)],
        description=_l("Opcional: de 6 a 20 letras, números, puntos o guiones."),
    )
    fce_transfer = SelectField(
        _l("Opción de transferencia de las FCE"),
        choices=[
            SelectChoice("SCA", _l("Transferencia al Sistema de Circulación Abierta (SCA)")),
            SelectChoice("ADC", _l("Agente de Depósito Colectivo (ADC)")),
        ],
        default="SCA",
        description=_l(
            "SCA: el comprador puede ceder la factura y se negocia en el mercado abierto. ADC: "
            "la factura se deposita en un agente de depósito colectivo (Caja de Valores)."
        ),
    )
    logo = FileField(
        _l("Logo (PNG o JPEG, hasta 1 MB)"),
        validators=[FileAllowed(["png", "jpg", "jpeg"], _l("El logo tiene que ser PNG o JPEG."))],
    )


def email_field(required_message: LazyString) -> EmailField:
    return EmailField(
        _l("Email"),
        validators=[
            DataRequired(required_message),
            Email(_l("Ese email no parece válido.")),
            Length(max=254),
        ],
    )


class InviteForm(AppForm):
    email = email_field(_l("Escribí el email de la persona a invitar."))
    role = SelectField(_l("Rol"), choices=role_choices, default=Role.MEMBER.value)


class RoleForm(AppForm):
    role = SelectField(_l("Rol"), choices=role_choices)


class EmptyForm(AppForm):
    """Buttons that post nothing but the CSRF token."""


def details_from(form: OrganizationFieldsMixin) -> OrganizationDetails:
    return OrganizationDetails(
        cuit=form.cuit.data,
        legal_name=form.legal_name.data,
        trade_name=form.trade_name.data,
        iva_condition=form.iva_condition.data,
        iibb=form.iibb.data,
        activity_start=form.activity_start.data,
        address=form.address.data,
        a_with_legend=bool(getattr(getattr(form, "a_with_legend", None), "data", False)),
        email_invoices=bool(getattr(getattr(form, "email_invoices", None), "data", False)),
        require_two_factor=bool(getattr(getattr(form, "require_two_factor", None), "data", False)),
        **fce_details_from(form),
    )


def fce_details_from(form: OrganizationFieldsMixin) -> dict[str, Any]:
    """The settings form's CBU, alias and transfer option; {} from the sign-up form, which
    has none (the organization starts without them)."""
    if not isinstance(form, OrganizationForm):
        return {}
    return {
        "cbu": form.cbu.data,
        "cbu_alias": form.cbu_alias.data,
        "fce_transfer": form.fce_transfer.data or "",
    }
