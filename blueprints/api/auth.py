"""Bearer authentication for the API: `@api_auth("invoices:read")` under the route decorator.

Order on every call: the address's failed-authentication budget, the key (cached), the key's
rate limit, its scopes, the usage counter, then the request's
parameters and body are validated (after authentication, so an anonymous caller learns
nothing about the schema) and the view runs with them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from flask_babel import gettext as _
from flask_openapi3.request import _validate_request
from flask_openapi3.utils import parse_parameters

from blueprints.api.limits import api_limits
from blueprints.api.models import SCOPES, ApiKey
from blueprints.api.problems import ApiProblem, title_for
from blueprints.api.services import KeyIdentity, resolve_secret
from blueprints.api.usage import count_request
from core.cache import get_cache
from core.db import db, utcnow
from core.errors import ValidationFailed
from core.rowsecurity import enter_tenant

F = TypeVar("F", bound=Callable[..., Any])
BEARER = re.compile(r"Bearer\s+(tal_[A-Za-z0-9_-]{43})", re.IGNORECASE)


def api_auth(*scopes: str) -> Callable[[F], F]:
    """Authenticate with the bearer key, require `scopes`, then validate and run the view.

    The view's typed parameters (`path`, `query`, `body`, `header`) are validated here rather
    than by flask-openapi3 before the call (`__delay_validate_request__`), so that 401/403/429
    come before 422. `scopes` is kept on the view for the OpenAPI document.
    """
    unknown = set(scopes) - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scopes: {sorted(unknown)}")

    def decorate(view: F) -> F:
        header, cookie, path, query, form, body, raw = parse_parameters(view, doc_ui=False)

        @wraps(view)
        def wrapped(**kwargs: Any) -> Any:
            authenticate(scopes)
            if body is not None:
                refuse_unreadable_body()
            arguments = _validate_request(
                header,
                cookie,
                path,
                query,
                form,
                body,
                raw,  # type: ignore[arg-type]
                path_kwargs=kwargs,
            )
            return view(**arguments, **kwargs)

        wrapped.__delay_validate_request__ = True  # type: ignore[attr-defined]
        wrapped.api_scopes = scopes  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorate


def refuse_unreadable_body() -> None:
    """A body that is there but is not JSON is refused: flask-openapi3 reads it as no body at
    all, and an all-optional body (a note's lines, a PATCH) would then act on the defaults."""
    if request.get_data(cache=True) and request.get_json(silent=True) is None:
        raise ValidationFailed(
            _("El cuerpo no es JSON válido (Content-Type: application/json)."), field="body"
        )


def authenticate(scopes: tuple[str, ...]) -> KeyIdentity:
    """Set `g.api_key`, `g.organization_id` and `g.api_scopes`, or raise a
    401/403 ApiProblem (429 from the rate limits)."""
    limits = api_limits()
    with limits.failed_authentication:
        identity = key_from_header()
    g.api_key = identity
    g.organization_id = identity.organization_id
    g.api_scopes = identity.scopes
    enter_tenant(identity.organization_id, None, db.session)
    with limits.per_key:
        pass
    missing = [scope for scope in scopes if scope not in identity.scopes]
    if missing:
        detail = _("Esta clave no tiene el permiso %(scope)s.", scope=", ".join(missing))
        raise ApiProblem(403, title_for(403), detail)
    count_request(db.session, get_cache(), identity.id, utcnow())
    return identity


def key_from_header() -> KeyIdentity:
    match = BEARER.fullmatch(request.headers.get("Authorization", "").strip())
    identity = None
    if match:
        identity = resolve_secret(db.session, get_cache(), match.group(1), utcnow())
    if identity is None:
        detail = _(
            "Falta la clave de la API o no es válida (revocada o vencida). Enviala como "
            "«Authorization: Bearer tal_…»."
        )
        raise ApiProblem(401, title_for(401), detail, {"WWW-Authenticate": 'Bearer realm="api"'})
    return identity


def api_actor() -> ApiKey:
    """The key of this request, as the row services record in the audit trail."""
    key = db.session.get(ApiKey, g.api_key.id)
    if key is None:  # deleted since it was cached: treat like a revoked key
        raise ApiProblem(401, title_for(401), _("La clave de la API ya no existe."))
    return key
