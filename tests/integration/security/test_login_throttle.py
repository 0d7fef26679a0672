"""Login throttle bypassed (issue #15, finding 2): 40 concurrent logins checked 11 passwords
(limit 5) and the right one inside the burst logged in; 4 addresses gave 20 guesses on one
account; nothing capped one address across accounts.

Through real HTTP on PostgreSQL and Redis (threads against a live werkzeug server, each client
from its own loopback address where the test needs several), and the service itself on both
counter stores. Password checks are counted where argon2 verifies, so a check the throttle should
have prevented cannot hide.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Literal

import pytest
import requests
from argon2 import PasswordHasher
from flask import Flask
from requests_toolbelt.adapters.source import SourceAddressAdapter

import core.security
from blueprints.auth.services import InvalidCredentials, Throttle, authenticate, lock_seconds
from core.cache import Cache, MemoryCache, RedisCache, redis_client
from core.db import db
from core.errors import TooManyRequests
from tests.factories import PASSWORD, make_organization, make_user
from tests.integration.security.live_http import Browser, serve

EMAIL = "ana@example.com"
LIMIT = 5  # TALONARIO_LOGIN_MAX_FAILURES's default
BURST = 40
MESSAGE = re.compile(r"Demasiados intentos\.[^<]*")


class Verifications(PasswordHasher):
    """The app's argon2 hasher, counting the passwords it checks (thread-safe)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self._counting = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        with self._counting:
            self.count += 1
        return super().verify(hash, password)


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> Verifications:
    counting = Verifications()
    monkeypatch.setattr(core.security, "_hasher", counting)
    return counting


@pytest.fixture
def base_url(app: Flask) -> Iterator[str]:
    with app.app_context():
        make_organization(owner=make_user(email=EMAIL), legal_name="Almacén Demo SRL")
    with serve(app) as url:
        yield url


def visitor(base_url: str, address: str = "127.0.0.1") -> Browser:
    """A browser whose connections come from `address` (any 127.x.y.z is this machine)."""
    browser = Browser(base_url)
    adapter = SourceAddressAdapter(address)
    browser.http.mount("http://", adapter)
    return browser


def attempt(browser: Browser, token: str, email: str, password: str) -> requests.Response:
    return browser.post("/auth/login", {"email": email, "password": password}, token)


def burst(
    base_url: str, passwords: list[str], addresses: list[str], email: str = EMAIL
) -> list[int]:
    """One login per password, all released at once, each from its own visitor; the statuses."""
    browsers = [visitor(base_url, addresses[i % len(addresses)]) for i in range(len(passwords))]
    tokens = [b.csrf_token("/auth/login") for b in browsers]
    start = threading.Barrier(len(passwords))

    def go(index: int) -> int:
        start.wait()
        return attempt(browsers[index], tokens[index], email, passwords[index]).status_code

    try:
        with ThreadPoolExecutor(max_workers=len(passwords)) as pool:
            return list(pool.map(go, range(len(passwords))))
    finally:
        for browser in browsers:
            browser.close()


def test_forty_concurrent_logins_check_at_most_the_limit_of_passwords(
    base_url: str, verifications: Verifications
) -> None:
    statuses = burst(base_url, [f"adivinanza-{i}" for i in range(BURST)], ["127.0.0.1"])
    assert verifications.count <= LIMIT
    assert statuses.count(422) == verifications.count
    assert statuses.count(429) == BURST - verifications.count
    # The right password, now: refused without being checked.
    browser = visitor(base_url)
    locked = attempt(browser, browser.csrf_token("/auth/login"), EMAIL, PASSWORD)
    assert locked.status_code == 429
    assert verifications.count <= LIMIT
    assert int(locked.headers["Retry-After"]) > 0
    assert browser.get("/").status_code == 302  # not logged in
    browser.close()


def test_the_right_password_inside_a_burst_past_the_limit_does_not_log_in(
    base_url: str, verifications: Verifications
) -> None:
    burst(base_url, [f"adivinanza-{i}" for i in range(LIMIT)], ["127.0.0.1"])
    statuses = burst(base_url, [*(f"otra-{i}" for i in range(BURST - 1)), PASSWORD], ["127.0.0.1"])
    assert statuses == [429] * BURST
    assert verifications.count == LIMIT


