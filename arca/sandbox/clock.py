"""The sandbox's clock: real time by default, frozen or shifted by tests and the admin API."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone

# Argentina has had no daylight saving time since 2009: a fixed -03:00 is exact.
ARGENTINA = timezone(timedelta(hours=-3), "ART")


class SandboxClock:
    """Aware `now()` for everything the sandbox decides (TA lifetimes, CbteFch windows, CAE dates).

    Thread-safe. `advance` moves a frozen clock forward, or shifts a running one by that much.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None
        self._offset = timedelta()

    def now(self) -> datetime:
        """The current sandbox time, in Argentina's offset."""
        with self._lock:
            current = self._frozen or datetime.now(UTC) + self._offset
        return current.astimezone(ARGENTINA)

    def today(self) -> date:
        """Today's date in Argentina (what ARCA calls N in its CbteFch windows)."""
        return self.now().date()

    def freeze(self, moment: datetime) -> None:
        """Stop the clock at `moment`, which must be timezone-aware (ValueError otherwise)."""
        if moment.tzinfo is None:
            raise ValueError("the sandbox clock needs an aware datetime")
        with self._lock:
            self._frozen = moment

    def advance(self, seconds: float) -> None:
        """Move the clock forward (or back, with a negative number)."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += timedelta(seconds=seconds)
            else:
                self._offset += timedelta(seconds=seconds)

    def unfreeze(self) -> None:
        """Back to real time, dropping any offset."""
        with self._lock:
            self._frozen = None
            self._offset = timedelta()

    @property
    def frozen(self) -> bool:
        with self._lock:
            return self._frozen is not None
