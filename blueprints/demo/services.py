"""The demo data: one user who owns two organizations, each with a certificate, points of sale
and invoices, and the first with 52 customers, among them a large company that gets an FCE
MiPyME and a customer abroad that gets a Factura E (#18).

Sandbox only: the certificates come from the sandbox's CA, the points of sale from its WSFEv1,
and every authorized invoice got its CAE from the sandbox, through `authorize_invoice` like any
other. Every step is skipped when its result is already there, so a second run changes
nothing; `reset` first deletes the demo organizations (everything of theirs goes with them,
authorized invoices included: see `delete_demo`). An organization that holds a demo CUIT but is
not the demo user's is never touched.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from decimal import Decimal

import requests
from sqlalchemy import delete, exists, func, select, text
from sqlalchemy.exc import DBAPIError

from arca.codes import DocumentType, IssuerCondition, VoucherKind
from arca.environments import SANDBOX
from arca.errors import ServiceUnavailable
from arca.sandbox import reject_next
from blueprints.audit.chain import allow_audit_purge
from blueprints.auth.models import User
from blueprints.auth.services import AccountDetails, build_user
from blueprints.certificates.connection import arca_client
from blueprints.certificates.models import Certificate, CertificateState
from blueprints.certificates.services import (
    active_certificate,
    generate_request,
    issue_with_sandbox_ca,
)
from blueprints.customers.imports import existing_customers, import_key
from blueprints.customers.models import Customer
from blueprints.customers.rules import CustomerFields
from blueprints.customers.services import (
    create_customer,
    find_abroad,
    find_by_document,
    set_archived,
    validate_customer,
)
from blueprints.invoices.authorization import authorize_invoice
from blueprints.invoices.models import EDITABLE, Invoice, InvoiceStatus
from blueprints.invoices.preflight_adapter import arca_today, preflight_problems
from blueprints.invoices.services import (
    DraftInput,
    ExportInput,
    has_invoices,
    note_from,
    save_draft,
)
from blueprints.invoices.totals import Line, VatTreatment, net_of_vat, rate_percent
from blueprints.organizations.models import Membership, Organization, Role
from blueprints.organizations.services import OrganizationDetails, create_organization
from blueprints.points_of_sale.services import list_points_of_sale, merge_points_of_sale
from core.arca import ArcaGateway
from core.crypto import KeyRing
from core.db import DbSession, utcnow
from core.errors import Conflict, DomainError
from core.rowsecurity import owner_scope
from core.security import hash_password

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-talonario"  # noqa: S105 - a published login for sandbox demo data
DEMO_NAME = "Demo"


@dataclass(frozen=True)
class DemoCustomer:
    fields: CustomerFields
    archived: bool = False


def _customer(
    legal_name: str,
    doc_type: int,
    doc_number: str,
    condition: int,
    emails: str = "",
    address: str = "",
    phone: str = "",
    terms: str = "",
    notes: str = "",
    archived: bool = False,
) -> DemoCustomer:
    fields = CustomerFields(
        doc_type=str(int(doc_type)),
        doc_number=doc_number,
        legal_name=legal_name,
        iva_condition=str(condition),
        emails=emails,
        address=address,
        phone=phone,
        notes=notes,
        payment_terms_days=terms,
    )
    return DemoCustomer(fields, archived)


# The demo customers' document types (DocTipo) and receiver IVA conditions (RG 5616).
CUIT, PASSPORT, DNI, OTHER = (
    DocumentType.CUIT,
    DocumentType.PASSPORT,
    DocumentType.DNI,
    DocumentType.OTHER,
)
RI, EXENTO, CONSUMIDOR_FINAL, MONOTRIBUTO, EXTERIOR = 1, 4, 5, 6, 9

# Almacén Demo SRL's customers: companies and professionals registered for IVA, monotributistas,
# exempt associations, final consumers by DNI, the anonymous final consumer and a foreign client.
DEMO_CUSTOMERS = (
    # Responsables inscriptos: companies...
    _customer(
        "Ferretería Rivadavia SRL", CUIT, "30-55061658-7", RI,
        emails="compras@ferreteriarivadavia.com.ar, pagos@ferreteriarivadavia.com.ar",
        address="Av. Rivadavia 5120, C1424CEN Ciudad Autónoma de Buenos Aires",
        phone="+54 11 4902-3311", terms="30",
    ),
    _customer(
        "Distribuidora del Sur SA", CUIT, "33-71841736-3", RI,
        emails="administracion@distsur.com.ar", address="Av. Mitre 2450, B1870 Avellaneda",
        phone="+54 11 4222-1090", terms="45",
    ),
    _customer(
        "Panificadora La Espiga SRL", CUIT, "30-52430558-1", RI,
        emails="laespiga@gmail.com", address="Gral. Paz 318, B1878 Quilmes", terms="15",
    ),
    _customer(
        "Transportes Mitre Hnos. SRL", CUIT, "30-62270483-4", RI,
        emails="facturacion@transportesmitre.com.ar", phone="+54 11 4301-7788", terms="60",
        notes="Enviar las facturas antes del día 20.",
    ),
    _customer(
        "Supermercado El Progreso SA", CUIT, "30-67026717-9", RI,
        emails="proveedores@elprogreso.com.ar", address="Belgrano 1520, S2000 Rosario",
        phone="+54 341 421-5566", terms="30",
    ),
    _customer(
        "Lácteos Don Bosco SA", CUIT, "30-51258145-1", RI,
        emails="cuentasapagar@lacteosdonbosco.com.ar", terms="30",
    ),
    _customer(
        "Estudio Fernández y Asociados SRL", CUIT, "30-64550734-3", RI,
        emails="estudio@fernandezyasoc.com.ar", address="Tucumán 1425 piso 3, C1050 CABA",
        phone="+54 11 4371-2200",
    ),
    _customer(
        "Bodega Los Andes SA", CUIT, "33-52343959-1", RI,
        emails="compras@bodegalosandes.com.ar", address="Ruta 40 km 3350, M5509 Luján de Cuyo",
        terms="60",
    ),
    _customer(
        "Constructora Belgrano SRL", CUIT, "30-53043823-2", RI,
        emails="obras@constructorabelgrano.com.ar", phone="+54 11 4780-6012", terms="30",
    ),
    _customer(
        "Frigorífico Pampa SA", CUIT, "33-51983419-2", RI,
        emails="facturas@frigopampa.com.ar", address="Ruta 5 km 112, B6600 Mercedes",
        terms="15",
    ),
    _customer(
        "Librería Sarmiento SRL", CUIT, "30-57490657-8", RI,
        emails="libreriasarmiento@hotmail.com", address="Sarmiento 980, C1041 CABA",
    ),
    _customer(
        "Farmacia Alem SCS", CUIT, "30-69364361-5", RI,
        address="Av. Leandro N. Alem 712, B8000 Bahía Blanca", phone="+54 291 455-0101",
    ),
    _customer(
        "Agropecuaria San Cayetano SA", CUIT, "33-51663941-0", RI,
        emails="administracion@agrosancayetano.com.ar", terms="90",
        notes="Paga con cheque diferido.",
    ),
    _customer(
        "Imprenta Caballito SRL", CUIT, "30-51563055-0", RI,
        emails="ventas@imprentacaballito.com.ar", address="Av. Pedro Goyena 1100, CABA",
        archived=True, notes="Cerró en 2024.",
    ),
    _customer(
        "Tecnología Palermo SAS", CUIT, "30-59717675-5", RI,
        emails="admin@tecpalermo.com.ar, facturas@tecpalermo.com.ar", terms="30",
    ),
    _customer(
        "Bebidas del Litoral SA", CUIT, "33-54840397-4", RI,
        emails="pagos@bebidaslitoral.com.ar", address="Av. Aristóbulo del Valle 6200, Santa Fe",
        phone="+54 342 460-3030", terms="45",
    ),
    _customer(
        "Óptica Lavalle SA", CUIT, "30-69156684-2", RI,
        address="Lavalle 655, C1047 CABA", phone="+54 11 4322-9876",
    ),
    # ...and professionals.
    _customer(
        "Roberto Carlos Gómez", CUIT, "20-31515263-2", RI,
        emails="rcgomez.arquitecto@gmail.com", phone="+54 9 11 5566-7788", terms="15",
    ),
    _customer(
        "Silvia Mónica Romero", CUIT, "27-30937057-6", RI,
        emails="silvia.romero@estudioromero.com.ar", address="Av. Santa Fe 2890 5° B, CABA",
    ),
    _customer("Héctor Ramón Acosta", CUIT, "20-31166438-8", RI, phone="+54 351 468-2210"),
    # Monotributistas.
    _customer(
        "Ana Demo", CUIT, "20-27654321-1", MONOTRIBUTO,
        emails="ana.demo@example.com", address="Calle 7 N° 845, B1900 La Plata",
    ),
    _customer(
        "María Fernández", CUIT, "27-13999883-4", MONOTRIBUTO,
        emails="mariafernandez.diseno@gmail.com", phone="+54 9 11 4455-1020",
    ),
    _customer("Juan Pablo Sosa", CUIT, "20-33438378-5", MONOTRIBUTO, emails="jpsosa@hotmail.com"),
    _customer(
        "Lucía Benítez", CUIT, "27-32770515-1", MONOTRIBUTO,
        emails="lucia.benitez@outlook.com", address="Av. San Martín 3312, C1416 CABA",
        terms="7",
    ),
    _customer("Martín Álvarez", CUIT, "20-18303906-8", MONOTRIBUTO, phone="+54 9 221 455-3344"),
    _customer(
        "Sofía Núñez", CUIT, "27-18910827-9", MONOTRIBUTO, emails="sofia.nunez@gmail.com"
    ),
    _customer(
        "Diego Medina", CUIT, "20-24495588-7", MONOTRIBUTO,
        emails="diegomedina.fletes@gmail.com", phone="+54 9 11 3011-2233", terms="15",
    ),
    _customer(
        "Carolina Suárez", CUIT, "27-28656907-8", MONOTRIBUTO,
        address="Moreno 455, B1708 Morón",
    ),
    _customer(
        "Nicolás Herrera", CUIT, "20-15269227-8", MONOTRIBUTO,
        emails="nherrera.electricista@yahoo.com.ar", phone="+54 9 11 6677-8899",
    ),
    _customer(
        "Valentina Ríos", CUIT, "27-34830434-3", MONOTRIBUTO, emails="vale.rios@gmail.com"
    ),
    _customer(
        "Gustavo Peralta", CUIT, "20-30379254-7", MONOTRIBUTO,
        emails="gperalta@gmail.com", archived=True,
    ),
    _customer(
        "Paula Giménez", CUIT, "27-29841571-8", MONOTRIBUTO,
        emails="paula.gimenez.catering@gmail.com", address="Urquiza 1220, S2000 Rosario",
        terms="10",
    ),
    # Exentos.
    _customer(
        "Asociación Civil Club Atlético Boedo", CUIT, "30-60350933-8", EXENTO,
        emails="tesoreria@clubboedo.org.ar", address="Av. Boedo 1750, C1239 CABA", terms="30",
    ),
    _customer(
        "Fundación Manos Solidarias", CUIT, "30-68799114-8", EXENTO,
        emails="administracion@manossolidarias.org.ar",
    ),
    _customer(
        "Cooperadora Escuela N° 12 Domingo F. Sarmiento", CUIT, "30-56064171-7", EXENTO,
        address="Av. Directorio 2345, C1406 CABA",
    ),
    _customer(
        "Biblioteca Popular Mariano Moreno", CUIT, "30-53457975-2", EXENTO,
        emails="bibliotecamoreno@gmail.com", phone="+54 2262 42-3456",
    ),
    # Consumidores finales identified by their DNI.
    _customer(
        "José Luis Martínez", DNI, "31.082.059", CONSUMIDOR_FINAL,
        emails="joseluis.martinez@gmail.com",
    ),
    _customer("Graciela López", DNI, "41.246.012", CONSUMIDOR_FINAL, phone="+54 9 11 4021-5566"),
    _customer(
        "Ricardo Pérez", DNI, "40.412.688", CONSUMIDOR_FINAL, archived=True,
        notes="Se mudó a Córdoba.",
    ),
    _customer(
        "Natalia García", DNI, "34.265.381", CONSUMIDOR_FINAL, emails="natigarcia@hotmail.com"
    ),
    _customer("Tomás Ruiz", DNI, "30.117.022", CONSUMIDOR_FINAL),
    _customer(
        "Florencia Molina", DNI, "26.671.625", CONSUMIDOR_FINAL,
        emails="flor.molina@gmail.com", address="Av. Cabildo 2040 8° A, C1428 CABA",
    ),
    _customer("Raúl Castro", DNI, "22.063.942", CONSUMIDOR_FINAL, phone="+54 9 11 5090-1122"),
    _customer(
        "Julieta Ortiz", DNI, "26.381.039", CONSUMIDOR_FINAL, emails="julieta.ortiz@outlook.com"
    ),
    _customer("Sergio Luna", DNI, "15.493.196", CONSUMIDOR_FINAL),
    _customer(
        "Mariana Domínguez", DNI, "30.149.377", CONSUMIDOR_FINAL,
        emails="marianadominguez@gmail.com", phone="+54 9 11 3344-5566",
    ),
    _customer("Federico Vega", DNI, "43.226.696", CONSUMIDOR_FINAL, emails="fedevega@gmail.com"),
    _customer(
        "Inés Cabrera", DNI, "33.050.263", CONSUMIDOR_FINAL, address="Av. Corrientes 4521, CABA"
    ),
    # The anonymous final consumer: "Doc. (Otro)" number 0.
    _customer("Consumidor final", OTHER, "0", CONSUMIDOR_FINAL),
    # A foreign client, by passport.
    _customer(
        "João Pereira da Silva", PASSPORT, "FZ482913", EXTERIOR,
        emails="joao.pereira@example.com.br", address="Rua Augusta 1508, São Paulo, Brasil",
        notes="Turista: factura B con pasaporte.",
    ),
)  # fmt: skip

# A supermarket chain that ARCA's wsfecred lists as a large company (the sandbox's
# `wsfecred_data.OBLIGATED`): above ARCA's threshold it must get an FCE MiPyME.
LARGE_COMPANY = _customer(
    "Supermercados Pampeanos SA", CUIT, "30-50000300-2", RI,
    emails="proveedores@superpampeanos.com.ar", address="Av. Colón 1200, B7600 Mar del Plata",
    terms="60", notes="Gran empresa: por encima del monto de ARCA, Factura de Crédito MiPyME.",
)  # fmt: skip
# A customer abroad (Estados Unidos, ARCA's country 212): its document is ARCA's CUIT for
# "ESTADOS UNIDOS - Persona Jurídica", its tax id there the EIN; its vouchers are Factura E.
CUSTOMER_ABROAD = DemoCustomer(
    replace(
        _customer(
            "Northwind Provisions LLC", CUIT, "55-00000212-6", EXTERIOR,
            emails="ap@northwindprovisions.example",
            address="1200 Brickell Ave, Miami, FL 33131, United States",
        ).fields,
        country="212",
        foreign_tax_id="59-1234567",
    )
)  # fmt: skip
# The demo's CBU (valid BCRA check digits, invented account) for its FCE invoices.
DEMO_CBU = "0110599500000031000121"


@dataclass(frozen=True)
class Product:
    """Something on the demo's price list. `price` is what a final consumer pays (VAT included);
    Factura A lists it without VAT. Weighed products are sold by the kilo, with grams."""

    description: str
    price: Decimal
    vat: VatTreatment = 5
    weighed: bool = False


def _product(description: str, price: str, vat: VatTreatment = 5, weighed: bool = False) -> Product:
    return Product(description, Decimal(price), vat, weighed)


# Almacén Demo SRL's shelves: most goods at 21 %, fresh food, bread and flour at 10.5 %, milk
# and books exempt (Ley de IVA art. 7), so a Factura B mixes rates as a real ticket does.
GROCERIES = (
    _product("Yerba mate 1 kg", "4890.00"),
    _product("Aceite de girasol 1,5 l", "3650.00"),
    _product("Café molido 500 g", "8900.00"),
    _product("Azúcar 1 kg", "1450.00"),
    _product("Fideos secos 500 g", "1290.00"),
    _product("Arroz largo fino 1 kg", "1980.00"),
    _product("Galletitas de agua 300 g", "1150.00"),
    _product("Gaseosa cola 2,25 l", "3100.00"),
    _product("Vino tinto Malbec 750 ml", "6500.00"),
    _product("Queso cremoso", "11900.00", weighed=True),
    _product("Jamón cocido", "15800.00", weighed=True),
    _product("Detergente 750 ml", "2350.00"),
    _product("Papel higiénico x 4", "2790.00"),
    _product("Dulce de leche 400 g", "2600.00"),
    _product("Pan francés", "2800.00", vat=4, weighed=True),
    _product("Harina 000 1 kg", "1050.00", vat=4),
    _product("Carne picada especial", "8900.00", vat=4, weighed=True),
    _product("Asado de tira", "10500.00", vat=4, weighed=True),
    _product("Manzana roja", "2400.00", vat=4, weighed=True),
    _product("Papa", "1100.00", vat=4, weighed=True),
    _product("Tomate redondo", "2900.00", vat=4, weighed=True),
    _product("Leche entera sachet 1 l", "1350.00", vat="exempt"),
    _product("Libro «Cocina de almacén»", "18500.00", vat="exempt"),
)
ALMACEN_SERVICES = (
    _product("Servicio de catering para evento", "450000.00"),
    _product("Armado y entrega de canastas navideñas", "185000.00"),
    _product("Alquiler de heladera exhibidora (mes)", "95000.00"),
    _product("Flete y entrega a domicilio (mes)", "120000.00"),
)
# Sold in dollars to companies: the price list's dollar column, without VAT.
IMPORTED = (
    _product("Vino Malbec Gran Reserva caja x 6", "96.00"),
    _product("Aceite de oliva extra virgen 5 l", "54.50"),
    _product("Café en grano importado 1 kg", "31.75"),
)
# The sandbox's reference rate for DOL (FEParamGetCotizacion); ARCA accepts 2 %-400 % of it.
DOLLAR_RATE = Decimal("1050")
# Ana Demo, a monotributista designer: Factura C to final consumers.
ANA_WORK = (
    _product("Diseño de logotipo e identidad básica", "180000.00"),
    _product("Clases particulares de dibujo (4 encuentros)", "64000.00"),
    _product("Ilustración para redes sociales", "35000.00"),
)
ANA_GOODS = (
    _product("Lámina ilustrada impresa A3", "15000.00"),
    _product("Agenda ilustrada 2027", "22000.00"),
)


@dataclass(frozen=True)
class DemoInvoices:
    """What invoices to make: `authorized` through the sandbox (a deterministic mix from `seed`),
    with `extras` 3 drafts, 1 rejected (an injected 10048) and 1 authorized credit note, and
    with `fce_and_export` an FCE MiPyME A to `LARGE_COMPANY` and a Factura E of services in
    dollars to `CUSTOMER_ABROAD`, both authorized."""

    authorized: int
    seed: int
    extras: bool = False
    fce_and_export: bool = False


@dataclass(frozen=True)
class DemoOrganization:
    details: OrganizationDetails
    points_of_sale: tuple[int, ...]
    customers: tuple[DemoCustomer, ...] = ()
    invoices: DemoInvoices = field(default_factory=lambda: DemoInvoices(0, 0))


DEMO_ORGANIZATIONS = (
    DemoOrganization(
        OrganizationDetails(
            cuit="30712345671",
            legal_name="Almacén Demo SRL",
            trade_name="Almacén Demo",
            iva_condition=IssuerCondition.RESPONSABLE_INSCRIPTO,
            iibb="901-712345-6",
            activity_start=dt.date(2019, 3, 1),
            address="Av. Corrientes 1234, C1043AAZ Ciudad Autónoma de Buenos Aires",
            cbu=DEMO_CBU,
            cbu_alias="almacen.demo.cbu",
        ),
        points_of_sale=(1, 2),
        customers=DEMO_CUSTOMERS,
        invoices=DemoInvoices(authorized=200, seed=20_261_201, extras=True, fce_and_export=True),
    ),
    DemoOrganization(
        OrganizationDetails(
            cuit="20276543211",
            legal_name="Ana Demo",
            iva_condition=IssuerCondition.MONOTRIBUTO,
            activity_start=dt.date(2021, 8, 16),
            address="Calle 7 N° 845, B1900 La Plata, Buenos Aires",
        ),
        points_of_sale=(1,),
        invoices=DemoInvoices(authorized=10, seed=20_261_202),
    ),
)


class DemoRefused(Conflict):
    """The demo cannot be made here (not the sandbox, or a demo CUIT taken by someone else)."""


class DemoFailed(DomainError):
    """The sandbox did not do what the demo expected (a voucher it refused)."""

    status = 502


@dataclass(frozen=True)
class InvoiceCounts:
    """The organization's invoices by outcome (the demo's among them)."""

    authorized: int  # invoices (not notes) with a CAE, FCE and E among them
    drafts: int
    rejected: int
    credit_notes: int  # with a CAE
    fce: int = 0  # FCE MiPyME invoices with a CAE (201, 206, 211)
    export: int = 0  # Facturas E with a CAE (19)


@dataclass(frozen=True)
class DemoReport:
    organization: Organization
    certificate: Certificate
    points_of_sale: list[int]
    customers: int  # the organization's customers, the demo's among them
    created: bool
    invoices: InvoiceCounts


def create_demo(
    session: DbSession, gateway: ArcaGateway, keyring: KeyRing, reset: bool = False
) -> tuple[User, list[DemoReport]]:
    """Make whatever part of the demo data is missing (all of it again with `reset`). Commits.

    Raises `DemoRefused` outside the sandbox, before touching anything; ARCA errors from the
    sandbox's WSFEv1 propagate (the parts made before stay, and a rerun completes them, but for
    the invoices: once one is authorized a rerun adds none, and `reset` remakes them all).
    """
    if gateway.environment_name != SANDBOX:
        raise DemoRefused(
            f"The demo needs the sandbox; TALONARIO_ARCA_ENVIRONMENT is {gateway.environment_name}"
        )
    if reset:
        delete_demo(session)
    user = ensure_user(session, reset)
    reports = [ensure_organization(session, gateway, keyring, user, d) for d in DEMO_ORGANIZATIONS]
    return user, reports


def delete_demo(session: DbSession) -> int:
    """Delete the demo user's organizations with a demo CUIT (cascading), their authorized
    sandbox invoices included. Commits.

    Raises `DemoRefused`, deleting nothing, when one of them has a certificate for another
    environment than the sandbox: its invoices may be real fiscal records then.
    """
    owned = (
        select(Membership.organization_id)
        .join(User, Membership.user_id == User.id)
        .where(User.email == DEMO_EMAIL, Membership.role == Role.OWNER)
    )
    cuits = [demo.details.cuit for demo in DEMO_ORGANIZATIONS]
    query = select(Organization).where(Organization.cuit.in_(cuits), Organization.id.in_(owned))
    organizations = list(session.scalars(query))
    ids = [organization.id for organization in organizations]
    real = session.scalar(
        select(Organization.legal_name)
        .join(Certificate, Certificate.organization_id == Organization.id)
        .where(Organization.id.in_(ids), Certificate.environment != SANDBOX)
        .limit(1)
    )
    if real is not None:
        raise DemoRefused(
            f"«{real}» has a certificate for an environment other than the sandbox: its "
            "invoices may be real, so --reset leaves it alone (delete it by hand if you must)."
        )
    numbered = exists().where(Invoice.organization_id.in_(ids), Invoice.number.is_not(None))
    protected = bool(ids) and bool(session.scalar(select(numbered)))
    session.commit()
    if not ids:
        return 0
    statement = delete(Organization).where(Organization.id.in_(ids))
    if not protected:
        allow_audit_purge(session)
        session.execute(statement)
    else:
        try:
            with invoice_protection_lifted(session):
                allow_audit_purge(session)
                session.execute(statement)
        except DBAPIError as error:  # e.g. not the tables' owner: nothing was deleted
            raise DemoRefused(
                "--reset could not delete the demo organizations' authorized sandbox invoices "
                f"({str(error.orig).strip().splitlines()[0]}); run it as the role that ran the "
                "migrations."
            ) from error
    session.commit()
    session.expunge_all()
    return len(ids)


# The database refuses to delete an invoice that holds a number (migration 0004's triggers), and
# the demo's hold sandbox CAEs. To delete them, the triggers are switched off inside the one
# transaction that deletes the demo organizations, and switched back on before it commits, so no
# other transaction can ever see the tables unprotected:
# - PostgreSQL: `ALTER TABLE … DISABLE TRIGGER` is transactional and takes an ACCESS EXCLUSIVE
#   lock on the table until the commit, so every other session waits (and then finds the
#   triggers on again). It needs the table's owner, which the role that ran the migrations is.
#   `SET LOCAL session_replication_role = replica` would need a superuser, and it also silences
#   the foreign keys' own triggers, so the ON DELETE CASCADE this delete relies on would not run.
# - SQLite: triggers live in the schema, and schema changes are transactional. Under
#   BEGIN IMMEDIATE (no other writer until the commit) the triggers' own CREATE statements are
#   read from sqlite_master, the triggers dropped, the rows deleted and the same statements run
#   again, so they come back exactly as the migration made them, whatever it made.
# Any error rolls everything back, triggers included. Only the demo calls this, for
# organizations it checked are sandbox-only.
INVOICE_TABLES = ("invoices", "invoice_lines", "invoice_vat", "invoice_taxes")


@contextmanager
def invoice_protection_lifted(session: DbSession) -> Iterator[None]:
    """Run the block in a transaction where the invoice tables' triggers are off; they are on
    again before the caller commits. Call with no transaction open; on any error the
    transaction is rolled back (triggers untouched, nothing deleted)."""
    lifted = (
        _postgresql_triggers_disabled
        if session.get_bind().dialect.name == "postgresql"
        else _sqlite_triggers_dropped
    )
    try:
        # Switching triggers off is the tables' owner's to do.
        with owner_scope(session), lifted(session):
            yield
    except BaseException:
        session.rollback()
        raise


@contextmanager
def _postgresql_triggers_disabled(session: DbSession) -> Iterator[None]:
    session.execute(text("SET LOCAL lock_timeout = '10s'"))
    triggers = session.execute(
        text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE NOT t.tgisinternal AND t.tgenabled = 'O' AND c.relname = ANY(:tables) "
            "AND c.relnamespace = current_schema()::regnamespace ORDER BY c.relname, t.tgname"
        ),
        {"tables": list(INVOICE_TABLES)},
    ).all()
    for table, trigger in triggers:
        session.execute(text(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"'))
    yield
    for table, trigger in triggers:
        session.execute(text(f'ALTER TABLE "{table}" ENABLE TRIGGER "{trigger}"'))


@contextmanager
def _sqlite_triggers_dropped(session: DbSession) -> Iterator[None]:
    connection = session.connection()
    # pysqlite opens transactions only before DML, so DROP TRIGGER would otherwise autocommit.
    connection.exec_driver_sql("BEGIN IMMEDIATE")
    driver = connection.connection.dbapi_connection
    if driver is None or not driver.in_transaction:
        raise RuntimeError("no SQLite transaction to drop the invoice triggers in")
    query = text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
        "AND tbl_name IN (:t0, :t1, :t2, :t3) ORDER BY name"
    )
    tables = {f"t{index}": table for index, table in enumerate(INVOICE_TABLES)}
    triggers = [(str(name), str(sql)) for name, sql in session.execute(query, tables)]
    for name, _sql in triggers:
        session.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _name, sql in triggers:
        connection.exec_driver_sql(sql)
    if [tuple(row) for row in session.execute(query, tables)] != triggers:
        raise RuntimeError("the invoice triggers did not come back as they were")


def ensure_user(session: DbSession, reset: bool) -> User:
    """The demo user; with `reset`, its name and password set back to the demo's. Commits."""
    user = session.scalar(select(User).where(User.email == DEMO_EMAIL))
    if user is None:
        user = build_user(session, AccountDetails(DEMO_NAME, DEMO_EMAIL, DEMO_PASSWORD))
        user.email_verified_at = utcnow()
        session.add(user)
    elif reset:
        user.name, user.password_hash = DEMO_NAME, hash_password(DEMO_PASSWORD)
    session.commit()
    return user


