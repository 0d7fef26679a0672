"""A short "Chrome en Linux" label for a login's user agent, from a few ordered rules.

No parser library is installed, and the sessions page only needs to tell a person's devices
apart; the order matters because browsers claim each other's names (Edge says "Chrome" and
"Safari", Chrome says "Safari", Android says "Linux").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from blueprints.auth.models import UserSession

# (marker in the user agent, name shown), first match wins.
BROWSERS: tuple[tuple[str, str], ...] = (
    ("Edg", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS: tuple[tuple[str, str], ...] = (
    ("Windows", "Windows"),
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


@dataclass(frozen=True)
class Device:
    browser: str | None
    system: str | None


def describe_device(user_agent: str | None) -> Device:
    """The browser and operating system named by `user_agent`; None for what is not known."""
    text = user_agent or ""
    return Device(_first_match(text, BROWSERS), _first_match(text, SYSTEMS))


def _first_match(text: str, rules: tuple[tuple[str, str], ...]) -> str | None:
    return next((name for marker, name in rules if marker in text), None)


@dataclass(frozen=True)
class SessionEntry:
    """One row of the sessions page."""

    id: int
    device: Device
    address: str
    created_at: dt.datetime
    last_seen_at: dt.datetime
    remember: bool
    current: bool


def build_entries(rows: Iterable[UserSession], current_id: int | None) -> list[SessionEntry]:
    """The page's rows, this browser's login first."""
    entries = [
        SessionEntry(
            id=row.id,
            device=describe_device(row.user_agent),
            address=row.ip or "",
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            remember=row.remember,
            current=row.id == current_id,
        )
        for row in rows
    ]
    return sorted(entries, key=lambda entry: not entry.current)
