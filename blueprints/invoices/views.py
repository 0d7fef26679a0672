from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from babel.numbers import format_decimal
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from arca.codes import (
    RECEIVER_CONDITIONS,
    VAT_RATES,
    VOUCHER_TYPES,
    DocumentType,
    IssuerCondition,
    VoucherKind,
)
from blueprints.customers.models import Customer
from blueprints.customers.services import CustomerQuery, get_customer, search_customers
from blueprints.dashboard.services import SETUP_CHECKS
from blueprints.exports.services import EXPORT_KINDS, start_export
from blueprints.invoices.bulk import (
    NothingToAuthorize,
    load_progress,
    start_bulk_authorization,
)
from blueprints.invoices.contingency import caea_report_of, contingency_offer
from blueprints.invoices.exports import INVOICES_CSV, KINDS, PACKAGE
from blueprints.invoices.fce import FceObligation, fce_offer
from blueprints.invoices.forms import (
    CURRENCIES,
    MAX_PERMITS,
    InvoiceForm,
    add_line,
    draft_input,
    fill_export_choices,
    first_error,
    input_number,
    is_fce_chosen,
    parsed_lines,
    percent_label,
)
from blueprints.invoices.jobs import (
    PreflightRefused,
    is_queued,
    is_settled,
    refresh,
    start_authorization,
)
from blueprints.invoices.letters import FCE_TYPE_CODES, TYPE_CODES, explain_letter, letter_for
from blueprints.invoices.listing import (
    InvoiceFilter,
    filter_args,
    filter_totals,
    filters_from,
    list_page,
    month_overview,
    twelve_months_income,
)
from blueprints.invoices.models import Invoice
from blueprints.invoices.monotributo import load_scale, standing
from blueprints.invoices.package import Month, pdf_file_name
from blueprints.invoices.preflight import fce_draft_problems
from blueprints.invoices.preflight_adapter import (
    arca_today,
    preflight_problems,
    preflight_warnings,
)
from blueprints.invoices.printing import invoice_pdf, pdf_line
from blueprints.invoices.services import (
    CONSUMIDOR_FINAL,
    DraftInput,
    arca_exchange_rate,
    credited_so_far,
    customer_summary,
    delete_draft,
    get_invoice,
    has_invoices,
    issuing_points,
    note_from,
    notes_on,
    save_draft,
)
from blueprints.invoices.totals import compute_totals
from blueprints.organizations.models import MANAGER_ROLES, Role
from blueprints.points_of_sale.models import PointOfSale
from core.arca import get_arca
from core.db import db, utcnow
from core.errors import DomainError
from core.inputs import parse_id, parse_ids, parse_int
from core.tenancy import current_organization_id, organization_required, role_required
from core.web import attach_error, form_status, render, see_other

bp = Blueprint("invoices", __name__, url_prefix="/invoices")

SETUP_CHECKS["invoice"] = has_invoices
EXPORT_KINDS.update(KINDS)
ISSUERS = (*MANAGER_ROLES, Role.MEMBER)
# The list's type filter: every class's codes, FCE MiPyME's among them.
ISSUED_TYPES = {
    code
    for table in (TYPE_CODES, FCE_TYPE_CODES)
    for codes in table.values()
    for code in codes.values()
}


@bp.app_context_processor
def invoice_labels() -> dict[str, object]:
    return {
        "voucher_name": voucher_name,
        "vat_label": vat_label,
        "receiver_condition_label": receiver_condition_label,
        "outcome_label": outcome_label,
        "fce_transfer_label": fce_transfer_label,
        "customer_summary": lambda customer_id: customer_summary(
            db.session, current_organization_id(), customer_id
        ),
        "invoice_overview": lambda: month_overview(
            db.session, current_organization_id(), arca_today(get_arca())
        ),
        "monotributo_standing": monotributo_panel,
        # A line as the PDF prints it (net on A, VAT included on B and C), its unit price
        # with 2 to 4 decimals as the PDF has it.
        "printed_line": pdf_line,
        "unit_price_label": lambda value: format_decimal(value, "#,##0.00##", locale="es_AR"),
    }


