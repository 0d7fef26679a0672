"""The archive: what retention removed, per organization and month, on disk.

    <root>/<CUIT>/<YYYY-MM>/audit.jsonl.gz      audit entries (seq, prev_hash, hash, every field)
    <root>/<CUIT>/<YYYY-MM>/invoices.jsonl.gz   vouchers with lines, VAT, taxes, attempts (XML)
    <root>/<CUIT>/<YYYY-MM>/pdf/<type>-<pos>-<number>.pdf
    <root>/<CUIT>/<YYYY-MM>/manifest.json       sha256 and size of every file; the audit range

Every file is written to a temporary name, fsynced, renamed over the old one and its folder
fsynced, the manifest last: a crash leaves the previous month intact or the new one whole.
Writing a month again merges (audit entries by `seq`, vouchers by `id`) and gzip's header
carries no time, so a re-run writes the same bytes. `verify_archive` recomputes the hashes in
the manifests and the audit chain (blueprints/audit/chain.entry_hash) inside and across months.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from blueprints.audit.chain import GENESIS, entry_hash

AUDIT_FILE = "audit.jsonl.gz"
INVOICES_FILE = "invoices.jsonl.gz"
PDF_FOLDER = "pdf"
MANIFEST = "manifest.json"
FORMAT = 1
# What an entry's hash covers (blueprints/audit/chain.entry_fields), read back from its record.
HASHED_FIELDS = (
    "organization_id",
    "seq",
    "created_at",
    "actor",
    "action",
    "subject_type",
    "subject_id",
    "details",
    "address",
    "user_agent",
)

Record = dict[str, Any]


@dataclass(frozen=True)
class Problem:
    """Something in the archive that does not hold: the file (relative to the root) and why."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


# --- writing -------------------------------------------------------------------------------------


def month_folder(root: Path, cuit: str, month: str) -> Path:
    return root / cuit / month


def write_month(
    root: Path,
    cuit: str,
    month: str,
    *,
    audit: list[Record] | None = None,
    invoices: list[Record] | None = None,
    pdfs: dict[str, bytes] | None = None,
) -> Path:
    """Merge these records and PDFs into the month's files, then rewrite its manifest (all
    fsynced before this returns). Returns the month's folder."""
    folder = month_folder(root, cuit, month)
    folder.mkdir(parents=True, exist_ok=True)
    if audit:
        merge_jsonl(folder / AUDIT_FILE, audit, "seq")
    if invoices:
        merge_jsonl(folder / INVOICES_FILE, invoices, "id")
    for name, content in (pdfs or {}).items():
        (folder / PDF_FOLDER).mkdir(exist_ok=True)
        atomic_write(folder / PDF_FOLDER / name, content)
    atomic_write(folder / MANIFEST, json_bytes(build_manifest(folder, cuit, month), indent=2))
    return folder


def merge_jsonl(path: Path, records: list[Record], key: str) -> None:
    merged = {record[key]: record for record in read_jsonl(path)} if path.exists() else {}
    merged.update((record[key], plain(record)) for record in records)
    atomic_write(path, gzip_jsonl(merged[k] for k in sorted(merged)))


def gzip_jsonl(records: Iterable[Record]) -> bytes:
    buffer = io.BytesIO()
    # mtime=0 and no file name: the same records always make the same bytes.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as archive:
        for record in records:
            archive.write(json_bytes(record) + b"\n")
    return buffer.getvalue()


def read_jsonl(path: Path) -> list[Record]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def json_bytes(value: Any, indent: int | None = None) -> bytes:
    separators = (",", ": ") if indent else (",", ":")
    text = json.dumps(
        value,
        sort_keys=True,
        ensure_ascii=False,
        indent=indent,
        separators=separators,
        default=json_default,
    )
    return text.encode()


def json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not archivable")


def plain(record: Record) -> Record:
    """The record as it reads back from the file (dates as text, Decimals as strings)."""
    loaded: Record = json.loads(json_bytes(record))
    return loaded


