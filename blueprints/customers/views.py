from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response, flash, g, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from arca.export_codes import country_name
from blueprints.certificates.connection import NoActiveCertificate
from blueprints.customers.exports import CUSTOMERS_CSV, KINDS, query_args, query_from
from blueprints.customers.forms import ConfirmImportForm, CustomerForm, EmptyForm, ImportForm
from blueprints.customers.imports import (
    UploadedCsv,
    confirm_import,
    get_import,
    preview_import,
    progress,
)
from blueprints.customers.models import Customer
from blueprints.customers.padron import (
    looks_like_cuit,
    lookup_day,
    lookup_taxpayer,
    padron_values,
)
from blueprints.customers.services import (
    CustomerInvalid,
    CustomerQuery,
    create_customer,
    customer_in_use,
    delete_customer,
    display_document,
    document_types,
    fields_of,
    get_customer,
    has_customers,
    receiver_conditions,
    search_customers,
    set_archived,
    update_customer,
)
from blueprints.dashboard.services import SETUP_CHECKS
from blueprints.exports.services import EXPORT_KINDS, start_export
from blueprints.organizations.models import MANAGER_ROLES, Role
from core.arca import get_arca
from core.db import db
from core.errors import DomainError
from core.tenancy import current_organization_id, organization_required, role_required
from core.web import attach_error, form_status, render, see_other, wants_fragment

bp = Blueprint("customers", __name__, url_prefix="/customers")

SETUP_CHECKS["customer"] = has_customers
EXPORT_KINDS.update(KINDS)

# Who may write customers: everyone who invoices; the accountant reads and exports.
EDITORS = (*MANAGER_ROLES, Role.MEMBER)


def customer_tables() -> tuple[dict[int, str], dict[int, str]]:
    """ARCA's document types and receiver conditions, read once per request (every row shows
    their labels)."""
    if "customer_tables" not in g:
        g.customer_tables = (document_types(), receiver_conditions())
    return g.customer_tables


@bp.app_context_processor
def customer_labels() -> dict[str, object]:
    return {
        "customer_tables": customer_tables,
        "display_document": display_document,
        "country_name": country_name,
    }


# --- the list -----


@bp.get("/")
@organization_required
def index() -> Response:
    query = parse_query()
    results = search_customers(db.session, current_organization_id(), query)
    # "Load more" asks for the next rows only; the search box for the whole result block.
    fragment = "customers/_page.html" if query.after else "customers/_results.html"
    return render("customers/index.html", fragment, query=query, results=results)


@bp.post("/export")
@organization_required
def export() -> Response:
    """The list's CSV (its search, status and order), built by a job; the export's page shows
    the progress and the download."""
    parameters = query_args(query_from(request.form))
    export_id = start_export(
        db.session, current_organization_id(), CUSTOMERS_CSV, parameters, current_user
    )
    return see_other(url_for("exports.detail", export_id=export_id))


def parse_query() -> CustomerQuery:
    return replace(query_from(request.args), after=request.args.get("after") or None)


# --- one customer -----


@bp.route("/new", methods=["GET", "POST"])
@role_required(*EDITORS)
def new() -> Response:
    form = CustomerForm()
    if form.validate_on_submit():
        try:
            customer = create_customer(
                db.session, current_organization_id(), form.fields(), current_user
            )
        except DomainError as error:
            show_error(form, error)
        else:
            flash(_("Agregaste a «%(name)s».", name=customer.legal_name), "success")
            return see_other(url_for("customers.detail", customer_id=customer.id))
    elif request.method == "GET":
        form.doc_type.data = "80"
    return render("customers/new.html", status=form_status(form), form=form)


@bp.get("/<int:customer_id>")
@organization_required
def detail(customer_id: int) -> Response:
    customer = get_customer(db.session, current_organization_id(), customer_id)
    return render(
        "customers/detail.html",
        customer=customer,
        action_form=EmptyForm(),
        # Only offered when it would work: a customer with invoices is archived instead.
        deletable=not customer_in_use(db.session, customer.id),
    )


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@role_required(*EDITORS)
def edit(customer_id: int) -> Response:
    customer = get_customer(db.session, current_organization_id(), customer_id)
    form = CustomerForm(data=fields_of(customer).__dict__)
    if form.validate_on_submit():
        try:
            update_customer(db.session, customer, form.fields(), current_user)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            flash(_("Guardamos los datos de «%(name)s».", name=customer.legal_name), "success")
            return see_other(url_for("customers.detail", customer_id=customer.id))
    return render("customers/edit.html", status=form_status(form), form=form, customer=customer)


