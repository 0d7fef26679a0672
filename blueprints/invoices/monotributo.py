"""Monotributo: the last 12 months' income against the category ceilings (pure).

ARCA updates the scale every six months (February and August); the shipped copy is in
`arca/data/monotributo_scale.json` with the date it took effect, and
`TALONARIO_MONOTRIBUTO_SCALE_FILE` can point to a newer one. A scale older than `STALE_AFTER`
is flagged so nobody trusts an outdated ceiling.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

SHIPPED_SCALE = Path(__file__).resolve().parents[2] / "arca" / "data" / "monotributo_scale.json"
NEAR_CEILING = Decimal("0.9")  # from 90 % of the category's ceiling, warn
STALE_AFTER = dt.timedelta(days=190)


@dataclass(frozen=True)
class Scale:
    valid_from: dt.date
    ceilings: tuple[tuple[str, Decimal], ...]  # (category, yearly income ceiling), ascending

    def is_stale(self, today: dt.date) -> bool:
        return today - self.valid_from > STALE_AFTER


@dataclass(frozen=True)
class Standing:
    income: Decimal
    category: str | None  # the lowest category whose ceiling covers the income; None: above K
    ceiling: Decimal
    share: Decimal  # income / ceiling of that category (of K when above it)

    @property
    def near_ceiling(self) -> bool:
        return self.category is not None and self.share >= NEAR_CEILING

    @property
    def above_scale(self) -> bool:
        return self.category is None


def load_scale(path: Path | None = None) -> Scale:
    data = json.loads((path or SHIPPED_SCALE).read_text(encoding="utf-8"))
    ceilings = sorted(
        ((name, Decimal(value)) for name, value in data["categories"].items()),
        key=lambda item: item[1],
    )
    return Scale(dt.date.fromisoformat(data["valid_from"]), tuple(ceilings))


def standing(income: Decimal, scale: Scale) -> Standing:
    """Where 12 months of income fall on the scale."""
    for category, ceiling in scale.ceilings:
        if income <= ceiling:
            return Standing(income, category, ceiling, _share(income, ceiling))
    top = scale.ceilings[-1][1]
    return Standing(income, None, top, _share(income, top))


def _share(income: Decimal, ceiling: Decimal) -> Decimal:
    return (income / ceiling).quantize(Decimal("0.0001")) if ceiling else Decimal(0)
