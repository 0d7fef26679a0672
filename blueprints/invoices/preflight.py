"""«¿Lo aceptaría ARCA?»: every check a voucher must pass before FECAESolicitar (pure).

`run_preflight` runs ARCA's validations (NOTES §9) and a few of Talonario's own on plain values,
and returns every problem at once, in a stable order (the order of `CHECKS`), each with the
ARCA code it would otherwise cost. An empty list means ARCA should accept the voucher;
register checks ARCA alone can do (is this CUIT active? 10015, 10247…) are not covered.

This is an independent implementation of the rules the sandbox (`arca.sandbox.rules`) enforces,
and agrees with it: same windows, same tolerance, same codes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from babel.numbers import format_decimal
from flask_babel import gettext as _

from arca.codes import (
    ALLOWED_ASSOCIATED_TYPES,
    RECEIVER_CONDITIONS,
    TAX_TYPES,
    VAT_RATES,
    VOUCHER_TYPES,
    Concept,
    DocumentType,
    IssuerCondition,
    VoucherKind,
)
from arca.cuit import compute_check_digit, is_valid_cuit, normalize_cuit
from arca.fce import FCE_INVOICE_TYPES, is_fce
from arca.padron import Taxpayer
from arca.wsfe import AssociatedVoucher
from arca.wsfecred import FceObligation
from blueprints.invoices.letters import (
    ISSUED_KINDS,
    NOTE_KINDS,
    VoucherLetter,
    explain_letter,
    invoice_type_for,
    letter_for,
)
from blueprints.invoices.totals import CENT, HUNDRED, Line, Problem, Totals, line_problems
from core.i18n import format_money

__all__ = [
    "DEFAULT_CONSUMER_THRESHOLD",
    "PreflightInput",
    "Problem",
    "fce_warnings",
    "padron_warnings",
    "run_preflight",
]

# RG 5700/2025: an anonymous final consumer (DocTipo 99) is allowed below ARS 10.000.000
# ("equal or greater" must be identified). Whether the WS applies exactly this figure is not
# confirmed (NOTES §9), so callers pass their configured value.
DEFAULT_CONSUMER_THRESHOLD = Decimal("10000000")
POINT_OF_SALE_RANGE = (1, 99998)  # 10004
# CbteFch window around N, the Argentina date the request is sent (RG 4291 art. 9, NOTES §9).
PRODUCTS_WINDOW_DAYS = 5
SERVICES_WINDOW_DAYS = 10
# FCE MiPyME (NOTES §9): an invoice N−5..N+1, a note N−5..N.
FCE_DAYS_BEFORE = 5
FCE_INVOICE_DAYS_AFTER = 1
# Reference-rate band for foreign currency (10119): 2 % to 400 % of ARCA's rate.
RATE_BAND = (Decimal("0.02"), Decimal("4"))
RELATIVE_TOLERANCE = Decimal("0.0001")  # 0.01 %
# ARCA does not check VAT arithmetic (10051, 10061) on these A/B/ALEY notes: a note may correct
# a base or an amount alone.
NO_VAT_ARITHMETIC = frozenset({2, 3, 7, 8, 52, 53})
CUIT_LIKE_DOCUMENTS = frozenset({DocumentType.CUIT, DocumentType.CUIL, DocumentType.CDI})
# DocNro is a `long` of up to 11 digits in the WSDL: passports with letters cannot be sent.
MAX_DOC_DIGITS = 11
_NEGATIVE_CODES = (  # ARCA's code for each negative amount
    ("untaxed", 10043),
    ("exempt", 10044),
    ("net", 10045),
    ("total", 10046),
    ("vat_total", 10047),
    ("other_taxes_total", 10065),
)


@dataclass(frozen=True)
class PreflightInput:
    """Everything the checks need, as plain values (the caller reads the database and ARCA).

    Issuer: `issuer_cuit` (digits, separators allowed), `issuer_condition`, `a_with_legend`
    (ARCA requires "A con leyenda" instead of A), `certificate_active` (a valid certificate
    authorised for wsfe). Point of sale: its `point_of_sale` number, whether ARCA lists it
    (`point_of_sale_known`), whether it is `point_of_sale_usable` (not blocked, not closed) and
    its `emission_type` ("CAE", "CAEA"…). Voucher: `invoice_type` (CbteTipo), the `kind` the
    user meant, `concept` (1/2/3), `issue_date`, `today` (the Argentina date the request would
    be sent), `last_authorized_date` (of the last voucher of that type and point of sale, None
    when there is none), and the service dates. Receiver: `doc_type`, `doc_number` (digits, "0"
    for DocTipo 99), `receiver_condition_id`. Currency: `currency` (MonId), `currency_rate`,
    `reference_rate` (ARCA's rate, when known: FEParamGetCotizacion for the business day before
    `issue_date`), `same_currency_payment` (CanMisMonExt = S). Amounts: the `lines` and their
    `totals`. Notes: `associated` vouchers and `credit_remaining` (what is left to credit of
    the original, in its currency; None when unknown). `consumer_threshold` is in pesos.
    FCE MiPyME: `fce_cbu`, the CBU stored on the invoice (what ARCA would get as 2101).
    """

    issuer_cuit: str
    issuer_condition: IssuerCondition
    point_of_sale: int
    invoice_type: int
    kind: VoucherKind
    concept: int
    issue_date: date
    today: date
    doc_type: int
    doc_number: str
    receiver_condition_id: int
    lines: Sequence[Line]
    totals: Totals
    certificate_active: bool
    point_of_sale_known: bool
    point_of_sale_usable: bool
    emission_type: str
    a_with_legend: bool = False
    last_authorized_date: date | None = None
    service_from: date | None = None
    service_to: date | None = None
    payment_due: date | None = None
    currency: str = "PES"
    currency_rate: Decimal = Decimal(1)
    reference_rate: Decimal | None = None
    same_currency_payment: bool = False
    associated: Sequence[AssociatedVoucher] = ()
    credit_remaining: Decimal | None = None
    consumer_threshold: Decimal = DEFAULT_CONSUMER_THRESHOLD
    fce_cbu: str | None = None

    @property
    def voucher_class(self) -> str | None:
        """The class of `invoice_type` ("A", "B", "C", "ALEY"…), None for an unknown code."""
        voucher = VOUCHER_TYPES.get(self.invoice_type)
        return voucher.voucher_class if voucher else None

    @property
    def expected_invoice_type(self) -> int | None:
        """The type `letter_for` and `kind` call for; None when they cannot tell (a kind
        Talonario does not issue, a receiver condition ARCA does not know)."""
        if self.kind not in ISSUED_KINDS or self.receiver_condition_id not in RECEIVER_CONDITIONS:
            return None
        letter = letter_for(self.issuer_condition, self.receiver_condition_id, self.a_with_legend)
        # An FCE MiPyME is the A, B or C the receiver gets, issued as FCE (201, 206, 211…).
        fce = is_fce(self.invoice_type) and letter in ("A", "B", "C")
        return invoice_type_for(letter, self.kind, fce=fce)

    @property
    def wrong_class(self) -> bool:
        """Whether `invoice_type` is of another class than this issuer must issue to this
        receiver (`check_voucher_type` says why; class-dependent receiver checks then skip)."""
        expected = self.expected_invoice_type
        return expected is not None and VOUCHER_TYPES[expected].voucher_class != self.voucher_class


Check = Callable[[PreflightInput], list[Problem]]


def run_preflight(data: PreflightInput) -> list[Problem]:
    """Every problem found, in the order of `CHECKS` (issuer, point of sale, voucher type,
    lines, dates, receiver, amounts, currency, notes); [] means ARCA should accept it."""
    return [problem for check in CHECKS for problem in check(data)]


# --- issuer and point of sale ---------------------------------------------------------------------


def check_issuer(data: PreflightInput) -> list[Problem]:
    """A certificate to sign with (local: without one nothing reaches ARCA) and an issuer CUIT
    with a valid check digit (local: ARCA would refuse the ticket, not the voucher)."""
    problems = []
    if not data.certificate_active:
        problems.append(
            Problem(
                "certificate_active",
                _(
                    "No hay un certificado de ARCA activo para facturar. Cargá o renová el "
                    "certificado antes de emitir."
                ),
            )
        )
    if not is_valid_cuit(data.issuer_cuit):
        problems.append(
            Problem(
                "issuer_cuit",
                _("El CUIT de la organización no es válido. Corregilo en los datos fiscales."),
            )
        )
    return problems


def check_point_of_sale(data: PreflightInput) -> list[Problem]:
    """10004 number out of range; 10005 not listed by ARCA, blocked or closed, or not a CAE
    web-service point (one made for "Comprobantes en línea", or CAEA, gives 10005 too)."""
    low, high = POINT_OF_SALE_RANGE
    number = data.point_of_sale
    if not low <= number <= high:
        message = _("El punto de venta va de 1 a 99998.")
        return [Problem("point_of_sale", message, 10004)]
    if not data.point_of_sale_known:
        message = _(
            "ARCA no tiene el punto de venta %(number)s como punto de venta de web services. "
            "Crealo en ARCA («Administración de puntos de venta y domicilios») y volvé a "
            "sincronizar.",
            number=number,
        )
        return [Problem("point_of_sale", message, 10005)]
    if not data.point_of_sale_usable:
        message = _(
            "El punto de venta %(number)s está bloqueado o dado de baja en ARCA. Elegí otro.",
            number=number,
        )
        return [Problem("point_of_sale", message, 10005)]
    # ARCA writes "CAE - Ri Iva" (FEParamGetPtosVenta); the kind is the part before " - ".
    if data.emission_type.split(" - ")[0].strip().upper() != "CAE":
        message = _(
            "El punto de venta %(number)s es de tipo %(emission)s y Talonario pide CAE. Elegí "
            "un punto de venta de tipo CAE.",
            number=number,
            emission=data.emission_type,
        )
        return [Problem("point_of_sale", message, 10005)]
    return []


# --- voucher type ---------------------------------------------------------------------------------


def check_voucher_type(data: PreflightInput) -> list[Problem]:
    """The type must be the one `letter_for` and the kind give. 10007 unknown code; 10000 a
    class the issuer may not issue (a monotributista issuing A or B, A instead of A con
    leyenda or the reverse); otherwise the receiver gets the wrong class: 10013 for A without a
    CUIT, else 10243 (condition not allowed for the class). A wrong kind with the right class
    is local: ARCA would accept a voucher the user did not mean. Unknown receiver conditions
    are left to `check_receiver` (10242)."""
    voucher = VOUCHER_TYPES.get(data.invoice_type)
    if voucher is None:
        message = _("El tipo de comprobante %(code)s no existe en ARCA.", code=data.invoice_type)
        return [Problem("invoice_type", message, 10007)]
    if data.kind not in ISSUED_KINDS:
        message = _("Talonario emite facturas, notas de débito y notas de crédito.")
        return [Problem("kind", message)]
    expected = data.expected_invoice_type
    if expected is None or data.invoice_type == expected:
        return []
    letter = letter_for(data.issuer_condition, data.receiver_condition_id, data.a_with_legend)
    message = _(
        "%(reason)s Corresponde «%(expected)s», no «%(actual)s».",
        reason=explain_letter(data.issuer_condition, data.receiver_condition_id, letter),
        expected=VOUCHER_TYPES[expected].description,
        actual=voucher.description,
    )
    return [Problem("invoice_type", message, _wrong_type_code(data, letter))]


def _wrong_type_code(data: PreflightInput, letter: VoucherLetter) -> int | None:
    actual = data.voucher_class
    if actual == letter:
        return None  # right class, wrong kind: only we can tell
    if actual not in _issuable_classes(data):
        return 10000  # the issuer is not enabled for that class (sub-reasons 01, 04, 09)
    if actual in ("A", "ALEY") and data.doc_type != DocumentType.CUIT:
        return 10013
    return 10243


def _issuable_classes(data: PreflightInput) -> frozenset[str]:
    if data.issuer_condition is not IssuerCondition.RESPONSABLE_INSCRIPTO:
        return frozenset({"C"})
    # An RI issues plain A or A con leyenda, never both: ARCA decides which (NOTES §8).
    return frozenset({"ALEY" if data.a_with_legend else "A", "B"})


# --- lines ----------------------------------------------------------------------------------------


def check_lines(data: PreflightInput) -> list[Problem]:
    """At least one line, and each line as the editor checks it (local)."""
    if not data.lines:
        return [Problem("lines", _("Agregá al menos una línea al comprobante."))]
    return [
        problem for index, line in enumerate(data.lines) for problem in line_problems(line, index)
    ]


# --- dates ----------------------------------------------------------------------------------------


def check_issue_date(data: PreflightInput) -> list[Problem]:
    """10016 issue date outside N−5..N+5 (products) or N−10..N+10 (services), or before the
    last voucher of the sequence; 10152 a future products date in another month. A concept
    other than 1, 2 or 3 is reported instead (local), since the window depends on it."""
    if data.concept not in tuple(Concept):
        message = _("Elegí qué facturás: productos, servicios o ambos.")
        return [Problem("concept", message)]
    problems = []
    if is_fce(data.invoice_type):
        problems += _fce_window(data)
    else:
        problems += _concept_window(data)
    fce = is_fce(data.invoice_type)
    if (
        not problems
        and (data.concept == Concept.PRODUCTS or fce)
        and (_later_month(data.issue_date, data.today))
    ):
        # ARCA: a future date for products (or on an FCE) must stay in the month it is sent.
        message = _(
            "Para productos, una fecha futura tiene que ser de este mes: elegí una fecha hasta "
            "el %(latest)s.",
            latest=day(_last_day_allowed(data.today)),
        )
        if fce:
            message = _(
                "En una FCE, una fecha futura tiene que ser de este mes: elegí una fecha hasta "
                "el %(latest)s.",
                latest=day(data.today),
            )
        problems.append(Problem("issue_date", message, 10152))
    last = data.last_authorized_date
    if last is not None and data.issue_date < last:
        message = _(
            "Ya hay un comprobante de este tipo y punto de venta con fecha %(last)s: la fecha "
            "no puede ser anterior.",
            last=day(last),
        )
        problems.append(Problem("issue_date", message, 10016))
    return problems


def _concept_window(data: PreflightInput) -> list[Problem]:
    days = PRODUCTS_WINDOW_DAYS if data.concept == Concept.PRODUCTS else SERVICES_WINDOW_DAYS
    earliest, latest = data.today - timedelta(days=days), data.today + timedelta(days=days)
    if earliest <= data.issue_date <= latest:
        return []
    message = _(
        "La fecha del comprobante tiene que estar entre el %(earliest)s y el %(latest)s "
        "(hasta %(days)s días antes o después de hoy).",
        earliest=day(earliest),
        latest=day(latest),
        days=days,
    )
    return [Problem("issue_date", message, 10016)]


def _fce_window(data: PreflightInput) -> list[Problem]:
    return _fce_dates(data.invoice_type, data.issue_date, data.today)


def _fce_dates(invoice_type: int, issue_date: date, today: date) -> list[Problem]:
    """10016 for FCE, whatever the concept: an invoice N−5..N+1, a note N−5..N."""
    after = FCE_INVOICE_DAYS_AFTER if invoice_type in FCE_INVOICE_TYPES else 0
    earliest = today - timedelta(days=FCE_DAYS_BEFORE)
    latest = today + timedelta(days=after)
    if earliest <= issue_date <= latest:
        return []
    message = _(
        "Una Factura de Crédito Electrónica MiPyME (y sus notas) tiene que tener fecha entre "
        "el %(earliest)s y el %(latest)s.",
        earliest=day(earliest),
        latest=day(latest),
    )
    return [Problem("issue_date", message, 10016)]


def _later_month(when: date, today: date) -> bool:
    return when > today and (when.year, when.month) != (today.year, today.month)


def _last_day_allowed(today: date) -> date:
    following = today.replace(day=28) + timedelta(days=4)
    end_of_month = following - timedelta(days=following.day)
    return min(end_of_month, today + timedelta(days=PRODUCTS_WINDOW_DAYS))


def check_service_dates(data: PreflightInput) -> list[Problem]:
    """Services (concept 2 or 3) need the period and the payment due date (10049 when one is
    missing), the period's end on or after its start (10032) and the due date on or after the
    issue date (10036). For products ARCA ignores them, so nothing is reported."""
    if data.concept not in (Concept.SERVICES, Concept.PRODUCTS_AND_SERVICES):
        return []
    missing = {
        "service_from": _("Para servicios, indicá desde qué fecha se prestó el servicio."),
        "service_to": _("Para servicios, indicá hasta qué fecha se prestó el servicio."),
        "payment_due": _("Para servicios, indicá la fecha de vencimiento del pago."),
    }
    values = {
        "service_from": data.service_from,
        "service_to": data.service_to,
        "payment_due": data.payment_due,
    }
    problems = [Problem(name, missing[name], 10049) for name, value in values.items() if not value]
    if data.service_from and data.service_to and data.service_to < data.service_from:
        message = _("El período facturado termina antes de empezar: revisá las fechas.")
        problems.append(Problem("service_to", message, 10032))
    if data.payment_due and data.payment_due < data.issue_date:
        message = _(
            "El vencimiento del pago no puede ser anterior a la fecha del comprobante (%(date)s).",
            date=day(data.issue_date),
        )
        problems.append(Problem("payment_due", message, 10036))
    return problems


# --- FCE MiPyME -----------------------------------------------------------------------------------


def check_fce(data: PreflightInput) -> list[Problem]:
    """An FCE invoice (201/206/211) needs the issuer's CBU (10168), a receiver identified by
    CUIT (10015) and the payment due date (10163), on or after the later of the issue date and
    today (10164). A services invoice's missing or earlier due date is already reported by
    `check_service_dates` (10049, 10036). FCE notes carry optional 22 (always sent, S or N);
    the date window is `check_issue_date`'s."""
    if data.invoice_type not in FCE_INVOICE_TYPES or data.kind != VoucherKind.INVOICE:
        return []
    return _fce_invoice_problems(
        data.fce_cbu, data.doc_type, data.concept, data.issue_date, data.today, data.payment_due
    )


