"""ARCA's wsfecred (FCE MiPyME, Registro de Facturas de Crédito Electrónicas): whether a
receiver must get a Factura de Crédito Electrónica and from what amount
(`consultarMontoObligadoRecepcion`), plus `dummy`.

The only module that knows wsfecred's element names. It needs its own WSAA ticket for service
`wsfecred` (`SERVICE`), asked for with the same certificate as WSFEv1's; `auth` returns
(token, sign, cuitRepresentada) like the padrón's (`arca.padron.PadronAuth`).

Outcomes (see `arca.errors` for the shared ones):

* `FceObligation` when ARCA answered: `obligated`, `amount_from` (None when ARCA sent no
  `montoDesde`) and ARCA's observations.
* `WsfecredRejected`: ARCA answered with `arrayErrores`/`arrayErroresFormato` (the query was
  refused; `errors` carries the codes).
* `WsfecredAuthRejected`: the token, sign or represented CUIT was refused (a SOAP fault).
* `WsfecredFault`: any other SOAP fault; `ServiceUnavailable`: transport failures and answers
  that are not SOAP.

Every call is read-only, so retrying is always safe; nothing here retries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from zeep.exceptions import Error as ZeepError
from zeep.wsdl.utils import etree_to_string

from arca.cuit import is_valid_cuit, normalize_cuit
from arca.environments import Environment
from arca.errors import ArcaError, ArcaRejected, Message, ServiceUnavailable
from arca.transport import Timeouts, build_client, post_query
from arca.wsdl import WSDL_DIR

SERVICE = "wsfecred"
WSFECRED_WSDL = WSDL_DIR / "wsfecred.wsdl"
NAMESPACE = "http://ar.gob.afip.wsfecred/FECredService/"
BINDING = f"{{{NAMESPACE}}}FECredServiceSOAP"
# The binding declares one soapAction per operation: `<namespace><operation>`.
CONTENT_TYPE = "text/xml; charset=utf-8"
# Lowercase pieces of the fault texts that mean "get a new ticket or fix the delegation".
AUTH_TEXTS = ("token", "sign", "representacion", "no autorizado")

WsfecredAuth = Callable[[], tuple[str, str, str]]
"""Returns (token, sign, cuitRepresentada) for the next call, from the `wsfecred` ticket."""


class WsfecredFault(ArcaError):
    """wsfecred refused the request with a SOAP fault; `message` is ARCA's text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code
        self.message = message


class WsfecredAuthRejected(WsfecredFault):
    """The token, the sign or the represented CUIT was refused (ARCA's text says which)."""


class WsfecredRejected(ArcaRejected):
    """ARCA answered with `arrayErrores` (or `arrayErroresFormato`): the query was refused.

    Format errors carry string codes in the WSDL; non-numeric ones are reported as code 0 with
    the code in the text.
    """


@dataclass(frozen=True)
class FceObligation:
    """ARCA's answer for one receiver on one issue date.

    `obligated`: the receiver must get an FCE MiPyME (from `amount_from` on, when ARCA says).
    `amount_from` is None when ARCA sent no `montoDesde` (its answer for non-obligated ones).
    """

    cuit: str
    issue_date: dt.date
    obligated: bool
    amount_from: Decimal | None
    observations: tuple[Message, ...] = ()

    def requires_fce(self, total: Decimal) -> bool:
        """Whether an invoice of `total` pesos to this receiver must be an FCE MiPyME."""
        return self.obligated and (self.amount_from is None or total >= self.amount_from)


@dataclass(frozen=True)
class WsfecredStatus:
    """`dummy`'s answer: each server's state ("OK" when up)."""

    appserver: str
    dbserver: str
    authserver: str

    @property
    def ok(self) -> bool:
        return (self.appserver, self.dbserver, self.authserver) == ("OK", "OK", "OK")


