"""Customers: create, edit, archive, delete, and the searchable, keyset-paginated list.

Every function that writes commits its work with its audit event, or raises before writing.
Validation is `rules.parse_customer`'s, the same the CSV import uses.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, exists, func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from arca.codes import DocumentType
from arca.cuit import format_cuit
from arca.defaults import ParameterName
from blueprints.arca.parameters import parameter_table
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.customers.models import Customer
from blueprints.customers.rules import (
    CustomerData,
    CustomerFields,
    Problem,
    build_search_text,
    fold,
    parse_customer,
    search_terms,
    tax_id_key,
)
from blueprints.webhooks.payloads import customer_payload
from core.db import DbSession, utcnow
from core.errors import Conflict, NotFound, ValidationFailed
from core.events import emit, wake_events
from core.inputs import MAX_ID, has_unsafe_characters

if TYPE_CHECKING:
    from blueprints.api.models import ApiKey

PAGE_SIZE = 50
TRIGRAM = 3  # pg_trgm answers LIKE '%term%' from the index once the term has 3 characters
# The document types most customers have, first in the picker; the rest follow by code.
COMMON_DOC_TYPES = (80, 96, 86, 87, 94, 99)

Sort = Literal["name", "document", "newest"]
StatusFilter = Literal["active", "archived", "all"]
# Who changes a customer: a member on the pages, an API key, nobody on the command line.
Actor: TypeAlias = "User | ApiKey | None"
SORTS: tuple[Sort, ...] = ("name", "document", "newest")
STATUSES: tuple[StatusFilter, ...] = ("active", "archived", "all")

# A slice whose rows point at customers (invoices) registers how to tell a customer is in use:
# such a customer can be archived but not deleted.
InUseCheck = Callable[[DbSession, int], bool]
IN_USE_CHECKS: list[InUseCheck] = []


class CustomerInvalid(ValidationFailed):
    """Every problem with the submitted customer, each on its field."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems[0].message, field=problems[0].field)
        self.problems = problems


class DuplicateDocument(Conflict):
    def __init__(self, existing: Customer, field: str = "doc_number") -> None:
        super().__init__(
            _("Ya tenés un cliente con ese documento: «%(name)s».", name=existing.legal_name),
            field=field,
        )
        self.existing = existing


@dataclass(frozen=True)
class CustomerQuery:
    text: str = ""
    status: StatusFilter = "active"
    sort: Sort = "name"
    after: str | None = None  # the cursor of the last row already shown


@dataclass(frozen=True)
class CustomerPage:
    customers: list[Customer]
    next_cursor: str | None


def document_types() -> dict[int, str]:
    """ARCA's document types in force, the common ones first."""
    today = dt.date.today()
    rows = parameter_table(ParameterName.DOCUMENT_TYPES).rows
    table = {int(row.id): row.description for row in rows if row.in_force(today)}
    ordered = [code for code in COMMON_DOC_TYPES if code in table]
    ordered += sorted(code for code in table if code not in COMMON_DOC_TYPES)
    return {code: table[code] for code in ordered}


def receiver_conditions() -> dict[int, str]:
    """ARCA's receiver IVA conditions (RG 5616) in force, by code."""
    today = dt.date.today()
    rows = parameter_table(ParameterName.RECEIVER_IVA_CONDITIONS).rows
    return {
        int(row.id): row.description
        for row in sorted(rows, key=lambda r: int(r.id))
        if row.in_force(today)
    }


def validate_customer(fields: CustomerFields) -> CustomerData:
    """Raises `CustomerInvalid` with every problem."""
    parsed = parse_customer(fields, document_types(), receiver_conditions())
    if isinstance(parsed, list):
        raise CustomerInvalid(parsed)
    return parsed


