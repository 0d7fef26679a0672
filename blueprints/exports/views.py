from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from flask_login import current_user

from blueprints.exports.models import Export
from blueprints.exports.services import (
    EXPORT_KINDS,
    download_export,
    get_export,
    stalled,
)
from core.db import db, utcnow
from core.tenancy import current_organization_id, organization_required
from core.web import render

bp = Blueprint("exports", __name__, url_prefix="/exports")


@bp.get("/<int:export_id>")
@organization_required
def detail(export_id: int) -> Response:
    """The export's page. Always whole: an export form posted by htmx lands here through
    HX-Location, which wants the page; the panel polls `status` for itself."""
    export = get_export(db.session, current_organization_id(), export_id)
    return render("exports/detail.html", **status_context(export))


@bp.get("/<int:export_id>/status")
@organization_required
def status(export_id: int) -> Response:
    """The progress panel alone; it polls itself until the file is ready or failed."""
    export = get_export(db.session, current_organization_id(), export_id)
    return render("exports/_status.html", **status_context(export))


@bp.get("/<int:export_id>/download")
@organization_required
def download(export_id: int) -> Response:
    export = get_export(db.session, current_organization_id(), export_id)
    content = download_export(db.session, export, current_user)
    response = Response(content, mimetype=export.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def status_context(export: Export) -> dict[str, Any]:
    kind = EXPORT_KINDS.get(export.kind)
    return {
        "export": export,
        "title": kind.title(export.parameters) if kind else export.kind,
        "stalled": stalled(export, utcnow()),
    }
