from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from blueprints.points_of_sale.models import PointOfSale
from blueprints.points_of_sale.services import NUMBER_MAX, NUMBER_MIN, PointDetails
from core.forms import AppForm


class PointDetailsMixin:
    name = StringField(
        _l("Nombre"),
        validators=[Optional(), Length(max=100)],
        description=_l("Para reconocerlo: «Local centro», «Tienda online»."),
    )
    address = StringField(
        _l("Domicilio en los comprobantes"),
        validators=[Optional(), Length(max=300)],
        description=_l("Vacío: se imprime el domicilio de la organización."),
    )


class AddForm(PointDetailsMixin, AppForm):
    number = IntegerField(
        _l("Número"),
        validators=[
            InputRequired(_l("Escribí el número del punto de venta.")),
            NumberRange(NUMBER_MIN, NUMBER_MAX, _l("El número va de 1 a 99999.")),
        ],
        render_kw={"min": NUMBER_MIN, "max": NUMBER_MAX, "inputmode": "numeric"},
        description=_l("El que diste de alta en ARCA para factura electrónica (web services)."),
    )


class EditForm(PointDetailsMixin, AppForm):
    pass


class EmptyForm(AppForm):
    """Buttons that post nothing but the CSRF token."""


def edit_form(point: PointOfSale, submitted: bool = False) -> EditForm:
    """One per point on the page: the prefix keeps their field names and ids apart."""
    prefix = f"point-{point.id}"
    if submitted:
        return EditForm(prefix=prefix)
    return EditForm(formdata=None, obj=point, prefix=prefix)


def details_from(form: PointDetailsMixin) -> PointDetails:
    return PointDetails(name=form.name.data, address=form.address.data)
