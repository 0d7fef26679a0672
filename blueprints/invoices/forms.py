"""The invoice editor's form: header fields and a list of lines, parsed into `DraftInput`.

Validation happens here, before anything touches the database: every number is read by
`core.numbers` (the locale's way: "1.500,50" in es-AR) and must fit its column without
rounding; every choice must be one the editor offered; text fits its column. A problem is
reported on its field (a line's on that line's field), never turned into 0. A blank line is
dropped, unchecked. Rules about the lines together (a return larger than the sale, amounts
too large for ARCA) are the service's (`totals.saving_problems`).

The checks on values (`line_value_problems`, `currency_rate_problem`…) are the form's and the
API's: the API reads its numbers from JSON instead of text, then `draft_value_problems` applies
the same rules and names problems as the form's fields.

`draft_input` and `parsed_lines` never raise: the live totals and the editor's preview read
the form as it is, and an unreadable number becomes NaN, which `compute_totals` refuses (the
totals then show nothing).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.utils import unset_value
from wtforms.validators import Optional

from arca.codes import VAT_RATES
from arca.export_codes import ARGENTINA, export_codes
from blueprints.invoices.services import DraftInput, ExportInput, ExportPermitInput
from blueprints.invoices.totals import Line, Problem, VatTreatment
from core.forms import AppForm
from core.inputs import parse_id
from core.numbers import NumberNotUnderstood, format_decimal_input, parse_decimal_input

MAX_LINES = 200
MAX_DESCRIPTION = 300  # InvoiceLine.description is String(300)
MAX_NOTES = 1000  # printed on the voucher: a paragraph, not a document
UNREADABLE = Decimal("NaN")
# The currencies the editor offers (MonId): pesos, and the two a small business meets.
CURRENCIES = {"PES": "Pesos", "DOL": "Dólar estadounidense", "060": "Euro"}


@dataclass(frozen=True)
class Column:
    """What a numeric column stores: `places` decimals and |value| < `limit`."""

    places: int
    limit: Decimal
    too_precise: Any  # lazy strings, translated when shown
    too_large: Any

    def check(self, value: Decimal) -> str | None:
        """Why `value` cannot be stored as it is (never rounded); None when it can."""
        if abs(value) >= self.limit:
            return str(self.too_large)
        if value != value.quantize(Decimal(1).scaleb(-self.places)):
            return str(self.too_precise)
        return None


# Numeric(18, 6), Numeric(18, 4), Numeric(5, 2) and Numeric(18, 6) in `models`.
QUANTITY = Column(
    6,
    Decimal(10) ** 12,
    _l("La cantidad admite hasta 6 decimales."),
    _l("La cantidad es demasiado grande."),
)
UNIT_PRICE = Column(
    4,
    Decimal(10) ** 14,
    _l("El precio admite hasta 4 decimales."),
    _l("El precio es demasiado grande."),
)
DISCOUNT = Column(
    2,
    Decimal(1000),
    _l("La bonificación admite hasta 2 decimales."),
    _l("La bonificación va de 0 a 100 %."),
)
CURRENCY_RATE = Column(
    6,
    Decimal(10) ** 12,
    _l("La cotización admite hasta 6 decimales."),
    _l("La cotización es demasiado grande."),
)


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

    def validate(self, extra_validators: Any = None) -> bool:
        """A blank line is dropped, so it passes; any other is checked field by field."""
        if is_blank(self):
            return True
        super().validate(extra_validators)
        problems = line_value_problems(
            self.description.data or "",
            read_number(self.quantity),
            read_number(self.unit_price),
            read_number(self.discount_percent),
            self.vat.data or "",
        )
        for name, message in problems.items():
            if not self[name].errors:  # a number that could not be read says so already
                self[name].errors.append(message)
        return not self.errors


class LineList(FieldList):
    """The lines, counting how many were posted: WTForms keeps `max_entries` and silently drops
    the rest, and reads any Unicode digit as an index ("lines-²-…" would raise)."""

    posted = 0

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        super().process(formdata, data, extra_filters)
        self.posted = len(set(self._extract_indices(self.name, formdata))) if formdata else 0

    def _extract_indices(self, prefix: str, formdata: Any) -> Any:
        start = prefix + self._separator
        for key in formdata:
            if key.startswith(start):
                index = key[len(start) :].split(self._field_separator, 1)[0]
                if index.isascii() and index.isdigit() and len(index) <= 5:
                    yield int(index)


MAX_PERMITS = 5  # shipping permits the editor offers (one per row; ARCA takes more, seldom needed)
PERMIT_ID = re.compile(r"^[0-9A-Z]{16}$")  # a customs permit: 16 letters and digits


class PermitForm(Form):
    """One shipping permit of exported goods (Permisos: Id_permiso, Dst_merc)."""

    permit_id = StringField(_l("Permiso de embarque"))
    destination_country = SelectField(_l("País de destino de la mercadería"), validate_choice=False)


class InvoiceForm(AppForm):
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
    # FCE MiPyME: "1" once the user accepts the offer (the editor's "Emitir como FCE"); a note
    # of an FCE says whether it cancels an FCE the buyer rejected (optional 22).
    fce = HiddenField(default="")
    fce_cancels_rejected = BooleanField(_l("Anula una FCE rechazada por el comprador"))
    lines = LineList(FormField(LineForm), min_entries=1, max_entries=MAX_LINES)
    # Factura E (a customer abroad): the editor's export panel (`templates/invoices/_export.html`).
    export_customer = HiddenField()  # whose country the panel's destination defaulted to
    export_country = SelectField(_l("País de destino"), validate_choice=False)
    export_language = SelectField(_l("Idioma del comprobante"), default="1", validate_choice=False)
    export_incoterms = SelectField(_l("Incoterms"), validate_choice=False)
    export_incoterms_detail = StringField(_l("Detalle de Incoterms"))
    export_payment_terms = StringField(_l("Forma de pago"))
    export_permit_existing = SelectField(_l("¿Tiene permiso de embarque?"), validate_choice=False)
    export_permits = FieldList(
        FormField(PermitForm), min_entries=MAX_PERMITS, max_entries=MAX_PERMITS
    )

    def validate(self, extra_validators: Any = None) -> bool:
        """Everything `draft_input` reads, checked against what the editor offered (the
        choices are set by the view before this runs) and what the columns store."""
        super().validate(extra_validators)
        if not offered(self.point_of_sale_id):
            self.point_of_sale_id.errors.append(_("Elegí un punto de venta."))
        if not offered(self.concept):
            self.concept.errors.append(_("Elegí qué facturás: productos, servicios o ambos."))
        if problem := currency_problem(self.currency.data or ""):
            self.currency.errors.append(problem)
        elif self.currency.data != "PES":  # in pesos the rate is 1, whatever the field says
            rate = read_number(self.currency_rate)
            if not self.currency_rate.errors and (problem := currency_rate_problem(rate)):
                self.currency_rate.errors.append(problem)
        if problem := notes_problem(self.notes.data):
            self.notes.errors.append(problem)
        customer = (self.customer_id.data or "").strip()
        if customer and parse_id(customer) is None:
            self.form_errors.append(_("Volvé a elegir el cliente de la lista."))
        if problem := line_count_problem(self.lines.posted):
            self.form_errors.append(problem)
        check_export_fields(self)
        return not self.errors


def offered(field: SelectField) -> bool:
    """Whether the field's value is one of the choices the editor showed."""
    return any(choice.value == field.data for choice in field.choices or ())