def ensure_organization(
    session: DbSession, gateway: ArcaGateway, keyring: KeyRing, user: User, demo: DemoOrganization
) -> DemoReport:
    """The organization, its active certificate, points of sale, customers and invoices.
    Commits."""
    cuit = demo.details.cuit
    organization = session.scalar(select(Organization).where(Organization.cuit == cuit))
    created = organization is None
    if organization is None:
        organization = create_organization(session, user, demo.details).organization
    elif not is_owner(session, organization, user):
        raise DemoRefused(
            f"CUIT {cuit} belongs to «{organization.legal_name}», which is not demo data: "
            "the demo leaves it alone (delete it first to use the demo)."
        )
    certificate = ensure_certificate(session, gateway, keyring, organization)
    numbers = ensure_points_of_sale(session, gateway, organization.id, demo.points_of_sale)
    customers = ensure_customers(session, organization.id, demo.customers)
    invoices = ensure_invoices(session, gateway, organization, demo.invoices)
    if demo.invoices.fce_and_export:
        invoices = ensure_fce_and_export(session, gateway, organization)
        customers = count_customers(session, organization.id)
    return DemoReport(organization, certificate, numbers, customers, created, invoices)


def is_owner(session: DbSession, organization: Organization, user: User) -> bool:
    membership = session.scalar(
        select(Membership).where(
            Membership.organization_id == organization.id, Membership.user_id == user.id
        )
    )
    return membership is not None and membership.role == Role.OWNER