def monotributo_panel() -> dict[str, object] | None:
    """The dashboard's Monotributo panel: None for other issuers."""
    organization = g.membership.organization
    if IssuerCondition(organization.iva_condition).voucher_classes != ("C",) or (
        organization.iva_condition == IssuerCondition.IVA_EXENTO
    ):
        return None
    today = arca_today(get_arca())
    configured = current_app.config["MONOTRIBUTO_SCALE_FILE"]
    scale = load_scale(Path(configured) if configured else None)
    income = twelve_months_income(db.session, organization.id, today)
    return {"standing": standing(income, scale), "scale": scale, "stale": scale.is_stale(today)}


def voucher_name(code: int) -> str:
    voucher = VOUCHER_TYPES.get(code)
    return voucher.description if voucher else str(code)


def vat_label(vat: int | str) -> str:
    text_value = str(vat)
    if text_value == "exempt":
        return _("Exento")
    if text_value == "untaxed":
        return _("No gravado")
    rate = VAT_RATES.get(int(text_value)) if text_value.isdigit() else None
    return percent_label(rate) if rate is not None else text_value


def receiver_condition_label(code: int) -> str:
    condition = RECEIVER_CONDITIONS.get(code)
    return condition.description if condition else str(code)


def fce_transfer_label(option: str | None) -> str:
    """Optional 27 in words: how the FCE's credit may circulate."""
    labels = {
        "SCA": _("Transferencia al Sistema de Circulación Abierta (SCA)"),
        "ADC": _("Agente de Depósito Colectivo (ADC)"),
    }
    return labels.get(option or "", option or "—")


def outcome_label(outcome: str) -> str:
    labels = {
        "pending": _("en curso"),
        "approved": _("aprobado"),
        "rejected": _("rechazado"),
        "unknown": _("sin respuesta"),
        "not_sent": _("no se pudo enviar"),
        "reconciled": _("confirmado con ARCA"),
    }
    return labels.get(outcome, outcome)


@bp.get("/")
@organization_required
def index() -> Response:
    filters = parse_filters()
    organization_id = current_organization_id()
    return render(
        "invoices/index.html",
        results=list_page(db.session, organization_id, filters),
        # The filter's totals head its first page; the next pages are more of the same rows.
        totals=None if filters.after else filter_totals(db.session, organization_id, filters),
        filters=filters,
        filter_args=filter_args(filters),
        points=db.session.scalars(
            select(PointOfSale.number)
            .where(PointOfSale.organization_id == organization_id)
            .order_by(PointOfSale.number)
        ).all(),
        types=sorted({code for code in ISSUED_TYPES}),
    )


@bp.post("/export")
@organization_required
def export() -> Response:
    """The list's CSV, with its filters, built by a job: the export's page shows its progress
    and the download once the whole file is there."""
    parameters = filter_args(filters_from(request.form))
    export_id = start_export(
        db.session, current_organization_id(), INVOICES_CSV, parameters, current_user
    )
    return see_other(url_for("exports.detail", export_id=export_id))


def parse_filters() -> InvoiceFilter:
    return filters_from(request.args)


@bp.route("/new", methods=["GET", "POST"])
@role_required(*ISSUERS)
def new() -> Response:
    form = editor_form()
    if request.method == "POST" and (autosaved := autosaved_draft()) is not None:
        # The editor autosaved this new invoice already: the buttons save into that draft.
        return handle_editor(form, autosaved)
    if request.method == "GET":
        form.issue_date.data = arca_today(get_arca())
        # The everyday sale: to a final consumer, at the price on the shelf (VAT included).
        form.prices_include_vat.data = True
        if (customer_id := parse_id(request.args.get("customer_id"))) is not None:
            chosen = get_customer(db.session, current_organization_id(), customer_id)
            form.customer_id.data, form.customer_label.data = str(chosen.id), chosen.legal_name
    return handle_editor(form, None)


