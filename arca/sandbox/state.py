"""The sandbox's configuration and the parts every operation shares."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from arca.sandbox.ca import SandboxCA
from arca.sandbox.clock import SandboxClock
from arca.sandbox.faults import FaultBook
from arca.sandbox.ledger import Ledger

# FEParamGetPtosVenta's EmisionTipo of a CAEA-regime point of sale. No recording lists one; the
# text follows ARCA's recorded "CAE - Ri Iva" (pyafipws tests/cassettes/test_wsfev1/
# test_main_ptos_venta.yaml).
CAEA_EMISSION_TYPE = "CAEA - Ri Iva"


@dataclass(frozen=True)
class SandboxConfig:
    """How this ARCA behaves.

    `points_of_sale`: the web-service (RECE) points of sale every CUIT has enabled.
    `max_batch`: FECompTotXRequest's RegXReq. `already_authenticated_window_seconds`: WSAA's
    anti-repeat window (homologation: 10 min). `consumidor_final_threshold`: the amount from
    which an anonymous final consumer (DocTipo 99) is refused (RG 5700/2025, ARS 10.000.000).
    `ca_key_pem`: a fixed CA key (PEM) instead of the one generated and kept in the ledger.
    `caea_points_of_sale`: the CUIT's points of sale of the CAEA regime (contingency): only
    FECAEARegInformativo and FECAEASinMovimientoInformar use them, FECAESolicitar refuses them.
    `caea_report_days`: FchTopeInf is this many days after the fortnight's last day (ARCA's
    recorded answers: 06-30 -> 07-05, 07-31 -> 08-05, 08-15 -> 08-20).
    """

    points_of_sale: tuple[int, ...] = (1, 2, 3, 4, 5)
    max_batch: int = 250
    already_authenticated_window_seconds: int = 600
    ta_hours: int = 12
    consumidor_final_threshold: Decimal = Decimal("10000000")
    environment_label: str = "sandbox"
    ca_key_pem: bytes | None = None
    caea_points_of_sale: tuple[int, ...] = (6,)
    caea_report_days: int = 5

    @property
    def web_service_points_of_sale(self) -> tuple[int, ...]:
        """Every point of sale enabled for WSFEv1, CAE and CAEA regimes alike."""
        return self.points_of_sale + tuple(
            n for n in self.caea_points_of_sale if n not in self.points_of_sale
        )

    def emission_type(self, pto_vta: int, cae_emission_type: str) -> str:
        """FEParamGetPtosVenta's `EmisionTipo` for `pto_vta` (`cae_emission_type` if it is not
        of the CAEA regime)."""
        return CAEA_EMISSION_TYPE if pto_vta in self.caea_points_of_sale else cae_emission_type


@dataclass(frozen=True)
class State:
    config: SandboxConfig
    clock: SandboxClock
    ca: SandboxCA
    ledger: Ledger
    faults: FaultBook
