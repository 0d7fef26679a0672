"""Auditoría: the organization's audit log for its owners and accountants."""

from __future__ import annotations

from flask import Blueprint, Response, request, stream_with_context, url_for
from flask_login import current_user

from blueprints.audit.labels import action_label, detail_lines, subject_label
from blueprints.audit.listing import (
    existing_subjects,
    filters_from,
    list_page,
    seen_actions,
    seen_actors,
    start_csv,
)
from blueprints.organizations.models import Role
from core.db import db
from core.tenancy import current_organization_id, role_required
from core.web import render

bp = Blueprint("audit", __name__, url_prefix="/auditoria")

READERS = (Role.OWNER, Role.ACCOUNTANT)
# Where a still existing subject is shown: its page, or the list it lives in.
SUBJECT_PAGES = {
    "invoice": lambda subject_id: url_for("invoices.detail", invoice_id=subject_id),
    "customer": lambda subject_id: url_for("customers.detail", customer_id=subject_id),
    "webhook_endpoint": lambda subject_id: url_for("webhooks.show", endpoint_id=subject_id),
    "certificate": lambda _id: url_for("certificates.index"),
    "point_of_sale": lambda _id: url_for("points_of_sale.index"),
    "api_key": lambda _id: url_for("api_pages.index"),
}


@bp.get("/")
@role_required(*READERS)
def index() -> Response:
    filters = filters_from(request.args)
    organization_id = current_organization_id()
    results = list_page(db.session, organization_id, filters)
    subjects = existing_subjects(db.session, organization_id, results.entries)
    return render(
        "audit/index.html",
        "audit/_results.html",
        filters=filters,
        results=results,
        links={key: SUBJECT_PAGES[key[0]](key[1]) for key in subjects},
        actors=seen_actors(db.session, organization_id),
        actions=seen_actions(db.session, organization_id),
        action_label=action_label,
        subject_label=subject_label,
        detail_lines=detail_lines,
    )


@bp.get("/auditoria.csv")
@role_required(*READERS)
def export() -> Response:
    """The filtered log as CSV, streamed; the download itself is recorded in the log."""
    filters = filters_from(request.args)
    rows = start_csv(db.session, current_organization_id(), filters, current_user)
    response = Response(stream_with_context(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="auditoria.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
