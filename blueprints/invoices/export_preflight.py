"""The preflight of a Factura E (types 19/20/21, WSFEXv1): what ARCA's FEXAuthorize would
refuse in a stored export voucher and the user can fix, each on the editor's field.

WSFEX answers one error at a time (`arca/sandbox/wsfex_rules.py`); here every problem is listed
at once. The codes in parentheses are the sandbox's (ARCA's own were not recorded, but 1667), so
they are not shown as ARCA's: `code` stays None. Pure: reads the invoice's attributes only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import gettext as _

from arca.codes import VoucherKind
from arca.export_codes import ARGENTINA, export_codes
from blueprints.invoices.models import Invoice
from blueprints.invoices.preflight import PreflightInput, check_issuer, check_lines
from blueprints.invoices.totals import Problem

GOODS = 1  # Tipo_expo 1: definitive export of goods
# Fecha_cbte's window around today: 5 days for goods, 10 for services and others (WSFEX manual).
DATE_WINDOW_DAYS = {GOODS: 5}
OTHER_DATE_WINDOW_DAYS = 10
LANGUAGES = frozenset({1, 2, 3})


def export_checks(data: PreflightInput, invoice: Invoice) -> list[Problem]:
    """The preflight of a Factura E (`preflight_adapter` runs it instead of WSFEv1's): the
    issuer's certificate and the lines as for any voucher, then WSFEX's own rules."""
    return [
        *check_issuer(data),
        *check_lines(data),
        *export_problems(invoice, data.today, data.last_authorized_date),
    ]


def export_problems(
    invoice: Invoice, today: dt.date, last_authorized: dt.date | None
) -> list[Problem]:
    """Every reason FEXAuthorize would refuse `invoice` that the user can fix; [] when none.
    `today` is ARCA's date, `last_authorized` the sequence's latest authorized voucher's."""
    return [
        *destination_problems(invoice),
        *receiver_problems(invoice),
        *goods_problems(invoice),
        *date_problems(invoice, today, last_authorized),
        *amount_problems(invoice),
    ]


def destination_problems(invoice: Invoice) -> list[Problem]:
    """Dst_cmp from ARCA's table and never Argentina (1513); a language of the table (1519)."""
    problems = []
    country = invoice.destination_country
    if not country:
        problems.append(Problem("export_country", _("Elegí el país de destino.")))
    elif country == ARGENTINA or country not in export_codes().countries:
        problems.append(
            Problem("export_country", _("El país de destino es otro país, no la Argentina."))
        )
    if invoice.language not in LANGUAGES:
        problems.append(Problem("export_language", _("Elegí el idioma del comprobante.")))
    return problems


def receiver_problems(invoice: Invoice) -> list[Problem]:
    """The customer's country CUIT (from ARCA's table, 1514) or its tax id (1515), and its name
    and address (1516): fixed on the customer's page."""
    problems = []
    cuit = invoice.receiver_country_cuit
    if cuit and cuit not in export_codes().foreign_cuits:
        problems.append(
            Problem(
                "customer_label",
                _("El CUIT del país del cliente no está en la lista de ARCA: corregilo."),
            )
        )
    if not cuit and not invoice.receiver_tax_id:
        problems.append(
            Problem(
                "customer_label",
                _(
                    "ARCA necesita el CUIT del país del cliente o su identificación tributaria: "
                    "completá uno en la ficha del cliente."
                ),
            )
        )
    if not (invoice.receiver_address or "").strip():
        problems.append(
            Problem(
                "customer_label",
                _("Una Factura E lleva el domicilio del cliente: completalo en su ficha."),
            )
        )
    return problems


def goods_problems(invoice: Invoice) -> list[Problem]:
    """An invoice of goods needs its Incoterms (1520) and says whether there is a shipping
    permit (1509), listing them when there is (1511) and none when not (1512)."""
    goods_invoice = invoice.export_type == GOODS and invoice.kind == str(VoucherKind.INVOICE)
    if not goods_invoice:
        return []
    problems = []
    if not invoice.incoterms:
        problems.append(
            Problem("export_incoterms", _("Una exportación de bienes lleva Incoterms."))
        )
    permits = invoice.permits or []
    if invoice.permit_existing is None:
        problems.append(
            Problem(
                "export_permit_existing", _("Indicá si la mercadería tiene permiso de embarque.")
            )
        )
    elif invoice.permit_existing and not permits:
        problems.append(
            Problem("export_permits", _("Escribí el número de al menos un permiso de embarque."))
        )
    elif not invoice.permit_existing and permits:
        problems.append(
            Problem(
                "export_permits",
                _("Sin permiso de embarque no se informan permisos: borralos o elegí «Sí»."),
            )
        )
    return problems


def date_problems(
    invoice: Invoice, today: dt.date, last_authorized: dt.date | None
) -> list[Problem]:
    """Fecha_cbte within its window of today (1506) and not before the sequence's last (1507)."""
    window = DATE_WINDOW_DAYS.get(invoice.export_type or 0, OTHER_DATE_WINDOW_DAYS)
    if abs((invoice.issue_date - today).days) > window:
        message = _(
            "La fecha de una Factura E puede estar hasta %(days)s días antes o después de hoy.",
            days=window,
        )
        return [Problem("issue_date", message)]
    if last_authorized is not None and invoice.issue_date < last_authorized:
        message = _(
            "La fecha no puede ser anterior a la del último comprobante autorizado (%(day)s).",
            day=last_authorized.strftime("%d/%m/%Y"),
        )
        return [Problem("issue_date", message)]
    return []


def amount_problems(invoice: Invoice) -> list[Problem]:
    """Lines with a description (1522), a total above 0 (1526), a rate of 1 in pesos (1518)."""
    problems = []
    if not invoice.lines or any(not line.description.strip() for line in invoice.lines):
        problems.append(Problem("lines", _("Cada línea de una Factura E lleva su descripción.")))
    if invoice.total <= 0:
        problems.append(Problem("lines", _("El total de una Factura E tiene que ser mayor que 0.")))
    if invoice.currency == "PES" and invoice.currency_rate != Decimal(1):
        problems.append(Problem("currency_rate", _("En pesos la cotización es 1.")))
    return problems
