"""The sessions page's device label: browsers that claim each other's names are told apart."""

from __future__ import annotations

import pytest

from blueprints.account.devices import Device, describe_device

CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
FIREFOX_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.7; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15"
)


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (CHROME_LINUX, Device("Chrome", "Linux")),
        (EDGE_WINDOWS, Device("Edge", "Windows")),
        (SAFARI_IPHONE, Device("Safari", "iOS")),
        (CHROME_ANDROID, Device("Chrome", "Android")),
        (FIREFOX_MAC, Device("Firefox", "macOS")),
        (SAFARI_MAC, Device("Safari", "macOS")),
        ("curl/8.5.0", Device(None, None)),
        ("", Device(None, None)),
        (None, Device(None, None)),
    ],
)
def test_device_label_from_the_user_agent(user_agent: str | None, expected: Device) -> None:
    assert describe_device(user_agent) == expected
