"""The API page's form: a new key."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from blueprints.api.models import DEFAULT_RATE_LIMIT, SCOPES
from blueprints.api.services import MAX_RATE_LIMIT, KeyRequest
from core.forms import AppForm, CheckboxesField


def scope_labels() -> dict[str, str]:
    return {
        "organization:read": str(_l("Ver los datos de la organización")),
        "customers:read": str(_l("Ver clientes")),
        "customers:write": str(_l("Crear y modificar clientes")),
        "invoices:read": str(_l("Ver comprobantes y sus PDF")),
        "invoices:write": str(_l("Crear y modificar borradores")),
        "invoices:authorize": str(_l("Autorizar comprobantes en ARCA (CAE)")),
        "catalog:read": str(_l("Ver puntos de venta y tablas de ARCA")),
        "webhooks:manage": str(_l("Administrar webhooks: URL, eventos, secretos y envíos")),
    }


class ApiKeyForm(AppForm):
    name = StringField(
        _l("Nombre"),
        validators=[
            DataRequired(_l("Poné un nombre que diga quién usa la clave.")),
            Length(max=80),
        ],
        description=_l("Quién la usa: «Tienda online», «Sistema del local», «Estudio contable»."),
    )
    scopes = CheckboxesField(
        _l("Permisos"),
        validators=[DataRequired(_l("Elegí al menos un permiso."))],
    )
    expires_on = DateField(
        _l("Vence (opcional)"),
        validators=[Optional()],
        description=_l("Deja de funcionar al terminar ese día. Vacío: no vence."),
        render_kw={"max": "2100-12-31"},
    )
    rate_limit = IntegerField(
        _l("Límite de pedidos por minuto"),
        default=DEFAULT_RATE_LIMIT,
        validators=[
            DataRequired(_l("Poné un límite.")),
            NumberRange(1, MAX_RATE_LIMIT, _l("Entre 1 y %(max)s.", max=MAX_RATE_LIMIT)),
        ],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        labels = scope_labels()
        self.scopes.choices = [(scope, f"{labels[scope]} ({scope})") for scope in SCOPES]

    def key_request(self) -> KeyRequest:
        return KeyRequest(
            name=self.name.data or "",
            scopes=tuple(self.scopes.data or ()),
            expires_on=self.expires_on.data,
            rate_limit=int(self.rate_limit.data or 0),
        )
