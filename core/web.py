"""htmx-aware rendering and the one place errors become HTTP responses."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager, nullcontext
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    Response,
    current_app,
    flash,
    has_request_context,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from core.db import db
from core.errors import DomainError, TooManyRequests

log = logging.getLogger(__name__)
# Longer than any page of this site (a filtered list's query included): not a path we made.
MAX_NEXT_LENGTH = 2048


def wants_fragment() -> bool:
    """An htmx request that swaps part of a page; boosted links and history restores want pages."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render(page: str, fragment: str | None = None, status: int = 200, **context: Any) -> Response:
    """The full page, or only its partial for an htmx swap; caches told the two differ."""
    template = fragment if fragment and wants_fragment() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def see_other(location: str) -> Response:
    """After a mutation: 303 for a plain form; for htmx, a client-side navigation to the page."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 204)
        response.headers["HX-Location"] = location
        return response
    return redirect(location, code=303)  # type: ignore[return-value]


def wants_json() -> bool:
    if request.path.startswith("/api/") or request.path in ("/healthz", "/readyz"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes["text/html"]


def problem(status: int, title: str, detail: str) -> Response:
    """RFC 9457 problem details."""
    response = jsonify(type="about:blank", title=title, status=status, detail=detail)
    response.status_code = status
    response.content_type = "application/problem+json"
    return response


def error_response(status: int, title: str, detail: str) -> Response:
    # Nothing the failed request left in the session is kept; and after a failed statement
    # the page's own queries (the user, the organization menu) would fail on the aborted
    # transaction, leaving only the server's bare 500 page.
    db.session.rollback()
    if wants_json():
        return problem(status, title, detail)
    template = "_partials/_error.html" if wants_fragment() else "errors/error.html"
    response = make_response(error_page(template, status, title, detail), status)
    response.vary.add("HX-Request")
    if wants_fragment():
        # Show the message where the page keeps its alerts instead of in the swap target.
        response.headers["HX-Retarget"] = "#flashes"
        response.headers["HX-Reswap"] = "innerHTML"
    return response


def error_page(template: str, status: int, title: str, detail: str) -> str:
    """The error template; in production, a plain page if even that fails (the database down)."""
    try:
        return render_template(template, status=status, title=title, detail=detail)
    except Exception:
        if current_app.testing:
            raise
        log.exception("the error page failed; answering with a plain one")
        return (
            f'<!doctype html><html lang="es"><title>{escape(title)}</title>'
            f"<h1>{escape(title)}</h1><p>{escape(detail)}</p></html>"
        )


def _titles() -> dict[int, str]:
    return {
        400: _("Solicitud inválida"),
        403: _("Acción no permitida"),
        404: _("No encontrado"),
        405: _("Método no permitido"),
        409: _("Conflicto"),
        413: _("Archivo demasiado grande"),
        422: _("Datos inválidos"),
        429: _("Demasiados intentos"),
        500: _("Error interno"),
        503: _("Servicio no disponible"),
    }


def _details() -> dict[int, str]:
    return {
        404: _("La página o el dato que buscás no existe o no pertenece a tu organización."),
        405: _("Esta dirección no acepta ese método."),
        413: _("El archivo supera el tamaño máximo permitido."),
        500: _("Algo salió mal de nuestro lado. Ya quedó registrado; probá de nuevo en un rato."),
    }


# Refusals a person can act on: shown on the page they came from, not as an error page.
REFUSALS_SHOWN_IN_PLACE = (409, 422)


def handle_domain_error(error: DomainError) -> Response:
    if back := refusal_redirect(error):
        return back
    response = error_response(error.status, _titles().get(error.status, ""), error.message)
    if isinstance(error, TooManyRequests):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def refusal_redirect(error: DomainError) -> Response | None:
    """A plain form post that was refused (crediting more than is left, deleting a customer
    with invoices): back to the page it came from with the reason in its alerts, nothing kept.
    htmx requests and the API get theirs in place (`error_response`)."""
    if (
        request.method != "POST"
        or error.status not in REFUSALS_SHOWN_IN_PLACE
        or wants_json()
        or request.headers.get("HX-Request") == "true"
    ):
        return None
    referrer = same_site_path(request.referrer)
    if referrer is None:
        return None
    db.session.rollback()
    flash(error.message, "error")
    return redirect(referrer, code=303)  # type: ignore[return-value]


def same_site_path(url: str | None) -> str | None:
    """`url`'s path and query when it points at this site, else None."""
    if not url or not url.isprintable():
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return safe_next(path, "") or None


def handle_csrf_error(error: CSRFError) -> Response:
    detail = _(
        "El formulario venció o le falta el código de seguridad (CSRF). "
        "Recargá la página y volvé a enviarlo; no se guardó nada."
    )
    return error_response(400, _("Formulario no válido"), detail)


def handle_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    detail = _details().get(status) or error.description or ""
    return error_response(status, _titles().get(status, error.name), detail)


def handle_unexpected(error: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(500, _titles()[500], _details()[500])


def init_web(app: Flask) -> None:
    # Links to pages another slice may not have yet (the setup checklist, cross-slice links).
    app.jinja_env.globals["has_endpoint"] = lambda endpoint: endpoint in app.view_functions
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    if not app.testing:
        app.register_error_handler(Exception, handle_unexpected)


def attach_error(form: Any, error: DomainError) -> None:
    """Show a service's error next to the field it is about, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def form_status(form: Any) -> int:
    """422 when a submitted form is re-rendered with errors (htmx swaps 4xx only when told to)."""
    return 422 if form.errors or form.form_errors else 200


def safe_next(target: str | None, fallback: str) -> str:
    """A same-site path to go on to (after login, a language change), else `fallback`.

    Only a path of this site: one leading "/" (not "//" or "/\\", which browsers read as another
    host), no backslash, no scheme, and no control or space character anywhere: browsers drop
    a tab or a newline inside a URL, so "/<tab>/evil.example" became "//evil.example", and a
    newline in a Location header was a 500.
    """
    return target if target and is_local_path(target) else fallback


def is_local_path(target: str) -> bool:
    if len(target) > MAX_NEXT_LENGTH or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(not char.isprintable() or char.isspace() for char in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def url_context() -> AbstractContextManager[object]:
    """Where url_for can work: the current request, or, in a worker (no request), a placeholder
    one on `PUBLIC_URL` — relative links come out the same, absolute ones on the public host."""
    if has_request_context():
        return nullcontext()
    return current_app.test_request_context("/", base_url=str(current_app.config["PUBLIC_URL"]))