def atomic_write(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with temporary.open("wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def build_manifest(folder: Path, cuit: str, month: str) -> Record:
    manifest: Record = {"format": FORMAT, "organization": cuit, "month": month, "files": {}}
    for path in archived_files(folder):
        manifest["files"][path.relative_to(folder).as_posix()] = file_digest(path)
    if (folder / AUDIT_FILE).exists():
        manifest["audit"] = audit_summary(read_jsonl(folder / AUDIT_FILE))
    if (folder / INVOICES_FILE).exists():
        manifest["invoices"] = {"count": len(read_jsonl(folder / INVOICES_FILE))}
    return manifest


def archived_files(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and path.name != MANIFEST and not path.name.startswith(".")
    )


def file_digest(path: Path) -> Record:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"sha256": digest.hexdigest(), "size": path.stat().st_size}


def audit_summary(entries: list[Record]) -> Record:
    return {
        "entries": len(entries),
        "first_seq": entries[0]["seq"],
        "first_prev_hash": entries[0]["prev_hash"],
        "last_seq": entries[-1]["seq"],
        "last_hash": entries[-1]["hash"],
    }


# --- verifying -----------------------------------------------------------------------------------


def verify_archive(root: Path) -> list[Problem]:
    """Every problem in the archive under `root` (empty: it holds)."""
    if not root.is_dir():
        return [Problem(str(root), "no archive here")]
    problems: list[Problem] = []
    for organization in sorted(p for p in root.iterdir() if p.is_dir()):
        problems.extend(verify_organization(root, organization))
    return problems


def verify_organization(root: Path, organization: Path) -> Iterator[Problem]:
    last: tuple[int, str] | None = None  # the previous month's last audit entry (seq, hash)
    for folder in sorted(p for p in organization.iterdir() if p.is_dir()):
        where = folder.relative_to(root).as_posix()
        if not (folder / MANIFEST).exists():
            yield Problem(where, "no manifest.json")
            continue
        try:
            manifest = json.loads((folder / MANIFEST).read_bytes())
        except ValueError as error:
            yield Problem(f"{where}/{MANIFEST}", f"unreadable ({error})")
            continue
        yield from verify_files(where, folder, manifest)
        if (folder / AUDIT_FILE).exists():
            found, last = verify_audit(f"{where}/{AUDIT_FILE}", folder / AUDIT_FILE, last)
            yield from found
            yield from verify_summary(where, manifest, folder / AUDIT_FILE)


def verify_files(where: str, folder: Path, manifest: Record) -> Iterator[Problem]:
    listed: dict[str, Record] = manifest.get("files", {})
    for name, expected in sorted(listed.items()):
        path = folder / name
        if not path.is_file():
            yield Problem(f"{where}/{name}", "listed in the manifest but missing")
        elif file_digest(path) != {"sha256": expected.get("sha256"), "size": expected.get("size")}:
            yield Problem(f"{where}/{name}", "its sha256 or size differs from the manifest")
    for path in archived_files(folder):
        name = path.relative_to(folder).as_posix()
        if name not in listed:
            yield Problem(f"{where}/{name}", "not listed in the manifest")


def verify_audit(
    where: str, path: Path, last: tuple[int, str] | None
) -> tuple[list[Problem], tuple[int, str] | None]:
    """The month's chain: each entry's hash recomputed, each linked to the one before (the
    previous month's last entry for the first)."""
    try:
        entries = read_jsonl(path)
    except (OSError, EOFError, ValueError) as error:
        return [Problem(where, f"unreadable ({error})")], None
    problems: list[Problem] = []
    for entry in entries:
        problems.extend(entry_problems(where, entry, last))
        last = (int(entry["seq"]), str(entry["hash"]))
    return problems, last


def entry_problems(where: str, entry: Record, last: tuple[int, str] | None) -> Iterator[Problem]:
    label = f"{where} entry #{entry.get('seq')}"
    try:
        fields = {name: entry[name] for name in HASHED_FIELDS}
        recomputed = entry_hash(fields, entry["prev_hash"])
    except KeyError as missing:
        yield Problem(label, f"lacks the field {missing}")
        return
    if recomputed != entry.get("hash"):
        yield Problem(label, "its hash does not match its content")
    if last is not None and entry["seq"] != last[0] + 1:
        yield Problem(label, f"does not follow entry #{last[0]} (entries missing or reordered)")
    elif last is not None and entry["prev_hash"] != last[1]:
        yield Problem(label, f"its prev_hash is not entry #{last[0]}'s hash")
    elif last is None and entry["seq"] == 1 and entry["prev_hash"] != GENESIS:
        yield Problem(label, "the first entry does not start from the genesis hash")


def verify_summary(where: str, manifest: Record, path: Path) -> Iterator[Problem]:
    try:
        actual = audit_summary(read_jsonl(path))
    except (OSError, EOFError, ValueError, IndexError):
        return  # already reported by verify_audit
    if manifest.get("audit") != actual:
        yield Problem(f"{where}/{MANIFEST}", "its audit range differs from audit.jsonl.gz")