@bp.post("/padron")
@role_required(*EDITORS)
def padron() -> Response:
    """Name, IVA condition and address from ARCA's padrón, as the form's fields partial.

    Typing (`auto`) asks only once the number is a whole valid CUIT (204 until then); the
    button always answers, with the reason when it cannot look the CUIT up."""
    form = CustomerForm()
    cuit = str(form.doc_number.data or "")
    automatic = request.form.get("auto") == "1"
    if automatic and not looks_like_cuit(cuit):
        return Response(status=204)
    try:
        lookup = lookup_taxpayer(db.session, current_organization_id(), cuit, get_arca())
    except NoActiveCertificate as error:
        # Typing stays quiet without a certificate (nothing could ever be found); the button says.
        return Response(status=204) if automatic else padron_problem(error, "error")
    except DomainError as error:
        return padron_problem(error, "warning" if error.status == 404 else "error")
    for name, value in padron_values(lookup.taxpayer).items():
        form[name].data = value
    return render(
        "customers/new.html",
        "customers/_padron.html",
        form=form,
        padron_lookup=lookup,
        padron_day=lookup_day(lookup),
        padron_message=lookup.warning,
    )


def padron_problem(error: DomainError, level: str) -> Response:
    """The reason alone, in the status line: the fields keep whatever was typed meanwhile."""
    response = make_response(
        render_template(
            "customers/_padron_status.html", padron_message=error.message, padron_level=level
        )
    )
    response.headers["HX-Retarget"] = "#padron-status"
    response.headers["HX-Reswap"] = "innerHTML"
    return response


# --- inline edit and row actions (the list's htmx endpoints) -----


@bp.get("/<int:customer_id>/row")
@organization_required
def row(customer_id: int) -> Response:
    customer = get_customer(db.session, current_organization_id(), customer_id)
    return render_row(customer)


@bp.route("/<int:customer_id>/row/edit", methods=["GET", "POST"])
@role_required(*EDITORS)
def edit_row(customer_id: int) -> Response:
    customer = get_customer(db.session, current_organization_id(), customer_id)
    stored = fields_of(customer)
    form = CustomerForm(prefix=f"customer-{customer.id}", data=stored.__dict__)
    if form.validate_on_submit():
        try:
            update_customer(db.session, customer, form.fields(**stored.__dict__), current_user)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            return render_row(customer)
    return render(
        "customers/edit.html",
        "customers/_row_edit.html",
        status=form_status(form),
        form=form,
        customer=customer,
    )


@bp.post("/<int:customer_id>/archive")
@role_required(*EDITORS)
def archive(customer_id: int) -> Response:
    return change_archived(customer_id, True)


@bp.post("/<int:customer_id>/unarchive")
@role_required(*EDITORS)
def unarchive(customer_id: int) -> Response:
    return change_archived(customer_id, False)


def change_archived(customer_id: int, archived: bool) -> Response:
    EmptyForm()  # CSRF is checked globally
    customer = get_customer(db.session, current_organization_id(), customer_id)
    set_archived(db.session, customer, archived, current_user)
    if wants_fragment():
        return render_row(customer)
    message = _("Archivaste a «%(name)s».") if archived else _("«%(name)s» volvió a la lista.")
    flash(message % {"name": customer.legal_name}, "success")
    return see_other(url_for("customers.detail", customer_id=customer.id))


@bp.post("/<int:customer_id>/delete")
@role_required(*MANAGER_ROLES)
def delete(customer_id: int) -> Response:
    EmptyForm()
    customer = get_customer(db.session, current_organization_id(), customer_id)
    name = customer.legal_name
    delete_customer(db.session, customer, current_user)
    if wants_fragment():
        return Response("", 200)  # the row swaps itself out
    flash(_("Borramos a «%(name)s».", name=name), "success")
    return see_other(url_for("customers.index"))


def render_row(customer: Customer) -> Response:
    return render(
        "customers/detail.html",
        "customers/_row.html",
        customer=customer,
        action_form=EmptyForm(),
        deletable=not customer_in_use(db.session, customer.id),
    )


def show_error(form: CustomerForm, error: DomainError) -> None:
    if isinstance(error, CustomerInvalid):
        form.show_problems(error.problems)
    else:
        attach_error(form, error)


# --- CSV import -----


@bp.route("/import", methods=["GET", "POST"])
@role_required(*MANAGER_ROLES)
def import_file() -> Response:
    form = ImportForm()
    if form.validate_on_submit():
        storage = form.file.data
        upload = UploadedCsv(storage.filename or "clientes.csv", storage.read())
        try:
            record = preview_import(db.session, current_organization_id(), current_user, upload)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            return see_other(url_for("customers.import_preview", import_id=record.id))
    return render("customers/import.html", status=form_status(form), form=form)


@bp.get("/imports/<int:import_id>")
@role_required(*MANAGER_ROLES)
def import_preview(import_id: int) -> Response:
    record = get_import(db.session, current_organization_id(), import_id)
    return render(
        "customers/import_preview.html",
        "customers/_import_status.html",
        record=record,
        done_rows=progress(record),
        form=ConfirmImportForm(),
    )


@bp.post("/imports/<int:import_id>/confirm")
@role_required(*MANAGER_ROLES)
def confirm(import_id: int) -> Response:
    record = get_import(db.session, current_organization_id(), import_id)
    form = ConfirmImportForm()
    if form.validate_on_submit():
        confirm_import(db.session, record, form.mode.data, current_user)
        return see_other(url_for("customers.import_preview", import_id=import_id))
    return render(
        "customers/import_preview.html",
        status=422,
        record=record,
        done_rows=progress(record),
        form=form,
    )
