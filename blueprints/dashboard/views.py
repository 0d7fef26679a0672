from __future__ import annotations

from flask import Blueprint, Response, current_app, g

from blueprints.dashboard.services import build_setup_steps, environment_label
from core.db import db
from core.tenancy import organization_required
from core.web import render

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@organization_required
def index() -> Response:
    steps = build_setup_steps(db.session, g.organization_id, current_app.view_functions)
    environment = current_app.config["ARCA_ENVIRONMENT"]
    return render(
        "dashboard/index.html",
        steps=steps,
        setup_done=all(step.done for step in steps),
        arca_environment=environment,
        arca_environment_label=environment_label(environment),
    )
