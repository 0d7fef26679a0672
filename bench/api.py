"""The JSON API's latencies and throughput on PostgreSQL and Redis, through the real HTTP stack.

Prints the p50 and p95 (and the SQL statements one request sends) of:

- key validation, cached and uncached: `resolve_secret` alone (the bearer secret to its key: one
  Redis read when cached; a cache miss, an indexed SELECT and a cache write when not), and a
  whole `GET /api/v1/organization` request with the key cached and with its cache entry deleted
  before each request;
- create a draft: `POST /api/v1/invoices` (two lines, a customer by id);
- authorize: `POST /api/v1/invoices/{id}/authorize?wait=10` with an Idempotency-Key, answered
  200 with the CAE: the preflight, the RQ job run by one `flask --app app worker` process
  against the in-process ARCA sandbox (real SOAP, the WSAA ticket cached), the answer polled
  every 0.25 s; and the same call without `wait`, answered 202 once queued;
- the invoice list at N invoices (100,000 by default, seeded with SQL as bench/invoices_list.py
  does, plus 5,000 of another organization): `GET /api/v1/invoices` first page, a status
  filter, a customer filter, page 2 by its cursor, and a page of 200;

then requests per second of `GET /api/v1/parameters/vat-rates` (authenticated, the key cached,
rate-limited per key in Redis) served by gunicorn (gunicorn.conf.py, 4 sync workers) on a free
port, driven by `wrk` when it is installed (Debian: `apt-get install wrk`), else by Python
threads. The key's limit is raised past what the run sends, so no request is refused;

and last the access-ticket and API-key cache hit ratios of the run's traffic, read from the
metrics of every process (this one, its RQ worker, gunicorn's workers: prometheus_client's
multiprocess mode, in a directory of the run's own), as gunicorn's `/metrics` serves them. They
must be above 90 %; the key-validation figures, which delete the key's cache entry on purpose,
are left out of them (and shown apart).

    .venv/bin/python bench/api.py [--invoices 100000] [--requests 100] [--authorizations 40]
                                  [--seconds 10]

Without TALONARIO_TEST_DATABASE_URL it uses postgresql+psycopg://postgres@127.0.0.1:5432/postgres
(it creates its own database there and drops it at the end); Redis on 127.0.0.1:6379 when it
answers, else the in-process cache (then authorizations run inline, without a worker).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Every process of the run counts into one directory (this one, its RQ worker and gunicorn's
# workers inherit it), so the hit ratios cover them all. Set before prometheus_client is first
# imported: it chooses its mode then.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="talonario-bench-metrics-")

from app import create_app
from bench._services import make_database, redis_url
from bench.invoices_list import seed as seed_invoices
from bench.invoices_list import sign_up
from blueprints.api.models import SCOPES
from blueprints.api.services import (
    KeyRequest,
    cache_key,
    create_api_key,
    hash_secret,
    resolve_secret,
)
from blueprints.certificates.services import generate_request, issue_with_sandbox_ca
from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import create_customer
from blueprints.organizations.models import Organization
from blueprints.points_of_sale.services import sync_points_of_sale
from core.arca import get_arca
from core.cache import get_cache
from core.crypto import generate_key, get_keyring
from core.db import db, utcnow
from core.metrics import collected, hit_ratios
from tests.factories import make_organization, make_user

ROOT = Path(__file__).resolve().parents[1]
REQUESTS = 100  # per measurement, after a warm-up
AUTHORIZATIONS = 40
INVOICES = 100_000
OTHER_INVOICES = 5_000
SECONDS = 10  # of load on gunicorn
WORKERS = 4
CONNECTIONS = 16
LINES = [
    {"description": "Café en grano 1 kg", "quantity": "2", "unit_price": "12100.00"},
    {"description": "Libro", "quantity": "1", "unit_price": "22100.00", "vat": 4},
]
CHEAP_GET = "/api/v1/parameters/vat-rates"
HIT_RATIO_FLOOR = 0.90


# --- figures -------------------------------------------------------------------------------------


def p95(timings: list[float]) -> float:
    ordered = sorted(timings)
    return ordered[max(int(len(ordered) * 0.95) - 1, 0)]


def report(label: str, timings: list[float], note: str = "") -> None:
    print(
        f"  {label:<46} n={len(timings):<4} p50 {statistics.median(timings):8.2f} ms  "
        f"p95 {p95(timings):8.2f} ms  {note}",
        flush=True,
    )


def timed(
    call: Callable[[], object], count: int, before: Callable[[], object] | None = None
) -> list[float]:
    """`count` timings of `call` in ms, after two untimed warm-up calls; `before` runs untimed
    ahead of each call."""
    for _ in range(2):
        if before:
            before()
        call()
    timings = []
    for _ in range(count):
        if before:
            before()
        began = time.perf_counter()
        call()
        timings.append((time.perf_counter() - began) * 1000)
    return timings


def sql(count: int) -> str:
    return f"({count} SQL statement{'' if count == 1 else 's'})"


def expect(response: Any, status: int) -> Any:
    assert response.status_code == status, (response.status_code, response.get_data()[:500])
    return response


# --- setup ---------------------------------------------------------------------------------------


def certified() -> Organization:
    """An organization with an active sandbox certificate and ARCA's points of sale."""
    owner = make_user()
    organization = make_organization(owner=owner)
    request = generate_request(
        db.session, organization, owner, "sandbox", "facturas", get_keyring()
    )
    issue_with_sandbox_ca(db.session, organization, owner, request, get_arca())
    sync_points_of_sale(db.session, organization.id, get_arca(), owner)
    return organization