def _text(element: Any, path: str) -> str:
    found = None if element is None else element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _messages(element: Any, path: str, item: str) -> list[Message]:
    found = None if element is None else element.find(path)
    if found is None:
        return []
    messages = []
    for row in found.findall(item):
        code, text = _text(row, "codigo"), _text(row, "descripcion")
        if code.lstrip("-").isdigit():
            messages.append(Message(int(code), text))
        else:
            messages.append(Message(0, f"{code}: {text}" if code else text))
    return messages


def _amount(value: str) -> Decimal | None:
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def parse_obligation(ret: Any, cuit: str, issue_date: dt.date) -> FceObligation:
    """`consultarMontoObligadoRecepcionReturn` as an FceObligation; WsfecredRejected if ARCA
    sent errors."""
    errors = _messages(ret, "arrayErrores", "codigoDescripcion")
    errors += _messages(ret, "arrayErroresFormato", "codigoDescripcionString")
    if errors:
        raise WsfecredRejected(errors)
    observations = _messages(ret, "arrayObservacion", "codigoDescripcion")
    return FceObligation(
        cuit=cuit,
        issue_date=issue_date,
        obligated=_text(ret, "obligado") == "S",
        amount_from=_amount(_text(ret, "montoDesde")),
        observations=tuple(observations),
    )


def fault_for(code: str, message: str) -> WsfecredFault:
    """The typed error for a wsfecred fault, told apart by its text."""
    lowered = message.lower()
    if any(text in lowered for text in AUTH_TEXTS):
        return WsfecredAuthRejected(code, message)
    return WsfecredFault(code, message)


@dataclass
class WsfecredClient:
    """wsfecred for one environment. Each method sends exactly one request. Safe to share
    between threads (no per-call state)."""

    environment: Environment
    session: requests.Session
    timeouts: Timeouts
    auth: WsfecredAuth
    _client: Any = field(init=False, repr=False)
    _binding: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._client = build_client(WSFECRED_WSDL, self.environment, self.session, self.timeouts)
        self._binding = self._client.create_service(BINDING, self.url)

    @property
    def url(self) -> str:
        return self.environment.wsfecred_url

    def dummy(self) -> WsfecredStatus:
        """`dummy` (no ticket): the service's health."""
        result = self._post("dummy", {}).find("dummyReturn")
        return WsfecredStatus(
            _text(result, "appserver"), _text(result, "dbserver"), _text(result, "authserver")
        )

    def obligation(self, cuit: str, issue_date: dt.date) -> FceObligation:
        """Whether the receiver `cuit` must get an FCE MiPyME for a voucher issued on
        `issue_date`, and from what amount.

        Raises `ValueError` for a CUIT whose check digit is wrong (nothing is sent), then as the
        module docstring says.
        """
        digits = normalize_cuit(cuit)
        if not is_valid_cuit(digits):
            raise ValueError(f"not a valid CUIT: {cuit!r}")
        token, sign, represented = self.auth()
        arguments = {
            "authRequest": {
                "token": token,
                "sign": sign,
                "cuitRepresentada": int(normalize_cuit(represented)),
            },
            "cuitConsultada": int(digits),
            "fechaEmision": issue_date,
        }
        payload = self._post("consultarMontoObligadoRecepcion", arguments)
        ret = payload.find("consultarMontoObligadoRecepcionReturn")
        if ret is None:
            raise ServiceUnavailable("consultarMontoObligadoRecepcion: answer without a return")
        return parse_obligation(ret, digits, issue_date)

    def _post(self, operation: str, arguments: dict[str, Any]) -> Any:
        """Render with zeep (names and namespace from the WSDL), send, return the payload."""
        try:
            envelope = self._client.create_message(self._binding, operation, **arguments)
        except (ZeepError, TypeError) as exc:
            raise ValueError(f"{operation} request does not fit the WSDL: {exc}") from exc
        body = etree_to_string(envelope)
        headers = {"SOAPAction": f'"{NAMESPACE}{operation}"', "Content-Type": CONTENT_TYPE}
        return post_query(self._client.transport, self.url, headers, operation, body, fault_for)
