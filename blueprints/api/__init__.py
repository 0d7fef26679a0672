"""The JSON API v1 (`/api/v1`): views parse typed models, call the pages' services, serialize.

`api` is a flask-openapi3 APIBlueprint; each resource module registers its routes on it and is
imported at the bottom of this file, so registering `api` registers them all. The app is a
flask-openapi3 `OpenAPI` (a Flask subclass) built with `openapi_options()`; `init_api` wires
the blueprint, the key pages, the rate limits and the problem-details error handlers.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_openapi3 import APIBlueprint, Info

from blueprints.api.problems import problem_responses, validation_problem
from blueprints.api.schemas.common import Problem

# Every operation may answer these; resource views add their own (409…) with `responses=`.
COMMON_RESPONSES = problem_responses(400, 401, 403, 404, 422, 429)


def operation_id(*, bp_name: str = "", name: str = "", path: str = "", method: str = "") -> str:
    """The view function's name: `list_customers`, `authorize_invoice` (unique; tested)."""
    return name


api = APIBlueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    abp_responses=COMMON_RESPONSES,  # type: ignore[arg-type]
    operation_id_callback=operation_id,
)


def openapi_options() -> dict[str, Any]:
    """The keyword arguments of `flask_openapi3.OpenAPI` for the app."""
    return {
        "info": Info(
            title="Talonario API",
            version="1",
            description="Electronic invoicing with ARCA (Argentina): customers, invoices, CAE. "
            "Authenticate with `Authorization: Bearer tal_…` (an API key made on the "
            "organization's API page). Errors are RFC 9457 problem details.",
        ),
        "security_schemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "An API key, tal_…"}
        },
        "doc_ui": False,
        "validation_error_status": 422,
        "validation_error_model": Problem,
        "validation_error_callback": validation_problem,
    }


def init_api(app: Flask) -> None:
    """Call after `init_web` and `init_security`: the API's error handlers answer /api/
    requests with problems and hand the pages' errors to `core.web`'s handlers."""
    from blueprints.api.limits import init_limits
    from blueprints.api.pages import bp as pages_bp
    from blueprints.api.problems import init_problems
    from core.security import csrf

    init_problems(app)
    init_limits(app)
    csrf.exempt(api)  # bearer requests carry no cookie to forge
    app.register_api(api)  # type: ignore[attr-defined]
    app.register_blueprint(pages_bp)


# Resource modules register their routes on `api` (imported for that effect).
from blueprints.api import (  # noqa: E402, F401
    catalog,
    customers,
    docs,
    invoices,
    organization,
    padron,
    webhooks,
)