def fce_draft_problems(
    cbu: str | None,
    doc_type: int,
    concept: int,
    issue_date: date,
    today: date,
    payment_due: date | None,
) -> list[Problem]:
    """What an FCE invoice being edited still lacks (the editor's FCE panel): `check_fce`'s
    problems, the FCE date window and, for services, the due date `check_service_dates` would
    report; `cbu` is the organization's (copied onto the invoice when it is saved)."""
    problems = _fce_invoice_problems(cbu, doc_type, concept, issue_date, today, payment_due)
    window = _fce_dates(min(FCE_INVOICE_TYPES), issue_date, today)  # any FCE invoice type
    services = concept in (Concept.SERVICES, Concept.PRODUCTS_AND_SERVICES)
    if services and payment_due is None:
        message = _("Una Factura de Crédito Electrónica necesita la fecha de vencimiento del pago.")
        problems.append(Problem("payment_due", message, 10049))
    elif services and payment_due is not None and payment_due < issue_date:
        problems += _fce_payment_due(Concept.PRODUCTS, issue_date, today, payment_due)
    return window + problems


def _fce_invoice_problems(
    cbu: str | None,
    doc_type: int,
    concept: int,
    issue_date: date,
    today: date,
    payment_due: date | None,
) -> list[Problem]:
    problems = []
    if len(cbu or "") != 22 or not (cbu or "").isdigit():
        message = _(
            "Una Factura de Crédito Electrónica lleva el CBU de la organización: cargalo en "
            "Configuración → Organización y volvé a guardar el borrador."
        )
        problems.append(Problem("fce_cbu", message, 10168))
    if doc_type != DocumentType.CUIT:
        message = _("Una Factura de Crédito Electrónica se emite al CUIT del cliente.")
        problems.append(Problem("doc_type", message, 10015))
    return problems + _fce_payment_due(concept, issue_date, today, payment_due)


