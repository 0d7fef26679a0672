"""What can go wrong talking to ARCA, as one typed hierarchy.

    ArcaError
    ├── WsaaError(code, message)          loginCms SOAP faults, `code` without the `ns1:` prefix
    │   ├── AlreadyAuthenticated          coe.alreadyAuthenticated (retry_after_seconds)
    │   │   └── TicketUnavailable         ...and no stored ticket to fall back on (arca.tickets)
    │   ├── CertificateExpired            cms.cert.expired
    │   ├── CertificateNotYetValid        cms.cert.invalid
    │   ├── CertificateUntrusted          cms.cert.untrusted
    │   ├── BadSignature                  cms.bad, cms.bad.base64, cms.sign.invalid,
    │   │                                 cms.cert.notFound
    │   ├── InvalidLoginRequest           xml.*
    │   ├── ServiceNotAuthorized          coe.notAuthorized, wsn.notFound
    │   └── WsaaUnavailable               wsaa.unavailable, wsaa.internalError, wsn.unavailable,
    │                                     and any transport failure on the way to WSAA
    ├── TicketLockTimeout                 the ticket-renewal lock was not free in time
    ├── ArcaRejected(errors)              WSFEv1 business errors (HTTP 200 with Errors/Err)
    │   └── AuthenticationRejected        600 / 601: the token, sign or represented CUIT
    ├── SoapFault(code, message)          WSFEv1 refused the message itself (SOAP fault, HTTP 4xx)
    ├── ServiceUnavailable                the request certainly did not take effect; retry later
    └── OutcomeUnknown                    FECAESolicitar may or may not have been processed

The rule the app builds on: only `OutcomeUnknown` means "ARCA may have issued a CAE". Everything
else raised by `arca.wsfe` guarantees that nothing was authorised.
"""

from __future__ import annotations

from dataclasses import dataclass


class ArcaError(Exception):
    """Base of every error raised by the `arca` package."""


@dataclass(frozen=True)
class Message:
    """One `Err`, `Obs` or `Evt` from WSFEv1: a numeric code and ARCA's text.

    Match on `code`, never on `text`: ARCA's texts change and usually lack accents.
    """

    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code}: {self.text}"


# --- WSAA -----------------------------------------------------------------------------------------

# How long WSAA refuses a new ticket while one is valid (NOTES §4.5: "currently" 10 min in
# homologation and 2 min in production, subject to change without notice). The sandbox mimics
# homologation.
RETRY_AFTER_SECONDS = {"homologacion": 600, "produccion": 120, "sandbox": 600}


class WsaaError(ArcaError):
    """WSAA refused loginCms. `code` is the faultcode without its `ns1:` prefix.

    `retryable` says whether asking again later can succeed without fixing anything: WSAA's own
    rule is that after any fault other than `wsaa.*` or `wsn.unavailable` no new ticket may be
    requested until the cause is fixed.
    """

    retryable = False

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class AlreadyAuthenticated(WsaaError):
    """WSAA already issued a ticket for this certificate and service that is still valid.

    WSAA never sends it again: use the stored one, or wait `retry_after_seconds` (an estimate of
    WSAA's anti-repeat window for the environment) before asking for a new one.
    """

    retryable = True

    def __init__(self, code: str, message: str, retry_after_seconds: int = 600) -> None:
        super().__init__(code, message)
        self.retry_after_seconds = retry_after_seconds


class TicketUnavailable(AlreadyAuthenticated):
    """No valid ticket is stored and WSAA refuses a new one (`coe.alreadyAuthenticated`).

    Happens when a ticket was issued but lost (a crash between login and save, or a wiped store).
    Nothing can be done but wait: the message says for how long.
    """


class TicketLockTimeout(ArcaError, TimeoutError):
    """Another process held the ticket-renewal lock for longer than the caller would wait."""


class CertificateExpired(WsaaError):
    """`cms.cert.expired`: the certificate is past its notAfter; a new one must be issued."""


class CertificateNotYetValid(WsaaError):
    """`cms.cert.invalid`: the certificate's notBefore is in the future (clock, or just issued)."""


class CertificateUntrusted(WsaaError):
    """`cms.cert.untrusted`: not issued by this environment's CA (homologation vs production)."""


class BadSignature(WsaaError):
    """The CMS is malformed, detached, unsigned or carries no certificate (`cms.*`)."""


class InvalidLoginRequest(WsaaError):
    """The TRA was refused (`xml.*`): schema, version, or generation/expiration times (clock)."""


class ServiceNotAuthorized(WsaaError):
    """`coe.notAuthorized` / `wsn.notFound`: the certificate has no relation to the service."""


