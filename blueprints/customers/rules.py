"""What makes a customer valid, from the raw text a form or a CSV row gives (pure).

`parse_customer` checks every field and returns either the clean data or every problem at once
(field + message in the user's language), so a form and an import preview say the same thing.
The document rules are ARCA's: CUIT/CUIL/CDI carry a modulo-11 check digit (NOTES §14), class A
receivers are identified by CUIT (10013), and "Doc. (Otro)" with number 0 is the anonymous final
consumer (NOTES §9).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from arca.codes import DocumentType
from arca.cuit import compute_check_digit, format_cuit
from arca.export_codes import ARGENTINA, export_codes
from core.inputs import has_unsafe_characters

CONSUMIDOR_FINAL = 5
# "Cliente del Exterior": the condition of every customer abroad (one with a `country`). The
# reverse does not hold: a foreign visitor who buys here, with a passport, is 9 and gets a B or
# C; only a customer with a country gets a Factura E (`letters.letter_for`).
CLIENTE_DEL_EXTERIOR = 9
# Receivers registered for IVA or monotributo (or exempt, or "no categorizado") are identified by
# their CUIT: an A voucher needs DocTipo 80 (10013) and ARCA checks the register for them.
CUIT_CONDITIONS = frozenset({1, 4, 6, 7, 13, 16})
CHECK_DIGIT_TYPES = frozenset({DocumentType.CUIT, DocumentType.CUIL, DocumentType.CDI})
DNI_RANGE = (1_000_000, 99_999_999)
MAX_EMAILS = 5
PAYMENT_TERMS_MAX_DAYS = 365
LIMITS = {
    "legal_name": 200,
    "address": 300,
    "phone": 50,
    "notes": 2000,
    "emails": 600,
    "foreign_tax_id": 30,
}
FIELDS = (
    "doc_type",
    "doc_number",
    "legal_name",
    "iva_condition",
    "emails",
    "address",
    "phone",
    "notes",
    "payment_terms_days",
    "country",
    "foreign_tax_id",
)

# How people (and other systems' exports) name the usual conditions, folded.
CONDITION_ALIASES = {
    "ri": 1,
    "responsable inscripto": 1,
    "exento": 4,
    "cf": 5,
    "consumidor final": 5,
    "monotributo": 6,
    "monotributista": 6,
    "responsable monotributo": 6,
    "no categorizado": 7,
}

_DIGIT_SEPARATORS = re.compile(r"[\s.\-/]")
# ASCII only: str.isdigit() also takes "²" and "٣", which int() then refuses or ARCA does.
_DIGITS = re.compile(r"[0-9]+")
_EMAIL_SEPARATORS = re.compile(r"[,;\s]+")
_PASSPORT = re.compile(r"^[A-Z0-9]{5,20}$")
_OTHER_DOCUMENT = re.compile(r"^[A-Z0-9]{1,20}$")


@dataclass(frozen=True)
class CustomerFields:
    """A customer as typed or read: every value a string, unchecked."""

    doc_type: str
    doc_number: str
    legal_name: str
    iva_condition: str
    emails: str = ""
    address: str = ""
    phone: str = ""
    notes: str = ""
    payment_terms_days: str = ""
    # A customer abroad (Factura E): WSFEX's destination-country code and its tax id there.
    # The CSV import has no such columns: what it reads is always a customer here.
    country: str = ""
    foreign_tax_id: str = ""


@dataclass(frozen=True)
class CustomerData:
    """A valid customer. `doc_number` is normalized: digits only for numeric documents."""

    doc_type: int
    doc_number: str
    legal_name: str
    iva_condition: int
    emails: tuple[str, ...] = ()
    address: str | None = None
    phone: str | None = None
    notes: str | None = None
    payment_terms_days: int | None = None
    country: int | None = None
    foreign_tax_id: str | None = None

    @property
    def document_key(self) -> tuple[int, str] | None:
        """What makes the customer unique in its organization (None: anonymous consumers and
        customers abroad, whose "document" is their country's CUIT, shared by every company
        of that country; they are told apart by `foreign_key`)."""
        if self.doc_type == DocumentType.OTHER or self.country is not None:
            return None
        return self.doc_type, self.doc_number

    @property
    def foreign_key(self) -> tuple[int, str] | None:
        """A customer abroad with a tax id is unique by (country, tax id) in its organization."""
        if self.country is None or not self.foreign_tax_id:
            return None
        return self.country, tax_id_key(self.foreign_tax_id)


def tax_id_key(tax_id: str) -> str:
    """A tax id as compared: letters and digits only, lower case ("12-345 678" = "12345678")."""
    return "".join(char for char in fold(tax_id) if char.isalnum())


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


def parse_customer(
    fields: CustomerFields,
    document_types: Mapping[int, str],
    conditions: Mapping[int, str],
) -> CustomerData | list[Problem]:
    """The clean customer, or every problem found (never both, never an empty list), in the
    order of `FIELDS`. `document_types` and `conditions` are ARCA's tables (id -> description).
    """
    doc_type_text = fields.doc_type.strip() or infer_doc_type(fields.doc_number)
    parsed: dict[str, object] = {
        "doc_type": parse_code(doc_type_text, document_types, "doc_type"),
        "iva_condition": parse_code(fields.iva_condition, conditions, "iva_condition"),
        "legal_name": parse_text(fields.legal_name, "legal_name", required=True),
        "emails": parse_emails(fields.emails),
        "address": parse_text(fields.address, "address"),
        "phone": parse_text(fields.phone, "phone"),
        "notes": parse_text(fields.notes, "notes", multiline=True),
        "payment_terms_days": parse_payment_terms(fields.payment_terms_days),
        "country": parse_country(fields.country),
        "foreign_tax_id": parse_text(fields.foreign_tax_id, "foreign_tax_id"),
    }
    doc_type, condition, country = parsed["doc_type"], parsed["iva_condition"], parsed["country"]
    abroad = isinstance(country, int)
    if isinstance(doc_type, int):
        parse = parse_foreign_document if abroad else parse_document
        parsed["doc_number"] = parse(doc_type, fields.doc_number)
    problems = [value for value in parsed.values() if isinstance(value, Problem)]
    if isinstance(doc_type, int) and isinstance(condition, int):
        mismatch = (
            foreign_problem(doc_type, condition, parsed["foreign_tax_id"])
            if abroad
            else condition_problem(doc_type, condition)
        )
        problems += [mismatch] if mismatch else []
    if problems:
        return sorted(problems, key=lambda problem: FIELDS.index(problem.field))
    return CustomerData(**parsed)  # type: ignore[arg-type]  # every value checked above


def infer_doc_type(number: str) -> str:
    """The document type a bare number implies (a CSV without the column): 11 digits are a
    CUIT, 7 or 8 a DNI, 0 or nothing the anonymous final consumer; otherwise unknown ("")."""
    digits = _DIGIT_SEPARATORS.sub("", number)
    if digits in ("", "0"):
        return str(int(DocumentType.OTHER))
    if _DIGITS.fullmatch(digits) and len(digits) == 11:
        return str(int(DocumentType.CUIT))
    if _DIGITS.fullmatch(digits) and len(digits) in (7, 8):
        return str(int(DocumentType.DNI))
    return ""


def parse_code(value: str, table: Mapping[int, str], field: str) -> int | Problem:
    """A table code given as its number ("80") or its description ("CUIT", any case/accents)."""
    text = value.strip()
    if not text:
        return Problem(field, _required_message(field))
    if _DIGITS.fullmatch(text) and len(text) < 10 and int(text) in table:
        return int(text)
    wanted = _short(fold(text))
    for code, description in table.items():
        if _short(fold(description)) == wanted:
            return code
    if field == "iva_condition" and wanted in CONDITION_ALIASES:
        return CONDITION_ALIASES[wanted]
    if field == "doc_type":
        return Problem(field, _("«%(value)s» no es un tipo de documento de ARCA.", value=text))
    return Problem(field, _("«%(value)s» no es una condición frente al IVA de ARCA.", value=text))


def _short(folded: str) -> str:
    # ARCA's descriptions start with "IVA" where people don't: "IVA Responsable Inscripto".
    return folded.removeprefix("iva ")


def parse_document(doc_type: int, value: str) -> str | Problem:
    """The document number, normalized, checked as ARCA checks that document type."""
    raw = value.strip()
    if doc_type == DocumentType.OTHER:
        if raw in ("", "0"):
            return "0"
        return Problem("doc_number", _("Para «Doc. (Otro)» (consumidor final) el número es 0."))
    if not raw:
        return Problem("doc_number", _("Escribí el número de documento."))
    if doc_type in CHECK_DIGIT_TYPES:
        return _check_digit_number(doc_type, raw)
    if doc_type == DocumentType.DNI:
        return _dni(raw)
    compact = _DIGIT_SEPARATORS.sub("", raw).upper()
    pattern = _PASSPORT if doc_type == DocumentType.PASSPORT else _OTHER_DOCUMENT
    if not pattern.match(compact):
        return Problem(
            "doc_number", _("El número de documento lleva letras y números, hasta 20, sin signos.")
        )
    return compact


def parse_country(value: str) -> int | Problem | None:
    """A country abroad by WSFEX's code (FEXGetPARAM_DST_pais); blank: a customer here."""
    text = value.strip()
    if not text:
        return None
    code = int(text) if _DIGITS.fullmatch(text) and len(text) < 6 else None
    if code == ARGENTINA:
        return Problem(
            "country", _("Un cliente en la Argentina no lleva país: dejalo en «En la Argentina».")
        )
    if code is None or code not in export_codes().countries:
        return Problem("country", _("Elegí el país del cliente de la lista de ARCA."))
    return code