def _fce_payment_due(
    concept: int, issue_date: date, today: date, due: date | None
) -> list[Problem]:
    services = concept in (Concept.SERVICES, Concept.PRODUCTS_AND_SERVICES)
    if due is None:
        if services:
            return []  # 10049, said by check_service_dates
        message = _("Una Factura de Crédito Electrónica necesita la fecha de vencimiento del pago.")
        return [Problem("payment_due", message, 10163)]
    if due < issue_date and services:
        return []  # 10036, said by check_service_dates
    earliest = max(issue_date, today)
    if due >= earliest:
        return []
    message = _(
        "El vencimiento del pago de una FCE no puede ser anterior al %(date)s (ni a la fecha "
        "del comprobante ni a hoy).",
        date=day(earliest),
    )
    return [Problem("payment_due", message, 10164)]


# --- receiver -------------------------------------------------------------------------------------


def check_receiver(data: PreflightInput) -> list[Problem]:
    """The receiver's document and IVA condition: 10242 unknown condition; 10013 class A
    without a CUIT; 10015 DocTipo 99 with a number, or a CUIT/CUIL/CDI with a wrong check digit;
    local: a number ARCA cannot take (DocNro is up to 11 digits); 10069 the issuer's own CUIT;
    10243 a condition the class may not be issued to. The class checks are skipped when the
    voucher type is already wrong (`check_voucher_type` said why)."""
    problems = _condition_problems(data) + _document_problems(data)
    if data.voucher_class and not data.wrong_class:
        problems += _class_problems(data, data.voucher_class)
    return problems


