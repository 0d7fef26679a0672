"""Customer CSV files: reading an upload into checked rows, and writing the export (pure).

Accountants open these files in Excel, which writes Windows-1252 with `;` separators; other tools
write UTF-8 with `,`. Reading accepts both (and tabs), finds the columns by their header whatever
the spelling (`COLUMNS`), and reports every problem with the row number the spreadsheet shows, so
the user can fix the file in one pass. Writing produces what Excel opens right (UTF-8 with BOM,
`;`) and reads back here unchanged, with formula-looking cells neutralized (`neutralize`).

The flow: `decode_csv` (bytes -> text) -> `read_csv` (text -> `ParsedFile`) -> `validate_rows`
(-> `ImportPlan`). Whole-file failures raise `CsvRefused`; row failures are `RowProblem`s.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from flask_babel import gettext as _
from flask_babel import ngettext

from arca.codes import DOCUMENT_TYPES, RECEIVER_CONDITIONS
from blueprints.customers.rules import CustomerData, CustomerFields, fold, parse_customer
from core.errors import ValidationFailed

MAX_BYTES = 10 * 1024 * 1024  # under MAX_CONTENT_LENGTH, so this message is the one shown
MAX_ROWS = 50_000
DELIMITERS = (";", ",", "\t")  # in order of preference when the header has as many of each
EXPORT_DELIMITER = ";"  # what Excel expects in Argentina (the decimal separator is the comma)
EXPORT_CHUNK_ROWS = 500
BOM = "\ufeff"
# Cells starting with these are formulas to a spreadsheet (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Excel workbooks (.xlsx is a zip, .xls an OLE2 file) uploaded instead of their CSV export.
EXCEL_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
# What Spanish text in Windows-1252 holds beyond ASCII: Latin-1 letters and the usual signs.
# Another encoding read as Windows-1252 (Shift-JIS, GBK, Big5) comes out as the rest (ƒ Š ‰ ®
# ±…), or as whole words of accented letters (Cyrillic in Windows-1251, Greek).
LATIN_TEXT = frozenset(
    "¡¿ªº°€‘’“”‚„–—…«»·•´¨\xa0" + "".join(chr(code) for code in range(0xC0, 0x100) if code != 0xF7)
) - {"×"}
_ACCENTED_RUN = re.compile(r"[^\x00-\x7f]{3,}")
# Excel writes `sep=;` as a first line when asked to; Excel itself hides that line, so it does
# not count in the row numbers.
_SEP_LINE = re.compile(r"sep=([^\"\r\n])(?:\r\n|\r|\n|$)", re.IGNORECASE)


@dataclass(frozen=True)
class CsvColumn:
    """A column of the file: the `CustomerFields` attribute it fills, its export header and the
    other headers accepted for it on import."""

    field: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS: tuple[CsvColumn, ...] = (
    CsvColumn(
        "doc_type",
        "tipo_documento",
        ("tipo doc", "tipo de documento", "doc tipo", "document type"),
    ),  # optional: without it the type follows from the number (`rules.infer_doc_type`)
    CsvColumn(
        "doc_number",
        "numero_documento",
        (
            "documento",
            "nro documento",
            "número de documento",
            "cuit",
            "cuit/dni",
            "document number",
        ),
        required=True,
    ),
    CsvColumn(
        "legal_name",
        "razon_social",
        ("nombre", "razón social", "cliente", "name", "legal name"),
        required=True,
    ),
    CsvColumn(
        "iva_condition",
        "condicion_iva",
        ("condición frente al iva", "condición iva", "iva", "iva condition"),
        required=True,
    ),
    CsvColumn("emails", "emails", ("email", "correo", "e-mail", "mail")),
    CsvColumn("address", "domicilio", ("dirección", "direccion", "address")),
    CsvColumn("phone", "telefono", ("teléfono", "tel", "phone")),
    CsvColumn("notes", "notas", ("observaciones", "notes")),
    CsvColumn("payment_terms_days", "plazo_pago_dias", ("plazo de pago", "plazo", "payment terms")),
)
CANONICAL_HEADERS = {column.field: column.header for column in COLUMNS}
# The export writes each code's name after it, for people; reading skips these columns (the
# code beside it is what counts).
NAME_HEADERS = {"doc_type": "tipo_documento_nombre", "iva_condition": "condicion_iva_nombre"}


def header_key(header: str) -> str:
    """How headers are compared: `Razón_Social `, `razon social` and `RAZON SOCIAL` are equal."""
    return fold(header.replace("_", " "))


_COLUMN_BY_KEY = {
    header_key(name): column for column in COLUMNS for name in (column.header, *column.aliases)
}
_NAME_KEYS = frozenset(header_key(header) for header in NAME_HEADERS.values())


class CsvRefused(ValidationFailed):
    """The whole file is unusable; `message` says why, in the user's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")


