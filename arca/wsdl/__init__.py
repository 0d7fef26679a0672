"""The project's copies of ARCA's WSDL contracts, parsed once per process.

ARCA's WSDLs are never fetched at run time: fetching them would go through the same weak-TLS
hosts on every start (NOTES §12.8) and let a changed contract slip in unnoticed. The files here
are the contract the code was written against; endpoints are bound per environment with
`zeep.Client.create_service(binding, address)`.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from requests import Session
from zeep import Settings, Transport
from zeep.wsdl import Document

WSDL_DIR = Path(__file__).resolve().parent
WSAA_WSDL = WSDL_DIR / "wsaa.wsdl"
WSFE_WSDL = WSDL_DIR / "wsfev1.wsdl"

WSAA_NAMESPACE = "http://wsaa.view.sua.dvadac.desein.afip.gov"
WSFE_NAMESPACE = "http://ar.gov.afip.dif.FEV1/"
# Axis names the binding after the homologation URL it was generated at; it is only a name.
WSAA_BINDING = "{https://wsaahomo.afip.gov.ar/ws/services/LoginCms}LoginCmsSoapBinding"
# The SOAP 1.1 binding: ARCA's SOAP 1.2 one serves the same operations on the same URL.
WSFE_BINDING = "{http://ar.gov.afip.dif.FEV1/}ServiceSoap"

# strict=True: the files are ours and valid; recover mode would hide a broken edit.
WSDL_SETTINGS = Settings(strict=True, forbid_external=True)


@functools.cache
def load_document(path: Path) -> Document:
    """The parsed WSDL at `path`, cached for the life of the process (safe to share read-only).

    Raises whatever zeep raises for an unreadable or invalid file; with the bundled files that
    means a broken installation.
    """
    # zeep wants a transport even for a local path; it reads the file directly and the session
    # is never used, but it is closed here so that nothing is left open.
    with Session() as session:
        # zeep annotates this parameter as a Transport class but uses (and needs) an instance.
        transport: Any = Transport(session=session)
        return Document(str(path), transport, settings=WSDL_SETTINGS)