def test_more_addresses_give_no_more_guesses_on_one_account(
    base_url: str, verifications: Verifications
) -> None:
    """The probe's 4 addresses × 5 guesses: the account's allowance is shared by all of them."""
    addresses = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
    statuses = burst(base_url, [f"adivinanza-{i}" for i in range(20)], addresses)
    assert verifications.count <= LIMIT
    assert statuses.count(429) >= 20 - LIMIT
    # A fifth address, with the right password: the account is locked for everyone.
    browser = visitor(base_url, "127.0.0.6")
    assert attempt(browser, browser.csrf_token("/auth/login"), EMAIL, PASSWORD).status_code == 429
    browser.close()


def test_one_address_cannot_spray_guesses_across_accounts(app: Flask, base_url: str) -> None:
    with app.app_context():
        emails = [make_user().email for _ in range(25)]
    per_address = app.config.get("LOGIN_MAX_ATTEMPTS_PER_ADDRESS", 20)
    sprayer = visitor(base_url, "127.0.0.7")
    token = sprayer.csrf_token("/auth/login")
    statuses = [attempt(sprayer, token, email, "password123").status_code for email in emails]
    assert statuses[:per_address] == [422] * per_address
    assert set(statuses[per_address:]) == {429}
    sprayer.close()
    # Someone else, from another address, is not held back by it.
    other = visitor(base_url, "127.0.0.8")
    assert attempt(other, other.csrf_token("/auth/login"), EMAIL, PASSWORD).status_code == 303
    other.close()


def test_the_message_never_says_which_limit_was_hit(app: Flask, base_url: str) -> None:
    account = visitor(base_url, "127.0.0.9")
    token = account.csrf_token("/auth/login")
    for _ in range(LIMIT):
        attempt(account, token, EMAIL, "mal")
    by_account = attempt(account, token, EMAIL, "mal")
    with app.app_context():
        emails = [make_user().email for _ in range(21)]
    sprayer = visitor(base_url, "127.0.0.10")
    token = sprayer.csrf_token("/auth/login")
    by_address = [attempt(sprayer, token, email, "mal") for email in emails][-1]
    assert by_account.status_code == by_address.status_code == 429
    messages = [MESSAGE.search(r.text) for r in (by_account, by_address)]
    assert all(messages), "no throttle message on the page"
    said = [re.sub(r"\d+", "N", m.group(0)) for m in messages if m]
    assert said[0] == said[1]
    assert not re.search(r"(?i)email|cuenta|direcci|IP", said[0])
    account.close()
    sprayer.close()


# --- the service, on both counter stores --------------------------------------------------------


@pytest.fixture(params=["redis", "memory"])
def cache(request: pytest.FixtureRequest, app: Flask) -> Iterator[Cache]:
    """Redis (production) and the in-process store (the embedded default), same prefix rules."""
    prefix = app.config["CACHE_KEY_PREFIX"]
    if request.param == "memory":
        yield MemoryCache(prefix)
        return
    client = redis_client(app.config["REDIS_URL"])
    yield RedisCache(client, prefix)
    client.close()


def login_as(
    app: Flask, cache: Cache, throttle: Throttle, email: str, password: str, ip: str
) -> str:
    """'ok', 'wrong' or 'locked', from the service in an app context of its own (a worker)."""
    with app.app_context():
        try:
            authenticate(db.session, cache, throttle, email, password, ip)
        except TooManyRequests:
            return "locked"
        except InvalidCredentials:
            return "wrong"
        finally:
            db.session.remove()
        return "ok"


