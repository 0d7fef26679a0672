"""The invoice editor's form: header fields and a list of lines, parsed into `DraftInput`.

Parsing is lenient where the user is still typing (an empty line is dropped, "1.234,50" and
"1234.50" are both numbers) and strict where ARCA is: problems come back per field.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from arca.codes import VAT_RATES
from blueprints.invoices.services import DraftInput
from blueprints.invoices.totals import Line, VatTreatment

MAX_LINES = 200
_NUMBER = re.compile(r"^-?[\d.,]+$")


def vat_choices() -> list[SelectChoice]:
    by_rate = sorted(VAT_RATES.items(), key=lambda item: item[1], reverse=True)
    rates = [SelectChoice(str(code), percent_label(rate)) for code, rate in by_rate]
    exempt = SelectChoice("exempt", str(_l("Exento")))
    return [*rates, exempt, SelectChoice("untaxed", str(_l("No gravado")))]


def percent_label(rate: Decimal) -> str:
    return f"{rate.normalize():f} %".replace(".", ",")


class LineForm(Form):
    description = StringField(_l("Descripción"))
    quantity = StringField(_l("Cantidad"), default="1")
    unit_price = StringField(_l("Precio unitario"))
    discount_percent = StringField(_l("Bonif. %"), default="0")
    vat = SelectField(_l("IVA"), default="5", validate_choice=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vat.choices = vat_choices()


class InvoiceForm(FlaskForm):
    point_of_sale_id = SelectField(_l("Punto de venta"), validate_choice=False)
    customer_id = HiddenField()
    customer_label = StringField(_l("Cliente"))
    concept = SelectField(
        _l("Concepto"),
        choices=[
            SelectChoice("1", _l("Productos")),
            SelectChoice("2", _l("Servicios")),
            SelectChoice("3", _l("Productos y servicios")),
        ],
        default="1",
        validate_choice=False,
    )
    issue_date = DateField(_l("Fecha"), validators=[Optional()])
    service_from = DateField(_l("Servicio desde"), validators=[Optional()])
    service_to = DateField(_l("Servicio hasta"), validators=[Optional()])
    payment_due = DateField(_l("Vencimiento del pago"), validators=[Optional()])
    currency = SelectField(_l("Moneda"), default="PES", validate_choice=False)
    currency_rate = StringField(_l("Cotización"), default="1")
    same_currency_payment = BooleanField(_l("Se paga en la misma moneda extranjera"))
    prices_include_vat = BooleanField(_l("Los precios incluyen IVA"))
    notes = TextAreaField(_l("Observaciones (se imprimen)"), render_kw={"rows": 2})
    lines = FieldList(FormField(LineForm), min_entries=1, max_entries=MAX_LINES)


def parse_amount(text: str | None) -> Decimal | None:
    """ "1.234,50", "1234,5" and "1234.50" are all numbers; None for anything else."""
    value = (text or "").strip().replace(" ", "")
    if not value or not _NUMBER.match(value):
        return None
    if "," in value:
        value = value.replace(".", "").replace(",", ".")
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def parse_vat(text: str) -> VatTreatment:
    if text in ("exempt", "untaxed"):
        return text  # type: ignore[return-value]
    return int(text) if text.isdigit() else 5


def parsed_lines(form: InvoiceForm) -> list[Line]:
    """The lines the user filled in (blank ones are dropped); unreadable numbers become 0, so
    the line's problem is reported on it instead of failing the whole form."""
    lines: list[Line] = []
    for entry in form.lines.entries:
        data = entry.form
        if not (data.description.data or "").strip() and not (data.unit_price.data or "").strip():
            continue
        lines.append(
            Line(
                description=(data.description.data or "").strip(),
                quantity=parse_amount(data.quantity.data) or Decimal("0"),
                unit_price=parse_amount(data.unit_price.data) or Decimal("0"),
                discount_percent=parse_amount(data.discount_percent.data) or Decimal("0"),
                vat=parse_vat(data.vat.data or "5"),
            )
        )
    return lines


def draft_input(form: InvoiceForm, today: dt.date) -> DraftInput:
    customer = (form.customer_id.data or "").strip()
    return DraftInput(
        point_of_sale_id=int(form.point_of_sale_id.data or 0),
        customer_id=int(customer) if customer.isdigit() else None,
        issue_date=form.issue_date.data or today,
        lines=parsed_lines(form),
        concept=int(form.concept.data or 1),
        service_from=form.service_from.data,
        service_to=form.service_to.data,
        payment_due=form.payment_due.data,
        currency=form.currency.data or "PES",
        currency_rate=parse_amount(form.currency_rate.data) or Decimal("1"),
        same_currency_payment=bool(form.same_currency_payment.data),
        prices_include_vat=bool(form.prices_include_vat.data),
        notes=form.notes.data,
    )