def ensure_certificate(
    session: DbSession, gateway: ArcaGateway, keyring: KeyRing, organization: Organization
) -> Certificate:
    """The active sandbox certificate, issued by the sandbox's CA when there is none usable."""
    current = active_certificate(session, organization.id, SANDBOX)
    if current is not None and current.state(gateway.now()) != CertificateState.EXPIRED:
        return current
    # A new alias each time: WSAA keys tickets by the certificate's subject, so a remade demo
    # certificate with the old subject would be refused a ticket while the old one is valid.
    alias = f"demo-{gateway.now():%Y%m%d}-{secrets.token_hex(3)}"
    # No actor: a command-line operation, as the audit trail records it.
    request = generate_request(session, organization, None, SANDBOX, alias, keyring)
    return issue_with_sandbox_ca(session, organization, None, request, gateway)


def ensure_points_of_sale(
    session: DbSession, gateway: ArcaGateway, organization_id: int, numbers: tuple[int, ...]
) -> list[int]:
    """Those of `numbers` the sandbox lists (FEParamGetPtosVenta), recorded. Commits."""
    known = {point.number for point in list_points_of_sale(session, organization_id)}
    if not set(numbers) <= known:
        with arca_client(session, organization_id, gateway) as arca:
            found = arca.wsfe.points_of_sale()
        wanted = [point for point in found if point.number in numbers]
        merge_points_of_sale(session, organization_id, wanted, gateway.now())
        session.commit()
    return [point.number for point in list_points_of_sale(session, organization_id)]


