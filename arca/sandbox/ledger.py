"""The sandbox's state in SQLite: issued tickets, authorised vouchers, CAEAs with the vouchers and
no-movement reports informed with them, the request log, the CA key.

A path keeps state across restarts; None keeps it in memory. One connection guarded by a lock
serves every thread (the standalone server is threaded); numbering runs inside
`BEGIN IMMEDIATE`, so two processes sharing a file cannot hand out the same number either.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tickets (
    id INTEGER PRIMARY KEY, subject TEXT NOT NULL, cuit TEXT NOT NULL, service TEXT NOT NULL,
    generated_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS vouchers (
    cuit TEXT NOT NULL, pto_vta INTEGER NOT NULL, cbte_tipo INTEGER NOT NULL,
    cbte_desde INTEGER NOT NULL, cbte_hasta INTEGER NOT NULL, cbte_fch TEXT NOT NULL,
    cae TEXT NOT NULL UNIQUE, cae_fch_vto TEXT NOT NULL, fch_proceso TEXT NOT NULL,
    detail TEXT NOT NULL, observations TEXT NOT NULL,
    PRIMARY KEY (cuit, pto_vta, cbte_tipo, cbte_desde));
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY, service TEXT NOT NULL, operation TEXT NOT NULL, cuit TEXT,
    at TEXT NOT NULL, cant_reg INTEGER, outcome TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS caeas (
    cuit TEXT NOT NULL, periodo INTEGER NOT NULL, orden INTEGER NOT NULL,
    caea TEXT NOT NULL UNIQUE, fch_vig_desde TEXT NOT NULL, fch_vig_hasta TEXT NOT NULL,
    fch_tope_inf TEXT NOT NULL, fch_proceso TEXT NOT NULL,
    PRIMARY KEY (cuit, periodo, orden));
CREATE TABLE IF NOT EXISTS caea_vouchers (
    cuit TEXT NOT NULL, pto_vta INTEGER NOT NULL, cbte_tipo INTEGER NOT NULL,
    cbte_desde INTEGER NOT NULL, cbte_hasta INTEGER NOT NULL, cbte_fch TEXT NOT NULL,
    caea TEXT NOT NULL, fch_vto TEXT NOT NULL, fch_proceso TEXT NOT NULL,
    cbte_fch_hs_gen TEXT NOT NULL, detail TEXT NOT NULL, observations TEXT NOT NULL,
    PRIMARY KEY (cuit, pto_vta, cbte_tipo, cbte_desde));
CREATE TABLE IF NOT EXISTS caea_no_movement (
    cuit TEXT NOT NULL, caea TEXT NOT NULL, pto_vta INTEGER NOT NULL, fch_proceso TEXT NOT NULL,
    PRIMARY KEY (cuit, caea, pto_vta));
CREATE TABLE IF NOT EXISTS fex_vouchers (
    cuit TEXT NOT NULL, pto_vta INTEGER NOT NULL, cbte_tipo INTEGER NOT NULL,
    cbte_nro INTEGER NOT NULL, request_id INTEGER NOT NULL, fecha_cbte TEXT NOT NULL,
    cae TEXT NOT NULL UNIQUE, fch_venc_cae TEXT NOT NULL, fch_proceso TEXT NOT NULL,
    cmp TEXT NOT NULL,
    PRIMARY KEY (cuit, pto_vta, cbte_tipo, cbte_nro), UNIQUE (cuit, request_id));
"""
# Tables `reset` empties (meta keeps the CA key).
_RESET_TABLES = (
    "tickets",
    "vouchers",
    "requests",
    "caeas",
    "caea_vouchers",
    "caea_no_movement",
    "fex_vouchers",
)


