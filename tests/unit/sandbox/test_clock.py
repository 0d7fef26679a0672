from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from arca.sandbox.clock import SandboxClock


def test_freeze_advance_unfreeze() -> None:
    clock = SandboxClock()
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    clock.freeze(moment)
    assert clock.now() == moment
    assert clock.now().utcoffset() == timedelta(hours=-3)
    assert clock.today().isoformat() == "2026-03-01"
    clock.advance(3600)
    assert clock.now() == moment + timedelta(hours=1)
    clock.unfreeze()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_advance_shifts_a_running_clock() -> None:
    clock = SandboxClock()
    clock.advance(86400)
    assert clock.now() - datetime.now(UTC) > timedelta(hours=23)
    assert not clock.frozen


def test_freeze_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        SandboxClock().freeze(datetime(2026, 3, 1))