def parse_foreign_document(doc_type: int, value: str) -> str | Problem:
    """A customer abroad is identified to ARCA by its country's CUIT (one of ARCA's
    FEXGetPARAM_DST_CUIT, "ESTADOS UNIDOS - Persona Jurídica"), or by nothing but its tax id
    there ("Doc. (Otro)" 0, as stored)."""
    if doc_type == DocumentType.OTHER:
        return parse_document(doc_type, value)
    digits = _DIGIT_SEPARATORS.sub("", value.strip())
    if doc_type != DocumentType.CUIT or digits not in export_codes().foreign_cuits:
        return Problem(
            "doc_number",
            _(
                "Un cliente del exterior se identifica con el CUIT de su país de la lista de "
                "ARCA, o sin documento y con su identificación tributaria."
            ),
        )
    return digits


def foreign_problem(doc_type: int, condition: int, tax_id: object) -> Problem | None:
    """A customer abroad is "Cliente del Exterior", and ARCA needs its country's CUIT or its
    tax id (WSFEX: Cuit_pais_cliente or Id_impositivo)."""
    if condition != CLIENTE_DEL_EXTERIOR:
        return Problem(
            "iva_condition",
            _("Un cliente con país en el exterior tiene la condición «Cliente del Exterior»."),
        )
    if doc_type == DocumentType.OTHER and not tax_id:
        return Problem(
            "foreign_tax_id",
            _("Sin CUIT del país, escribí la identificación tributaria del cliente en su país."),
        )
    return None