def ensure_customers(
    session: DbSession, organization_id: int, customers: tuple[DemoCustomer, ...]
) -> int:
    """Create those of `customers` the organization lacks (matched by document, the anonymous one
    by name, as an import matches them), through the same validation and audit as the form.
    Returns how many customers the organization has. Commits.
    """
    keys = [import_key(validate_customer(demo.fields)) for demo in customers]
    known = existing_customers(session, organization_id, keys)
    for demo, key in zip(customers, keys, strict=True):
        if key in known:
            continue
        # No actor: a command-line operation, as the audit trail records it.
        customer = create_customer(session, organization_id, demo.fields, None)
        if demo.archived:
            set_archived(session, customer, True, None)
    return count_customers(session, organization_id)


def count_customers(session: DbSession, organization_id: int) -> int:
    count = select(func.count()).select_from(Customer)
    return session.scalar(count.where(Customer.organization_id == organization_id)) or 0


# --- invoices ------------------------------------------------------------------------------------


def ensure_invoices(
    session: DbSession, gateway: ArcaGateway, organization: Organization, plan: DemoInvoices
) -> InvoiceCounts:
    """The demo's invoices, unless the organization already has an authorized one (a second run
    adds none: the sandbox's numbers are not taken twice). Each one is drafted, preflighted and
    authorized like the editor's, one FECAESolicitar at a time. Commits.

    Raises `DemoFailed` when the sandbox refuses an invoice it should take; `ArcaCallFailed`
    and ARCA errors propagate. What was authorized before stays (a rerun adds nothing more).
    """
    if plan.authorized <= 0 or has_invoices(session, organization.id):
        return count_invoices(session, organization.id)
    rng = random.Random(plan.seed)  # noqa: S311 - repeatable demo data, not secrets
    points = _point_ids(session, organization.id)
    today = arca_today(gateway)
    receivers = _receivers(session, organization.id)
    if organization.iva_condition == IssuerCondition.RESPONSABLE_INSCRIPTO:
        drafts = responsable_inscripto_drafts(rng, points, receivers, today, plan.authorized)
    else:
        drafts = monotributo_drafts(rng, points, today, plan.authorized)
    first_a: int | None = None
    for draft in drafts:
        invoice = _authorized(session, gateway, organization, draft)
        if first_a is None and invoice.letter == "A" and invoice.currency == "PES":
            first_a = invoice.id
    if plan.extras:
        consumer = rng.choice(receivers.identified) if receivers.identified else None
        _rejected(session, gateway, organization, _counter_sale(rng, points[0], consumer, today))
        if first_a is not None:
            original = session.get_one(Invoice, first_a)
            note = note_from(session, organization, original, VoucherKind.CREDIT_NOTE, today, None)
            _authorize_checked(session, gateway, note)
        for draft in _extra_drafts(rng, points, receivers, today):
            save_draft(session, organization, draft, None)
    return count_invoices(session, organization.id)


