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
        "customer.created": str(_l("Se creó un cliente")),
        "customer.updated": str(_l("Se modificó un cliente")),
        "bulk_authorization.finished": str(_l("Terminó una autorización masiva")),
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
        self.events.choices = [(event, f"{labels[event]} ({event})") for event in EVENT_TYPES]