def new_key(organization_id: int, rate_limit: int = 10_000) -> str:
    """A key with every scope. The form caps limits at 10,000 a minute; a load test needs more,
    so the column is raised past the cap (the limit is still counted in Redis)."""
    request = KeyRequest(name="Bench", scopes=SCOPES, expires_on=None, rate_limit=10_000)
    key, secret = create_api_key(db.session, organization_id, None, request, "sandbox")
    key.rate_limit = rate_limit
    db.session.commit()
    return secret


def headers(secret: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **extra}


def environment(config: dict[str, Any]) -> dict[str, str]:
    """The bench app's configuration as the TALONARIO_* variables a subprocess reads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALONARIO_")}
    for name, value in config.items():
        if value is not None:
            env[f"TALONARIO_{name}"] = str(value)
    return env


@contextlib.contextmanager
def rq_worker(config: dict[str, Any]) -> Iterator[None]:
    """One `flask --app app worker` process on the bench's queue, stopped after."""
    if not config["REDIS_URL"]:
        yield  # no Redis: jobs run inline in the request
        return
    process = subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "flask"), "--app", "app", "worker"],
        cwd=ROOT,
        env=environment(config),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(2)  # the worker imports the app and registers itself
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


# --- the measurements ----------------------------------------------------------------------------


def measure_key_validation(app: Flask, client: FlaskClient, secret: str, count: int) -> None:
    print("key validation", flush=True)
    digest = cache_key(hash_secret(secret))
    with app.app_context():
        cache = get_cache()

        def resolve() -> None:
            assert resolve_secret(db.session, cache, secret, utcnow()) is not None
            db.session.commit()

        def forget() -> None:
            cache.delete(digest)

        report("resolve_secret, cached", timed(resolve, count))
        report("resolve_secret, uncached", timed(resolve, count, before=forget))
        db.session.remove()

    def who_am_i() -> None:
        expect(client.get("/api/v1/organization", headers=headers(secret)), 200)

    def forget_key() -> None:
        with app.app_context():
            get_cache().delete(digest)

    cached = timed(who_am_i, count)
    with statements(app) as sent:
        who_am_i()
    report("GET /api/v1/organization, key cached", cached, sql(sent[0]))
    uncached = timed(who_am_i, count, before=forget_key)
    forget_key()
    with statements(app) as sent:
        who_am_i()
    report("GET /api/v1/organization, key uncached", uncached, sql(sent[0]))


