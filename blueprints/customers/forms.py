"""Customer forms. They carry no rules of their own: `rules.parse_customer` judges every field,
so a form and a CSV import say the same thing about the same mistake."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from blueprints.customers.rules import CustomerFields, Problem
from blueprints.customers.services import document_types, receiver_conditions
from core.forms import AppForm


class CustomerForm(AppForm):
    doc_type = SelectField(_l("Tipo de documento"), validate_choice=False)
    doc_number = StringField(
        _l("Número de documento"),
        description=_l("Con o sin guiones. Para un consumidor final sin identificar: 0."),
    )
    legal_name = StringField(_l("Nombre o razón social"))
    iva_condition = SelectField(_l("Condición frente al IVA"), validate_choice=False)
    emails = StringField(
        _l("Emails"), description=_l("Para enviarle los comprobantes; separalos con comas.")
    )
    phone = StringField(_l("Teléfono"))
    address = StringField(_l("Domicilio"))
    payment_terms_days = StringField(
        _l("Plazo de pago (días)"), description=_l("0 o vacío: contado.")
    )
    notes = TextAreaField(_l("Notas"), render_kw={"rows": 3})

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        fill_choices(self)

    def fields(self, **fallback: str) -> CustomerFields:
        """The submitted text; fields this form did not render keep `fallback`'s values."""
        values = {name: fallback.get(name, "") for name in CustomerFields.__dataclass_fields__}
        for name in values:
            field = self._fields.get(name)
            # raw_data is [] for a field the page did not send, [""] for one sent empty.
            if field is not None and field.raw_data:
                values[name] = str(field.raw_data[0])
        return CustomerFields(**values)

    def show_problems(self, problems: list[Problem]) -> None:
        for problem in problems:
            field = self._fields.get(problem.field)
            if field is not None:
                field.errors = [*field.errors, problem.message]
            else:
                self.form_errors.append(problem.message)


def fill_choices(form: CustomerForm) -> None:
    form.doc_type.choices = [
        SelectChoice(str(code), label) for code, label in document_types().items()
    ]
    form.iva_condition.choices = [SelectChoice("", str(_l("Elegí…")))] + [
        SelectChoice(str(code), label) for code, label in receiver_conditions().items()
    ]


class ImportForm(AppForm):
    file = FileField(
        _l("Planilla de clientes (.csv)"),
        validators=[FileRequired(_l("Elegí el archivo CSV."))],
        description=_l(
            "Separada por punto y coma o por comas, en UTF-8 o en la codificación de Excel "
            "(Windows-1252)."
        ),
    )


class ConfirmImportForm(AppForm):
    mode = RadioField(
        _l("Clientes que ya existen (mismo documento)"),
        choices=[
            SelectChoice("skip", _l("Dejarlos como están")),
            SelectChoice("update", _l("Actualizarlos con los datos del archivo")),
        ],
        default="skip",
        validate_choice=True,
    )


class EmptyForm(AppForm):
    """Buttons that post nothing but the CSRF token."""