def count_invoices(session: DbSession, organization_id: int) -> InvoiceCounts:
    rows = session.execute(
        select(Invoice.kind, Invoice.status, func.count())
        .where(Invoice.organization_id == organization_id)
        .group_by(Invoice.kind, Invoice.status)
    ).all()
    counts = {(str(kind), str(status)): int(count) for kind, status, count in rows}

    def total(status: InvoiceStatus, kind: VoucherKind | None = None) -> int:
        return sum(
            count for (k, s), count in counts.items() if s == status and (kind is None or k == kind)
        )

    special = session.execute(
        select(Invoice.invoice_type, func.count())
        .where(
            Invoice.organization_id == organization_id,
            Invoice.status == InvoiceStatus.AUTHORIZED,
            Invoice.invoice_type.in_((*FCE_INVOICES, EXPORT_INVOICE)),
        )
        .group_by(Invoice.invoice_type)
    ).all()
    by_type = {int(invoice_type): int(count) for invoice_type, count in special}
    session.commit()
    return InvoiceCounts(
        authorized=total(InvoiceStatus.AUTHORIZED, VoucherKind.INVOICE),
        drafts=total(InvoiceStatus.DRAFT),
        rejected=total(InvoiceStatus.REJECTED),
        credit_notes=total(InvoiceStatus.AUTHORIZED, VoucherKind.CREDIT_NOTE),
        fce=sum(by_type.get(code, 0) for code in FCE_INVOICES),
        export=by_type.get(EXPORT_INVOICE, 0),
    )