def _condition_problems(data: PreflightInput) -> list[Problem]:
    if data.receiver_condition_id in RECEIVER_CONDITIONS:
        return []
    message = _(
        "La condición frente al IVA del cliente (%(id)s) no existe en ARCA. Corregila en el "
        "cliente.",
        id=data.receiver_condition_id,
    )
    return [Problem("receiver_condition_id", message, 10242)]


def _document_problems(data: PreflightInput) -> list[Problem]:
    number = data.doc_number.strip()
    if data.doc_type == DocumentType.OTHER:
        if number == "0":
            return []
        message = _("Para un consumidor final sin identificar («Doc. (Otro)») el número es 0.")
        return [Problem("doc_number", message, 10015)]
    if not number.strip("0"):
        message = _("Falta el número de documento del cliente.")
        return [Problem("doc_number", message)]
    if not number.isdigit() or len(number) > MAX_DOC_DIGITS:
        message = _(
            "ARCA solo acepta números de documento de hasta 11 dígitos. Identificá al cliente "
            "con su CUIT, CUIL o DNI."
        )
        return [Problem("doc_number", message)]
    if data.doc_type in CUIT_LIKE_DOCUMENTS and not _check_digit_ok(number):
        message = _(
            "El número de documento del cliente no es un CUIT, CUIL o CDI válido: el dígito "
            "verificador no coincide."
        )
        return [Problem("doc_number", message, 10015)]
    if number == normalize_cuit(data.issuer_cuit):
        message = _("El cliente no puede ser la propia organización: elegí otro cliente.")
        return [Problem("doc_number", message, 10069)]
    return []


