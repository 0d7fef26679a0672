"""Customer forms. They carry no rules of their own: `rules.parse_customer` judges every field,
so a form and a CSV import say the same thing about the same mistake."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from arca.export_codes import ARGENTINA, export_codes
from blueprints.customers.rules import CustomerFields, Problem, fold
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
    country = SelectField(
        _l("País"),
        description=_l("Con un país, sus comprobantes son Facturas E (de exportación)."),
        validate_choice=False,
    )
    foreign_cuit = SelectField(
        _l("CUIT del país"),
        description=_l("El que ARCA asigna al país del cliente según su tipo de persona."),
        validate_choice=False,
    )
    foreign_tax_id = StringField(
        _l("Identificación tributaria en su país"),
        description=_l("Por ejemplo, su EIN o VAT number. Sin CUIT del país, es obligatoria."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        fill_choices(self)
        # A stored customer abroad: its document is the country's CUIT, shown in its own list.
        if self.country.data and self.doc_type.data == "80" and not self.foreign_cuit.data:
            self.foreign_cuit.data = "".join(c for c in self.doc_number.data or "" if c.isdigit())

    @property
    def abroad(self) -> bool:
        return bool((self.country.data or "").strip())

    def fields(self, **fallback: str) -> CustomerFields:
        """The submitted text; fields this form did not render keep `fallback`'s values. A
        customer abroad is identified by the "CUIT del país" list (CUIT), or by nothing
        ("Doc. (Otro)" 0) when none is chosen: the document fields are for customers here."""
        values = {name: fallback.get(name, "") for name in CustomerFields.__dataclass_fields__}
        for name in values:
            field = self._fields.get(name)
            # raw_data is [] for a field the page did not send, [""] for one sent empty.
            if field is not None and field.raw_data:
                values[name] = str(field.raw_data[0])
        if values["country"].strip() and self.foreign_cuit.raw_data:
            cuit = str(self.foreign_cuit.raw_data[0]).strip()
            values["doc_type"], values["doc_number"] = ("80", cuit) if cuit else ("99", "0")
        return CustomerFields(**values)

    def show_problems(self, problems: list[Problem]) -> None:
        for problem in problems:
            name = problem.field
            if self.abroad and name in ("doc_type", "doc_number"):
                name = "foreign_cuit"  # the field a customer abroad's document came from
            field = self._fields.get(name)
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
    form.country.choices = [SelectChoice("", str(_l("En la Argentina")))] + [
        SelectChoice(str(code), name) for code, name in countries_abroad().items()
    ]
    form.foreign_cuit.choices = [SelectChoice("", str(_l("Sin CUIT del país")))] + [
        SelectChoice(cuit, f"{name} ({cuit})")
        for cuit, name in foreign_cuits_for(form.country.data).items()
    ]


def countries_abroad() -> dict[int, str]:
    """ARCA's destination countries but Argentina, by name."""
    countries = export_codes().countries
    ordered = sorted((c for c in countries if c != ARGENTINA), key=lambda c: fold(countries[c]))
    return {code: countries[code] for code in ordered}


def foreign_cuits_for(country: str | None) -> dict[str, str]:
    """ARCA's country CUITs by name, those whose name starts as `country`'s first (ARCA's two
    tables spell some countries differently, so the rest stay offered)."""
    cuits = export_codes().foreign_cuits
    code = country or ""
    name = export_codes().countries.get(int(code), "") if code.isascii() and code.isdigit() else ""
    wanted = fold(name)

    def key(cuit: str) -> tuple[bool, str]:
        own = bool(wanted) and fold(cuits[cuit]).startswith(wanted + " -")
        return (not own, fold(cuits[cuit]))

    return {cuit: cuits[cuit] for cuit in sorted(cuits, key=key)}


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