# --- FCE MiPyME and Factura E ---------------------------------------------------------------------

FCE_INVOICES = (201, 206, 211)
EXPORT_INVOICE = 19
# Above the sandbox's threshold (`wsfecred_data.FCE_THRESHOLD`, ARS 3.958.316) with its VAT.
SHELF_SERVICE = _product("Reposición y armado de góndolas en 12 sucursales (mes)", "3500000.00")
# Sold abroad in dollars, without VAT (an export).
CONSULTING = _product("Consultoría para abrir un almacén de productos argentinos", "2500.00")


def ensure_fce_and_export(
    session: DbSession, gateway: ArcaGateway, organization: Organization
) -> InvoiceCounts:
    """The organization's CBU, `LARGE_COMPANY` with an FCE MiPyME A above ARCA's threshold
    and `CUSTOMER_ABROAD` with a Factura E of services in dollars, each authorized once
    (through the same preflight and `authorize_invoice` as any other). A rerun adds nothing
    once they are authorized, and authorizes what a failed run left a draft. Commits.

    Raises `DemoFailed` when the sandbox refuses one of them; ARCA errors propagate.
    """
    if organization.cbu is None:  # an organization the demo made before it had a CBU
        organization.cbu, organization.cbu_alias = DEMO_CBU, "almacen.demo.cbu"
        session.commit()
    large = ensure_customer(session, organization.id, LARGE_COMPANY)
    abroad = ensure_customer(session, organization.id, CUSTOMER_ABROAD)
    point = _point_ids(session, organization.id)[0]
    today = arca_today(gateway)
    _issued_once(session, gateway, organization, FCE_INVOICES, _fce_invoice(point, large, today))
    export = _export_invoice(point, abroad, today)
    _issued_once(session, gateway, organization, (EXPORT_INVOICE,), export)
    return count_invoices(session, organization.id)


