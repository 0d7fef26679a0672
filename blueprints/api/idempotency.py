"""Idempotency-Key: a POST that creates or authorizes can be retried safely.

The first response to a key (its status, the headers that matter and its body) is kept per
organization and key for 24 hours, with a fingerprint of the request (method, path, body):

* the same key with the same request answers that response again (`Idempotent-Replayed: true`);
* the same key with another request is a 422 problem;
* the same key while the first request is still running is a 409 problem, unless the request
  asked to wait (`?wait=N`): it then waits up to N seconds for the first one's answer.

The running mark is set atomically (SET NX) before the view runs and replaced by the stored
response, so of many concurrent identical requests exactly one runs the view. Only successes
(2xx) are kept: a refusal (a problem) or a failure drops the mark, nothing having been done, so
the same key can be retried once the cause is fixed. Without the header the view runs as
usual. Kept in Redis (`core.cache`; in-process when embedded).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import wraps
from typing import Any

from flask import Response, g, make_response, request
from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field

from blueprints.api.problems import problem
from core.cache import get_cache
from core.crypto import get_keyring
from core.db import db
from core.inputs import parse_int

STORED_SECONDS = 24 * 3600
# How long a running mark outlives a request that died without replacing it (longest view: an
# authorization told to wait 30 s, plus ARCA's timeouts).
RUNNING_SECONDS = 120
MAX_WAIT_SECONDS = 30
POLL_SECONDS = 0.2
KEPT_HEADERS = (
    "Content-Type",
    "Location",
    "Retry-After",
    "Content-Disposition",
    "Cache-Control",
)
REPLAYED = "Idempotent-Replayed"


class IdempotencyHeader(BaseModel):
    """The optional header of every POST that creates or authorizes."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    idempotency_key: str | None = Field(
        None,
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description=(
            "A unique value per operation (a UUID). Retrying with the same key and the same "
            "request returns the first successful response (header Idempotent-Replayed: true) "
            "instead of doing it again; the same key with another request is a 422, and while "
            "the first is still running a 409 (with ?wait=N, the first's answer once ready). "
            "Kept 24 hours per organization; a refused request keeps nothing."
        ),
    )


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    running: bool
    status: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    # The body sealed with the app's keyring (AES-256-GCM, bound to the storage key): a response
    # may carry a secret (a webhook endpoint's), and Redis is not where secrets rest in clear.
    body: str = ""
    sealed: bool = False  # False: a body stored base64 by an earlier version (kept 24 h)

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, raw: bytes) -> StoredResponse:
        data = json.loads(raw)
        data["headers"] = tuple(tuple(pair) for pair in data["headers"])
        return cls(**data)


View = Callable[..., Response]


def idempotent(view: View) -> View:
    """Run `view` once per (organization, Idempotency-Key); see the module's docstring.

    Goes under `api_auth` (it needs the key's organization). It adds the documented
    `Idempotency-Key` header to the view's parameters, so the view itself does not declare it.
    """

    @wraps(view)
    def wrapper(*args: Any, header: IdempotencyHeader | None = None, **kwargs: Any) -> Response:
        key = header.idempotency_key if header is not None else None
        if key is None:
            return view(*args, **kwargs)
        return run_once(storage_key(g.organization_id, key), lambda: view(*args, **kwargs))

    wrapper.__annotations__ = {**view.__annotations__, "header": IdempotencyHeader}
    return wrapper


def run_once(key: str, run: Callable[[], Response]) -> Response:
    """The stored answer for `key`, or `run()`'s, stored, when this request is the first."""
    fingerprint = request_fingerprint()
    running = StoredResponse(fingerprint, running=True)
    deadline = time.monotonic() + patience()
    while True:
        stored = load(key)
        if stored is None and get_cache().add(key, running.encode(), RUNNING_SECONDS):
            return run_and_store(key, fingerprint, run)
        if stored is None:
            continue  # taken (or finished) between the read and the add: read it again
        if stored.fingerprint != fingerprint:
            return key_reused()
        if not stored.running:
            return replay(key, stored)
        if time.monotonic() >= deadline:
            return still_running()
        db.session.rollback()  # nothing of this request's yet: wait without a connection
        time.sleep(POLL_SECONDS)


def run_and_store(key: str, fingerprint: str, run: Callable[[], Response]) -> Response:
    """Only a success is kept: after a refusal or a failure nothing was done, and the same key
    may be used again once its cause is fixed."""
    try:
        response = make_response(run())
    except BaseException:
        get_cache().delete(key)
        raise
    if not 200 <= response.status_code < 300 or response.is_streamed:
        get_cache().delete(key)
        return response
    get_cache().set(key, stored_response(key, fingerprint, response).encode(), STORED_SECONDS)
    return response


def stored_response(key: str, fingerprint: str, response: Response) -> StoredResponse:
    headers = tuple(
        (name, response.headers[name]) for name in KEPT_HEADERS if name in response.headers
    )
    body = get_keyring().encrypt(response.get_data(), key.encode())
    return StoredResponse(fingerprint, False, response.status_code, headers, body, sealed=True)


def replay(key: str, stored: StoredResponse) -> Response:
    if stored.sealed:
        body = get_keyring().decrypt(stored.body, key.encode())
    else:
        body = base64.b64decode(stored.body)
    response = Response(body, status=stored.status)
    for name, value in stored.headers:
        response.headers[name] = value
    response.headers[REPLAYED] = "true"
    return response


def load(key: str) -> StoredResponse | None:
    raw = get_cache().get(key)
    return StoredResponse.decode(raw) if raw else None


def storage_key(organization_id: int, idempotency_key: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()
    return f"api:idempotency:{organization_id}:{digest}"


def request_fingerprint() -> str:
    """The request as the key binds it: method, path (not the query: `?wait` may differ between
    retries) and body (JSON compared by value, so a re-serialized retry is the same)."""
    body = request.get_data()
    with contextlib.suppress(ValueError):
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def patience() -> float:
    """How long a request that asked to wait (`?wait=N`) waits for a running twin."""
    return float(parse_int(request.args.get("wait"), 0, MAX_WAIT_SECONDS) or 0)


def key_reused() -> Response:
    return problem(
        422,
        _("Clave de idempotencia reutilizada"),
        _(
            "Esa Idempotency-Key ya se usó con otra solicitud. Usá una clave nueva para cada "
            "operación distinta."
        ),
    )


def still_running() -> Response:
    response = problem(
        409,
        _("Solicitud en curso"),
        _(
            "Una solicitud con esa Idempotency-Key todavía se está procesando. Reintentá en "
            "unos segundos para recibir su respuesta."
        ),
    )
    response.headers["Retry-After"] = "1"
    return response
