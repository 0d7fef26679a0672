"""Organización → Webhooks: endpoints (list, create, edit, delete), their secret (shown on
demand, rotated), a test event, and the delivery log with "Reenviar". Owners and admins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, url_for
from flask_babel import gettext as _

from blueprints.organizations.models import MANAGER_ROLES
from blueprints.webhooks import delivery as _delivery  # noqa: F401 (registers the task kinds)
from blueprints.webhooks import services
from blueprints.webhooks.forms import EndpointForm, event_labels
from blueprints.webhooks.models import WebhookEndpoint
from core.db import db
from core.errors import DomainError
from core.tenancy import current_organization_id, role_required
from core.web import attach_error, form_status, render, see_other

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


@bp.get("/")
@role_required(*MANAGER_ROLES)
def index() -> Response:
    return render_index(EndpointForm(formdata=None))


@bp.post("/")
@role_required(*MANAGER_ROLES)
def create() -> Response:
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            endpoint = services.create_endpoint(
                db.session,
                current_organization_id(),
                form.url.data or "",
                form.events.data or [],
                form.description.data or "",
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            flash(_("Creaste el webhook. Copiá su secreto para verificar las firmas."), "success")
            return see_other(url_for("webhooks.show", endpoint_id=endpoint.id))
    return render_index(form, status=form_status(form))


@bp.get("/<int:endpoint_id>")
@role_required(*MANAGER_ROLES)
def show(endpoint_id: int) -> Response:
    endpoint = services.get_endpoint(db.session, current_organization_id(), endpoint_id)
    form = EndpointForm(formdata=None, obj=endpoint)
    return render_endpoint(endpoint, form)


@bp.post("/<int:endpoint_id>")
@role_required(*MANAGER_ROLES)
def update(endpoint_id: int) -> Response:
    endpoint = services.get_endpoint(db.session, current_organization_id(), endpoint_id)
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            services.update_endpoint(
                db.session,
                endpoint,
                form.url.data or "",
                form.events.data or [],
                form.description.data or "",
                bool(form.enabled.data),
            )
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            flash(_("Guardaste los cambios del webhook."), "success")
            return see_other(url_for("webhooks.show", endpoint_id=endpoint_id))
    return render_endpoint(endpoint, form, status=form_status(form))


@bp.post("/<int:endpoint_id>/delete")
@role_required(*MANAGER_ROLES)
def delete(endpoint_id: int) -> Response:
    endpoint = services.get_endpoint(db.session, current_organization_id(), endpoint_id)
    services.delete_endpoint(db.session, endpoint)
    flash(_("Borraste el webhook."), "success")
    return see_other(url_for("webhooks.index"))


@bp.post("/<int:endpoint_id>/secret")
@role_required(*MANAGER_ROLES)
def secret(endpoint_id: int) -> Response:
    """The secret, on demand (a POST: never in a link, a log or a cache)."""
    endpoint = services.get_endpoint(db.session, current_organization_id(), endpoint_id)
    response = render(
        "webhooks/show.html",
        "webhooks/_secret.html",
        **_context(endpoint, EndpointForm(formdata=None, obj=endpoint)),
        secret=services.reveal_secret(endpoint),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:endpoint_id>/rotate")
@role_required(*MANAGER_ROLES)
def rotate(endpoint_id: int) -> Response:
    endpoint = services.get_endpoint(db.session, current_organization_id(), endpoint_id)
    new = services.rotate_secret(db.session, endpoint)
    response = render(
        "webhooks/show.html",
        "webhooks/_secret.html",
        **_context(endpoint, EndpointForm(formdata=None, obj=endpoint)),
        secret=new,
        rotated=True,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:endpoint_id>/test")
@role_required(*MANAGER_ROLES)
def test(endpoint_id: int) -> Response:
    endpoint = services.get_endpoint(db.session, current_organization_id(), endpoint_id)
    services.send_test_event(db.session, endpoint)
    flash(_("Enviamos un evento de prueba: miralo en el registro."), "success")
    return see_other(url_for("webhooks.show", endpoint_id=endpoint_id))


@bp.post("/deliveries/<int:delivery_id>/resend")
@role_required(*MANAGER_ROLES)
def resend(delivery_id: int) -> Response:
    found = services.get_delivery(db.session, current_organization_id(), delivery_id)
    endpoint_id = found.endpoint_id
    services.resend(db.session, found)
    flash(_("Reenviamos el evento."), "success")
    return see_other(url_for("webhooks.show", endpoint_id=endpoint_id))


@bp.get("/<int:endpoint_id>/deliveries")
@role_required(*MANAGER_ROLES)
def deliveries(endpoint_id: int) -> Response:
    """The log alone (htmx polls it); the endpoint's page otherwise."""
    endpoint = services.get_endpoint(db.session, current_organization_id(), endpoint_id)
    context = _context(endpoint, EndpointForm(formdata=None, obj=endpoint))
    return render("webhooks/show.html", "webhooks/_deliveries.html", **context)


def _context(endpoint: WebhookEndpoint, form: EndpointForm) -> dict[str, Any]:
    log = services.list_deliveries(db.session, current_organization_id(), endpoint.id)
    types = services.event_types(db.session, log)
    return {
        "endpoint": endpoint,
        "form": form,
        "deliveries": log,
        "types": types,
        "labels": event_labels(),
    }


def render_endpoint(endpoint: WebhookEndpoint, form: EndpointForm, status: int = 200) -> Response:
    return render("webhooks/show.html", status=status, **_context(endpoint, form))


def render_index(form: EndpointForm, status: int = 200) -> Response:
    endpoints = services.list_endpoints(db.session, current_organization_id())
    return render(
        "webhooks/index.html", status=status, form=form, endpoints=endpoints, labels=event_labels()
    )