def get_customer(session: DbSession, organization_id: int, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.organization_id != organization_id:
        raise NotFound(_("No encontramos ese cliente."))
    return customer


def create_customer(
    session: DbSession, organization_id: int, fields: CustomerFields, actor: Actor
) -> Customer:
    """Validate and store a new customer. Raises `CustomerInvalid` or `DuplicateDocument`."""
    data = validate_customer(fields)
    _refuse_duplicate(session, organization_id, data, None)
    customer = Customer(organization_id=organization_id)
    apply_data(customer, data)
    session.add(customer)
    return _commit(session, customer, data, actor, "customer.create")


def update_customer(
    session: DbSession, customer: Customer, fields: CustomerFields, actor: Actor
) -> Customer:
    """Validate and save changes. Raises `CustomerInvalid` or `DuplicateDocument`."""
    data = validate_customer(fields)
    _refuse_duplicate(session, customer.organization_id, data, customer.id)
    apply_data(customer, data)
    return _commit(session, customer, data, actor, "customer.update")


def fields_of(customer: Customer, **changes: str) -> CustomerFields:
    """The customer as form text, with `changes` on top (an inline edit sends only some)."""
    current = CustomerFields(
        doc_type=str(customer.doc_type),
        doc_number=display_document(customer.doc_type, customer.doc_number),
        legal_name=customer.legal_name,
        iva_condition=str(customer.iva_condition),
        emails=", ".join(customer.email_list),
        address=customer.address or "",
        phone=customer.phone or "",
        notes=customer.notes or "",
        payment_terms_days=""
        if customer.payment_terms_days is None
        else str(customer.payment_terms_days),
        country="" if customer.country is None else str(customer.country),
        foreign_tax_id=customer.foreign_tax_id or "",
    )
    return replace(current, **changes)


def display_document(doc_type: int, number: str) -> str:
    """As people write it: 20-11111111-2 for CUIT/CUIL/CDI, 30.111.222 for a DNI."""
    if doc_type in (DocumentType.CUIT, DocumentType.CUIL, DocumentType.CDI):
        return format_cuit(number)
    if doc_type == DocumentType.DNI and number.isdigit():
        return f"{int(number):,}".replace(",", ".")
    return number


def set_archived(session: DbSession, customer: Customer, archived: bool, actor: Actor) -> Customer:
    """Archive (hidden from pickers and the default list, kept with its invoices) or restore."""
    if customer.archived == archived:
        return customer
    customer.archived_at = utcnow() if archived else None
    action = "customer.archive" if archived else "customer.unarchive"
    _audit(session, customer, actor, action)
    payload = customer_payload(customer)
    task_id = emit(session, customer.organization_id, "customer.updated", payload)
    session.commit()
    wake_events([task_id])
    return customer


def customer_in_use(session: DbSession, customer_id: int) -> bool:
    """Whether another slice holds records of the customer (then it is archived, not deleted)."""
    return any(check(session, customer_id) for check in IN_USE_CHECKS)


def delete_customer(session: DbSession, customer: Customer, actor: Actor) -> None:
    """Delete for good; refused (`Conflict`) once the customer has invoices: archive instead."""
    if customer_in_use(session, customer.id):
        raise Conflict(
            _(
                "«%(name)s» ya tiene comprobantes: no se puede borrar, pero sí archivar.",
                name=customer.legal_name,
            )
        )
    _audit(session, customer, actor, "customer.delete")
    session.delete(customer)
    session.commit()


def has_customers(session: DbSession, organization_id: int) -> bool:
    """The dashboard's setup step."""
    return bool(session.scalar(select(exists().where(Customer.organization_id == organization_id))))


def apply_data(customer: Customer, data: CustomerData) -> None:
    customer.doc_type = data.doc_type
    customer.doc_number = data.doc_number
    customer.legal_name = data.legal_name
    customer.iva_condition = data.iva_condition
    customer.emails = ",".join(data.emails)
    customer.address = data.address
    customer.phone = data.phone
    customer.notes = data.notes
    customer.payment_terms_days = data.payment_terms_days
    customer.country = data.country
    customer.foreign_tax_id = data.foreign_tax_id
    customer.sort_name = fold(data.legal_name)[:200]
    customer.search_text = build_search_text(data)


def data_of(customer: Customer) -> CustomerData:
    """A stored customer as `CustomerData`, to compare with an imported row."""
    return CustomerData(
        doc_type=customer.doc_type,
        doc_number=customer.doc_number,
        legal_name=customer.legal_name,
        iva_condition=customer.iva_condition,
        emails=tuple(customer.email_list),
        address=customer.address,
        phone=customer.phone,
        notes=customer.notes,
        payment_terms_days=customer.payment_terms_days,
        country=customer.country,
        foreign_tax_id=customer.foreign_tax_id,
    )


# --- the list ------------------------------------------------------------------------------------


def search_customers(
    session: DbSession, organization_id: int, query: CustomerQuery, limit: int = PAGE_SIZE
) -> CustomerPage:
    """One page of the organization's customers matching `query`, and the next page's cursor.

    Keyset pagination (the cursor holds the last row's sort key and id), so a page costs the
    same at row 50 and at row 50,000. A malformed cursor restarts from the top.
    """
    statement = filtered(organization_id, query)
    order, key = _ordering(query.sort)
    if any(len(term) >= TRIGRAM for term in search_terms(query.text)):
        order = [_unindexed(order[0]), *order[1:]]
    cursor = decode_cursor(query.sort, query.after)
    if cursor is not None:
        statement = statement.where(_after(query.sort, key, cursor))
    rows = list(session.scalars(statement.order_by(*order).limit(limit + 1)))
    next_cursor = encode_cursor(query.sort, rows[limit - 1]) if len(rows) > limit else None
    return CustomerPage(rows[:limit], next_cursor)


def check_cursor(query: CustomerQuery) -> None:
    """Raises `ValidationFailed` on "cursor" when `query.after` is not a cursor of this list in
    its order. The page restarts from the top instead; an API client is told (see
    `search_customers`)."""
    if query.after and decode_cursor(query.sort, query.after) is None:
        raise ValidationFailed(_("El cursor no es válido: usá el next_cursor recibido."), "cursor")


def filtered(organization_id: int, query: CustomerQuery) -> Select[Customer]:
    """The organization's customers matching the text and status, unordered (export uses it)."""
    statement = select(Customer).where(Customer.organization_id == organization_id)
    if query.status == "active":
        statement = statement.where(Customer.archived_at.is_(None))
    elif query.status == "archived":
        statement = statement.where(Customer.archived_at.is_not(None))
    for term in search_terms(query.text)[:8]:
        statement = statement.where(Customer.search_text.like(f"%{_escape_like(term)}%", "\\"))
    return statement


def ordered(statement: Select[Customer], sort: Sort) -> Select[Customer]:
    return statement.order_by(*_ordering(sort)[0])


def _ordering(sort: Sort) -> tuple[list[Any], ColumnElement[Any]]:
    if sort == "document":
        return [Customer.doc_number, Customer.id], tuple_(Customer.doc_number, Customer.id)
    if sort == "newest":
        return (
            [Customer.created_at.desc(), Customer.id.desc()],
            tuple_(Customer.created_at, Customer.id),
        )
    return [Customer.sort_name, Customer.id], tuple_(Customer.sort_name, Customer.id)


def _unindexed(order: Any) -> Any:
    """The same order through an expression no index supplies. With a search term the trigram
    index can answer, PostgreSQL would otherwise walk the name index and filter as it goes,
    which reads most of the table when the matches cluster in name order ("maría",
    "transportes": 60,000-90,000 rows); this way it finds the matches first and sorts them."""
    if isinstance(order, UnaryExpression) and order.modifier is operators.desc_op:
        return func.coalesce(order.element, order.element).desc()
    return func.coalesce(order, order)


def _after(sort: Sort, key: ColumnElement[Any], cursor: tuple[Any, int]) -> ColumnElement[bool]:
    value, last_id = cursor
    if sort == "newest":
        return key < tuple_(value, last_id)
    return key > tuple_(value, last_id)


def encode_cursor(sort: Sort, customer: Customer) -> str:
    value: Any = {
        "name": customer.sort_name,
        "document": customer.doc_number,
        "newest": customer.created_at.isoformat(),
    }[sort]
    # Unpadded: the cursor travels in URLs, where "=" would be escaped.
    return base64.urlsafe_b64encode(json.dumps([value, customer.id]).encode()).decode().rstrip("=")


def decode_cursor(sort: Sort, cursor: str | None) -> tuple[Any, int] | None:
    """The cursor's (sort value, id); None when absent or not one of ours (the first page)."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(value, str) or has_unsafe_characters(value):
            return None
        if type(last_id) is not int or not 0 < last_id <= MAX_ID:
            return None
        return (dt.datetime.fromisoformat(value) if sort == "newest" else value), last_id
    except (ValueError, TypeError):
        return None


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- helpers -------------------------------------------------------------------------------------


def find_by_document(
    session: DbSession, organization_id: int, doc_type: int, doc_number: str
) -> Customer | None:
    """The customer here with that document. Customers abroad are left out: their document is
    their country's CUIT, which many of them share (see `CustomerData.document_key`)."""
    return session.scalar(
        select(Customer).where(
            Customer.organization_id == organization_id,
            Customer.doc_type == doc_type,
            Customer.doc_number == doc_number,
            Customer.country.is_(None),
        )
    )


def find_abroad(
    session: DbSession, organization_id: int, country: int, tax_id: str
) -> Customer | None:
    """The customer abroad in `country` with that tax id (compared as `foreign_key` does)."""
    candidates = session.scalars(
        select(Customer).where(
            Customer.organization_id == organization_id,
            Customer.country == country,
            Customer.foreign_tax_id.is_not(None),
        )
    )
    wanted = (country, tax_id_key(tax_id))
    return next((c for c in candidates if data_of(c).foreign_key == wanted), None)


def _refuse_duplicate(
    session: DbSession, organization_id: int, data: CustomerData, own_id: int | None
) -> None:
    existing = None
    if data.document_key is not None:
        existing = find_by_document(session, organization_id, *data.document_key)
    elif data.foreign_key is not None:
        existing = find_abroad(session, organization_id, *data.foreign_key)
    if existing is not None and existing.id != own_id:
        if data.foreign_key is not None:
            raise DuplicateDocument(existing, field="foreign_tax_id")
        raise DuplicateDocument(existing)


def _commit(
    session: DbSession, customer: Customer, data: CustomerData, actor: Actor, action: str
) -> Customer:
    try:
        session.flush()
    except IntegrityError:
        # Another request stored the same document in between: report it like the check does.
        session.rollback()
        key = data.document_key or (DocumentType.OTHER, "0")
        existing = find_by_document(session, customer.organization_id, *key)
        if existing is None:
            raise
        raise DuplicateDocument(existing) from None
    _audit(session, customer, actor, action)
    event = "customer.created" if action == "customer.create" else "customer.updated"
    task_id = emit(session, customer.organization_id, event, customer_payload(customer))
    session.commit()
    wake_events([task_id])
    return customer


def _audit(session: DbSession, customer: Customer, actor: Actor, action: str) -> None:
    record_event(
        session,
        customer.organization_id,
        action,
        actor,
        subject=("customer", customer.id),
        details={"name": customer.legal_name, "document": customer.doc_number}
        | _abroad_details(customer),
    )


def _abroad_details(customer: Customer) -> dict[str, object]:
    if customer.country is None:
        return {}
    return {"country": customer.country, "foreign_tax_id": customer.foreign_tax_id}


def condition_label(conditions: Mapping[int, str], code: int) -> str:
    return conditions.get(code, str(code))