def _check_digit_number(doc_type: int, raw: str) -> str | Problem:
    name = DocumentType(doc_type).name
    digits = _DIGIT_SEPARATORS.sub("", raw)
    if not _DIGITS.fullmatch(digits) or len(digits) != 11:
        return Problem("doc_number", _("El %(name)s tiene que tener 11 dígitos.", name=name))
    if compute_check_digit(digits[:10]) != int(digits[10]):
        return Problem(
            "doc_number",
            _(
                "El %(name)s %(number)s no es válido: el dígito verificador no coincide.",
                name=name,
                number=format_cuit(digits),
            ),
        )
    return digits


def _dni(raw: str) -> str | Problem:
    digits = _DIGIT_SEPARATORS.sub("", raw)
    low, high = DNI_RANGE
    if not _DIGITS.fullmatch(digits) or len(digits) > 8 or not low <= int(digits) <= high:
        return Problem(
            "doc_number", _("El DNI es un número de 7 u 8 cifras (entre 1.000.000 y 99.999.999).")
        )
    return str(int(digits))


def condition_problem(doc_type: int, condition: int) -> Problem | None:
    if condition in CUIT_CONDITIONS and doc_type != DocumentType.CUIT:
        return Problem(
            "doc_type",
            _("Un cliente con esa condición frente al IVA se identifica con su CUIT."),
        )
    if doc_type == DocumentType.OTHER and condition != CONSUMIDOR_FINAL:
        return Problem(
            "iva_condition",
            _("«Doc. (Otro)» es solo para un consumidor final sin identificar."),
        )
    return None