def test_concurrent_attempts_on_either_store_check_at_most_the_limit(
    app: Flask, cache: Cache, verifications: Verifications
) -> None:
    with app.app_context():
        make_user(email=EMAIL)
    throttle = Throttle(max_failures=LIMIT, window_seconds=60)
    start = threading.Barrier(BURST)

    def go(index: int) -> str:
        start.wait()
        return login_as(app, cache, throttle, EMAIL, f"adivinanza-{index}", f"10.0.0.{index}")

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        outcomes = list(pool.map(go, range(BURST)))
    assert verifications.count == LIMIT
    assert outcomes.count("wrong") == LIMIT
    assert login_as(app, cache, throttle, EMAIL, PASSWORD, "10.0.1.1") == "locked"


def test_a_success_clears_the_account_and_gives_the_address_back_only_its_own_attempt(
    app: Flask, cache: Cache
) -> None:
    with app.app_context():
        make_user(email=EMAIL)
        other = make_user().email
    throttle = Throttle(max_failures=3, window_seconds=60, max_per_address=5)
    assert [login_as(app, cache, throttle, EMAIL, "mal", "10.1.0.1") for _ in range(2)] == [
        "wrong",
        "wrong",
    ]
    assert login_as(app, cache, throttle, EMAIL, PASSWORD, "10.1.0.1") == "ok"
    # The account's count starts over: three more failures are checked before it locks...
    assert [login_as(app, cache, throttle, EMAIL, "mal", "10.1.0.2") for _ in range(3)] == [
        "wrong"
    ] * 3
    assert login_as(app, cache, throttle, EMAIL, PASSWORD, "10.1.0.2") == "locked"
    # ...while the first address keeps its 2 failures: 3 more, on any account, and it is locked.
    assert [login_as(app, cache, throttle, other, "mal", "10.1.0.1") for _ in range(3)] == [
        "wrong"
    ] * 3
    assert login_as(app, cache, throttle, other, PASSWORD, "10.1.0.1") == "locked"


def test_many_logins_from_one_office_address_are_not_throttled(app: Flask, cache: Cache) -> None:
    with app.app_context():
        emails = [make_user().email for _ in range(3)]
    throttle = Throttle(max_failures=3, window_seconds=60, max_per_address=5)
    outcomes = [
        login_as(app, cache, throttle, emails[i % 3], PASSWORD, "10.3.0.1") for i in range(12)
    ]
    assert outcomes == ["ok"] * 12


def test_each_lock_after_the_first_lasts_twice_as_long(app: Flask, cache: Cache) -> None:
    """One attempt per 1 s window: locked 1 s; spent again, 2 s; again, 4 s (the cap here)."""
    with app.app_context():
        make_user(email=EMAIL)
    throttle = Throttle(max_failures=1, window_seconds=1, max_lock_seconds=4)
    waits: list[int] = []
    for _round in range(3):
        assert login_as(app, cache, throttle, EMAIL, "mal", "10.2.0.1") == "wrong"
        waits.append(retry_after(app, cache, throttle))
        if len(waits) < 3:
            time.sleep(waits[-1] + 0.3)
    assert waits == [1, 2, 4]


def test_a_success_starts_the_back_off_over(app: Flask, cache: Cache) -> None:
    with app.app_context():
        make_user(email=EMAIL)
    throttle = Throttle(max_failures=1, window_seconds=1, max_lock_seconds=4)
    assert login_as(app, cache, throttle, EMAIL, "mal", "10.2.0.1") == "wrong"
    assert retry_after(app, cache, throttle) == 1
    time.sleep(1.3)
    assert login_as(app, cache, throttle, EMAIL, PASSWORD, "10.2.0.1") == "ok"
    assert login_as(app, cache, throttle, EMAIL, "mal", "10.2.0.1") == "wrong"
    assert retry_after(app, cache, throttle) == 1  # not 2: the success cleared the account's


def retry_after(app: Flask, cache: Cache, throttle: Throttle) -> int:
    with app.app_context():
        try:
            authenticate(db.session, cache, throttle, EMAIL, PASSWORD, "10.2.0.1")
        except TooManyRequests as error:
            return error.retry_after
        finally:
            db.session.remove()
    raise AssertionError("not locked")


def test_locks_double_up_to_an_hour() -> None:
    assert [lock_seconds(60, strikes, 3600) for strikes in range(1, 9)] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