def measure_drafts(client: FlaskClient, secret: str, customer_id: int, count: int) -> list[int]:
    """Times `count` POST /api/v1/invoices; returns the drafts' ids."""
    made: list[int] = []
    body = {"point_of_sale": 1, "customer_id": customer_id, "lines": LINES}

    def create() -> None:
        response = expect(client.post("/api/v1/invoices", json=body, headers=headers(secret)), 201)
        made.append(response.get_json()["id"])

    report("POST /api/v1/invoices (draft, 2 lines)", timed(create, count))
    return made


def measure_authorizations(
    client: FlaskClient, secret: str, waited: list[int], queued: list[int]
) -> None:
    """`waited`: POST …/authorize?wait=10, each answered 200 with its CAE once the worker is
    done (the answer polls every `jobs.POLL_SECONDS`, 0.25 s). `queued`: POST …/authorize
    answered 202 at once; the worker authorizes them meanwhile and the call returns when every
    one is authorized."""

    def post(invoice_id: int, wait: int) -> Any:
        return client.post(
            f"/api/v1/invoices/{invoice_id}/authorize?wait={wait}",
            headers=headers(secret, **{"Idempotency-Key": uuid.uuid4().hex}),
        )

    def authorize_and_wait() -> None:
        body = expect(post(waited.pop(), 10), 200).get_json()
        assert body["status"] == "authorized" and body["cae"], body

    def authorize_queued() -> None:
        expect(post(queued[len(sent)], 0), 202)
        sent.append(queued[len(sent)])

    sent: list[int] = []
    timings = timed(authorize_and_wait, len(waited) - 2)
    report("POST …/authorize?wait=10 → 200 with its CAE", timings, "(preflight, RQ, sandbox)")
    if not queued:
        return  # no Redis: authorizations run inline, nothing is ever queued
    report("POST …/authorize → 202 (queued)", timed(authorize_queued, len(queued) - 2))
    for invoice_id in sent:
        response = client.post(
            f"/api/v1/invoices/{invoice_id}/authorize?wait=30", headers=headers(secret)
        )
        assert expect(response, 200).get_json()["cae"], invoice_id


def measure_list(
    app: Flask, client: FlaskClient, secret: str, customer_id: int, count: int
) -> None:
    def getter(query: dict[str, str]) -> Callable[[], None]:
        def get() -> None:
            response = client.get("/api/v1/invoices", query_string=query, headers=headers(secret))
            assert expect(response, 200).get_json()["data"], query

        return get

    first = client.get("/api/v1/invoices", headers=headers(secret)).get_json()
    kinds = {
        "GET /api/v1/invoices (first page, 50)": {},
        "… ?status=authorized": {"status": "authorized"},
        "… ?customer_id= (the top customer)": {"customer_id": str(customer_id)},
        "… page 2 (its cursor)": {"cursor": first["next_cursor"]},
        "… ?limit=200": {"limit": "200"},
    }
    for label, query in kinds.items():
        get = getter(query)
        with statements(app) as sent:
            get()
        report(label, timed(get, count), sql(sent[0]))


@contextlib.contextmanager
def statements(app: Flask) -> Iterator[list[int]]:
    """How many SQL statements the requests inside send: `[count]`."""
    sent = [0]

    def count(*_: Any) -> None:
        sent[0] += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