def read_number(field: Field) -> Decimal | None:
    """The field's number, or None when blank; when it cannot be read, the reason is added to
    the field's errors (and None returned too)."""
    try:
        return parse_decimal_input(field.data)
    except NumberNotUnderstood as error:
        field.errors.append(error.message)
        return None


# --- the checks on values, shared by the editor's form and the API ---------------------------


def line_value_problems(
    description: str,
    quantity: Decimal | None,
    unit_price: Decimal | None,
    discount_percent: Decimal | None,
    vat: str,
) -> dict[str, str]:
    """What the editor refuses in one line's values (numbers already read; None = blank), by
    field name; {} when the line can be saved."""
    problems: dict[str, str] = {}
    if len(description.strip()) > MAX_DESCRIPTION:
        problems["description"] = _(
            "La descripción admite hasta %(max)s caracteres.", max=MAX_DESCRIPTION
        )
    if quantity is None:
        problems["quantity"] = _("Escribí la cantidad.")
    elif problem := QUANTITY.check(quantity) or (
        _("La cantidad no puede ser 0.") if quantity == 0 else None
    ):
        problems["quantity"] = problem
    if unit_price is not None and (problem := UNIT_PRICE.check(unit_price)):
        problems["unit_price"] = problem
    if discount_percent is not None and (
        problem := DISCOUNT.check(discount_percent)
        or (None if 0 <= discount_percent <= 100 else str(DISCOUNT.too_large))
    ):
        problems["discount_percent"] = problem
    if vat not in {choice.value for choice in vat_choices()}:
        problems["vat"] = _("Elegí una alícuota de IVA de la lista.")
    return problems


