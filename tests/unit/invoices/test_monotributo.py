import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from blueprints.invoices.monotributo import load_scale, standing


def test_the_shipped_scale_is_ascending_from_a_to_k() -> None:
    scale = load_scale()
    assert [name for name, _ceiling in scale.ceilings] == list("ABCDEFGHIJK")
    assert scale.ceilings[0][1] == Decimal("8992597.87")
    assert scale.ceilings[-1][1] == Decimal("94805682.90")


def test_standing_on_the_scale() -> None:
    scale = load_scale()
    low = standing(Decimal("1000000"), scale)
    assert (low.category, low.near_ceiling, low.above_scale) == ("A", False, False)
    near = standing(Decimal("60000000"), scale)  # H's ceiling is 61,344,853.64
    assert (near.category, near.near_ceiling) == ("H", True)
    assert near.share == Decimal("0.9781")
    edge = standing(Decimal("8992597.87"), scale)
    assert edge.category == "A" and edge.share == Decimal("1.0000")
    out = standing(Decimal("100000000"), scale)
    assert (out.category, out.above_scale, out.ceiling) == (None, True, Decimal("94805682.90"))


def test_staleness_and_a_newer_file(tmp_path: Path) -> None:
    scale = load_scale()
    assert not scale.is_stale(scale.valid_from + dt.timedelta(days=100))
    assert scale.is_stale(scale.valid_from + dt.timedelta(days=200))
    newer = tmp_path / "scale.json"
    newer.write_text(json.dumps({"valid_from": "2026-08-01", "categories": {"B": "20", "A": "10"}}))
    loaded = load_scale(newer)
    assert loaded.ceilings == (("A", Decimal("10")), ("B", Decimal("20")))
    assert standing(Decimal("15"), loaded).category == "B"