@dataclass(frozen=True)
class SourceRow:
    """A data row as read. `row` is the number a spreadsheet shows (the header row is 1)."""

    row: int
    fields: CustomerFields


@dataclass(frozen=True)
class ParsedFile:
    """A file read but not checked.

    `headers` and `ignored_columns` are as written in the file (stripped); `column_headers` maps
    each `CustomerFields` attribute present to its header as written, in file order.
    """

    delimiter: str
    headers: tuple[str, ...]
    ignored_columns: tuple[str, ...]
    rows: list[SourceRow]
    column_headers: Mapping[str, str] = field(default_factory=dict)

    def header_for(self, field_name: str) -> str:
        """The column of a field as the user knows it: its header in the file, or canonical."""
        return self.column_headers.get(field_name, CANONICAL_HEADERS[field_name])


@dataclass(frozen=True)
class ValidRow:
    row: int
    customer: CustomerData


@dataclass(frozen=True)
class RowProblem:
    """One bad cell: `column` is the header as written in the file, `reason` is translated."""

    row: int
    column: str
    reason: str


@dataclass(frozen=True)
class ImportPlan:
    """What an import would do: the valid rows, and every problem of the others, by row."""

    valid: list[ValidRow]
    problems: list[RowProblem]
    total_rows: int

    @property
    def bad_rows(self) -> int:
        return len({problem.row for problem in self.problems})


# --- Reading -----------------------------------------------------------------------------------


def decode_csv(data: bytes) -> str:
    """The text of an uploaded file: UTF-8 (its BOM dropped) or else Windows-1252, with `\\n`
    newlines. Raises `CsvRefused` if it is too big, empty, or not text."""
    if len(data) > MAX_BYTES:
        raise CsvRefused(
            _(
                "El archivo pesa más de %(size)s MB. Dividilo en archivos más chicos.",
                size=MAX_BYTES // (1024 * 1024),
            )
        )
    if data.startswith(EXCEL_SIGNATURES):
        raise CsvRefused(
            _(
                "Es una planilla de Excel, no un CSV. En Excel, usá «Guardar como», elegí "
                "«CSV (delimitado por comas)» y subí ese archivo."
            )
        )
    text = _decode_text(data)
    if not text.strip():
        raise CsvRefused(_("El archivo está vacío."))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _decode_text(data: bytes) -> str:
    # A NUL byte never appears in a CSV of either encoding: it is a binary file (or UTF-16).
    not_text = CsvRefused(_("El archivo no es un CSV de texto. Subí un archivo .csv."))
    if b"\x00" in data:
        raise not_text
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    # Accented text that is not valid UTF-8 is Excel's Windows-1252 ("Pérez" as b"P\xe9rez").
    # Python's cp1252 rejects the five undefined bytes, which text files do not contain.
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as error:
        raise not_text from error
    if not plausible_spanish(text):
        raise CsvRefused(
            _(
                "El archivo no está en UTF-8 ni en la codificación de Excel (Windows-1252): "
                "sus letras no se pueden leer. En Excel, guardalo como «CSV UTF-8» y subilo de "
                "nuevo; no se importó nada."
            )
        )
    return text


def plausible_spanish(text: str) -> bool:
    """Whether text decoded as Windows-1252 reads as Spanish (or another Latin language): at
    most a few characters beyond ASCII that such text does not use."""
    beyond_ascii = sum(1 for char in text if not char.isascii())
    odd = sum(1 for char in text if not char.isascii() and char not in LATIN_TEXT)
    odd += sum(len(run) for run in _ACCENTED_RUN.findall(text))
    return odd == 0 or odd * 4 < beyond_ascii