@bp.route("/<int:invoice_id>/edit", methods=["GET", "POST"])
@role_required(*ISSUERS)
def edit(invoice_id: int) -> Response:
    invoice = get_invoice(db.session, current_organization_id(), invoice_id)
    if not invoice.editable:
        return see_other(url_for("invoices.detail", invoice_id=invoice.id))
    form = editor_form(invoice if request.method == "GET" else None)
    return handle_editor(form, invoice)


def handle_editor(form: InvoiceForm, invoice: Invoice | None) -> Response:
    """The editor's one POST: add, remove or move a line (re-rendered, nothing saved; also on a
    form with errors, so a bad line can be removed) or save (only a valid form)."""
    if request.method == "POST":
        valid = form.validate_on_submit()
        action = request.form.get("action", "save")
        if action == "add_line":
            add_line(form)
        elif action.startswith("remove_line-"):
            remove_line(form, action.removeprefix("remove_line-"))
        elif action.startswith("move_up-"):
            move_up(form, action.removeprefix("move_up-"))
        elif action in ("fce_on", "fce_off"):
            # The FCE offer's "Emitir como FCE" and its undo: re-rendered, saved as usual.
            form.fce.data = "1" if action == "fce_on" else ""
        elif valid:
            return save(form, invoice)
    return render_editor(form, invoice, status=form_status(form))


def save(form: InvoiceForm, invoice: Invoice | None) -> Response:
    try:
        saved = save_draft(
            db.session,
            g.membership.organization,
            draft_input(form, arca_today(get_arca())),
            current_user,
            invoice,
        )
    except DomainError as error:
        db.session.rollback()
        attach_error(form, error)
        return render_editor(form, invoice, status=422)
    if request.form.get("then") == "authorize":
        # Review first: ARCA is called only from the review's "Autorizar en ARCA".
        return see_other(url_for("invoices.detail", invoice_id=saved.id, _anchor="review"))
    flash(_("Guardamos el borrador."), "success")
    return see_other(url_for("invoices.edit", invoice_id=saved.id))


@bp.post("/<int:invoice_id>/autosave")
@role_required(*ISSUERS)
def autosave(invoice_id: int) -> Response:
    """The editor saves a draft by itself a moment after each change (nothing is lost if the
    page is closed); the result shows next to the buttons."""
    invoice = get_invoice(db.session, current_organization_id(), invoice_id)
    if not invoice.editable:
        return render("invoices/_autosave.html", error=_("ya no es un borrador"), moment=None)
    return autosave_into(editor_form(), invoice)


@bp.post("/autosave")
@role_required(*ISSUERS)
def autosave_new() -> Response:
    """A new invoice's autosave: nothing until it has a customer or a line; then the draft is
    created and the editor told its id (the page's address becomes the draft's)."""
    form = editor_form()
    invoice = autosaved_draft()
    if invoice is None and not has_content(form):
        return render("invoices/_autosave.html", error=None, moment=None)
    response = autosave_into(form, invoice)
    saved_id = request_draft_id() if invoice is not None else g.get("autosaved_id")
    if saved_id is not None:
        response.headers["HX-Replace-Url"] = url_for("invoices.edit", invoice_id=saved_id)
    return response


def autosave_into(form: InvoiceForm, invoice: Invoice | None) -> Response:
    error, saved = None, None
    if not form.validate_on_submit():
        error = _("no se pudo guardar: %(reason)s", reason=first_error(form))
    else:
        try:
            saved = save_draft(
                db.session,
                g.membership.organization,
                draft_input(form, arca_today(get_arca())),
                current_user,
                invoice,
            )
        except DomainError as failure:
            db.session.rollback()
            error = failure.message
    if saved is not None and invoice is None:
        g.autosaved_id = saved.id
    return render(
        "invoices/_autosave.html",
        error=error,
        moment=utcnow() if saved is not None else None,
        draft_id=saved.id if saved is not None else None,
    )