def currency_problem(currency: str) -> str | None:
    """None for a currency the editor offers (`CURRENCIES`)."""
    return None if currency in CURRENCIES else _("Elegí una moneda de la lista.")


def currency_rate_problem(rate: Decimal | None) -> str | None:
    """A foreign currency's rate (None = blank): stored as typed and above 0."""
    if rate is not None and (problem := CURRENCY_RATE.check(rate)):
        return problem
    if rate is None or rate <= 0:
        return _("La cotización tiene que ser mayor que 0.")
    return None


def notes_problem(notes: str | None) -> str | None:
    if len(notes or "") > MAX_NOTES:
        return _("Las observaciones admiten hasta %(max)s caracteres.", max=MAX_NOTES)
    return None


def line_count_problem(count: int) -> str | None:
    if count > MAX_LINES:
        return _(
            "Un comprobante lleva hasta %(max)s líneas y este tiene %(count)s: "
            "quitá las que sobran o hacé otro comprobante.",
            max=MAX_LINES,
            count=count,
        )
    return None


def draft_value_problems(draft: DraftInput, point_ids: Collection[int]) -> list[Problem]:
    """The editor's checks on a draft read from elsewhere than the form (the API's JSON), with
    `point_ids` the points of sale it offers; fields named as the form names them."""
    problems = lines_problems(draft.lines)
    if draft.point_of_sale_id not in point_ids:
        problems.append(Problem("point_of_sale_id", _("Elegí un punto de venta.")))
    if problem := currency_problem(draft.currency):
        problems.append(Problem("currency", problem))
    elif draft.currency != "PES" and (problem := currency_rate_problem(draft.currency_rate)):
        problems.append(Problem("currency_rate", problem))
    if problem := notes_problem(draft.notes):
        problems.append(Problem("notes", problem))
    return problems


def lines_problems(lines: list[Line]) -> list[Problem]:
    """`line_value_problems` of each line, named `lines-<index>-<field>` as the form's."""
    problems = [
        Problem(f"lines-{index}-{name}", message)
        for index, line in enumerate(lines)
        for name, message in line_value_problems(
            line.description, line.quantity, line.unit_price, line.discount_percent, str(line.vat)
        ).items()
    ]
    if problem := line_count_problem(len(lines)):
        problems.append(Problem("lines", problem))
    return problems


# --- the form's helpers ----------------------------------------------------------------------


def is_blank(line: LineForm) -> bool:
    """A line with neither description nor price: dropped, not an error."""
    return not (line.description.data or "").strip() and not (line.unit_price.data or "").strip()