@dataclass(frozen=True)
class LoggedRequest:
    """One request that reached the sandbox. `outcome`: "ok", a WSAA faultcode, "A"/"R"/"P"
    for FECAESolicitar, "err:<code>" for a WSFE error, or the fault knob that hit it
    ("http_500", "dropped_before", "<outcome>+dropped_after", "wsaa.unavailable",
    "wsfe_unavailable")."""

    service: str
    operation: str
    cuit: str | None
    at: datetime
    cant_reg: int | None = None
    outcome: str = "ok"

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "operation": self.operation,
            "cuit": self.cuit,
            "at": self.at.isoformat(),
            "cant_reg": self.cant_reg,
            "outcome": self.outcome,
        }


@dataclass(frozen=True)
class StoredVoucher:
    """An authorised voucher (or a class B range), with the detail exactly as it was sent."""

    cuit: str
    pto_vta: int
    cbte_tipo: int
    cbte_desde: int
    cbte_hasta: int
    cbte_fch: str
    cae: str
    cae_fch_vto: str
    fch_proceso: str
    detail: dict[str, Any]
    observations: list[tuple[int, str]] = field(default_factory=list)
    emission_type: str = (
        "CAE"  # "CAEA" for one informed with FECAEARegInformativo (`cae`: the CAEA)
    )


@dataclass(frozen=True)
class StoredCaea:
    """A CAEA granted to `cuit` for fortnight (`periodo`, `orden`); dates as ARCA writes them."""

    cuit: str
    periodo: int
    orden: int
    caea: str
    fch_vig_desde: str
    fch_vig_hasta: str
    fch_tope_inf: str
    fch_proceso: str


@dataclass(frozen=True)
class NoMovement:
    """A point of sale reported without movement for a CAEA (FECAEASinMovimientoInformar)."""

    cuit: str
    caea: str
    pto_vta: int
    fch_proceso: str


@dataclass(frozen=True)
class StoredExport:
    """A WSFEXv1 voucher (Factura E, notes 20/21) authorised with FEXAuthorize.

    `cmp` is the request's `Cmp` as canonical strings and lists (what FEXGetCMP returns);
    `request_id` is its `Id`, unique per CUIT.
    """

    cuit: str
    pto_vta: int
    cbte_tipo: int
    cbte_nro: int
    request_id: int
    fecha_cbte: str
    cae: str
    fch_venc_cae: str
    fch_proceso: str
    cmp: dict[str, Any]


_FEX_COLUMNS = (
    "cuit, pto_vta, cbte_tipo, cbte_nro, request_id, fecha_cbte, cae, fch_venc_cae, fch_proceso,"
    " cmp"
)


_CAEA_COLUMNS = (
    "cuit, periodo, orden, caea, fch_vig_desde, fch_vig_hasta, fch_tope_inf, fch_proceso"
)