def has_content(form: InvoiceForm) -> bool:
    """A customer or a line with something in it: worth keeping as a draft."""
    if (form.customer_id.data or "").strip():
        return True
    return any(
        (entry.form.description.data or "").strip() or (entry.form.unit_price.data or "").strip()
        for entry in form.lines.entries
    )


def request_draft_id() -> int | None:
    return parse_id(request.form.get("draft_id"))


def autosaved_draft() -> Invoice | None:
    """The draft a new invoice's autosave created (posted back as `draft_id`), if still one."""
    draft_id = request_draft_id()
    if draft_id is None:
        return None
    invoice = get_invoice(db.session, current_organization_id(), draft_id)
    return invoice if invoice.editable else None


@bp.post("/totals")
@organization_required
def totals() -> Response:
    """The editor's live totals, from the form as it is (nothing saved)."""
    form = editor_form()
    draft = draft_input(form, arca_today(get_arca()))
    letter = preview_letter(draft, autosaved_draft())
    return render(
        "invoices/_totals.html",
        totals=safe_totals(draft, letter),
        letter=letter,
        letter_reason=letter_reason(draft, letter),
        currency=draft.currency,
    )


@bp.get("/<int:invoice_id>")
@organization_required
def detail(invoice_id: int) -> Response:
    invoice = get_invoice(db.session, current_organization_id(), invoice_id)
    return render_status("invoices/detail.html", invoice, is_queued(db.session, invoice.id))


@bp.get("/<int:invoice_id>/status")
@organization_required
def status(invoice_id: int) -> Response:
    """The status panel alone, which polls itself while ARCA is being asked. (Not the detail
    page's fragment: htmx also follows redirects after a save, and those want the page.)"""
    invoice_id = get_invoice(db.session, current_organization_id(), invoice_id).id
    queued = refresh(db.session, invoice_id)  # without Redis, a due retry runs here
    invoice = get_invoice(db.session, current_organization_id(), invoice_id)
    response = render_status("invoices/_status.html", invoice, queued)
    if request.args.get("waiting") and is_settled(invoice, queued):
        # The number, the CAE and the actions change all over the page: reload it.
        response.headers["HX-Refresh"] = "true"
    return response


def render_status(template: str, invoice: Invoice, queued: bool) -> Response:
    return render(
        template,
        invoice=invoice,
        notes=notes_on(db.session, invoice),
        queued=queued,
        problems=preflight_problems(db.session, invoice, get_arca()) if invoice.editable else [],
        preflight_warnings=preflight_warnings(invoice) if invoice.editable else [],
        reviewed=review_token(invoice),
        note_actions=note_actions(invoice),
        caea_blocked=contingency_offer(db.session, invoice, get_arca()),
        caea_report=caea_report_of(db.session, invoice) if invoice.by_caea else None,
    )


def review_token(invoice: Invoice) -> str:
    """Which version of the draft the review showed: the authorization is refused when the
    draft changed after it (an autosave in another tab, a colleague's edit)."""
    return f"{invoice.id}:{invoice.updated_at.isoformat()}"


def note_actions(invoice: Invoice) -> tuple[VoucherKind, ...]:
    """The notes that can still be issued on `invoice` (none are offered that would be refused)."""
    if invoice.status != "authorized" or invoice.kind == str(VoucherKind.CREDIT_NOTE):
        return ()
    if invoice.total <= credited_so_far(db.session, invoice):
        return (VoucherKind.DEBIT_NOTE,)
    return (VoucherKind.CREDIT_NOTE, VoucherKind.DEBIT_NOTE)


