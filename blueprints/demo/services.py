"""The demo data: one user who owns two organizations, each with a certificate and points of sale,
and the first with 50 customers.

Sandbox only: the certificates come from the sandbox's CA and the points of sale from its
WSFEv1. Every step is skipped when its result is already there, so a second run changes
nothing; `reset` first deletes the demo organizations (everything of theirs goes with them).
An organization that holds a demo CUIT but is not the demo user's is never touched.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from arca.codes import DocumentType, IssuerCondition
from arca.environments import SANDBOX
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
from blueprints.customers.services import create_customer, set_archived, validate_customer
from blueprints.organizations.models import Membership, Organization, Role
from blueprints.organizations.services import OrganizationDetails, create_organization
from blueprints.points_of_sale.services import list_points_of_sale, merge_points_of_sale
from core.arca import ArcaGateway
from core.crypto import KeyRing
from core.db import DbSession
from core.errors import Conflict
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


@dataclass(frozen=True)
class DemoOrganization:
    details: OrganizationDetails
    points_of_sale: tuple[int, ...]
    customers: tuple[DemoCustomer, ...] = ()


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
        ),
        points_of_sale=(1, 2),
        customers=DEMO_CUSTOMERS,
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
    ),
)


class DemoRefused(Conflict):
    """The demo cannot be made here (not the sandbox, or a demo CUIT taken by someone else)."""


@dataclass(frozen=True)
class DemoReport:
    organization: Organization
    certificate: Certificate
    points_of_sale: list[int]
    customers: int  # the organization's customers, the demo's among them
    created: bool


def create_demo(
    session: DbSession, gateway: ArcaGateway, keyring: KeyRing, reset: bool = False
) -> tuple[User, list[DemoReport]]:
    """Make whatever part of the demo data is missing (all of it again with `reset`). Commits.

    Raises `DemoRefused` outside the sandbox, before touching anything; ARCA errors from the
    sandbox's WSFEv1 propagate (the parts made before stay, and a rerun completes them).
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
    """Delete the demo user's organizations with a demo CUIT (cascading). Commits."""
    owned = (
        select(Membership.organization_id)
        .join(User, Membership.user_id == User.id)
        .where(User.email == DEMO_EMAIL, Membership.role == Role.OWNER)
    )
    cuits = [demo.details.cuit for demo in DEMO_ORGANIZATIONS]
    query = select(Organization).where(Organization.cuit.in_(cuits), Organization.id.in_(owned))
    organizations = list(session.scalars(query))
    for organization in organizations:
        session.delete(organization)
    session.commit()
    return len(organizations)


def ensure_user(session: DbSession, reset: bool) -> User:
    """The demo user; with `reset`, its name and password set back to the demo's. Commits."""
    user = session.scalar(select(User).where(User.email == DEMO_EMAIL))
    if user is None:
        user = build_user(session, AccountDetails(DEMO_NAME, DEMO_EMAIL, DEMO_PASSWORD))
        session.add(user)
    elif reset:
        user.name, user.password_hash = DEMO_NAME, hash_password(DEMO_PASSWORD)
    session.commit()
    return user


def ensure_organization(
    session: DbSession, gateway: ArcaGateway, keyring: KeyRing, user: User, demo: DemoOrganization
) -> DemoReport:
    """The organization, its active certificate, points of sale and customers. Commits."""
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
    return DemoReport(organization, certificate, numbers, customers, created)


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
    count = select(func.count()).select_from(Customer)
    return session.scalar(count.where(Customer.organization_id == organization_id)) or 0
