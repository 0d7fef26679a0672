"""The organization's API page (keys: list, create, revoke, usage) and the API reference."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, Response, current_app, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints.api.docs import build_document
from blueprints.api.forms import ApiKeyForm, scope_labels
from blueprints.api.reference import build_reference
from blueprints.api.services import create_api_key, get_api_key, list_api_keys, revoke_api_key
from blueprints.api.usage import usage_by_day
from blueprints.auth.recovery import verified_email_required
from blueprints.organizations.models import MANAGER_ROLES
from core.arca import get_arca
from core.cache import get_cache
from core.db import db, utcnow
from core.errors import DomainError
from core.tenancy import current_organization_id, role_required
from core.web import attach_error, form_status, render, see_other

bp = Blueprint("api_pages", __name__)

CHART_HEIGHT = 32
BAR_WIDTH = 8
BAR_STEP = 10


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    day: dt.date
    count: int


@dataclass(frozen=True)
class UsageChart:
    """Requests per day as SVG bars with attributes only (the CSP allows no inline style)."""

    bars: list[Bar]
    total: int
    width: int
    height: int = CHART_HEIGHT


def build_chart(series: list[tuple[dt.date, int]]) -> UsageChart:
    peak = max((count for _day, count in series), default=0)
    bars = []
    for index, (day, count) in enumerate(series):
        height = max(round(count / peak * CHART_HEIGHT), 1) if count and peak else 0
        bars.append(Bar(index * BAR_STEP, CHART_HEIGHT - height, height, day, count))
    total = sum(count for _day, count in series)
    return UsageChart(bars, total, width=len(series) * BAR_STEP)


@bp.get("/organizations/api")
@role_required(*MANAGER_ROLES)
def index() -> Response:
    return render_keys(ApiKeyForm(formdata=None))


@bp.post("/organizations/api/keys")
@role_required(*MANAGER_ROLES)
@verified_email_required
def create() -> Response:
    form = ApiKeyForm()
    secret = None
    if form.validate_on_submit():
        environment = get_arca().environment_name
        try:
            _key, secret = create_api_key(
                db.session, current_organization_id(), current_user, form.key_request(), environment
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            form = ApiKeyForm(formdata=None)
    response = render_keys(form, secret=secret, status=form_status(form))
    response.headers["Cache-Control"] = "no-store"  # the secret is in this page, once
    return response


@bp.post("/organizations/api/keys/<int:key_id>/revoke")
@role_required(*MANAGER_ROLES)
def revoke(key_id: int) -> Response:
    key = get_api_key(db.session, current_organization_id(), key_id)
    revoke_api_key(db.session, get_cache(), key, current_user)
    flash(_("Revocaste la clave «%(name)s»: ya no funciona.", name=key.name), "success")
    return see_other(url_for("api_pages.index"))


def render_keys(form: ApiKeyForm, secret: str | None = None, status: int = 200) -> Response:
    keys = list_api_keys(db.session, current_organization_id())
    now = utcnow()
    series = usage_by_day(db.session, get_cache(), [key.id for key in keys], now)
    return render(
        "api_pages/keys.html",
        status=status,
        form=form,
        keys=keys,
        charts={key_id: build_chart(days) for key_id, days in series.items()},
        secret=secret,
        now=now,
        scope_labels=scope_labels(),
        environment=get_arca().environment_name,
    )


@bp.get("/api/docs")
def docs() -> Response:
    """The API reference, server-rendered from the same OpenAPI document (public)."""
    reference = build_reference(build_document(current_app))
    return render("api_pages/docs.html", reference=reference)