@bp.get("/<int:invoice_id>/pdf")
@organization_required
def pdf(invoice_id: int) -> Response:
    """The printed voucher: inline (ORIGINAL), or `?descargar=1` as a file with its
    DUPLICADO. A draft prints as an unauthorized preview, without CAE or QR."""
    invoice = get_invoice(db.session, current_organization_id(), invoice_id)
    download = request.args.get("descargar") == "1"
    copies = ("ORIGINAL", "DUPLICADO") if download else ("ORIGINAL",)
    response = Response(invoice_pdf(db.session, invoice, copies), mimetype="application/pdf")
    disposition = "attachment" if download else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{pdf_file_name(invoice)}"'
    return response


@bp.route("/package", methods=["GET", "POST"])
@organization_required
def package() -> Response:
    """The accountant's monthly ZIP for a chosen month (default: the last closed one), built
    by a job; its page follows the progress and offers the download."""
    today = arca_today(get_arca())
    if request.method == "GET":
        return render("invoices/package.html", month=Month.before(today), current=today)
    month = Month.parse(request.form.get("mes"))
    if month is None or month.first > today:
        flash(_("Elegí un mes que ya haya empezado."), "error")
        return see_other(url_for("invoices.package"))
    parameters = {"month": str(month)}
    export_id = start_export(
        db.session, current_organization_id(), PACKAGE, parameters, current_user
    )
    return see_other(url_for("exports.detail", export_id=export_id))


@bp.post("/<int:invoice_id>/authorize")
@role_required(*ISSUERS)
def authorize(invoice_id: int) -> Response:
    """The review's "Autorizar en ARCA": the draft as the review showed it, checked again."""
    invoice = get_invoice(db.session, current_organization_id(), invoice_id)
    review = url_for("invoices.detail", invoice_id=invoice.id, _anchor="review")
    if invoice.editable and request.form.get("reviewed") != review_token(invoice):
        flash(_("El borrador cambió desde que lo revisaste: revisalo de nuevo."), "error")
        return see_other(review)
    return authorize_saved(invoice)


def authorize_saved(invoice: Invoice) -> Response:
    """Preflight, then queue the job; the invoice page follows its progress."""
    invoice_id = invoice.id
    try:
        queued = start_authorization(db.session, invoice, get_arca())
    except PreflightRefused as refused:
        flash(refused.message, "error")
        return see_other(url_for("invoices.detail", invoice_id=invoice_id, _anchor="review"))
    if not queued:
        flash(_("Este comprobante ya fue autorizado o se está autorizando."), "error")
    return see_other(url_for("invoices.detail", invoice_id=invoice_id))


@bp.post("/<int:invoice_id>/credit-note")
@role_required(*ISSUERS)
def credit_note(invoice_id: int) -> Response:
    return new_note(invoice_id, VoucherKind.CREDIT_NOTE)


@bp.post("/<int:invoice_id>/debit-note")
@role_required(*ISSUERS)
def debit_note(invoice_id: int) -> Response:
    return new_note(invoice_id, VoucherKind.DEBIT_NOTE)


def new_note(invoice_id: int, kind: VoucherKind) -> Response:
    original = get_invoice(db.session, current_organization_id(), invoice_id)
    today = arca_today(get_arca())
    note = note_from(db.session, g.membership.organization, original, kind, today, current_user)
    flash(_("Preparamos la nota: ajustá las líneas si es parcial y autorizala."), "success")
    return see_other(url_for("invoices.edit", invoice_id=note.id))


@bp.post("/<int:invoice_id>/delete")
@role_required(*ISSUERS)
def delete(invoice_id: int) -> Response:
    invoice = get_invoice(db.session, current_organization_id(), invoice_id)
    delete_draft(db.session, invoice, current_user)
    flash(_("Borramos el borrador."), "success")
    return see_other(url_for("invoices.index"))


