"""A customer's data-subject requests on the customers blueprint (owners and admins): export
everything held about them, erase it. Imported by `app.py` for its routes."""

from __future__ import annotations

from flask import Response, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.customers.forms import EmptyForm
from blueprints.customers.privacy import erase_customer, export_customer_data
from blueprints.customers.services import customer_in_use, get_customer
from blueprints.customers.views import bp
from blueprints.organizations.models import MANAGER_ROLES
from core.db import db
from core.tenancy import current_organization_id, role_required
from core.web import render, see_other

CONFIRMATION = "borrar"


@bp.post("/<int:customer_id>/privacy/export")
@role_required(*MANAGER_ROLES)
def privacy_export(customer_id: int) -> Response:
    """Everything held about the customer, as a ZIP (JSON and the PDFs)."""
    EmptyForm()  # CSRF is checked globally
    customer = get_customer(db.session, current_organization_id(), customer_id)
    data = export_customer_data(db.session, customer, current_user)
    response = Response(data.content, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{data.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/<int:customer_id>/privacy/erase")
@role_required(*MANAGER_ROLES)
def privacy_erase(customer_id: int) -> Response:
    """Erase the customer's data once the form's confirmation word is typed."""
    customer = get_customer(db.session, current_organization_id(), customer_id)
    if request.form.get("confirm", "").strip().lower() != CONFIRMATION:
        return render(
            "customers/detail.html",
            status=422,
            customer=customer,
            action_form=EmptyForm(),
            deletable=not customer_in_use(db.session, customer.id),
            privacy_error=_("Escribí «%(word)s» para confirmar el borrado.", word=CONFIRMATION),
        )
    name = customer.legal_name
    result = erase_customer(db.session, customer, current_user)
    if result.deleted:
        flash(_("Borramos a «%(name)s» y todos sus datos.", name=name), "success")
        return see_other(url_for("customers.index"))
    flash(
        _(
            "Borramos los datos personales de «%(name)s». Sus comprobantes se conservan hasta "
            "que venza el plazo legal.",
            name=name,
        ),
        "success",
    )
    return see_other(url_for("customers.detail", customer_id=customer_id))