def add_line(form: InvoiceForm) -> None:
    """The editor's "Agregar línea": one more, or a message once there are `MAX_LINES`."""
    if len(form.lines.entries) >= MAX_LINES:
        form.form_errors.append(
            _("Un comprobante lleva hasta %(max)s líneas: hacé otro comprobante.", max=MAX_LINES)
        )
        return
    form.lines.append_entry()


def first_error(form: InvoiceForm) -> str:
    """The first problem on a form that did not validate, in words (an autosave says it)."""
    if form.form_errors:
        return str(form.form_errors[0])
    for field in form:
        if field.name == "lines":
            for number, entry in enumerate(field.entries, start=1):
                for line_field in entry.form:
                    if line_field.errors:
                        problem = str(line_field.errors[0])
                        problem = problem[:1].lower() + problem[1:]
                        return _("Línea %(number)s: %(problem)s", number=number, problem=problem)
        elif field.errors:
            return str(field.errors[0])
    return _("revisá los campos marcados")


def number_or(text: str | None, blank: Decimal) -> Decimal:
    """The number in `text`; `blank` when there is none; NaN when it cannot be read."""
    try:
        value = parse_decimal_input(text)
    except NumberNotUnderstood:
        return UNREADABLE
    return blank if value is None else value


def parse_vat(text: str) -> VatTreatment:
    """A VAT choice as `totals` takes it; junk becomes an id `compute_totals` refuses (-1)."""
    if text in ("exempt", "untaxed"):
        return text  # type: ignore[return-value]
    rate_id = parse_id(text)
    return rate_id if rate_id is not None else -1


def parsed_lines(form: InvoiceForm) -> list[Line]:
    """The lines the user filled in (blank ones are dropped). Never raises: a number that
    cannot be read becomes NaN (see the module's docstring); a blank price or discount is 0."""
    lines: list[Line] = []
    for entry in form.lines.entries:
        data = entry.form
        if is_blank(data):
            continue
        lines.append(
            Line(
                description=(data.description.data or "").strip(),
                quantity=number_or(data.quantity.data, UNREADABLE),
                unit_price=number_or(data.unit_price.data, Decimal("0")),
                discount_percent=number_or(data.discount_percent.data, Decimal("0")),
                vat=parse_vat(data.vat.data or "5"),
            )
        )
    return lines


def draft_input(form: InvoiceForm, today: dt.date) -> DraftInput:
    """The form as the service takes it. Never raises; only a validated form is saved."""
    concept = parse_id(form.concept.data)
    return DraftInput(
        point_of_sale_id=parse_id(form.point_of_sale_id.data) or 0,
        customer_id=parse_id(form.customer_id.data),
        issue_date=form.issue_date.data or today,
        lines=parsed_lines(form),
        concept=concept if concept in (1, 2, 3) else 1,
        service_from=form.service_from.data,
        service_to=form.service_to.data,
        payment_due=form.payment_due.data,
        currency=form.currency.data or "PES",
        currency_rate=number_or(form.currency_rate.data, Decimal("1")),
        same_currency_payment=bool(form.same_currency_payment.data),
        prices_include_vat=bool(form.prices_include_vat.data),
        notes=form.notes.data,
        fce=is_fce_chosen(form),
        fce_cancels_rejected=bool(form.fce_cancels_rejected.data),
        export=export_input(form),
    )


def is_fce_chosen(form: InvoiceForm) -> bool:
    """Whether the editor's FCE switch is on (anything but "1" is off)."""
    return (form.fce.data or "") == "1"


def parse_amount(text: str | None) -> Decimal | None:
    """An amount filter's text, the locale's way ("50.000" is fifty thousand in es-AR), to the
    cent; None when blank or unreadable (the list then ignores that filter)."""
    try:
        value = parse_decimal_input(text)
    except NumberNotUnderstood:
        return None
    if value is None or abs(value) >= Decimal(10) ** 13:
        return None
    return value.quantize(Decimal("0.01"))


def input_number(value: Decimal | None) -> str:
    """A stored number as the editor's input shows it (es-AR "1.500,5")."""
    return format_decimal_input(value)


# --- Factura E: the export panel -------------------------------------------------------------