def _check_digit_ok(number: str) -> bool:
    return len(number) == MAX_DOC_DIGITS and compute_check_digit(number[:10]) == int(number[10])


def _class_problems(data: PreflightInput, voucher_class: str) -> list[Problem]:
    problems = []
    if voucher_class in ("A", "ALEY") and data.doc_type != DocumentType.CUIT:
        message = _("Un comprobante A se emite al CUIT del cliente: cargá su CUIT.")
        problems.append(Problem("doc_type", message, 10013))
    condition = RECEIVER_CONDITIONS.get(data.receiver_condition_id)
    if condition and voucher_class not in condition.allowed_classes:
        # RG 5616: CondicionIVAReceptorId must be one the class may be issued to (NOTES §7.6).
        message = _(
            "A un cliente «%(condition)s» no se le puede emitir un comprobante clase "
            "%(letter)s. Revisá la condición frente al IVA del cliente.",
            condition=condition.description,
            letter=_class_label(voucher_class),
        )
        problems.append(Problem("receiver_condition_id", message, 10243))
    return problems


def check_consumer_threshold(data: PreflightInput) -> list[Problem]:
    """10015 an anonymous final consumer (DocTipo 99) at or above the threshold, compared in
    pesos (ImpTotal × MonCotiz, as ARCA computes it): the buyer must be identified."""
    if data.doc_type != DocumentType.OTHER or not data.currency_rate.is_finite():
        return []
    if data.totals.total * data.currency_rate < data.consumer_threshold:
        return []
    message = _(
        "Desde %(threshold)s el consumidor final tiene que estar identificado: cargá su DNI, "
        "CUIT o CUIL.",
        threshold=format_money(data.consumer_threshold),
    )
    return [Problem("doc_type", message, 10015)]


# --- amounts --------------------------------------------------------------------------------------


