"""Rate limits of the API with Flask-Limiter, counted in the app's Redis (memory when embedded).

Two limits, both checked from `api_auth` (the key is only known after authentication):
- per key, its own `rate_limit` requests per minute, shared by every endpoint;
- per client address, failed authentications (20 a minute): past it, the address gets 429
  before its keys are even looked up. Only 401 answers count (`deduct_when`).
Answers carry `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and, on a 429,
`Retry-After` (Flask-Limiter's headers option, adjusted by `finish_headers`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Flask, Response, current_app, g
from flask_limiter import HeaderNames, Limiter, RouteLimit
from flask_limiter.util import get_remote_address

FAILED_AUTHENTICATIONS_PER_MINUTE = 20
# Flask-Limiter writes Retry-After on every response, replacing a view's own (a 202's "poll
# again in 2 s"): it writes it under a scratch name, kept as Retry-After only on a 429.
SCRATCH_RETRY_AFTER = "X-Talonario-Limit-Retry-After"
HEADER_NAMES = {
    HeaderNames.LIMIT: "RateLimit-Limit",
    HeaderNames.REMAINING: "RateLimit-Remaining",
    HeaderNames.RESET: "RateLimit-Reset",
    HeaderNames.RETRY_AFTER: SCRATCH_RETRY_AFTER,
}


@dataclass(frozen=True)
class ApiLimits:
    limiter: Limiter
    per_key: RouteLimit
    failed_authentication: RouteLimit


def key_rate() -> str:
    # Flask-Limiter also reads this before the request is authenticated (its before-request
    # hook looks at the limits a view used before, without applying them): any valid value.
    key = g.get("api_key")
    return f"{key.rate_limit if key else 1}/minute"


def key_identity() -> str:
    key = g.get("api_key")
    return f"key-{key.id if key else 'none'}"


def failure_rate() -> str:
    return f"{current_app.config['API_FAILED_AUTH_PER_MINUTE']}/minute"


def was_refused(response: Response) -> bool:
    return response.status_code == 401


def finish_headers(response: Response) -> Response:
    """Flask-Limiter writes the window's end as a Unix time; the RateLimit-* headers (IETF
    httpapi draft) give seconds from now, as Retry-After does. Retry-After only on a 429."""
    reset = response.headers.get("RateLimit-Reset")
    if reset and reset.isdigit():
        response.headers["RateLimit-Reset"] = str(max(int(int(reset) - time.time()), 0))
    retry_after = response.headers.pop(SCRATCH_RETRY_AFTER, None)
    if retry_after is not None and response.status_code == 429:
        response.headers["Retry-After"] = retry_after
    return response


def init_limits(app: Flask) -> None:
    app.config.setdefault("API_FAILED_AUTH_PER_MINUTE", FAILED_AUTHENTICATIONS_PER_MINUTE)
    redis_url = app.config["REDIS_URL"]
    options: dict[str, str | int] = {}
    if redis_url:
        options = {
            "key_prefix": app.config["CACHE_KEY_PREFIX"] + "api:ratelimit",
            "socket_connect_timeout": 2,
            "socket_timeout": 2,
        }
    limiter = Limiter(
        key_func=get_remote_address,
        storage_uri=redis_url or "memory://",
        storage_options=options,
        strategy="fixed-window",
        headers_enabled=True,
        header_name_mapping=HEADER_NAMES,
    )
    # Registered before the limiter's own after-request hook, so it runs after it (Flask runs
    # them in reverse order) and sees the headers it wrote.
    app.after_request(finish_headers)
    limiter.init_app(app)
    app.extensions["talonario.api_limits"] = ApiLimits(
        limiter=limiter,
        per_key=limiter.shared_limit(key_rate, scope="api-key", key_func=key_identity),
        failed_authentication=limiter.shared_limit(
            failure_rate, scope="api-auth-failures", deduct_when=was_refused
        ),
    )


def api_limits() -> ApiLimits:
    limits: ApiLimits = current_app.extensions["talonario.api_limits"]
    return limits