LANGUAGES = {"1": _l("Español"), "2": _l("Inglés"), "3": _l("Portugués")}
PERMIT_CHOICES = {"": _l("Elegí…"), "S": _l("Sí"), "N": _l("No")}
MAX_INCOTERMS_DETAIL = 20  # Incoterms_Ds and Invoice.incoterms_detail
MAX_EXPORT_PAYMENT_TERMS = 50  # Invoice.export_payment_terms


def fill_export_choices(form: InvoiceForm) -> None:
    """The export panel's lists: ARCA's countries (not Argentina), languages and Incoterms."""
    codes = export_codes()
    countries = [SelectChoice("", str(_l("Elegí…")))] + [
        SelectChoice(str(code), name)
        for code, name in sorted(codes.countries.items(), key=lambda item: item[1])
        if code != ARGENTINA
    ]
    form.export_country.choices = countries
    form.export_language.choices = [SelectChoice(k, str(v)) for k, v in LANGUAGES.items()]
    form.export_incoterms.choices = [SelectChoice("", str(_l("Sin Incoterms")))] + [
        SelectChoice(code, code) for code in codes.incoterms
    ]
    form.export_permit_existing.choices = [
        SelectChoice(k, str(v)) for k, v in PERMIT_CHOICES.items()
    ]
    for entry in form.export_permits.entries:
        entry.form.destination_country.choices = countries


def check_export_fields(form: InvoiceForm) -> None:
    """What the export panel sent is one of its choices and fits its column; whether a Factura
    E is complete (country, Incoterms, permits) is the export preflight's to say."""
    if not form.export_country.raw_data:
        return  # no panel on the page: not a Factura E
    for select in (form.export_country, form.export_language, form.export_incoterms):
        if select.data and not offered(select):
            select.errors.append(_("Elegí una opción de la lista."))
    if form.export_permit_existing.raw_data and not offered(form.export_permit_existing):
        form.export_permit_existing.errors.append(_("Elegí una opción de la lista."))
    limits = (
        (form.export_incoterms_detail, MAX_INCOTERMS_DETAIL),
        (form.export_payment_terms, MAX_EXPORT_PAYMENT_TERMS),
    )
    for text_field, limit in limits:
        if len((text_field.data or "").strip()) > limit:
            text_field.errors.append(_("Hasta %(count)s caracteres.", count=limit))
    for entry in form.export_permits.entries:
        check_permit(entry.form)


def check_permit(permit: PermitForm) -> None:
    number = normalized_permit(permit.permit_id.data)
    if number and not PERMIT_ID.match(number):
        permit.permit_id.errors.append(
            _("Un permiso de embarque tiene 16 letras y números (por ejemplo 24001EC01000123A).")
        )
    country = permit.destination_country
    if country.data and not offered(country):
        country.errors.append(_("Elegí un país de la lista."))


def normalized_permit(text: str | None) -> str:
    return "".join((text or "").split()).upper()


def export_input(form: InvoiceForm) -> ExportInput | None:
    """The export panel as the service takes it; None without a panel (not a Factura E). The
    service keeps only what applies (Incoterms and permits on goods; nothing if not E)."""
    country = parse_id(form.export_country.data) if form.export_country.raw_data else None
    if country is None:
        return None
    language = parse_id(form.export_language.data)
    permit = form.export_permit_existing.data or ""
    return ExportInput(
        destination_country=country,
        language=language if language in (1, 2, 3) else 1,
        incoterms=form.export_incoterms.data or None,
        incoterms_detail=(form.export_incoterms_detail.data or "").strip() or None,
        payment_terms=(form.export_payment_terms.data or "").strip() or None,
        permit_existing={"S": True, "N": False}.get(permit),
        permits=[
            ExportPermitInput(
                normalized_permit(entry.form.permit_id.data),
                parse_id(entry.form.destination_country.data) or country,
            )
            for entry in form.export_permits.entries
            if normalized_permit(entry.form.permit_id.data)
        ],
    )