def check_amounts(data: PreflightInput) -> list[Problem]:
    """The amounts as ARCA checks them: local, a total above 0; 10043-10047/10065 no negative
    amount; 10056 at most 2 decimals; then the identities of class C or of A/B."""
    totals = data.totals
    problems = []
    if totals.total <= 0:
        message = _("El total del comprobante tiene que ser mayor que 0.")
        problems.append(Problem("totals", message))
    negative = [code for name, code in _NEGATIVE_CODES if getattr(totals, name) < 0]
    if negative:
        message = _("Ningún importe puede ser negativo, tampoco en una nota de crédito.")
        problems.append(Problem("totals", message, negative[0]))
    if any(_decimals(value) > 2 for value in _all_amounts(totals)):
        message = _("Los importes van con 2 decimales como máximo.")
        problems.append(Problem("totals", message, 10056))
    if data.voucher_class == "C":
        return problems + _class_c_amounts(totals)
    return problems + _total_identity(totals) + _vat_array(data) + _taxes(totals)


def _all_amounts(totals: Totals) -> list[Decimal]:
    amounts = [totals.untaxed, totals.net, totals.exempt, totals.vat_total]
    amounts += [totals.other_taxes_total, totals.total]
    amounts += [value for row in totals.vat for value in (row.base, row.amount)]
    return amounts + [value for row in totals.other_taxes for value in (row.base, row.amount)]


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def close(actual: Decimal, expected: Decimal, terms: int = 1) -> bool:
    """ARCA's tolerance: an absolute error up to 0.01 per term summed, or a relative error up
    to 0.01 % (NOTES §9 "Amount identities")."""
    difference = abs(actual - expected)
    if difference <= CENT * max(terms, 1):
        return True
    return expected != 0 and difference / abs(expected) <= RELATIVE_TOLERANCE


def _mismatch(code: int) -> Problem:
    messages = {
        10048: _(
            "El total no es la suma del neto, el IVA, los exentos, lo no gravado y los otros "
            "tributos."
        ),
        10023: _("El IVA total no es la suma del IVA de cada alícuota."),
        10061: _("El neto gravado no es la suma de las bases de cada alícuota."),
        10029: _("El total de otros tributos no es la suma de cada tributo."),
    }
    hint = _("Volvé a calcular los importes del comprobante.")
    field = "other_taxes" if code == 10029 else "totals"
    return Problem(field, f"{messages[code]} {hint}", code)


def _total_identity(totals: Totals) -> list[Problem]:
    parts = (totals.untaxed, totals.net, totals.exempt, totals.other_taxes_total, totals.vat_total)
    return [] if close(totals.total, sum(parts, Decimal(0))) else [_mismatch(10048)]


def _class_c_amounts(totals: Totals) -> list[Problem]:
    """Class C: ImpTotal = ImpNeto + ImpTrib (10048); ImpTotConc (10043), ImpOpEx (10044) and
    ImpIVA (10047) must be 0 and there is no Iva array (10071); then the Tributos."""
    problems = []
    if not close(totals.total, totals.net + totals.other_taxes_total):
        problems.append(_mismatch(10048))
    zero_codes = ((10043, totals.untaxed), (10044, totals.exempt), (10047, totals.vat_total))
    for code, value in zero_codes:
        if value != 0:
            message = _("Un comprobante C no discrimina IVA: no lleva IVA, exentos ni no gravados.")
            problems.append(Problem("totals", message, code))
            break
    if totals.vat:
        message = _("Un comprobante C no lleva alícuotas de IVA: sacalas.")
        problems.append(Problem("totals", message, 10071))
    return problems + _taxes(totals)


def _vat_array(data: PreflightInput) -> list[Problem]:
    """A/B/ALEY (NOTES §9): 10070 ImpNeto > 0 without Iva; 10018 ImpIVA > 0 without Iva, or
    ImpIVA = 0 with a rate other than 0 %; 10019 unknown id; 10022 repeated id; 10020 a base
    ≤ 0; 10023 ImpIVA ≠ Σ; 10061 ImpNeto ≠ Σ bases; 10051 a rate's VAT ≠ base × rate (the
    last two not on A/B/ALEY notes). Tolerances as ARCA's."""
    totals = data.totals
    if not totals.vat:
        return _missing_vat(totals)
    ids = [row.rate_id for row in totals.vat]
    if any(rate_id not in VAT_RATES for rate_id in ids):
        message = _("Hay una alícuota de IVA que ARCA no conoce.")
        return [Problem("totals", message, 10019)]
    if len(set(ids)) != len(ids):
        message = _("Cada alícuota de IVA va una sola vez.")
        return [Problem("totals", message, 10022)]
    if totals.vat_total == 0 and set(ids) != {3}:
        # ARCA: with ImpIVA 0 only the 0 % rate (id 3) may appear; tiny amounts can hit this.
        message = _(
            "El IVA da 0 pero hay alícuotas distintas de cero: ARCA lo rechaza. Revisá los "
            "importes."
        )
        return [Problem("totals", message, 10018)]
    problems = []
    if any(row.base <= 0 for row in totals.vat):
        message = _("Cada alícuota de IVA tiene que tener una base mayor que 0.")
        problems.append(Problem("totals", message, 10020))
    return problems + _vat_sums(data)


