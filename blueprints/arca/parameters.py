"""ARCA's parameter tables for the app: refreshed from FEParamGet*, cached, with shipped defaults.

Tables belong to an environment, not to an organization: ARCA answers the same to every CUIT,
but only an organization's certificate can ask, so a refresh is done on some organization's
behalf and its result serves everyone in that environment.

Reading (`parameter_table`) never talks to ARCA: the cache (one hour), else the database (and
the cache is filled again), else the copy shipped in `arca/data/parameters.json`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from arca.defaults import (
    PARAMETER_NAMES,
    ParameterName,
    ParameterRow,
    build_row,
    default_parameters,
    dump_rows,
    parse_rows,
)
from arca.errors import ArcaError
from arca.wsfe import ParamItem, ReceiverIvaCondition, WsfeClient
from blueprints.arca.models import ParameterTable
from blueprints.certificates.connection import arca_client, describe_arca_error
from core.arca import ArcaGateway, get_arca
from core.cache import get_cache
from core.db import DbSession, db
from core.errors import DomainError

CACHE_TTL_SECONDS = 3600

Source = Literal["arca", "defaults"]
Tables = Mapping[ParameterName, tuple[ParameterRow, ...]]

FETCHERS: dict[ParameterName, Callable[[WsfeClient], Sequence[ParamItem | ReceiverIvaCondition]]]
FETCHERS = {
    ParameterName.VOUCHER_TYPES: WsfeClient.voucher_types,
    ParameterName.DOCUMENT_TYPES: WsfeClient.document_types,
    ParameterName.VAT_RATES: WsfeClient.vat_rates,
    ParameterName.CURRENCIES: WsfeClient.currencies,
    ParameterName.RECEIVER_IVA_CONDITIONS: WsfeClient.receiver_iva_conditions,
    ParameterName.TAX_TYPES: WsfeClient.tax_types,
}


class ParametersUnavailable(DomainError):
    """ARCA could not be asked for the tables (down, refusing the ticket…); nothing was stored."""

    status = 503


@dataclass(frozen=True)
class ParameterRows:
    """A table as the app uses it: ARCA's answer (`fetched_at` set), or the shipped defaults."""

    name: ParameterName
    rows: tuple[ParameterRow, ...]
    source: Source
    fetched_at: dt.datetime | None = None

    @property
    def from_arca(self) -> bool:
        return self.source == "arca"


@dataclass(frozen=True)
class RefreshResult:
    """What one refresh stored: every table, for `environment`, as of `fetched_at`."""

    environment: str
    fetched_at: dt.datetime
    tables: tuple[ParameterRows, ...]

    @property
    def counts(self) -> dict[ParameterName, int]:
        return {table.name: len(table.rows) for table in self.tables}


def refresh_parameters(
    session: DbSession, organization_id: int, gateway: ArcaGateway
) -> RefreshResult:
    """Ask ARCA for the six tables as `organization_id`, store them for the environment, cache them.

    All six FEParamGet* calls go through one ARCA session with no transaction open (see
    `arca_client`, which commits `session` first: call this with no half-done work). Only when
    every call succeeded are the tables written, in one commit, and then put in the cache.
    Raises `NoActiveCertificate` (nothing asked) or `ParametersUnavailable` with a message for
    the user (nothing written). Safe to call at any time: it only reads from ARCA.
    """
    try:
        with arca_client(session, organization_id, gateway) as arca:
            fetched = fetch_parameters(arca.wsfe)
    except ArcaError as error:
        reason = describe_arca_error(error)
        raise ParametersUnavailable(
            _("No pudimos actualizar las tablas de ARCA: %(reason)s", reason=reason)
        ) from error
    fetched_at = gateway.now()
    environment = gateway.environment_name
    store_parameters(session, environment, fetched, fetched_at)
    session.commit()
    for name, rows in fetched.items():
        _write_cache(environment, name, rows, fetched_at)
    tables = tuple(ParameterRows(name, rows, "arca", fetched_at) for name, rows in fetched.items())
    return RefreshResult(environment, fetched_at, tables)


def fetch_parameters(wsfe: WsfeClient) -> dict[ParameterName, tuple[ParameterRow, ...]]:
    """Every table from ARCA, in `PARAMETER_NAMES` order; `ArcaError` on the first failure."""
    return {
        name: tuple(build_row(item) for item in FETCHERS[name](wsfe)) for name in PARAMETER_NAMES
    }


def store_parameters(
    session: DbSession, environment: str, tables: Tables, fetched_at: dt.datetime
) -> None:
    """Insert or replace each table's row for `environment` (an upsert: two refreshes at once
    both succeed, the later one wins). Does not commit."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for name, rows in tables.items():
        statement = insert(ParameterTable).values(
            environment=environment, name=str(name), rows=dump_rows(rows), fetched_at=fetched_at
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["environment", "name"],
                set_={"rows": statement.excluded.rows, "fetched_at": statement.excluded.fetched_at},
            )
        )


def parameter_table(name: ParameterName | str, environment: str | None = None) -> ParameterRows:
    """One table for `environment` (default: the configured one), never asking ARCA.

    Cache, else database (re-filling the cache), else the shipped defaults. Needs an app
    context. Raises ValueError for an unknown table name.
    """
    table_name = ParameterName(name)
    environment = environment or get_arca().environment_name
    cached = _read_cache(environment, table_name)
    if cached is not None:
        return cached
    stored = db.session.scalar(
        select(ParameterTable).where(
            ParameterTable.environment == environment, ParameterTable.name == str(table_name)
        )
    )
    if stored is None:
        return ParameterRows(table_name, default_parameters()[table_name], "defaults")
    rows = parse_rows(stored.rows)
    _write_cache(environment, table_name, rows, stored.fetched_at)
    return ParameterRows(table_name, rows, "arca", stored.fetched_at)


def parameter_tables(environment: str | None = None) -> list[ParameterRows]:
    """All six tables, as `parameter_table` reads them, in `PARAMETER_NAMES` order."""
    return [parameter_table(name, environment) for name in PARAMETER_NAMES]


def cache_key(environment: str, name: ParameterName) -> str:
    return f"arca:parameters:{environment}:{name}"


def _read_cache(environment: str, name: ParameterName) -> ParameterRows | None:
    raw = get_cache().get(cache_key(environment, name))
    if raw is None:
        return None
    data = json.loads(raw)
    fetched_at = dt.datetime.fromisoformat(data["fetched_at"])
    return ParameterRows(name, parse_rows(data["rows"]), "arca", fetched_at)


def _write_cache(
    environment: str, name: ParameterName, rows: Sequence[ParameterRow], fetched_at: dt.datetime
) -> None:
    # Only ARCA's answers are cached: the defaults are already in memory, and not caching them
    # lets a refresh made by another process (the CLI) show up here at once.
    payload = json.dumps({"fetched_at": fetched_at.isoformat(), "rows": dump_rows(rows)})
    get_cache().set(cache_key(environment, name), payload.encode(), CACHE_TTL_SECONDS)