def ensure_customer(session: DbSession, organization_id: int, demo: DemoCustomer) -> int:
    """The customer's id, created (validated and audited as the form does) when missing. A
    customer abroad is found by country and tax id: its document is shared by its country."""
    data = validate_customer(demo.fields)
    if data.foreign_key is not None:
        existing = find_abroad(session, organization_id, *data.foreign_key)
    else:
        existing = find_by_document(session, organization_id, data.doc_type, data.doc_number)
    if existing is not None:
        return existing.id
    return create_customer(session, organization_id, demo.fields, None).id


def _issued_once(
    session: DbSession,
    gateway: ArcaGateway,
    organization: Organization,
    types: tuple[int, ...],
    draft: DraftInput,
) -> None:
    """Authorize `draft` unless an invoice of `types` is already authorized (or on its way:
    never a second one); a draft or rejected one left by an earlier run is rewritten and sent."""
    found = session.scalars(
        select(Invoice)
        .where(Invoice.organization_id == organization.id, Invoice.invoice_type.in_(types))
        .order_by(Invoice.id)
    ).all()
    if any(invoice.status not in EDITABLE for invoice in found):
        return
    pending = found[0] if found else None
    _authorize_checked(session, gateway, save_draft(session, organization, draft, None, pending))


def _fce_invoice(point: int, customer: int, today: dt.date) -> DraftInput:
    """A month of services to the large company, due in 30 days (FchVtoPago), as an FCE."""
    lines = [Line(SHELF_SERVICE.description, Decimal(1), SHELF_SERVICE.price)]
    return replace(_month_of_services(point, customer, lines, today), fce=True)


def _export_invoice(point: int, customer: int, today: dt.date) -> DraftInput:
    """Consulting for the customer abroad, in dollars at the demo's rate, printed in English."""
    lines = [Line(CONSULTING.description, Decimal(1), CONSULTING.price)]
    export = ExportInput(
        destination_country=212, language=2, payment_terms="Transferencia bancaria a 30 días"
    )
    return replace(
        _month_of_services(point, customer, lines, today),
        currency="DOL",
        currency_rate=DOLLAR_RATE,
        export=export,
    )


def _month_of_services(point: int, customer: int, lines: list[Line], today: dt.date) -> DraftInput:
    return DraftInput(
        point,
        customer,
        today,
        lines,
        concept=2,
        service_from=today.replace(day=1),
        service_to=today,
        payment_due=today + dt.timedelta(days=30),
    )


def _authorized(
    session: DbSession, gateway: ArcaGateway, organization: Organization, draft: DraftInput
) -> Invoice:
    return _authorize_checked(session, gateway, save_draft(session, organization, draft, None))


def _authorize_checked(session: DbSession, gateway: ArcaGateway, invoice: Invoice) -> Invoice:
    """The preflight the editor runs, then the authorization; anything but a CAE is a bug in
    the demo's data (or the sandbox), reported with ARCA's words."""
    problems = preflight_problems(session, invoice, gateway)
    if problems:
        raise DemoFailed(
            f"demo invoice {invoice.id} fails the preflight: "
            + "; ".join(problem.message for problem in problems)
        )
    done = authorize_invoice(session, invoice.id, gateway)
    if done.status != InvoiceStatus.AUTHORIZED:
        reasons = "; ".join(f"{m['code']} {m['text']}" for m in [*done.errors, *done.observations])
        raise DemoFailed(f"the sandbox did not authorize demo invoice {done.id}: {reasons}")
    return done


def _rejected(
    session: DbSession, gateway: ArcaGateway, organization: Organization, draft: DraftInput
) -> Invoice:
    """An invoice ARCA rejects with its reason: the sandbox is told to refuse the next voucher
    with 10048 (ImpTotal does not add up), and told to forget it afterwards."""
    invoice = save_draft(session, organization, draft, None)
    with _sandbox_rejects_next(gateway, 10048):
        done = authorize_invoice(session, invoice.id, gateway)
    if done.status != InvoiceStatus.REJECTED:
        raise DemoFailed(f"the sandbox did not reject demo invoice {done.id}: {done.status}")
    return done


@contextmanager
def _sandbox_rejects_next(gateway: ArcaGateway, code: int) -> Iterator[None]:
    """The sandbox rejects the next FECAESolicitar with `code` during the block (in-process, or
    a standalone one through its admin API); its faults are cleared after."""
    if gateway.in_process:
        faults = gateway.sandbox().faults
        faults.add(reject_next(code))
        try:
            yield
        finally:
            faults.clear()
        return
    url = str(gateway.base_url).rstrip("/") + "/_sandbox/faults"
    timeout = (gateway.timeouts.connect, gateway.timeouts.read)
    fault: dict[str, str | int] = {
        "kind": "reject_next",
        "code": code,
        "operation": "FECAESolicitar",
    }
    try:
        requests.post(url, json=fault, timeout=timeout).raise_for_status()
    except requests.RequestException as error:
        raise ServiceUnavailable(f"sandbox faults: {error}") from error
    try:
        yield
    finally:
        with suppress(requests.RequestException):
            requests.delete(url, timeout=timeout)


@dataclass(frozen=True)
class Receivers:
    """The organization's active customers (ids, in creation order) by the class they get."""

    class_a: list[int]  # responsables inscriptos and monotributistas
    identified: list[int]  # final consumers by DNI
    other_b: list[int]  # exempt associations