def _missing_vat(totals: Totals) -> list[Problem]:
    if totals.net > 0:
        message = _("Hay neto gravado pero ninguna alícuota de IVA.")
        return [Problem("totals", message, 10070)]
    if totals.vat_total > 0:
        message = _("Hay IVA pero ninguna alícuota de IVA.")
        return [Problem("totals", message, 10018)]
    return []


def _vat_sums(data: PreflightInput) -> list[Problem]:
    totals = data.totals
    terms = len(totals.vat)
    problems = []
    if not close(totals.vat_total, sum((row.amount for row in totals.vat), Decimal(0)), terms):
        problems.append(_mismatch(10023))
    if data.invoice_type in NO_VAT_ARITHMETIC:
        return problems
    if not close(totals.net, sum((row.base for row in totals.vat), Decimal(0)), terms):
        problems.append(_mismatch(10061))
    for row in totals.vat:
        rate = VAT_RATES[row.rate_id]
        if not close(row.amount, row.base * rate / HUNDRED):
            message = _(
                "El IVA al %(rate)s %% no corresponde a su base: %(base)s × %(rate)s %% no da "
                "%(amount)s. Volvé a calcular los importes del comprobante.",
                rate=_percent(rate),
                base=money(row.base, data.currency),
                amount=money(row.amount, data.currency),
            )
            problems.append(Problem("totals", message, 10051))
    return problems


def _percent(rate: Decimal) -> str:
    # "10,5", "21": Argentine decimal comma, no trailing zeros.
    return format(rate.normalize(), "f").replace(".", ",")


def _taxes(totals: Totals) -> list[Problem]:
    """10024 Tributos present exactly when ImpTrib > 0; 10025 unknown tax id; a description for
    id 99 (ARCA requires it; local, code not documented); 10029 ImpTrib ≠ Σ."""
    taxes = totals.other_taxes
    if bool(taxes) != (totals.other_taxes_total > 0):
        message = _("El total de otros tributos no coincide con el detalle de tributos.")
        return [Problem("other_taxes", message, 10024)]
    problems = []
    if any(tax.tax_id not in TAX_TYPES for tax in taxes):
        message = _("Hay un tributo que ARCA no conoce.")
        problems.append(Problem("other_taxes", message, 10025))
    if any(tax.tax_id == 99 and not tax.description.strip() for tax in taxes):
        message = _("Un tributo «Otro» necesita una descripción.")
        problems.append(Problem("other_taxes", message))
    total = sum((tax.amount for tax in taxes), Decimal(0))
    if taxes and not close(totals.other_taxes_total, total, len(taxes)):
        problems.append(_mismatch(10029))
    return problems


# --- currency -------------------------------------------------------------------------------------


def check_currency(data: PreflightInput) -> list[Problem]:
    """PES: rate 1 (10039) and not "paid in the same currency" (10241). Foreign: rate > 0
    (10038), within 2 %-400 % of ARCA's reference when known (10119), and exactly ARCA's rate
    when paid in that currency (10038). 10056 more than 6 decimals on the rate."""
    rate = data.currency_rate
    if _decimals(rate) > 6:
        message = _("La cotización va con 6 decimales como máximo.")
        return [Problem("currency_rate", message, 10056)]
    if data.currency == "PES":
        return _peso_problems(data)
    if not rate.is_finite() or rate <= 0:
        message = _("Indicá la cotización de la moneda: tiene que ser mayor que 0.")
        return [Problem("currency_rate", message, 10038)]
    reference = data.reference_rate
    if reference is None or reference <= 0:
        return []
    low, high = (reference * factor for factor in RATE_BAND)
    if not low <= rate <= high:
        message = _(
            "La cotización %(rate)s está muy lejos de la de ARCA (%(reference)s). Revisala.",
            rate=number(rate),
            reference=number(reference),
        )
        return [Problem("currency_rate", message, 10119)]
    if data.same_currency_payment and rate != reference:
        # CanMisMonExt = S: MonCotiz must be ARCA's rate for the business day before CbteFch.
        message = _(
            "Si el cliente paga en la misma moneda, la cotización tiene que ser exactamente "
            "la de ARCA: %(reference)s.",
            reference=number(reference),
        )
        return [Problem("currency_rate", message, 10038)]
    return []


def _peso_problems(data: PreflightInput) -> list[Problem]:
    problems = []
    if data.currency_rate != 1:
        message = _("En pesos la cotización es 1.")
        problems.append(Problem("currency_rate", message, 10039))
    if data.same_currency_payment:
        # CanMisMonExt must be absent or N with PES.
        message = _("«Se paga en la misma moneda» es solo para comprobantes en moneda extranjera.")
        problems.append(Problem("same_currency_payment", message, 10241))
    return problems


# --- notes ----------------------------------------------------------------------------------------