# --- gunicorn ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def gunicorn(config: dict[str, Any], workers: int) -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            str(Path(sys.executable).parent / "gunicorn"),
            # The deployment's own settings (gunicorn.conf.py: preloading, timeouts), with the
            # bench's worker count and port; the access log would only print every request.
            *("-c", "gunicorn.conf.py", "-w", str(workers), "-b", f"127.0.0.1:{port}"),
            *("--log-level", "warning", "--access-logfile", "/dev/null"),
            "app:create_app()",
        ],
        cwd=ROOT,
        env=environment(config),
    )
    try:
        deadline = time.monotonic() + 120
        while not answers(port):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.5)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def answers(port: int) -> bool:
    """Whether a worker answers yet (the master listens before its workers have the app)."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/healthz")
        status = connection.getresponse().status
        connection.close()
    except OSError:
        return False
    return status == 200


def with_wrk(port: int, secret: str, seconds: int) -> tuple[float, str]:
    result = subprocess.run(  # noqa: S603
        [
            str(shutil.which("wrk")),
            *("-t", "2", "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--latency"),
            *("-H", f"Authorization: Bearer {secret}"),
            f"http://127.0.0.1:{port}{CHEAP_GET}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    refused = re.search(r"Non-2xx or 3xx responses|Socket errors", result.stdout)
    assert rate and float(rate.group(1)) > 0 and not refused, result.stdout
    latency = re.search(r"Distribution\s+50%\s+(\S+).*?99%\s+(\S+)", result.stdout, re.S)
    detail = f"wrk, {CONNECTIONS} connections"
    if latency:
        detail += f"; latency p50 {latency[1]}, p99 {latency[2]}"
    return float(rate.group(1)), detail


def with_threads(port: int, secret: str, seconds: int) -> tuple[float, str]:
    done = [0] * CONNECTIONS
    failures: list[int] = []
    stop = time.monotonic() + seconds

    def drive(index: int) -> None:
        while time.monotonic() < stop:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", CHEAP_GET, headers={"Authorization": f"Bearer {secret}"})
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status != 200:
                failures.append(response.status)
            done[index] += 1

    began = time.monotonic()
    threads = [threading.Thread(target=drive, args=(i,)) for i in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, f"{len(failures)} requests failed: {sorted(set(failures))}"
    return sum(done) / (time.monotonic() - began), f"Python threads, {CONNECTIONS} connections"


def measure_throughput(
    app: Flask, client: FlaskClient, config: dict[str, Any], secret: str, seconds: int
) -> None:
    def get() -> None:
        expect(client.get(CHEAP_GET, headers=headers(secret)), 200)

    alone = timed(get, 50)
    with statements(app) as sent:
        get()
    report(f"GET {CHEAP_GET}, one at a time", alone, sql(sent[0]))
    with gunicorn(config, WORKERS) as port:
        drive = with_wrk if shutil.which("wrk") else with_threads
        drive(port, secret, 3)  # warm-up: every worker has its app, connections and caches
        rate, how = drive(port, secret, seconds)
        served = scraped_ratios(port, config["METRICS_TOKEN"])
    print(
        f"  GET {CHEAP_GET}, gunicorn -w {WORKERS} (sync): {rate:,.0f} requests/s "
        f"over {seconds} s ({how})",
        flush=True,
    )
    print(f"  gunicorn's /metrics, talonario_cache_hit_ratio (whole run so far): {served}")


def scraped_ratios(port: int, token: str) -> str:
    """The hit-ratio gauges as one of gunicorn's workers serves them (every process's counts)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    assert response.status == 200, (response.status, text[:200])
    found = re.findall(r'^talonario_cache_hit_ratio\{cache="(\w+)"\} (\S+)$', text, re.M)
    return ", ".join(f"{cache} {float(ratio):.1%}" for cache, ratio in found)


Counts = dict[str, tuple[float, float]]


def cache_counts() -> Counts:
    """(hits, lookups) per cache, summed over every process of the run."""
    return hit_ratios(collected().collect())


