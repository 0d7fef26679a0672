"""RFC 9457 problem details: the one shape of every error under /api/, never HTML.

Errors the pages also raise (DomainError, HTTP errors) keep their handlers in `core.web`; for an
API request the handlers registered here answer instead. Pydantic's validation errors become a
422 listing each field with a message in the request's language (pydantic only speaks English).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, jsonify, request
from flask_babel import gettext as _
from flask_limiter import RateLimitExceeded
from flask_login import AnonymousUserMixin
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from core.db import db
from core.errors import DomainError, TooManyRequests
from core.i18n import N_
from core.web import _titles
from core.web import handle_domain_error as page_domain_error
from core.web import handle_http_error as page_http_error

PROBLEM_TYPE = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"


class ApiProblem(Exception):
    """Raised by the API's own plumbing (authentication, scopes): answered as a problem."""

    def __init__(
        self, status: int, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers or {}


def is_api_request() -> bool:
    """Everything under /api/ except the human-readable reference page."""
    path = request.path
    return (path == "/api" or path.startswith("/api/")) and not path.startswith("/api/docs")


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.content_type = PROBLEM_TYPE
    response.headers.extend(headers or {})
    response.vary.add("Accept-Language")
    return response


def title_for(status: int) -> str:
    return {401: _("No autenticado"), **_titles()}.get(status, "")


def problem_responses(*statuses: int) -> dict[int, dict[str, Any]]:
    """OpenAPI response objects for these error statuses, all with the Problem schema."""
    return {
        status: {
            "description": title_for_doc(status),
            "content": {PROBLEM_TYPE: {"schema": {"$ref": PROBLEM_REF}}},
        }
        for status in statuses
    }


def title_for_doc(status: int) -> str:
    # The document is written once per process, in English, outside any request's language.
    return {
        400: "Control characters (a NUL byte…) in the path, query or body",
        401: "Missing, unknown, revoked or expired API key",
        403: "The key lacks the scope this operation needs",
        404: "Not found (or belongs to another organization)",
        409: "Conflict with the current state",
        422: "Invalid input; `errors` lists each field",
        429: "Rate limit exceeded; see Retry-After",
    }.get(status, "Error")


# --- validation errors ------------------------------------------------------------------------


def validation_problem(error: ValidationError) -> Response:
    """flask-openapi3's `validation_error_callback`: a 422 problem listing every field."""
    errors = [
        {"field": ".".join(str(part) for part in detail["loc"]), "message": field_message(detail)}
        for detail in error.errors()
    ]
    detail = _("Revisá los datos enviados: hay %(count)s error(es).", count=len(errors))
    return problem(422, title_for(422), detail, errors=errors)


def field_message(detail: ErrorDetails) -> str:
    ctx = dict(detail.get("ctx") or {})
    if detail["type"] in ("value_error", "assertion_error") and "error" in ctx:
        # Raised by our own validators with a message already translated.
        return str(ctx["error"]).removeprefix("Assertion failed, ")
    if "expected" in ctx:
        ctx["expected"] = str(ctx["expected"]).replace(" or ", ", ")
    if detail["type"] == "string_too_short" and ctx.get("min_length") == 1:
        return _("No puede estar vacío.")
    message, limit = MESSAGES.get(detail["type"], (N_("El valor no es válido."), None))
    # Extra keys are ignored by %-formatting: each message uses the placeholders it names.
    return _(message, n=ctx.get(limit or "", ""), **ctx)


NUMBER = N_("Tiene que ser un número.")
INTEGER = N_("Tiene que ser un número entero.")
DECIMAL = N_('Tiene que ser un importe escrito como texto, por ejemplo "1500.50".')
DAY = N_("Tiene que ser una fecha AAAA-MM-DD.")
MOMENT = N_("Tiene que ser una fecha y hora ISO 8601.")
OBJECT = N_("Tiene que ser un objeto JSON.")
BOOLEAN = N_("Tiene que ser true o false.")
JSON_INVALID = N_("No es JSON válido.")
URL = N_("Tiene que ser una dirección web válida.")
# pydantic's error type → (message, the context value shown as %(n)s).
MESSAGES: dict[str, tuple[str, str | None]] = {
    "missing": (N_("Falta este dato."), None),
    "extra_forbidden": (N_("Este campo no existe."), None),
    "string_type": (N_("Tiene que ser texto."), None),
    "string_too_short": (N_("Tiene que tener al menos %(n)s caracteres."), "min_length"),
    "string_too_long": (N_("Puede tener hasta %(n)s caracteres."), "max_length"),
    "string_pattern_mismatch": (N_("No tiene el formato esperado (%(pattern)s)."), None),
    "int_type": (INTEGER, None),
    "int_parsing": (INTEGER, None),
    "int_from_float": (INTEGER, None),
    "float_type": (NUMBER, None),
    "float_parsing": (NUMBER, None),
    "decimal_type": (DECIMAL, None),
    "decimal_parsing": (DECIMAL, None),
    "decimal_max_digits": (N_("Tiene demasiados dígitos (hasta %(n)s)."), "max_digits"),
    "decimal_max_places": (N_("Tiene demasiados decimales (hasta %(n)s)."), "decimal_places"),
    "decimal_whole_digits": (
        N_("Tiene demasiados dígitos enteros (hasta %(n)s)."),
        "whole_digits",
    ),
    "greater_than": (N_("Tiene que ser mayor que %(n)s."), "gt"),
    "greater_than_equal": (N_("Tiene que ser mayor o igual que %(n)s."), "ge"),
    "less_than": (N_("Tiene que ser menor que %(n)s."), "lt"),
    "less_than_equal": (N_("Tiene que ser menor o igual que %(n)s."), "le"),
    "too_short": (N_("Tiene que tener al menos %(n)s elementos."), "min_length"),
    "too_long": (N_("Puede tener hasta %(n)s elementos."), "max_length"),
    "bool_type": (BOOLEAN, None),
    "bool_parsing": (BOOLEAN, None),
    "date_type": (DAY, None),
    "date_parsing": (DAY, None),
    "date_from_datetime_parsing": (DAY, None),
    "date_from_datetime_inexact": (DAY, None),
    "datetime_type": (MOMENT, None),
    "datetime_parsing": (MOMENT, None),
    "datetime_from_date_parsing": (MOMENT, None),
    "enum": (N_("Valores posibles: %(expected)s."), None),
    "literal_error": (N_("Valores posibles: %(expected)s."), None),
    "list_type": (N_("Tiene que ser una lista."), None),
    "dict_type": (OBJECT, None),
    "model_type": (OBJECT, None),
    "model_attributes_type": (OBJECT, None),
    "json_invalid": (JSON_INVALID, None),
    "json_type": (JSON_INVALID, None),
    "url_parsing": (URL, None),
    "url_type": (URL, None),
}


# --- handlers ---------------------------------------------------------------------------------


def handle_api_problem(error: ApiProblem) -> Response:
    db.session.rollback()
    return problem(error.status, error.title, error.detail, headers=error.headers)


def handle_domain_error(error: DomainError) -> Response:
    """A service's refusal: under /api/, a problem naming the field it is about."""
    if not is_api_request():
        return page_domain_error(error)
    db.session.rollback()
    errors = [{"field": error.field, "message": error.message}] if error.field else None
    headers = {}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
    return problem(error.status, title_for(error.status), error.message, errors, headers)


def handle_http_error(error: HTTPException) -> Response:
    """404 for unknown paths, 405, 413, 429 from the rate limits…: problems under /api/."""
    if not is_api_request():
        return page_http_error(error)
    db.session.rollback()
    status = error.code or 500
    headers = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return problem(status, title_for(status), http_detail(error), headers=headers)


def http_detail(error: HTTPException) -> str:
    if isinstance(error, RateLimitExceeded):
        amount = error.limit.limit.amount
        return _(
            "Se superó el límite de %(amount)s pedidos por minuto. Esperá los segundos que "
            "indica Retry-After y reintentá.",
            amount=amount,
        )
    details = {
        404: _("No existe o no pertenece a tu organización."),
        405: _("Esta dirección no acepta ese método."),
        413: _("El pedido supera el tamaño máximo permitido."),
    }
    return details.get(error.code or 500) or _("No pudimos procesar el pedido.")


def guard_api_request() -> None:
    """First thing on every API request: the browser session is ignored (cookies never
    authenticate the API: `current_user` stays anonymous, so no organization is picked from
    the session), and an unknown path or method is answered before any other hook (CSRF would
    otherwise refuse a POST to an unknown path with a 400)."""
    if not is_api_request():
        return
    g._login_user = AnonymousUserMixin()  # Flask-Login's per-request user slot
    if request.routing_exception is not None:
        raise request.routing_exception


def init_problems(app: Flask) -> None:
    app.register_error_handler(ApiProblem, handle_api_problem)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_error)
    # Before every other hook (the session's organization, CSRF): they must not see API requests.
    app.before_request_funcs.setdefault(None, []).insert(0, guard_api_request)