@bp.get("/rate")
@organization_required
def exchange_rate() -> Response:
    """ARCA's rate for the chosen currency (FEParamGetCotizacion), offered in the editor: the
    user may still change it within ARCA's limits (10119)."""
    currency = request.args.get("currency", "PES")
    rate, error = Decimal("1"), None
    if currency != "PES":
        try:
            rate = arca_exchange_rate(db.session, current_organization_id(), get_arca(), currency)
        except DomainError as failure:
            error = failure.message
    return render("invoices/_rate.html", rate=rate, error=error)


@bp.post("/bulk-authorize")
@role_required(*ISSUERS)
def bulk_authorize() -> Response:
    """Selected drafts: those ARCA would refuse stay, each listed on the bulk page with its
    reasons; the rest go in batches."""
    organization_id = current_organization_id()
    chosen = parse_ids(request.form.getlist("invoice_id"))
    try:
        key, progress = start_bulk_authorization(db.session, organization_id, chosen, get_arca())
    except NothingToAuthorize as nothing:
        flash(nothing.message, "error")
        return see_other(url_for("invoices.index", status="draft"))
    if progress.skipped:
        flash(
            ngettext(
                "%(num)s borrador no pasa la revisión previa: quedó sin enviar.",
                "%(num)s borradores no pasan la revisión previa: quedaron sin enviar.",
                len(progress.skipped),
            ),
            "error",
        )
    return see_other(url_for("invoices.bulk", key=key))


@bp.get("/bulk/<key>")
@organization_required
def bulk(key: str) -> Response:
    progress = load_progress(db.session, key, current_organization_id())
    return render("invoices/bulk.html", progress=progress, key=key)


@bp.get("/bulk/<key>/status")
@organization_required
def bulk_status(key: str) -> Response:
    progress = load_progress(db.session, key, current_organization_id())
    return render("invoices/_bulk_status.html", progress=progress, key=key)


@bp.get("/customers")
@organization_required
def customer_picker() -> Response:
    """The editor's customer search (htmx): a short list to pick from."""
    text = request.args.get("q") or request.args.get("customer_label") or ""
    query = CustomerQuery(text=text[:100])
    results = search_customers(db.session, current_organization_id(), query, limit=8)
    return render("invoices/_customer_picker.html", customers=results.customers)


# --- helpers ---------------------------------------------------------------------------------


def editor_form(invoice: Invoice | None = None) -> InvoiceForm:
    form = InvoiceForm(obj=None) if invoice is None else InvoiceForm(data=form_data(invoice))
    form.point_of_sale_id.choices = [
        SelectChoice(str(p.id), f"{p.number:05d}" + (f" · {p.name}" if p.name else ""))
        for p in issuing_points(db.session, current_organization_id())
    ]
    form.currency.choices = [SelectChoice(code, label) for code, label in CURRENCIES.items()]
    fill_export_choices(form)
    return form


def form_data(invoice: Invoice) -> dict[str, object]:
    return {
        "point_of_sale_id": str(invoice.point_of_sale_id),
        "customer_id": str(invoice.customer_id or ""),
        "customer_label": invoice.receiver_name if invoice.customer_id else "",
        "concept": str(invoice.concept),
        "issue_date": invoice.issue_date,
        "service_from": invoice.service_from,
        "service_to": invoice.service_to,
        "payment_due": invoice.payment_due,
        "currency": invoice.currency,
        "currency_rate": input_number(invoice.currency_rate),
        "same_currency_payment": invoice.same_currency_payment,
        "prices_include_vat": invoice.prices_include_vat,
        "notes": invoice.notes or "",
        **export_form_data(invoice),
        "fce": "1" if invoice.is_fce and invoice.associated_invoice_id is None else "",
        "fce_cancels_rejected": bool(invoice.fce_cancels_rejected),
        "lines": [
            {
                "description": line.description,
                "quantity": input_number(line.quantity),
                "unit_price": input_number(line.unit_price),
                "discount_percent": input_number(line.discount_percent),
                "vat": line.vat,
            }
            for line in invoice.lines
        ]
        or [{}],
    }


