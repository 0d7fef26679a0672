"""No secret in any log: every log record is redacted as it is made.

Passwords and their argon2 hashes, API keys (`tal_…`), webhook secrets (`whsec_…`), PEM blocks
(private keys, certificates), credentials in URLs, and the one-time tokens of invitation, reset
and verification links (werkzeug's and gunicorn's access logs print the path and query) are
replaced by `[redacted]`.

The redaction is a log record factory rather than a filter on some handlers: a handler filter only
sees what reaches that handler, and handlers come and go (werkzeug adds its own on first use,
gunicorn has its own, a test adds one). Every record, whatever logger made it and whichever
handler prints it, is created by the factory. The factory also stamps each record with the
request id, the job id and the organization of the moment.

`init_logging` gives every request an id (`X-Request-ID` when usable, else a new one; echoed in
the response; carried into the jobs it queues by core/jobs.py) and, with
`TALONARIO_LOG_FORMAT=json`, prints every record as one JSON line on stderr.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import traceback
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from flask import Flask, Response, g, request

from core.rowsecurity import current_scope

REDACTED = "[redacted]"

# Names whose value is a secret wherever it appears: `password=…` in a query or form body,
# `"token": "…"` in JSON, `'password_hash': '…'` in a repr.
_SENSITIVE_NAMES = (
    r"[A-Za-z_-]*(?:password|passwd|secret|token|invitation|api[_-]?key|private[_-]?key"
    r"|recovery[_-]?code|otp|totp)[A-Za-z_-]*"
)
_NAMED_VALUE = re.compile(
    rf"(?i)(?P<name>\b{_SENSITIVE_NAMES})(?P<sep>[\"']?\s*[:=]\s*)"
    # Not a value already redacted ("[redacted PEM]"): "[" cannot start an unquoted value.
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^\s\"'&,;()\[\]{}]+)"
)

_PEM = re.compile(r"-----BEGIN [^\r\n]{0,60}?-----.*?(?:-----END [^\r\n]{0,60}?-----|\Z)", re.S)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"(?i)\b(?P<scheme>bearer|basic)\s+[A-Za-z0-9._~+/=-]+"),
        r"\g<scheme> " + REDACTED,
    ),
    (re.compile(r"\$argon2(?:id|i|d)\$[^\s\"',)\]}]*"), REDACTED),
    (re.compile(r"\btal_[A-Za-z0-9_-]+"), "tal_" + REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+"), "whsec_" + REDACTED),
    # user:password@host in database, Redis and SMTP URLs.
    (re.compile(r"(?<=://)(?P<user>[^/\s:@]*):[^/\s@]+@"), r"\g<user>:" + REDACTED + "@"),
    # The token segment of a link sent by email: /organizations/invitations/<token>, /reset/<token>.
    (
        re.compile(
            r"(?i)(?P<path>/(?:invitations?|reset|verify|verification|confirm)/)[^/?#\s\"']+"
        ),
        r"\g<path>" + REDACTED,
    ),
    # Anything else shaped like a random token in a path or a query (token_urlsafe(32): 43
    # characters, upper and lower case and digits; a long file or test name is not one).
    (
        re.compile(
            r"(?<=[/=])(?=[\w-]*[A-Z])(?=[\w-]*[a-z])(?=[\w-]*[0-9])[A-Za-z0-9_-]{32,}"
            r"(?=$|[\s?&#/\"';])",
            re.ASCII,
        ),
        REDACTED,
    ),
)


def redact(text: str) -> str:
    """`text` with every secret it holds replaced by `[redacted]`.

    PEM blocks go first (they span lines), then named values (`password=…`), then the shapes.
    """
    text = _PEM.sub("[redacted PEM]", text)
    text = _NAMED_VALUE.sub(_redact_named, text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_named(match: re.Match[str]) -> str:
    value = match["value"]
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match['name']}{match['sep']}{quote}{REDACTED}{quote}"


def redact_record(record: logging.LogRecord) -> None:
    """Format the message now (its arguments may hold the secret) and redact it, with the
    traceback and stack of the record: the exception text of a failed INSERT quotes it too."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging reports it, without the secrets
        message = f"{record.msg!s} {record.args!r}"
    record.msg, record.args = redact(message), None
    if record.exc_info and not record.exc_text:
        formatted = "".join(traceback.format_exception(*record.exc_info))
        record.exc_text = redact(formatted.rstrip("\n"))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingRecordFactory:
    """Wraps the record factory in place, so every record is redacted before any handler."""

    def __init__(self, inner: Callable[..., logging.LogRecord]) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        redact_record(record)
        stamp_context(record)
        return record