def parse_text(
    value: str, field: str, required: bool = False, multiline: bool = False
) -> str | Problem | None:
    text = value.strip() if multiline else " ".join(value.split())
    if not text:
        return Problem(field, _required_message(field)) if required else None
    if len(text) > LIMITS[field]:
        return Problem(field, _("Hasta %(count)s caracteres.", count=LIMITS[field]))
    if has_unsafe_characters(text):
        # A CSV cell, which no request check sees: ARCA's XML could not carry it.
        return Problem(field, _("Tiene caracteres de control o invisibles: borralos."))
    return text


def parse_emails(value: str) -> tuple[str, ...] | Problem:
    """Several addresses, separated by commas, semicolons or spaces; normalized, no repeats."""
    found: list[str] = []
    for part in _EMAIL_SEPARATORS.split(value.strip()):
        if not part:
            continue
        try:
            email = validate_email(part, check_deliverability=False).normalized
        except EmailNotValidError:
            return Problem("emails", _("«%(email)s» no es un email válido.", email=part))
        if email.lower() not in (known.lower() for known in found):
            found.append(email)
    if len(found) > MAX_EMAILS:
        return Problem("emails", _("Hasta %(count)s emails por cliente.", count=MAX_EMAILS))
    if len(",".join(found)) > LIMITS["emails"]:
        return Problem("emails", _("Hasta %(count)s caracteres.", count=LIMITS["emails"]))
    return tuple(found)


def parse_payment_terms(value: str) -> int | Problem | None:
    text = value.strip()
    if not text:
        return None
    if not _DIGITS.fullmatch(text) or len(text) > 3 or int(text) > PAYMENT_TERMS_MAX_DAYS:
        return Problem(
            "payment_terms_days",
            _("El plazo de pago son días: de 0 (contado) a %(max)s.", max=PAYMENT_TERMS_MAX_DAYS),
        )
    return int(text)


def _required_message(field: str) -> str:
    messages = {
        "doc_type": _("Elegí el tipo de documento."),
        "iva_condition": _("Elegí la condición frente al IVA."),
        "legal_name": _("Escribí el nombre o la razón social."),
    }
    return messages.get(field, _("Completá este dato."))


def fold(text: str) -> str:
    """Lower case without accents, spaces folded: how names are compared and searched."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.lower().split())


def search_terms(query: str) -> list[str]:
    """A search box's words as `search_text` holds them; a document typed with dashes or dots
    (`20-12345678-9`, `12.345.678`) becomes its digits."""
    terms = []
    for word in fold(query).split():
        digits = _DIGIT_SEPARATORS.sub("", word)
        terms.append(digits if _DIGITS.fullmatch(digits) else word)
    return terms


def build_search_text(customer: CustomerData) -> str:
    """What the search box matches: name, document digits, emails and a tax id abroad, folded."""
    words = [customer.legal_name, customer.doc_number, *customer.emails]
    # The tax id also as its letters and digits: a search for "12-345" looks for "12345".
    tax_id = customer.foreign_tax_id or ""
    return fold(" ".join([*words, tax_id, tax_id_key(tax_id)]))
