"""ARCA's endpoints per environment: homologación (testing), producción, and the local sandbox."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

HOMOLOGACION = "homologacion"
PRODUCCION = "produccion"
SANDBOX = "sandbox"

# The paths the real services live under; the sandbox serves the same ones so that only the base
# URL changes between environments.
WSAA_PATH = "/ws/services/LoginCms"
WSFE_PATH = "/wsfev1/service.asmx"
# The padrón services (constancia de inscripción, padrón A13) share ARCA's `sr-padron` web app.
PADRON_A5_PATH = "/sr-padron/webservices/personaServiceA5"
PADRON_A13_PATH = "/sr-padron/webservices/personaServiceA13"
WSFEX_PATH = "/wsfexv1/service.asmx"  # export invoices (Factura E)
WSFECRED_PATH = "/wsfecred/FECredService"  # FCE MiPyME (Registro de Facturas de Crédito)

DEFAULT_SANDBOX_URL = "http://arca-sandbox.invalid"


@dataclass(frozen=True)
class Environment:
    """Where WSAA, WSFEv1, WSFEXv1, wsfecred and the padrón services answer for one environment.

    `name` is one of `homologacion`, `produccion` or `sandbox`; it also keys stored access tickets,
    because a ticket (like the certificate behind it) is only good in the environment that
    issued it.
    """

    name: str
    wsaa_url: str
    wsfe_url: str
    # Empty: under the WSAA URL's host (a sandbox or a proxy serves every path on one host).
    padron_a5_url: str = ""
    padron_a13_url: str = ""
    wsfex_url: str = ""
    wsfecred_url: str = ""

    def __post_init__(self) -> None:
        base = _base_of(self.wsaa_url).rstrip("/")
        paths = {
            "padron_a5_url": PADRON_A5_PATH,
            "padron_a13_url": PADRON_A13_PATH,
            "wsfex_url": WSFEX_PATH,
            "wsfecred_url": WSFECRED_PATH,
        }
        for name, path in paths.items():
            if not getattr(self, name):
                object.__setattr__(self, name, base + path)

    @property
    def is_sandbox(self) -> bool:
        return self.name == SANDBOX

    @property
    def base_urls(self) -> tuple[str, ...]:
        """`scheme://host[:port]/` of each service, distinct, for mounting transport adapters.

        The trailing slash matters: requests matches adapters by prefix, and without it an
        adapter for `https://wsaa.afip.gov.ar` would also serve `https://wsaa.afip.gov.ar.evil/`.
        """
        bases = []
        for url in self.urls:
            base = _base_of(url)
            if base not in bases:
                bases.append(base)
        return tuple(bases)

    @property
    def urls(self) -> tuple[str, ...]:
        """Every service URL of the environment."""
        return (
            self.wsaa_url,
            self.wsfe_url,
            self.padron_a5_url,
            self.padron_a13_url,
            self.wsfex_url,
            self.wsfecred_url,
        )


def _base_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


ENVIRONMENTS: dict[str, Environment] = {
    HOMOLOGACION: Environment(
        name=HOMOLOGACION,
        wsaa_url="https://wsaahomo.afip.gov.ar/ws/services/LoginCms",
        wsfe_url="https://wswhomo.afip.gov.ar/wsfev1/service.asmx",
        padron_a5_url="https://awshomo.afip.gov.ar" + PADRON_A5_PATH,
        padron_a13_url="https://awshomo.afip.gov.ar" + PADRON_A13_PATH,
        wsfex_url="https://wswhomo.afip.gov.ar" + WSFEX_PATH,
        wsfecred_url="https://fwshomo.afip.gov.ar" + WSFECRED_PATH,
    ),
    PRODUCCION: Environment(
        name=PRODUCCION,
        wsaa_url="https://wsaa.afip.gov.ar/ws/services/LoginCms",
        wsfe_url="https://servicios1.afip.gov.ar/wsfev1/service.asmx",
        padron_a5_url="https://aws.afip.gov.ar" + PADRON_A5_PATH,
        padron_a13_url="https://aws.afip.gov.ar" + PADRON_A13_PATH,
        wsfex_url="https://servicios1.afip.gov.ar" + WSFEX_PATH,
        wsfecred_url="https://serviciosjava.afip.gob.ar" + WSFECRED_PATH,
    ),
}


def sandbox_environment(base_url: str = DEFAULT_SANDBOX_URL) -> Environment:
    """The sandbox at `base_url`, serving ARCA's own paths under it.

    The default host uses the reserved `.invalid` TLD: it never resolves, so a sandbox
    environment that was not given an in-process WSGI app fails fast instead of reaching
    anything real.
    """
    base = base_url.rstrip("/")
    return Environment(name=SANDBOX, wsaa_url=base + WSAA_PATH, wsfe_url=base + WSFE_PATH)


def get_environment(name: str, sandbox_url: str | None = None) -> Environment:
    """The environment called `name`; `sandbox_url` sets the sandbox's base URL.

    Raises `ValueError` for an unknown name.
    """
    if name == SANDBOX:
        return sandbox_environment(sandbox_url or DEFAULT_SANDBOX_URL)
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        known = ", ".join([*ENVIRONMENTS, SANDBOX])
        raise ValueError(f"unknown ARCA environment {name!r} (expected one of: {known})") from None