def remove_line(form: InvoiceForm, index_text: str) -> None:
    index = parse_int(index_text, 0, len(form.lines.entries) - 1)
    if index is None or len(form.lines.entries) <= 1:
        return
    entries = [entry for position, entry in enumerate(form.lines.entries) if position != index]
    form.lines.entries = entries
    form.lines.last_index = len(entries) - 1


def receiver_condition_of(draft: DraftInput) -> int:
    """The chosen customer's condition; an anonymous final consumer without one."""
    if draft.customer_id is not None:
        customer = db.session.get(Customer, draft.customer_id)
        if customer is not None and customer.organization_id == current_organization_id():
            return customer.iva_condition
    return CONSUMIDOR_FINAL


def move_up(form: InvoiceForm, index_text: str) -> None:
    """Swap a line with the one above it (the lines' order is the printed order)."""
    index = parse_int(index_text, 1, len(form.lines.entries) - 1)
    if index is None:
        return
    above, line = form.lines.entries[index - 1], form.lines.entries[index]
    for name in ("description", "quantity", "unit_price", "discount_percent", "vat"):
        first, second = above.form[name], line.form[name]
        first.data, second.data = second.data, first.data
        first.raw_data, second.raw_data = second.raw_data, first.raw_data
        first.errors, second.errors = second.errors, first.errors


def preview_letter(draft: DraftInput, invoice: Invoice | None = None) -> str:
    if invoice is not None and invoice.associated_invoice_id is not None:
        return invoice.letter  # a note is of its original's class, whoever the customer is
    organization = g.membership.organization
    issuer = IssuerCondition(organization.iva_condition)
    abroad = (customer := receiver_of(draft)) is not None and customer.country is not None
    return letter_for(
        issuer, receiver_condition_of(draft), organization.a_with_legend, export=abroad
    )


def letter_reason(draft: DraftInput, letter: str) -> str:
    issuer = IssuerCondition(g.membership.organization.iva_condition)
    try:
        return explain_letter(issuer, receiver_condition_of(draft), letter)  # type: ignore[arg-type]
    except ValueError:
        return ""


def safe_totals(draft: DraftInput, letter: str) -> object:
    try:
        return compute_totals(draft.lines, letter, draft.prices_include_vat)  # type: ignore[arg-type]
    except ValueError:
        return None


def render_editor(form: InvoiceForm, invoice: Invoice | None, status: int = 200) -> Response:
    draft = draft_input(form, arca_today(get_arca()))
    letter = preview_letter(draft, invoice)
    return render(
        "invoices/edit.html",
        status=status,
        form=form,
        invoice=invoice,
        original=invoice.associated_invoice if invoice else None,
        letter=letter,
        letter_reason=letter_reason(draft, letter),
        currency=draft.currency,
        totals=safe_totals(draft, letter),
        line_count=len(parsed_lines(form)),
        kinds=VoucherKind,
        today=dt.date.today(),
        fce=fce_context(form, draft, letter, invoice),
        export_panel=export_context(form, draft, letter, invoice),
    )


@bp.post("/fce")
@organization_required
def fce_status() -> Response:
    """The editor's FCE offer or, with FCE on, what it still lacks; from the form as it is
    (nothing saved). Asks ARCA's wsfecred at most once a day per receiver (cached)."""
    form = editor_form()
    invoice = autosaved_draft()
    draft = draft_input(form, arca_today(get_arca()))
    letter = preview_letter(draft, invoice)
    return render("invoices/_fce.html", form=form, fce=fce_context(form, draft, letter, invoice))


