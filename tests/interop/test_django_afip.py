"""django-afip (PyPI, pinned in requirements.txt) against the standalone sandbox over HTTP.

django-afip is the most widely used ARCA client on PyPI: zeep over ARCA's WSDLs, its own CMS
signing (cryptography, SHA-256), tickets and receipts kept in Django models. The driver
(django_afip_loop.py) runs it unchanged except for the WSDL URLs; here we check what it saw
against the sandbox's own ledger and request log. Its key and CSR are the library's own
(TaxPayer.generate_key/generate_csr, an MD5-signed CSR, issue #17 item 5), certified by the
sandbox CA through its portal route, as a user would through ARCA's WSASS page.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from arca.sandbox import Sandbox
from tests.interop.conftest import DriverRunner

CUIT = "20111111112"
FACTURA_B = 6
BATCH_TOTALS = ["121.00", "303.11", "1210.00"]


def test_django_afip_does_the_whole_loop(
    http_sandbox: tuple[Sandbox, str],
    run_driver: DriverRunner,
) -> None:
    sandbox, base_url = http_sandbox
    seen = run_driver("django_afip_loop.py", base_url, CUIT)

    # The library's MD5-signed CSR was certified (issue #17 item 5: `openssl req -verify`
    # accepts it, and so must the CA).
    assert seen["certificate"]["csr_signature_hash"] == "md5"

    # Login: one loginCms, one stored ticket reused for every later call.
    assert seen["tickets_stored"] == 1
    assert seen["ticket"]["token_length"] > 0 and seen["ticket"]["sign_length"] > 0
    assert sandbox.login_count(CUIT) == 1

    # Points of sale: the sandbox's CAE points of sale (and any of the CAEA regime), unblocked.
    numbers = [number for number, _, blocked in seen["points_of_sale"] if not blocked]
    assert set(sandbox.config.points_of_sale) <= set(numbers)

    # Parameters: the WS's tables merged into django-afip's own fixtures of ARCA's tables leave
    # no code twice (issue #17 item 6: a placeholder FchDesde or a shortened text duplicates).
    tables = seen["tables"]
    for operation, rows in tables.items():
        codes = Counter(row[0] for row in rows)
        assert rows, operation
        assert max(codes.values()) == 1, (operation, codes.most_common(3))
    assert {"1", "6", "11"} <= {row[0] for row in tables["FEParamGetTiposCbte"]}
    assert {"3", "4", "5", "6", "8", "9"} <= {row[0] for row in tables["FEParamGetTiposIva"]}
    assert "PES" in {row[0] for row in tables["FEParamGetTiposMonedas"]}
    assert "5" in {row[0] for row in tables["FEParamGetCondicionIvaReceptor"]}

    # Last number, then a batch of three Factura B in one FECAESolicitar, numbered after it.
    assert seen["errors"] == []
    assert seen["last_before"] == 0
    receipts = seen["receipts"]
    assert [r["number"] for r in receipts] == [1, 2, 3]
    assert [r["total"] for r in receipts] == BATCH_TOTALS
    assert seen["last_after"] == 3
    assert len({r["cae"] for r in receipts}) == 3

    # The CAE the library stored is the one the sandbox recorded, and FECompConsultar agrees.
    for receipt in receipts:
        stored = sandbox.ledger.find_voucher(CUIT, 1, FACTURA_B, receipt["number"])
        assert stored is not None
        assert receipt["cae"] == stored.cae
        assert receipt["cae_expiration"].replace("-", "") == stored.cae_fch_vto
        consulted = receipt["consulted"]
        assert consulted["CodAutorizacion"] == stored.cae
        assert consulted["Resultado"] == "A"
        assert consulted["CbteDesde"] == consulted["CbteHasta"] == receipt["number"]
        assert (consulted["PtoVta"], consulted["CbteTipo"]) == (1, FACTURA_B)
        assert Decimal(consulted["ImpTotal"]) == Decimal(receipt["total"])

    # The sandbox's request log: one login, one batch of three authorised, nothing refused.
    log = sandbox.request_log
    batches = [e for e in log if e.operation == "FECAESolicitar"]
    assert [(e.cant_reg, e.outcome) for e in batches] == [(3, "A")]
    operations = Counter(e.operation for e in log)
    assert operations["loginCms"] == 1
    assert operations["FECompConsultar"] == 3
    # Ours before and after, and validate()'s own before numbering the batch.
    assert operations["FECompUltimoAutorizado"] == 3
    assert all(e.outcome == "ok" for e in log if e.operation != "FECAESolicitar"), [
        (e.operation, e.outcome) for e in log if e.outcome != "ok"
    ]
