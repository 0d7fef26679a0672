"""The sandbox's configuration and the parts every operation shares."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from arca.sandbox.ca import SandboxCA
from arca.sandbox.clock import SandboxClock
from arca.sandbox.faults import FaultBook
from arca.sandbox.ledger import Ledger


@dataclass(frozen=True)
class SandboxConfig:
    """How this ARCA behaves.

    `points_of_sale`: the web-service (RECE) points of sale every CUIT has enabled.
    `max_batch`: FECompTotXRequest's RegXReq. `already_authenticated_window_seconds`: WSAA's
    anti-repeat window (homologation: 10 min). `consumidor_final_threshold`: the amount from
    which an anonymous final consumer (DocTipo 99) is refused (RG 5700/2025, ARS 10.000.000).
    `ca_key_pem`: a fixed CA key (PEM) instead of the one generated and kept in the ledger.
    """

    points_of_sale: tuple[int, ...] = (1, 2, 3, 4, 5)
    max_batch: int = 250
    already_authenticated_window_seconds: int = 600
    ta_hours: int = 12
    consumidor_final_threshold: Decimal = Decimal("10000000")
    environment_label: str = "sandbox"
    ca_key_pem: bytes | None = None


@dataclass(frozen=True)
class State:
    config: SandboxConfig
    clock: SandboxClock
    ca: SandboxCA
    ledger: Ledger
    faults: FaultBook