class SequenceTx:
    """Operations available inside `Ledger.transaction()` (numbering, storing, lookups)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def last(self, cuit: str, pto_vta: int, cbte_tipo: int) -> tuple[int, str | None]:
        """(last authorised number, its CbteFch) for the sequence; (0, None) if none yet.

        Vouchers informed with a CAEA count too: FECompUltimoAutorizado answers them.
        """
        row = self._db.execute(
            "SELECT cbte_hasta, cbte_fch FROM vouchers WHERE cuit=? AND pto_vta=? AND cbte_tipo=?"
            " UNION ALL SELECT cbte_hasta, cbte_fch FROM caea_vouchers"
            " WHERE cuit=? AND pto_vta=? AND cbte_tipo=? ORDER BY 1 DESC LIMIT 1",
            (cuit, pto_vta, cbte_tipo) * 2,
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else (0, None)

    def cae_exists(self, cae: str) -> bool:
        """Whether `cae` is taken, as a CAE or as a CAEA (one space of codes)."""
        row = self._db.execute(
            "SELECT 1 FROM vouchers WHERE cae=? UNION ALL SELECT 1 FROM caeas WHERE caea=?",
            (cae, cae),
        ).fetchone()
        return row is not None

    def caea_for(self, cuit: str, periodo: int, orden: int) -> StoredCaea | None:
        """The CAEA granted to `cuit` for that fortnight, or None."""
        row = self._db.execute(
            f"SELECT {_CAEA_COLUMNS} FROM caeas WHERE cuit=? AND periodo=? AND orden=?",  # noqa: S608
            (cuit, periodo, orden),
        ).fetchone()
        return None if row is None else StoredCaea(*row)

    def caea_by_code(self, cuit: str, caea: str) -> StoredCaea | None:
        """The CAEA `caea` if it was granted to `cuit`, else None."""
        row = self._db.execute(
            f"SELECT {_CAEA_COLUMNS} FROM caeas WHERE cuit=? AND caea=?",  # noqa: S608
            (cuit, caea),
        ).fetchone()
        return None if row is None else StoredCaea(*row)

    def store_caea(self, caea: StoredCaea) -> None:
        self._db.execute(
            "INSERT INTO caeas VALUES (?,?,?,?,?,?,?,?)",
            (
                caea.cuit,
                caea.periodo,
                caea.orden,
                caea.caea,
                caea.fch_vig_desde,
                caea.fch_vig_hasta,
                caea.fch_tope_inf,
                caea.fch_proceso,
            ),
        )

    def store_caea_voucher(self, voucher: StoredVoucher, cbte_fch_hs_gen: str) -> None:
        """Record a voucher informed with FECAEARegInformativo (`voucher.cae` is the CAEA)."""
        self._db.execute(
            "INSERT INTO caea_vouchers VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                voucher.cuit,
                voucher.pto_vta,
                voucher.cbte_tipo,
                voucher.cbte_desde,
                voucher.cbte_hasta,
                voucher.cbte_fch,
                voucher.cae,
                voucher.cae_fch_vto,
                voucher.fch_proceso,
                cbte_fch_hs_gen,
                json.dumps(voucher.detail),
                json.dumps(voucher.observations),
            ),
        )

    def caea_used_on(self, cuit: str, caea: str, pto_vta: int) -> bool:
        """Whether any voucher was informed with `caea` on `pto_vta`."""
        row = self._db.execute(
            "SELECT 1 FROM caea_vouchers WHERE cuit=? AND caea=? AND pto_vta=? LIMIT 1",
            (cuit, caea, pto_vta),
        ).fetchone()
        return row is not None

    def record_no_movement(self, report: NoMovement) -> NoMovement:
        """Store the report; a repeated one keeps (and returns) the first."""
        self._db.execute(
            "INSERT OR IGNORE INTO caea_no_movement VALUES (?,?,?,?)",
            (report.cuit, report.caea, report.pto_vta, report.fch_proceso),
        )
        row = self._db.execute(
            "SELECT cuit, caea, pto_vta, fch_proceso FROM caea_no_movement"
            " WHERE cuit=? AND caea=? AND pto_vta=?",
            (report.cuit, report.caea, report.pto_vta),
        ).fetchone()
        return NoMovement(*row)

    def no_movement(self, cuit: str, caea: str, pto_vta: int | None) -> list[NoMovement]:
        """Reports of `caea` on `pto_vta` (every point of sale when None), by point of sale."""
        query = (
            "SELECT cuit, caea, pto_vta, fch_proceso FROM caea_no_movement WHERE cuit=? AND caea=?"
        )
        arguments: tuple[Any, ...] = (cuit, caea)
        if pto_vta is not None:
            query += " AND pto_vta=?"
            arguments += (pto_vta,)
        rows = self._db.execute(query + " ORDER BY pto_vta", arguments).fetchall()
        return [NoMovement(*row) for row in rows]

    def store(self, voucher: StoredVoucher) -> None:
        self._db.execute(
            "INSERT INTO vouchers VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                voucher.cuit,
                voucher.pto_vta,
                voucher.cbte_tipo,
                voucher.cbte_desde,
                voucher.cbte_hasta,
                voucher.cbte_fch,
                voucher.cae,
                voucher.cae_fch_vto,
                voucher.fch_proceso,
                json.dumps(voucher.detail),
                json.dumps(voucher.observations),
            ),
        )

    def find(self, cuit: str, pto_vta: int, cbte_tipo: int, number: int) -> StoredVoucher | None:
        """The stored voucher whose range holds `number`, or None."""
        row = self._db.execute(
            "SELECT * FROM vouchers WHERE cuit=? AND pto_vta=? AND cbte_tipo=?"
            " AND cbte_desde<=? AND cbte_hasta>=?",
            (cuit, pto_vta, cbte_tipo, number, number),
        ).fetchone()
        if row is None:
            return self._find_caea_voucher(cuit, pto_vta, cbte_tipo, number)
        return _stored_voucher(row, "CAE")

    def _find_caea_voucher(
        self, cuit: str, pto_vta: int, cbte_tipo: int, number: int
    ) -> StoredVoucher | None:
        row = self._db.execute(
            "SELECT cuit, pto_vta, cbte_tipo, cbte_desde, cbte_hasta, cbte_fch, caea, fch_vto,"
            " fch_proceso, detail, observations FROM caea_vouchers WHERE cuit=? AND pto_vta=?"
            " AND cbte_tipo=? AND cbte_desde<=? AND cbte_hasta>=?",
            (cuit, pto_vta, cbte_tipo, number, number),
        ).fetchone()
        if row is None:
            return None
        return _stored_voucher(row, "CAEA")

    # --- WSFEXv1 (export vouchers) ---

    def fex_last(self, cuit: str, pto_vta: int, cbte_tipo: int) -> tuple[int, str | None]:
        """(last export voucher number, its Fecha_cbte) of the sequence; (0, None) if none."""
        row = self._db.execute(
            "SELECT cbte_nro, fecha_cbte FROM fex_vouchers WHERE cuit=? AND pto_vta=?"
            " AND cbte_tipo=? ORDER BY cbte_nro DESC LIMIT 1",
            (cuit, pto_vta, cbte_tipo),
        ).fetchone()
        return (int(row[0]), str(row[1])) if row else (0, None)

    def fex_last_id(self, cuit: str) -> int:
        """The highest request `Id` authorised for `cuit` (0 if none)."""
        row = self._db.execute(
            "SELECT MAX(request_id) FROM fex_vouchers WHERE cuit=?", (cuit,)
        ).fetchone()
        return int(row[0] or 0)

    def fex_find(
        self, cuit: str, pto_vta: int, cbte_tipo: int, cbte_nro: int
    ) -> StoredExport | None:
        row = self._db.execute(
            f"SELECT {_FEX_COLUMNS} FROM fex_vouchers WHERE cuit=? AND pto_vta=?"  # noqa: S608
            " AND cbte_tipo=? AND cbte_nro=?",
            (cuit, pto_vta, cbte_tipo, cbte_nro),
        ).fetchone()
        return None if row is None else _stored_export(row)

    def fex_by_id(self, cuit: str, request_id: int) -> StoredExport | None:
        row = self._db.execute(
            f"SELECT {_FEX_COLUMNS} FROM fex_vouchers WHERE cuit=? AND request_id=?",  # noqa: S608
            (cuit, request_id),
        ).fetchone()
        return None if row is None else _stored_export(row)

    def fex_cae_exists(self, cae: str) -> bool:
        """Whether `cae` is taken by an export voucher or by any WSFEv1 code."""
        row = self._db.execute("SELECT 1 FROM fex_vouchers WHERE cae=?", (cae,)).fetchone()
        return row is not None or self.cae_exists(cae)

    def fex_store(self, voucher: StoredExport) -> None:
        self._db.execute(
            "INSERT INTO fex_vouchers VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                voucher.cuit,
                voucher.pto_vta,
                voucher.cbte_tipo,
                voucher.cbte_nro,
                voucher.request_id,
                voucher.fecha_cbte,
                voucher.cae,
                voucher.fch_venc_cae,
                voucher.fch_proceso,
                json.dumps(voucher.cmp),
            ),
        )


class Ledger:
    """Thread-safe SQLite store. `close()` when done."""

    def __init__(self, path: str | None = None) -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            path or ":memory:", check_same_thread=False, isolation_level=None
        )
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[SequenceTx]:
        """An exclusive write transaction (BEGIN IMMEDIATE), committed unless the block raises."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield SequenceTx(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def find_voucher(
        self, cuit: str, pto_vta: int, cbte_tipo: int, number: int
    ) -> StoredVoucher | None:
        with self.transaction() as tx:
            return tx.find(cuit, pto_vta, cbte_tipo, number)

    def last_voucher(self, cuit: str, pto_vta: int, cbte_tipo: int) -> tuple[int, str | None]:
        with self.transaction() as tx:
            return tx.last(cuit, pto_vta, cbte_tipo)

    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def record_ticket(
        self, subject: str, cuit: str, service: str, generated_at: datetime, expires_at: datetime
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO tickets (subject, cuit, service, generated_at, expires_at)"
                " VALUES (?,?,?,?,?)",
                (subject, cuit, service, generated_at.isoformat(), expires_at.isoformat()),
            )

    def latest_ticket(self, subject: str, service: str) -> tuple[datetime, datetime] | None:
        """(generated_at, expires_at) of the last TA issued to that certificate subject."""
        with self._lock:
            row = self._db.execute(
                "SELECT generated_at, expires_at FROM tickets WHERE subject=? AND service=?"
                " ORDER BY id DESC LIMIT 1",
                (subject, service),
            ).fetchone()
        if row is None:
            return None
        return datetime.fromisoformat(row[0]), datetime.fromisoformat(row[1])

    def log_request(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO requests (service, operation, cuit, at, cant_reg, outcome)"
                " VALUES (?,?,?,?,?,?)",
                (
                    entry.service,
                    entry.operation,
                    entry.cuit,
                    entry.at.isoformat(),
                    entry.cant_reg,
                    entry.outcome,
                ),
            )

    def requests(self) -> list[LoggedRequest]:
        with self._lock:
            rows = self._db.execute(
                "SELECT service, operation, cuit, at, cant_reg, outcome FROM requests ORDER BY id"
            ).fetchall()
        return [
            LoggedRequest(row[0], row[1], row[2], datetime.fromisoformat(row[3]), row[4], row[5])
            for row in rows
        ]

    def login_count(self, cuit: str | None = None) -> int:
        query = "SELECT COUNT(*) FROM requests WHERE service='wsaa' AND operation='loginCms'"
        with self._lock:
            if cuit is None:
                return int(self._db.execute(query).fetchone()[0])
            return int(self._db.execute(query + " AND cuit=?", (cuit,)).fetchone()[0])

    def voucher_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM vouchers").fetchone()[0])

    def reset(self) -> None:
        """Forget tickets, vouchers, CAEAs and the request log; the CA key (meta) is kept."""
        with self.transaction():
            for table in _RESET_TABLES:
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names


def _stored_export(row: tuple[Any, ...]) -> StoredExport:
    cuit, pto_vta, cbte_tipo, cbte_nro, request_id, fecha, cae, venc, proceso, cmp = row
    return StoredExport(
        cuit, pto_vta, cbte_tipo, cbte_nro, request_id, fecha, cae, venc, proceso, json.loads(cmp)
    )


def _stored_voucher(row: tuple[Any, ...], emission_type: str) -> StoredVoucher:
    """A `vouchers` or `caea_vouchers` row (same leading columns) as a `StoredVoucher`."""
    return StoredVoucher(
        cuit=row[0],
        pto_vta=row[1],
        cbte_tipo=row[2],
        cbte_desde=row[3],
        cbte_hasta=row[4],
        cbte_fch=row[5],
        cae=row[6],
        cae_fch_vto=row[7],
        fch_proceso=row[8],
        detail=json.loads(row[9]),
        observations=[(int(code), str(msg)) for code, msg in json.loads(row[10])],
        emission_type=emission_type,
    )