def _receivers(session: DbSession, organization_id: int) -> Receivers:
    rows = session.execute(
        select(Customer.id, Customer.doc_type, Customer.iva_condition)
        .where(Customer.organization_id == organization_id, Customer.archived_at.is_(None))
        .order_by(Customer.id)
    ).all()
    session.commit()
    return Receivers(
        class_a=[id_ for id_, doc, condition in rows if condition in (RI, MONOTRIBUTO)],
        identified=[id_ for id_, doc, _c in rows if doc == DNI],
        # The foreign client is left out: ARCA takes only digits as a document number.
        other_b=[id_ for id_, _d, condition in rows if condition == EXENTO],
    )


def _point_ids(session: DbSession, organization_id: int) -> list[int]:
    """The usable points of sale's ids, by number."""
    points = [p for p in list_points_of_sale(session, organization_id) if p.usable]
    if not points:
        raise DemoFailed("the sandbox listed no usable point of sale for the demo")
    return [point.id for point in sorted(points, key=lambda point: point.number)]


SERVICES_INVOICES = 8
DOLLAR_INVOICES = 2
WEIGHTS = ("0.350", "0.500", "0.750", "1.000", "1.250", "2.000")


def responsable_inscripto_drafts(
    rng: random.Random, points: list[int], receivers: Receivers, today: dt.date, count: int
) -> list[DraftInput]:
    """Mostly Factura B at the counter (anonymous or by DNI, prices with VAT), Factura A to
    companies and monotributistas (price list without VAT), a few services invoices and a
    couple in dollars; all dated today, so every sequence's dates are non-decreasing."""
    special = rng.sample(range(count), min(count, SERVICES_INVOICES + DOLLAR_INVOICES))
    services, dollars = set(special[:SERVICES_INVOICES]), set(special[SERVICES_INVOICES:])
    drafts = []
    for index in range(count):
        point = points[0] if rng.random() < 0.65 else points[-1]
        roll = rng.random()
        if index in services and receivers.class_a:
            drafts.append(_services(rng, point, rng.choice(receivers.class_a), today))
        elif index in dollars and receivers.class_a:
            drafts.append(_dollars(rng, point, rng.choice(receivers.class_a), today))
        elif roll < 0.45 or not (receivers.class_a and receivers.identified):
            drafts.append(_counter_sale(rng, point, None, today))
        elif roll < 0.65:
            drafts.append(_counter_sale(rng, point, rng.choice(receivers.identified), today))
        elif roll < 0.70 and receivers.other_b:
            drafts.append(_counter_sale(rng, point, rng.choice(receivers.other_b), today))
        else:
            drafts.append(_wholesale(rng, point, rng.choice(receivers.class_a), today))
    return drafts


def monotributo_drafts(
    rng: random.Random, points: list[int], today: dt.date, count: int
) -> list[DraftInput]:
    """Factura C to final consumers: design work (services) and a few printed goods."""
    drafts = []
    for _index in range(count):
        if rng.random() < 0.6:
            work = rng.choice(ANA_WORK)
            lines = [Line(work.description, Decimal(1), work.price)]
            drafts.append(_with_service_dates(rng, points[0], None, lines, today, False))
        else:
            goods = rng.sample(ANA_GOODS, rng.randint(1, len(ANA_GOODS)))
            lines = [Line(g.description, Decimal(rng.randint(1, 3)), g.price) for g in goods]
            drafts.append(DraftInput(points[0], None, today, lines))
    return drafts


def _counter_sale(
    rng: random.Random, point: int, customer: int | None, today: dt.date
) -> DraftInput:
    """A Factura B: a few things off the shelves, prices as labelled (VAT included)."""
    lines = [
        Line(
            product.description,
            Decimal(rng.choice(WEIGHTS)) if product.weighed else Decimal(rng.randint(1, 4)),
            product.price,
            vat=product.vat,
        )
        for product in rng.sample(GROCERIES, rng.randint(1, 6))
    ]
    return DraftInput(point, customer, today, lines, prices_include_vat=True)


def _wholesale(rng: random.Random, point: int, customer: int, today: dt.date) -> DraftInput:
    """A Factura A: boxes and kilos at list prices without VAT, now and then a discount."""
    lines = [
        Line(
            product.description,
            Decimal(rng.choice((5, 10, 20, 40)) if product.weighed else rng.choice((6, 12, 24))),
            _without_vat(product),
            Decimal(rng.choice((0, 0, 0, 5, 10))),
            product.vat,
        )
        for product in rng.sample(GROCERIES, rng.randint(2, 7))
    ]
    return DraftInput(point, customer, today, lines)


def _services(rng: random.Random, point: int, customer: int, today: dt.date) -> DraftInput:
    service = rng.choice(ALMACEN_SERVICES)
    lines = [Line(service.description, Decimal(1), _without_vat(service))]
    return _with_service_dates(rng, point, customer, lines, today, False)


def _with_service_dates(
    rng: random.Random,
    point: int,
    customer: int | None,
    lines: list[Line],
    today: dt.date,
    prices_include_vat: bool,
) -> DraftInput:
    """Concept 2 (services) for this month so far, due in 10 to 30 days."""
    return DraftInput(
        point,
        customer,
        today,
        lines,
        concept=2,
        service_from=today.replace(day=1),
        service_to=today,
        payment_due=today + dt.timedelta(days=rng.choice((10, 15, 30))),
        prices_include_vat=prices_include_vat,
    )


def _dollars(rng: random.Random, point: int, customer: int, today: dt.date) -> DraftInput:
    lines = [
        Line(product.description, Decimal(rng.randint(2, 20)), product.price)
        for product in rng.sample(IMPORTED, rng.randint(1, len(IMPORTED)))
    ]
    return DraftInput(point, customer, today, lines, currency="DOL", currency_rate=DOLLAR_RATE)


def _extra_drafts(
    rng: random.Random, points: list[int], receivers: Receivers, today: dt.date
) -> list[DraftInput]:
    """Three drafts left for the user to finish: a counter sale, a wholesale order, a service."""
    drafts = [_counter_sale(rng, points[0], None, today)]
    if receivers.class_a:
        drafts.append(_wholesale(rng, points[-1], rng.choice(receivers.class_a), today))
        drafts.append(_services(rng, points[-1], rng.choice(receivers.class_a), today))
    return drafts


def _without_vat(product: Product) -> Decimal:
    """The price list's figure for Factura A: the shelf price without its VAT, to cents."""
    return net_of_vat(product.price, rate_percent(product.vat) or Decimal(0))
