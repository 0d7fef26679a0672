"""Which certificate authority issues taxpayer certificates in each environment.

A certificate's issuer *name* proves nothing: anyone can make a CA called "Computadores Sandbox".
What proves the issuer is the signature, checked with the CA's public key. The sandbox's CA is
this project's own, so its certificate is always at hand (in-process, or `GET /_sandbox/ca.pem`
from a standalone sandbox). ARCA's CA certificates for homologación and producción are not
shipped (none is available offline; NOTES §3.3 only names them): there `None` is returned, the
issuer is checked by name, and WSAA, which verifies the chain itself, has the last word
(`cms.cert.untrusted`).
"""

from __future__ import annotations

import requests
from cryptography import x509

from arca.environments import SANDBOX
from arca.errors import ServiceUnavailable
from core.arca import ArcaGateway, get_arca


def environment_authority(environment: str) -> x509.Certificate | None:
    """The CA certificate of `environment` when this app knows it; None otherwise.

    Raises `ServiceUnavailable` when a standalone sandbox does not hand over its CA.
    """
    if environment != SANDBOX:
        return None
    gateway = get_arca()
    if gateway.environment_name != SANDBOX:
        return None
    if gateway.in_process:
        return gateway.sandbox().ca.certificate
    return _standalone_sandbox_authority(gateway)


def _standalone_sandbox_authority(gateway: ArcaGateway) -> x509.Certificate:
    url = str(gateway.base_url).rstrip("/") + "/_sandbox/ca.pem"
    try:
        answer = requests.get(url, timeout=(gateway.timeouts.connect, gateway.timeouts.read))
    except requests.RequestException as error:
        raise ServiceUnavailable(f"sandbox CA: {error}") from error
    if answer.status_code != 200:
        raise ServiceUnavailable(f"sandbox CA: HTTP {answer.status_code}", answer.status_code)
    try:
        return x509.load_pem_x509_certificate(answer.content)
    except ValueError as error:
        raise ServiceUnavailable(f"sandbox CA: not a PEM certificate ({error})") from error