def report_hit_ratios(start: Counts, deliberate: Counts, end: Counts) -> None:
    """The traffic's ratios (`end` minus the deliberate misses between `start` and
    `deliberate`), each required above HIT_RATIO_FLOOR; then the whole run's."""
    print("\ncache hit ratios, every process of the run (from the metrics)")
    for cache in end:
        spent = [deliberate[cache][i] - start[cache][i] for i in (0, 1)]
        hits, lookups = (end[cache][i] - spent[i] for i in (0, 1))
        ratio = hits / lookups if lookups else 0.0
        print(
            f"  {cache:<14} {hits:>8,.0f} hits of {lookups:>8,.0f} lookups: {ratio:6.1%} "
            f"(whole run, with the key-validation figures' {spent[1] - spent[0]:,.0f} deliberate "
            f"misses: {end[cache][0] / max(end[cache][1], 1):.1%})",
            flush=True,
        )
        assert ratio > HIT_RATIO_FLOOR, f"{cache} cache hit ratio {ratio:.1%}"


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--invoices", type=int, default=INVOICES, help="in the listed organization (0: no list)"
    )
    parser.add_argument("--requests", type=int, default=REQUESTS, help="per latency figure")
    parser.add_argument("--authorizations", type=int, default=AUTHORIZATIONS)
    parser.add_argument("--seconds", type=int, default=SECONDS, help="of load on gunicorn")
    options = parser.parse_args()
    if options.requests < 2 * options.authorizations + 2:
        parser.error("--requests must be at least 2 × --authorizations + 2 (the drafts it makes)")
    for name in [name for name in os.environ if name.startswith("TALONARIO_ARCA_")]:
        del os.environ[name]  # the in-process sandbox, whatever the shell says
    database_url, drop = make_database()
    with tempfile.TemporaryDirectory() as instance:
        config = {
            "INSTANCE_PATH": instance,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url(),
            "CACHE_KEY_PREFIX": f"talonario-bench-{uuid.uuid4().hex[:6]}:",
            "ENCRYPTION_KEYS": generate_key(),
            "SECRET_KEY": uuid.uuid4().hex,
            "SESSION_COOKIE_SECURE": False,
            "ARCA_ENVIRONMENT": "sandbox",
            # One sandbox state for the bench, its worker and gunicorn's processes.
            "ARCA_SANDBOX_STATE": str(Path(instance) / "arca-sandbox.sqlite3"),
            "METRICS_TOKEN": uuid.uuid4().hex,
        }
        app = create_app(config)
        try:
            run(app, config, options)
        finally:
            with app.app_context():
                db.engine.dispose()
                get_arca().close()
            drop()
            shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def run(app: Flask, config: dict[str, Any], options: argparse.Namespace) -> None:
    began = time.perf_counter()
    with app.app_context():
        upgrade()
        cache = app.extensions["talonario.cache"].backend
        version = ".".join(str(part) for part in db.engine.dialect.server_version_info or ())
        print(
            f"database: {db.engine.dialect.name} {version}, cache: {cache}, {os.cpu_count()} CPUs"
        )
        organization = certified()
        fields = CustomerFields("80", "30-70000000-8", "Distribuidora Norte SA", "1")
        customer_id = create_customer(db.session, organization.id, fields, None).id
        secret = new_key(organization.id)
        db.session.remove()
    client = app.test_client()

    print(f"\nserver time through the WSGI app ({options.requests} requests each)")
    counted_first = cache_counts()
    measure_key_validation(app, client, secret, options.requests)
    deliberate = cache_counts()
    drafts = measure_drafts(client, secret, customer_id, options.requests)
    with rq_worker(config):
        waited = drafts[: options.authorizations + 2]
        queued = drafts[-options.authorizations - 2 :] if config["REDIS_URL"] else []
        measure_authorizations(client, secret, waited, queued)

    if options.invoices:
        secret = measure_listing(app, client, options)
    print(f"\nthroughput ({os.cpu_count()} CPUs shared by gunicorn and the load generator)")
    measure_throughput(app, client, config, secret, options.seconds)
    report_hit_ratios(counted_first, deliberate, cache_counts())
    print(f"\ntotal run {time.perf_counter() - began:.0f} s")


def measure_listing(app: Flask, client: FlaskClient, options: argparse.Namespace) -> str:
    """The list figures over seeded invoices; returns the listing organization's key."""
    _owner, main_id = sign_up(
        app, "bench@example.com", "30-71234567-1", "Bench SRL", "responsable_inscripto"
    )
    _other, other_id = sign_up(app, "otra@example.com", "30-71111111-1", "Otra SA", "monotributo")
    start = time.perf_counter()
    seeded = seed_invoices(app, main_id, other_id, options.invoices, OTHER_INVOICES)
    print(
        f"\nseeded {options.invoices:,} + {OTHER_INVOICES:,} invoices with SQL in "
        f"{time.perf_counter() - start:.1f} s"
    )
    with app.app_context():
        listing_secret = new_key(main_id, rate_limit=1_000_000)
        db.session.remove()
    measure_list(app, client, listing_secret, seeded.heavy_customer, options.requests)
    return listing_secret


if __name__ == "__main__":
    main()
