"""The webhook endpoint form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from core.events import EVENT_TYPES
from core.forms import AppForm, CheckboxesField


def event_labels() -> dict[str, str]:
    return {
        "invoice.created": str(_l("Se creó un comprobante")),
        "invoice.authorized": str(_l("ARCA autorizó un comprobante (CAE)")),
        "invoice.rejected": str(_l("ARCA rechazó un comprobante")),
        "invoice.needs_attention": str(
            _l("Un comprobante necesita atención (ARCA no confirma si lo recibió)")
        ),
        "customer.created": str(_l("Se creó un cliente")),
        "customer.updated": str(_l("Se modificó un cliente")),
        "customer_import.finished": str(_l("Terminó una importación de clientes")),
        "bulk_authorization.finished": str(_l("Terminó una autorización masiva")),
        "certificate.expiring": str(_l("El certificado de ARCA vence pronto (30, 7 y 1 días)")),
        "certificate.expired": str(_l("Venció el certificado de ARCA")),
    }


class EndpointForm(AppForm):
    url = StringField(
        _l("URL"),
        validators=[DataRequired(_l("Poné la URL que recibe los eventos.")), Length(max=2000)],
        description=_l("Recibe un POST firmado (Standard Webhooks) por cada evento."),
    )
    events = CheckboxesField(
        _l("Eventos"), validators=[DataRequired(_l("Elegí al menos un evento."))]
    )
    description = StringField(_l("Descripción (opcional)"), validators=[Length(max=200)])
    enabled = BooleanField(_l("Activo"), default=True)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        labels = event_labels()
        self.events.choices = [
            (event, f"{labels.get(event, event)} ({event})") for event in EVENT_TYPES
        ]