def check_associated(data: PreflightInput) -> list[Problem]:
    """Notes need at least one associated voucher (10197); every associated voucher must be
    one this type may reference, i.e. of the same class (10040). Local: a credit note may not
    credit more than is left of the original (ARCA only observes it, 10237)."""
    is_note = data.kind in NOTE_KINDS
    problems = []
    if is_note and not data.associated:
        message = _("Indicá el comprobante al que corresponde la nota.")
        problems.append(Problem("associated", message, 10197))
    allowed = ALLOWED_ASSOCIATED_TYPES.get(data.invoice_type, frozenset())
    if any(voucher.invoice_type not in allowed for voucher in data.associated):
        problems.append(Problem("associated", _association_message(data), 10040))
    remaining = data.credit_remaining
    is_credit = data.kind == VoucherKind.CREDIT_NOTE
    if is_credit and remaining is not None and data.totals.total > remaining:
        message = _(
            "No podés acreditar más de lo que queda del comprobante original: quedan "
            "%(remaining)s y esta nota suma %(total)s.",
            remaining=money(remaining, data.currency),
            total=money(data.totals.total, data.currency),
        )
        problems.append(Problem("totals", message))
    return problems


def _association_message(data: PreflightInput) -> str:
    if data.kind not in NOTE_KINDS:
        # 1, 6 and 51 may reference only electronic delivery notes (88, 991).
        return _("Una factura solo puede referirse a remitos electrónicos.")
    return _(
        "La nota tiene que referirse a un comprobante de la misma clase (%(letter)s).",
        letter=_class_label(data.voucher_class),
    )


def _class_label(voucher_class: str | None) -> str:
    return "A" if voucher_class == "ALEY" else voucher_class or "?"


def money(value: Decimal, currency: str) -> str:
    """`$ 1.234,56` in pesos, `DOL 1.234,56` in another currency (ARCA's MonId)."""
    return format_money(value, "$" if currency == "PES" else currency)


def number(value: Decimal) -> str:
    """An exchange rate the Argentine way: `1.050,5`, up to 6 decimals."""
    return format_decimal(value, format="#,##0.######", locale="es_AR")


def day(value: date) -> str:
    """dd/mm/aaaa, as dates are shown everywhere (no app needed)."""
    return value.strftime("%d/%m/%Y")


CHECKS: tuple[Check, ...] = (
    check_issuer,
    check_point_of_sale,
    check_voucher_type,
    check_lines,
    check_issue_date,
    check_service_dates,
    check_fce,
    check_receiver,
    check_consumer_threshold,
    check_amounts,
    check_currency,
    check_associated,
)


# --- warnings: worth a look, never blocking -------------------------------------------------------

PADRON_DOCUMENTS = frozenset({DocumentType.CUIT, DocumentType.CUIL})


def padron_warnings(
    doc_type: int,
    doc_number: str,
    receiver_condition_id: int,
    taxpayer: Taxpayer | None,
    looked_up_on: str = "",
) -> list[Problem]:
    """A warning when ARCA's padrón registers the receiver under another IVA condition than
    the invoice's (`taxpayer` is the cached answer for `doc_number`, None when there is none).

    Not an error: ARCA does not check the condition against its register on FECAESolicitar
    in every case, the padrón may lag a recent change, and the user may know better; the
    warning lets them look before the CAE fixes it. Silent when the padrón cannot tell (A13,
    an answer with errors, an inactive taxpayer: the form explains those)."""
    if doc_type not in PADRON_DOCUMENTS or taxpayer is None:
        return []
    registered = taxpayer.iva_condition
    if normalize_cuit(taxpayer.cuit) != normalize_cuit(doc_number) or registered is None:
        return []
    if registered == receiver_condition_id or not taxpayer.is_active:
        return []
    known = RECEIVER_CONDITIONS.get(registered)
    chosen = RECEIVER_CONDITIONS.get(receiver_condition_id)
    message = _(
        "En el padrón de ARCA%(day)s el cliente figura como «%(registered)s» y la factura dice "
        "«%(chosen)s». Revisá la condición frente al IVA del cliente.",
        day=_(" (consulta del %(day)s)", day=looked_up_on) if looked_up_on else "",
        registered=known.description if known else registered,
        chosen=chosen.description if chosen else receiver_condition_id,
    )
    return [Problem("receiver_condition_id", message)]


def fce_warnings(
    invoice_type: int,
    kind: VoucherKind,
    doc_type: int,
    total_in_pesos: Decimal,
    obligation: FceObligation | None,
) -> list[Problem]:
    """A warning when ARCA says the receiver must get FCE MiPyME from an amount this invoice
    reaches, and the invoice is a plain A, B or C (`obligation` is ARCA's cached answer for the
    receiver, None when there is none).

    Not blocking: ARCA observes it (10188/10192) after weighing the issuer's size too, which
    Talonario does not know; the user decides."""
    voucher = VOUCHER_TYPES.get(invoice_type)
    if obligation is None or voucher is None or kind != VoucherKind.INVOICE:
        return []
    if is_fce(invoice_type) or voucher.voucher_class not in ("A", "B", "C"):
        return []
    if doc_type != DocumentType.CUIT or not obligation.requires_fce(total_in_pesos):
        return []
    message = _(
        "Este cliente es una gran empresa: por este monto corresponde Factura de Crédito "
        "Electrónica MiPyME (FCE)%(threshold)s. Emitila como FCE desde el editor; si no, ARCA "
        "puede observarla.",
        threshold=_(" (desde %(amount)s)", amount=format_money(obligation.amount_from))
        if obligation.amount_from is not None
        else "",
    )
    return [Problem("fce", message, 10188)]
