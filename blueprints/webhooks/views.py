"""Organización → Webhooks: endpoints (list, create, edit, delete), their secret (shown on
demand, rotated), a test event, and the delivery log with "Reenviar" and each delivery's
attempts. Owners and admins. `flask webhooks prune` trims the log (`retention`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.organizations.models import MANAGER_ROLES
from blueprints.webhooks import delivery as _delivery  # noqa: F401 (registers the task kinds)
from blueprints.webhooks import listing, services
from blueprints.webhooks.forms import EndpointForm, event_labels
from blueprints.webhooks.models import WebhookEndpoint
from blueprints.webhooks.retention import prune_command
from core.db import db
from core.errors import DomainError
from core.inputs import parse_id
from core.tenancy import current_organization_id, role_required
from core.web import attach_error, form_status, render, see_other

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
bp.cli.add_command(prune_command)  # flask webhooks prune


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
                current_user,
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
                current_user,
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
    services.delete_endpoint(db.session, endpoint, current_user)
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
    new = services.rotate_secret(db.session, endpoint, current_user)
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
    """The log alone (htmx polls it, "Más antiguos" pages it); the endpoint's page otherwise."""
    endpoint = services.get_endpoint(db.session, current_organization_id(), endpoint_id)
    context = _context(endpoint, EndpointForm(formdata=None, obj=endpoint))
    return render("webhooks/show.html", "webhooks/_deliveries.html", **context)


@bp.get("/<int:endpoint_id>/deliveries/<int:delivery_id>")
@role_required(*MANAGER_ROLES)
def delivery(endpoint_id: int, delivery_id: int) -> Response:
    """A delivery and its attempts, the last first (htmx polls them while it is pending)."""
    organization_id = current_organization_id()
    endpoint = services.get_endpoint(db.session, organization_id, endpoint_id)
    found = services.get_delivery(db.session, organization_id, delivery_id, endpoint_id)
    after = parse_id(request.args.get("after"))
    return render(
        "webhooks/delivery.html",
        "webhooks/_attempts.html",
        endpoint=endpoint,
        delivery=found,
        event_type=services.event_types(db.session, [found]).get(found.event_id, ""),
        attempts=listing.list_attempts(db.session, found, after),
        after=after,
    )


def _context(endpoint: WebhookEndpoint, form: EndpointForm) -> dict[str, Any]:
    after = parse_id(request.args.get("after"))
    log = listing.list_deliveries(db.session, current_organization_id(), endpoint.id, after)
    return {
        "endpoint": endpoint,
        "form": form,
        "deliveries": log.rows,
        "next_cursor": log.next_cursor,
        "after": after,
        "types": services.event_types(db.session, log.rows),
        "labels": event_labels(),
    }


def render_endpoint(endpoint: WebhookEndpoint, form: EndpointForm, status: int = 200) -> Response:
    return render("webhooks/show.html", status=status, **_context(endpoint, form))


def render_index(form: EndpointForm, status: int = 200) -> Response:
    endpoints = services.list_endpoints(db.session, current_organization_id())
    return render(
        "webhooks/index.html", status=status, form=form, endpoints=endpoints, labels=event_labels()
    )
