"""arca-arg (PyPI, pinned in requirements.txt) against the standalone sandbox over HTTP.

A second, independent client with different habits from django-afip: its TRA has local times
without a UTC offset (issue #17 item 3: real WSAA issued a TA for a TRA with
`<generationTime>2021-07-26T07:21:57`, pyafipws tests/cassettes/test_wsaa/test_login_cms.yaml),
its CMS is signed in S/MIME text mode, and it sends plain dicts through zeep. The driver
(arca_arg_loop.py) authorises a batch of two Factura A with VAT.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

from arca.sandbox import Sandbox
from tests.interop.conftest import DriverRunner, write_credentials

CUIT = "20111111112"
FACTURA_A = 1


def test_arca_arg_does_the_whole_loop(
    http_sandbox: tuple[Sandbox, str], run_driver: DriverRunner, tmp_path: Path
) -> None:
    sandbox, base_url = http_sandbox
    credentials = write_credentials(sandbox, CUIT, tmp_path)
    seen = run_driver(
        "arca_arg_loop.py",
        base_url,
        credentials.cuit,
        str(credentials.key_path),
        str(credentials.cert_path),
    )

    assert seen["token_length"] > 0
    assert sandbox.login_count(CUIT) == 1

    points = seen["points_of_sale"]
    assert points["Errors"] is None
    numbers = [p["Nro"] for p in points["ResultGet"]["PtoVenta"]]
    assert set(sandbox.config.points_of_sale) <= set(numbers)

    for operation, answer in seen["tables"].items():
        assert answer["Errors"] is None, operation
        assert answer["ResultGet"], operation
    vat_rates = seen["tables"]["FEParamGetTiposIva"]["ResultGet"]["IvaTipo"]
    assert {"3", "4", "5", "6", "8", "9"} <= {row["Id"] for row in vat_rates}  # xs:string Id

    # One FECAESolicitar, two Factura A numbered after the last one, both authorised.
    assert seen["last_before"] == 0
    authorized = seen["authorized"]
    assert authorized["Errors"] is None
    assert authorized["FeCabResp"]["Resultado"] == "A"
    assert authorized["FeCabResp"]["CantReg"] == 2
    details = authorized["FeDetResp"]["FECAEDetResponse"]
    assert [d["CbteDesde"] for d in details] == [1, 2]
    assert [d["Resultado"] for d in details] == ["A", "A"]
    assert seen["last_after"] == 2

    # The CAEs the library got are the ones the sandbox recorded; FECompConsultar agrees.
    for detail, consulted in zip(details, seen["consulted"], strict=True):
        stored = sandbox.ledger.find_voucher(CUIT, 1, FACTURA_A, detail["CbteDesde"])
        assert stored is not None
        assert detail["CAE"] == stored.cae
        assert detail["CAEFchVto"] == stored.cae_fch_vto
        result = consulted["ResultGet"]
        assert consulted["Errors"] is None
        assert result["CodAutorizacion"] == stored.cae
        assert result["CbteDesde"] == detail["CbteDesde"]
        assert result["DocNro"] == 30712345671
        assert Decimal(str(result["ImpTotal"])) == Decimal(str(stored.detail["ImpTotal"]))

    log = sandbox.request_log
    assert [(e.cant_reg, e.outcome) for e in log if e.operation == "FECAESolicitar"] == [(2, "A")]
    operations = Counter(e.operation for e in log)
    assert operations["loginCms"] == 1
    assert operations["FECompConsultar"] == 2