def install_redaction() -> None:
    """Redact every log record of this process from now on; calling it again changes nothing."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, RedactingRecordFactory):
        logging.setLogRecordFactory(RedactingRecordFactory(current))


# --- context: the request id, the job, the organization -------------------------------------------

# Short and safe to print, store and echo: letters, digits and `._:-` (a UUID, a load
# balancer's trace id). Anything else in `X-Request-ID` is replaced by an id of our own.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
REQUEST_ID_HEADER = "X-Request-ID"

request_id_var: ContextVar[str | None] = ContextVar("talonario_request_id", default=None)
job_id_var: ContextVar[str | None] = ContextVar("talonario_job_id", default=None)


def valid_request_id(value: str | None) -> str | None:
    """`value` when it is a usable request id, else None."""
    return value if value and _REQUEST_ID.fullmatch(value) else None


def new_request_id() -> str:
    return uuid.uuid4().hex


def stamp_context(record: logging.LogRecord) -> None:
    """The request id, job id and organization of the moment, on the record (None when
    unknown): the JSON formatter prints them; the text format ignores them."""
    record.request_id = request_id_var.get()
    record.job_id = job_id_var.get()
    # Requests enter their organization's scope once they know it, jobs their task's.
    record.organization_id = current_scope().organization_id


def _begin_request() -> None:
    given = valid_request_id(request.headers.get(REQUEST_ID_HEADER))
    g.request_id = given or new_request_id()
    g.request_id_token = request_id_var.set(g.request_id)


def _echo_request_id(response: Response) -> Response:
    if "request_id" in g:
        response.headers[REQUEST_ID_HEADER] = g.request_id
    return response


def _end_request(_error: BaseException | None) -> None:
    token = g.pop("request_id_token", None)
    if token is None:
        return
    try:
        request_id_var.reset(token)
    except ValueError:  # torn down in another context (a streamed response): just forget it
        request_id_var.set(None)


# --- JSON lines ----------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, and request_id,
    organization_id and job_id when known; `exception` with the (redacted) traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "organization_id", "job_id"):
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and not record.exc_text:  # a record made before the factory was in
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def init_logging(app: Flask) -> None:
    """Redaction and the request id always; JSON lines on stderr when TALONARIO_LOG_FORMAT=json
    (the default, "text", leaves logging as Flask and werkzeug set it up for `make run`)."""
    install_redaction()
    app.before_request(_begin_request)
    app.after_request(_echo_request_id)
    app.teardown_request(_end_request)
    log_format = str(app.config.get("LOG_FORMAT") or "text").lower()
    if log_format not in ("text", "json"):
        raise RuntimeError(f"TALONARIO_LOG_FORMAT={log_format!r}: must be text or json")
    if log_format == "json":
        use_json_lines(str(app.config.get("LOG_LEVEL") or "INFO").upper())


def use_json_lines(level: str = "INFO") -> None:
    """Every record of the process as a JSON line on stderr: one handler on the root logger
    (Flask, werkzeug and RQ then add none of their own), and gunicorn's own handlers
    (they don't propagate) reformatted. Calling it again changes nothing."""
    root = logging.getLogger()
    root.setLevel(level)
    if not any(getattr(handler, "talonario_json", False) for handler in root.handlers):
        ours = logging.StreamHandler(sys.stderr)
        ours.talonario_json = True  # type: ignore[attr-defined]
        ours.setFormatter(JsonFormatter())
        root.addHandler(ours)
    for name in ("gunicorn.error", "gunicorn.access"):
        for theirs in logging.getLogger(name).handlers:
            theirs.setFormatter(JsonFormatter())
