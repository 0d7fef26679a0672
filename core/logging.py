"""No secret in any log: every log record is redacted as it is made.

Passwords and their argon2 hashes, API keys (`tal_…`), webhook secrets (`whsec_…`), PEM blocks
(private keys, certificates), credentials in URLs, and the one-time tokens of invitation, reset
and verification links (werkzeug's and gunicorn's access logs print the path and query) are
replaced by `[redacted]`.

The redaction is a log record factory rather than a filter on some handlers: a handler filter only
sees what reaches that handler, and handlers come and go (werkzeug adds its own on first use,
gunicorn has its own, a test adds one). Every record, whatever logger made it and whichever
handler prints it, is created by the factory.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable
from typing import Any

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
        return record


def install_redaction() -> None:
    """Redact every log record of this process from now on; calling it again changes nothing."""
    current = logging.getLogRecordFactory()
    if not isinstance(current, RedactingRecordFactory):
        logging.setLogRecordFactory(RedactingRecordFactory(current))