def fce_context(
    form: InvoiceForm, draft: DraftInput, letter: str, invoice: Invoice | None
) -> dict[str, object]:
    """What the editor's FCE panel shows: an FCE note's optional 22; else whether FCE is on,
    ARCA's obligation when FCE is called for (the offer), and FCE's own problems."""
    organization = g.membership.organization
    note = invoice is not None and invoice.associated_invoice_id is not None
    chosen = is_fce_chosen(form) and not note
    customer = receiver_of(draft)
    doc_type = customer.doc_type if customer else DocumentType.OTHER
    problems = []
    if chosen:
        today = arca_today(get_arca())
        problems = fce_draft_problems(
            organization.cbu, doc_type, draft.concept, draft.issue_date, today, draft.payment_due
        )
    return {
        "note": note and invoice is not None and invoice.is_fce,
        "on": chosen,
        # Only a plain invoice is offered FCE (a note follows its original).
        "offer": None if note or chosen else editor_fce_offer(draft, letter, customer),
        "problems": problems,
        "organization": organization,
    }


def editor_fce_offer(
    draft: DraftInput, letter: str, customer: Customer | None
) -> FceObligation | None:
    """ARCA's obligation when this draft should be an FCE (see `fce.fce_offer`), else None."""
    totals = safe_totals(draft, letter)
    if customer is None or totals is None:
        return None
    return fce_offer(
        db.session,
        current_organization_id(),
        letter,
        customer.doc_type,
        customer.doc_number,
        totals.total,  # type: ignore[attr-defined]
        draft.currency_rate,
        draft.issue_date,
        get_arca(),
    )


def receiver_of(draft: DraftInput) -> Customer | None:
    """The chosen customer, if it is this organization's."""
    if draft.customer_id is None:
        return None
    customer = db.session.get(Customer, draft.customer_id)
    if customer is None or customer.organization_id != current_organization_id():
        return None
    return customer


# --- Factura E: the editor's export panel -----------------------------------------------------


@bp.post("/export-panel")
@organization_required
def export_panel() -> Response:
    """The editor's export panel, from the form as it is (nothing saved): shown when the
    customer is abroad (a Factura E), its destination the customer's country by default."""
    form = editor_form()
    invoice = autosaved_draft()
    draft = draft_input(form, arca_today(get_arca()))
    letter = preview_letter(draft, invoice)
    panel = export_context(form, draft, letter, invoice)
    return render("invoices/_export.html", form=form, export_panel=panel)


def export_context(
    form: InvoiceForm, draft: DraftInput, letter: str, invoice: Invoice | None
) -> dict[str, object] | None:
    """What the export panel shows; None when the voucher is not a Factura E. A newly chosen
    customer brings its country as the destination (the user may change it)."""
    if letter != "E":
        return None
    customer = receiver_of(draft)
    if customer is not None and form.export_customer.data != str(customer.id):
        form.export_customer.data = str(customer.id)
        form.export_country.data = str(customer.country or "")
    note = invoice is not None and invoice.associated_invoice_id is not None
    goods = draft.concept in (1, 3)
    return {"goods": goods, "permits": goods and not note, "customer": customer}


def export_form_data(invoice: Invoice) -> dict[str, object]:
    """A saved Factura E's export data as the panel's fields."""
    if not invoice.is_export:
        return {}
    permits = [
        {"permit_id": p["permit_id"], "destination_country": str(p["destination_country"])}
        for p in invoice.permits
    ]
    permit = invoice.permit_existing
    return {
        "export_customer": str(invoice.customer_id or ""),
        "export_country": str(invoice.destination_country or ""),
        "export_language": str(invoice.language or 1),
        "export_incoterms": invoice.incoterms or "",
        "export_incoterms_detail": invoice.incoterms_detail or "",
        "export_payment_terms": invoice.export_payment_terms or "",
        "export_permit_existing": "" if permit is None else ("S" if permit else "N"),
        "export_permits": permits + [{}] * (MAX_PERMITS - len(permits)),
    }


# Routes of the contingency (CAEA) on this blueprint: registered when this module is imported.
import blueprints.invoices.contingency_views  # noqa: E402, F401
