"""The full export's page on the exports blueprint (owners only): the button and the latest
exports. Imported by `app.py` for its routes.

The generic export pages (`exports.detail`, `status`, `download` — the download audited as
`export.downloaded`) serve any kind to any member of the organization: for this kind a hook
keeps them to owners.
"""

from __future__ import annotations

from flask import Response, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.exports.models import Export
from blueprints.exports.organization import (
    KINDS,
    ORGANIZATION,
    organization_exports,
    start_organization_export,
)
from blueprints.exports.services import EXPORT_KINDS, stalled
from blueprints.exports.views import bp, status_context
from blueprints.organizations.models import Organization, Role
from core.db import db, utcnow
from core.errors import Forbidden
from core.tenancy import current_organization_id, role_required
from core.web import render, see_other

EXPORT_KINDS.update(KINDS)


@bp.get("/organization")
@role_required(Role.OWNER)
def organization() -> Response:
    exports = organization_exports(db.session, current_organization_id())
    now = utcnow()
    return render(
        "exports/organization.html",
        exports=exports,
        latest=status_context(exports[0]) if exports else None,
        stalled_ids={export.id for export in exports if stalled(export, now)},
    )


@bp.post("/organization")
@role_required(Role.OWNER)
def start_organization() -> Response:
    organization = db.session.get_one(Organization, current_organization_id())
    start_organization_export(db.session, organization, current_user)
    return see_other(url_for("exports.organization"))


@bp.before_request
def full_exports_for_owners() -> Response | None:
    """A full export through the generic pages: owners only. Other kinds, and requests
    without a member, pass untouched."""
    export_id = (request.view_args or {}).get("export_id")
    organization_id = g.get("organization_id")
    if export_id is None or organization_id is None or not current_user.is_authenticated:
        return None
    if request.endpoint not in ("exports.detail", "exports.status", "exports.download"):
        return None
    export = db.session.get(Export, export_id)
    if export is None or export.kind != ORGANIZATION or export.organization_id != organization_id:
        return None
    if g.get("role") != Role.OWNER:
        raise Forbidden(_("Solo los dueños pueden ver la exportación completa."))
    return None
