from __future__ import annotations

from flask import Blueprint, Response, current_app, g

from blueprints.certificates.services import active_certificate, certificate_alert
from blueprints.dashboard.charts import (
    CLASSES,
    columns,
    gauge_arc,
    month_label,
    monthly_income,
    top_customers,
)
from blueprints.dashboard.services import build_setup_steps, environment_label
from blueprints.invoices.preflight_adapter import arca_today
from blueprints.organizations.models import MANAGER_ROLES
from blueprints.webhooks.notices import disabled_endpoints
from core.arca import get_arca
from core.db import db
from core.tenancy import organization_required
from core.web import render

bp = Blueprint("dashboard", __name__)


@bp.app_context_processor
def inject_environment_label() -> dict[str, object]:
    return {"environment_label": environment_label}


@bp.get("/")
@organization_required
def index() -> Response:
    steps = build_setup_steps(db.session, g.organization_id, current_app.view_functions)
    gateway = get_arca()
    environment = gateway.environment_name
    now = gateway.now()
    today = arca_today(gateway)
    months = monthly_income(db.session, g.organization_id, today)
    return render(
        "dashboard/index.html",
        now=now,
        certificate=active_certificate(db.session, g.organization_id, environment),
        certificate_alert=certificate_alert(db.session, g.organization_id, environment, now),
        disabled_webhooks=(
            disabled_endpoints(db.session, g.organization_id) if g.role in MANAGER_ROLES else 0
        ),
        steps=steps,
        setup_done=all(step.done for step in steps),
        arca_environment=environment,
        arca_environment_label=environment_label(environment),
        months=months,
        month_columns=columns(months),
        chart_classes=CLASSES,
        top_customers=top_customers(db.session, g.organization_id, months[0].month, today),
        gauge_arc=gauge_arc,
        month_label=month_label,
    )