def read_csv(text: str) -> ParsedFile:
    """Split a decoded file into rows of `CustomerFields`, by header, without checking values.

    The delimiter (`;`, `,` or tab) is the most frequent one in the header line. Cells are
    stripped; blank rows are skipped but still counted in row numbers; missing optional columns
    and missing trailing cells read as "", extra cells are ignored. Raises `CsvRefused` for an
    empty file, a first row without known headers, missing required columns, a column given
    twice, or more than `MAX_ROWS` data rows.
    """
    text = text.removeprefix(BOM)
    if not text.strip():
        raise CsvRefused(_("El archivo está vacío."))
    text, delimiter = _split_delimiter(text)
    records = _records(text, delimiter)
    headers = next((cells for _row, cells in records if any(cells)), None)
    if headers is None:
        raise CsvRefused(_("El archivo está vacío."))
    positions, ignored = _locate_columns(headers)
    rows: list[SourceRow] = []
    for number, cells in records:
        if not any(cells):
            continue
        if len(rows) == MAX_ROWS:
            raise CsvRefused(
                _(
                    "El archivo tiene más de %(count)s filas. Dividilo en archivos más chicos.",
                    count=MAX_ROWS,
                )
            )
        values = {column.field: "" for column in COLUMNS}
        values.update(
            {name: cells[index] if index < len(cells) else "" for name, index in positions}
        )
        rows.append(SourceRow(number, CustomerFields(**values)))
    return ParsedFile(
        delimiter=delimiter,
        headers=tuple(headers),
        ignored_columns=ignored,
        rows=rows,
        column_headers={name: headers[index] for name, index in positions},
    )


def _split_delimiter(text: str) -> tuple[str, str]:
    """The text without a `sep=` line, and its delimiter (from that line, or detected)."""
    if match := _SEP_LINE.match(text):
        return text[match.end() :], match.group(1)
    return text, detect_delimiter(text)


