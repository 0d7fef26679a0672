"""Who must receive FCE MiPyME in the sandbox, and from what amount.

ARCA answers `consultarMontoObligadoRecepcion` from its own registry of company sizes (large
companies and those that opted into the regime), which no public source lists. The sandbox
keeps a short fixed list instead, so that tests and demos are repeatable:

* `OBLIGATED` are large companies that must receive FCE from `FCE_THRESHOLD` on. The names are
  invented; 30500010912 is the receiver pyafipws used in homologation for FCE vouchers
  (tests/cassettes/test_wsfev1/test_main_prueba_fce.yaml), the rest are made up.
* Every other valid CUIT is "not obligated" (`obligado` N, no `montoDesde`).

`FCE_THRESHOLD`: the regime's minimum amount is set by the SME Secretariat (Ley 27.440, RG 4367
and later resolutions) and changes over time; NOTES.md does not record it. The sandbox uses
ARS 3.958.316 (the figure in force since 2024 as far as we know) **[UNCERTAIN]**; see
docs/arca-sandbox.md, "FCE".
"""

from __future__ import annotations

from decimal import Decimal

FCE_THRESHOLD = Decimal("3958316.00")

OBLIGATED: dict[str, str] = {
    "30500010912": "GRAN EMPRESA DE HOMOLOGACION S.A.",
    "30500002006": "SIDERURGICA DEL LITORAL S.A.",
    "30500003002": "SUPERMERCADOS PAMPEANOS S.A.",
    "30500004009": "ENERGIA AUSTRAL S.A.",
}


def threshold_for(cuit: str) -> Decimal | None:
    """The amount from which `cuit` must receive FCE, or None if it need not receive them."""
    return FCE_THRESHOLD if cuit in OBLIGATED else None
