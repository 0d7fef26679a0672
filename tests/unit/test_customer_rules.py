"""The customer rules, without an app: documents, conditions, emails, search text."""

from __future__ import annotations

import pytest

from arca.codes import DOCUMENT_TYPES, RECEIVER_CONDITIONS
from blueprints.customers.rules import (
    CustomerData,
    CustomerFields,
    Problem,
    build_search_text,
    fold,
    infer_doc_type,
    parse_customer,
    search_terms,
)

CONDITIONS = {code: condition.description for code, condition in RECEIVER_CONDITIONS.items()}


def parse(**changes: str) -> CustomerData | list[Problem]:
    values = {
        "doc_type": "80",
        "doc_number": "30-71234567-1",
        "legal_name": "  Almacén   Demo SRL ",
        "iva_condition": "1",
    }
    values.update(changes)
    return parse_customer(CustomerFields(**values), DOCUMENT_TYPES, CONDITIONS)


def problems(**changes: str) -> list[tuple[str, str]]:
    result = parse(**changes)
    assert isinstance(result, list), result
    return [(problem.field, problem.message) for problem in result]


def test_a_valid_customer_is_normalized() -> None:
    customer = parse(emails="Compras@Example.com; pagos@example.com, compras@example.com")
    assert customer == CustomerData(
        doc_type=80,
        doc_number="30712345671",
        legal_name="Almacén Demo SRL",
        iva_condition=1,
        emails=("Compras@example.com", "pagos@example.com"),
    )
    assert customer.document_key == (80, "30712345671")


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"doc_type": "CUIT"}, 80),
        ({"doc_type": "dni", "doc_number": "12.345.678", "iva_condition": "5"}, 96),
        ({"doc_type": "", "doc_number": "20-11111111-2"}, 80),
        ({"doc_type": "", "doc_number": "12345678", "iva_condition": "5"}, 96),
        ({"doc_type": "", "doc_number": "", "iva_condition": "Consumidor Final"}, 99),
    ],
)
def test_document_types_by_code_name_or_number(changes: dict[str, str], expected: int) -> None:
    customer = parse(**changes)
    assert isinstance(customer, CustomerData)
    assert customer.doc_type == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Responsable Inscripto", 1),
        ("IVA Responsable Inscripto", 1),
        ("RI", 1),
        ("monotributo", 6),
        ("IVA Sujeto Exento", 4),
        ("exento", 4),
        ("13", 13),
    ],
)
def test_conditions_by_code_description_or_common_name(text: str, expected: int) -> None:
    customer = parse(iva_condition=text)
    assert isinstance(customer, CustomerData)
    assert customer.iva_condition == expected


def test_every_problem_at_once_in_field_order() -> None:
    found = problems(
        doc_number="20-11111111-3",
        legal_name="",
        iva_condition="Marciano",
        emails="no-es-mail",
        payment_terms_days="400",
    )
    assert [field for field, _message in found] == [
        "doc_number",
        "legal_name",
        "iva_condition",
        "emails",
        "payment_terms_days",
    ]
    assert "20-11111111-3 no es válido" in found[0][1]


@pytest.mark.parametrize(
    ("changes", "field", "fragment"),
    [
        ({"doc_number": "123"}, "doc_number", "11 dígitos"),
        ({"doc_type": "86", "doc_number": "20111111113"}, "doc_number", "CUIL"),
        ({"doc_type": "96", "doc_number": "999999", "iva_condition": "5"}, "doc_number", "DNI"),
        ({"doc_type": "96", "doc_number": "100000000", "iva_condition": "5"}, "doc_number", "DNI"),
        ({"doc_type": "96", "doc_number": "30111222", "iva_condition": "6"}, "doc_type", "CUIT"),
        ({"doc_type": "99", "doc_number": "5", "iva_condition": "5"}, "doc_number", "es 0"),
        (
            {"doc_type": "99", "doc_number": "0", "iva_condition": "9"},
            "iva_condition",
            "sin identificar",
        ),
        ({"doc_type": "94", "doc_number": "AB-12", "iva_condition": "9"}, "doc_number", "hasta 20"),
        ({"doc_type": "77"}, "doc_type", "no es un tipo de documento"),
        ({"legal_name": "x" * 201}, "legal_name", "Hasta 200"),
        ({"emails": ",".join(f"a{i}@example.com" for i in range(6))}, "emails", "Hasta 5"),
    ],
)
def test_specific_messages(changes: dict[str, str], field: str, fragment: str) -> None:
    found = problems(**changes)
    assert any(f == field and fragment in message for f, message in found), found


def test_anonymous_consumers_and_foreigners() -> None:
    anonymous = parse(doc_type="99", doc_number="", iva_condition="5", legal_name="Mostrador")
    assert isinstance(anonymous, CustomerData)
    assert (anonymous.doc_number, anonymous.document_key) == ("0", None)
    foreign = parse(doc_type="94", doc_number="ab 123456", iva_condition="9")
    assert isinstance(foreign, CustomerData) and foreign.doc_number == "AB123456"


def test_infer_doc_type() -> None:
    assert infer_doc_type("20-11111111-2") == "80"
    assert infer_doc_type("1.234.567") == "96"
    assert infer_doc_type("0") == infer_doc_type(" ") == "99"
    assert infer_doc_type("AB123") == ""


def test_search_text_and_terms_fold_accents_and_document_punctuation() -> None:
    customer = parse(legal_name="Ñandú Pérez", emails="Hola@Nandu.example")
    assert isinstance(customer, CustomerData)
    text = build_search_text(customer)
    assert text == "nandu perez 30712345671 hola@nandu.example"
    assert search_terms("  ÑANDÚ  30-71234567-1 ") == ["nandu", "30712345671"]
    assert all(term in text for term in search_terms("perez 3071234"))
    assert fold("  Ferretería   Sur ") == "ferreteria sur"