def detect_delimiter(text: str) -> str:
    """The candidate in `DELIMITERS` found most often, outside quotes, in the first non-blank
    line (ties go to the earlier candidate, so `;`)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = has_content = False
    for char in text:
        if char == '"':
            quoted = not quoted  # an escaped quote ("") toggles twice: no change
        elif quoted:
            has_content = True
        elif char in counts:
            counts[char] += 1
        elif char in "\r\n":
            if has_content:
                break
            counts = dict.fromkeys(DELIMITERS, 0)  # a blank line, such as ";;;"
        elif not char.isspace():
            has_content = True
    return max(DELIMITERS, key=lambda candidate: counts[candidate])


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with its spreadsheet row number (a quoted newline stays in its cell)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    while True:
        number += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # e.g. an unclosed quote swallowing the rest of the file
            raise CsvRefused(
                _(
                    "No se pudo leer el archivo a partir de la fila %(row)s. Revisá que las "
                    "comillas estén cerradas.",
                    row=number,
                )
            ) from error
        yield number, [cell.strip() for cell in cells]


def _locate_columns(headers: list[str]) -> tuple[list[tuple[str, int]], tuple[str, ...]]:
    """(field, cell index) for each known column in file order, and the unknown headers."""
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        column = _COLUMN_BY_KEY.get(header_key(header))
        if column is None:
            if header and header_key(header) not in _NAME_KEYS:
                ignored.append(header)
            continue
        if column.field in positions:
            raise CsvRefused(
                _(
                    "La columna %(column)s está dos veces («%(first)s» y «%(second)s»). "
                    "Dejá una sola.",
                    column=column.header,
                    first=headers[positions[column.field]],
                    second=header,
                )
            )
        positions[column.field] = index
    _check_required(positions)
    return list(positions.items()), tuple(ignored)


def _check_required(positions: Mapping[str, int]) -> None:
    example = [column.header for column in COLUMNS[:4]]
    if not positions:
        # Nothing recognizable: the file starts with data, or the header row is somewhere else.
        raise CsvRefused(
            _(
                "La primera fila tiene que tener los nombres de las columnas "
                "(por ejemplo: %(columns)s).",
                columns=", ".join(example),
            )
        )
    missing = [c.header for c in COLUMNS if c.required and c.field not in positions]
    if missing:
        raise CsvRefused(
            ngettext(
                "Falta la columna %(columns)s.",
                "Faltan las columnas: %(columns)s.",
                len(missing),
                columns=", ".join(missing),
            )
        )


# --- Checking ----------------------------------------------------------------------------------


def validate_rows(
    parsed: ParsedFile,
    document_types: Mapping[int, str],
    conditions: Mapping[int, str],
) -> ImportPlan:
    """Check every row with `rules.parse_customer` (ARCA's tables as id -> description).

    Problems come in row order and, within a row, in file column order; every bad cell of a
    row is listed. A document already given by an earlier valid row of the file makes the row
    bad (the first one wins), so `valid` never holds the same `document_key` twice.
    """
    order = {name: position for position, name in enumerate(parsed.column_headers)}
    valid: list[ValidRow] = []
    problems: list[RowProblem] = []
    first_row: dict[tuple[int, str], int] = {}
    for source in parsed.rows:
        result = parse_customer(source.fields, document_types, conditions)
        if isinstance(result, list):
            result.sort(key=lambda problem: order.get(problem.field, len(order)))
            problems.extend(
                RowProblem(source.row, parsed.header_for(problem.field), problem.message)
                for problem in result
            )
            continue
        key = result.document_key
        if key is not None and key in first_row:
            reason = _("Documento repetido: ya está en la fila %(row)s.", row=first_row[key])
            problems.append(RowProblem(source.row, parsed.header_for("doc_number"), reason))
            continue
        if key is not None:
            first_row[key] = source.row
        valid.append(ValidRow(source.row, result))
    return ImportPlan(valid=valid, problems=problems, total_rows=len(parsed.rows))


# --- Writing -----------------------------------------------------------------------------------


class ExportRow(Protocol):
    """What the export reads from a customer: a `Customer` row or a `CustomerData`.

    `emails` is a tuple, or the model's comma-separated string.
    """

    @property
    def doc_type(self) -> int: ...
    @property
    def doc_number(self) -> str: ...
    @property
    def legal_name(self) -> str: ...
    @property
    def iva_condition(self) -> int: ...
    @property
    def emails(self) -> tuple[str, ...] | str: ...
    @property
    def address(self) -> str | None: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def notes(self) -> str | None: ...
    @property
    def payment_terms_days(self) -> int | None: ...


def neutralize(cell: str) -> str:
    """The cell with a leading `'` if a spreadsheet would run it as a formula (OWASP).

    The `'` is data from then on: a file exported and imported again keeps it in those cells.
    """
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def export_rows(customers: Iterable[ExportRow]) -> Iterator[str]:
    """The customers as CSV text, in chunks: a BOM and the header line first, then up to
    `EXPORT_CHUNK_ROWS` lines per chunk.

    `;`-separated with `\\r\\n` line ends and a UTF-8 BOM, which is what makes Excel open it
    with the right columns and accents; codes are written as numbers (80, 5), each followed by
    its name in Spanish (ARCA's, `arca.codes`: "CUIT", "IVA Responsable Inscripto"). It reads
    back through `decode_csv`/`read_csv`/`validate_rows` as the same customers, except that
    cells `neutralize` changed keep their leading `'`.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=EXPORT_DELIMITER, lineterminator="\r\n")
    writer.writerow(export_header())
    yield BOM + _drain(buffer)
    for count, customer in enumerate(customers, start=1):
        writer.writerow(_export_cells(customer))
        if count % EXPORT_CHUNK_ROWS == 0:
            yield _drain(buffer)
    if rest := _drain(buffer):
        yield rest


def _export_cells(customer: ExportRow) -> list[str]:
    emails = customer.emails
    if isinstance(emails, str):
        emails = tuple(part.strip() for part in emails.split(","))
    cells = {
        "doc_type": str(customer.doc_type),
        "doc_number": neutralize(customer.doc_number),
        "legal_name": neutralize(customer.legal_name),
        "iva_condition": str(customer.iva_condition),
        "emails": neutralize(", ".join(email for email in emails if email)),
        "address": neutralize(customer.address or ""),
        "phone": neutralize(customer.phone or ""),
        "notes": neutralize(customer.notes or ""),
        "payment_terms_days": _number(customer.payment_terms_days),
    }
    names = {
        "doc_type": DOCUMENT_TYPES.get(customer.doc_type, ""),
        "iva_condition": _condition_name(customer.iva_condition),
    }
    row = []
    for column in COLUMNS:
        row.append(cells[column.field])
        if column.field in NAME_HEADERS:
            row.append(names[column.field])
    return row


def export_header() -> list[str]:
    """The export's columns: `COLUMNS`, each code followed by its name's column."""
    header = []
    for column in COLUMNS:
        header.append(column.header)
        if column.field in NAME_HEADERS:
            header.append(NAME_HEADERS[column.field])
    return header


def _condition_name(code: int) -> str:
    condition = RECEIVER_CONDITIONS.get(code)
    return condition.description if condition else ""


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