class WsaaUnavailable(WsaaError):
    """WSAA is down or unreachable; retry no sooner than a minute later (ARCA's rule)."""

    retryable = True


_WSAA_FAULTS: dict[str, type[WsaaError]] = {
    "coe.alreadyAuthenticated": AlreadyAuthenticated,
    "cms.cert.expired": CertificateExpired,
    "cms.cert.invalid": CertificateNotYetValid,
    "cms.cert.untrusted": CertificateUntrusted,
    "cms.bad": BadSignature,
    "cms.bad.base64": BadSignature,
    "cms.sign.invalid": BadSignature,
    "cms.cert.notFound": BadSignature,
    "coe.notAuthorized": ServiceNotAuthorized,
    "wsn.notFound": ServiceNotAuthorized,
    "wsaa.unavailable": WsaaUnavailable,
    "wsaa.internalError": WsaaUnavailable,
    "wsn.unavailable": WsaaUnavailable,
}


def wsaa_error_for(faultcode: str, message: str, environment_name: str) -> WsaaError:
    """The error for a loginCms fault. `faultcode` may carry a prefix (`ns1:`); it is dropped.

    Unknown codes give a plain `WsaaError`, so nothing WSAA says is ever lost.
    """
    code = faultcode.rsplit(":", 1)[-1].strip()
    if code == "coe.alreadyAuthenticated":
        wait = RETRY_AFTER_SECONDS.get(environment_name, 600)
        return AlreadyAuthenticated(code, message, retry_after_seconds=wait)
    if code.startswith("xml."):
        return InvalidLoginRequest(code, message)
    return _WSAA_FAULTS.get(code, WsaaError)(code, message)


# --- WSFEv1 ---------------------------------------------------------------------------------------


class ArcaRejected(ArcaError):
    """WSFEv1 answered normally (HTTP 200) with request-level errors in `Errors/Err`.

    Raised by the read-only calls. `authorize` never raises it: a rejected voucher is a normal
    outcome there and comes back inside the `CaeResponse`.
    """

    def __init__(self, errors: list[Message]) -> None:
        super().__init__("; ".join(str(error) for error in errors) or "rejected by ARCA")
        self.errors = errors

    @property
    def codes(self) -> list[int]:
        return [error.code for error in self.errors]


class AuthenticationRejected(ArcaRejected):
    """600 or 601: the ticket is expired or invalid, or the CUIT is not among its relations.

    Get a new ticket (respecting WSAA's anti-repeat window) or fix the delegation; do not delete
    the stored ticket for any other error.
    """


AUTHENTICATION_ERROR_CODES = frozenset({600, 601})


def rejection_for(errors: list[Message]) -> ArcaRejected:
    """`AuthenticationRejected` if any error is 600/601, else `ArcaRejected`."""
    if any(error.code in AUTHENTICATION_ERROR_CODES for error in errors):
        return AuthenticationRejected(errors)
    return ArcaRejected(errors)


class SoapFault(ArcaError):
    """WSFEv1 refused the message itself, before acting on it.

    A SOAP fault (`code` is the faultcode, e.g. `soap:Client` for a value that does not fit its
    type or a wrong SOAPAction) or an HTTP 4xx (`code` is `http:<status>`, e.g. malformed XML).
    It points at a bug or a contract change, not at the voucher: retrying will not help.
    """

    def __init__(self, code: str, message: str, http_status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.http_status = http_status


class ServiceUnavailable(ArcaError):
    """WSFEv1 could not be used and the request certainly did not take effect.

    For read-only calls every transport failure lands here (they change nothing, so "maybe
    reached ARCA" is harmless). For `authorize` only failures that happen before the request
    leaves (connection refused, DNS, connect timeout, TLS certificate rejected). Retry later.
    """

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class OutcomeUnknown(ArcaError):
    """FECAESolicitar may have reached ARCA and we do not know what it decided.

    Raised by `authorize` only: read timeout, connection dropped after sending, HTTP 5xx without
    a parseable SOAP body, a `soap:Server` fault, or a reply that cannot be understood. ARCA may
    have issued a CAE. Never re-send blindly (a repeat gets 10016, never the same CAE): resolve it
    with `WsfeClient.consult` for the number that was sent (NOTES §12.1).
    `raw_request_xml` is the request as sent, with Token and Sign redacted.
    """

    def __init__(
        self, message: str, raw_request_xml: str = "", http_status: int | None = None
    ) -> None:
        super().__init__(message)
        self.raw_request_xml = raw_request_xml
        self.http_status = http_status
