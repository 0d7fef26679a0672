"""Certificates: a key and CSR made here, the certificate ARCA returns, imports, the lifecycle.

Every function that changes something commits its work together with its audit event, or on
any error changes nothing. Private keys are stored only as `core.crypto` tokens and opened only
by `load_credential`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import select

from arca import pki
from arca.cuit import format_cuit
from arca.environments import SANDBOX
from arca.errors import ServiceUnavailable
from arca.tickets import Credential
from blueprints.audit.services import record_event
from blueprints.auth.models import User
from blueprints.certificates.models import Certificate, CertificateState, CertificateStatus
from blueprints.certificates.trust import environment_authority
from blueprints.organizations.models import Organization
from core.arca import ArcaGateway
from core.crypto import KeyRing
from core.db import DbSession
from core.errors import Conflict, NotFound, ValidationFailed
from core.i18n import format_moment
from core.inputs import UNSAFE_CHARACTERS

# A certificate from ARCA is about 1.5 KB; anything far larger is not one.
MAX_FILE_BYTES = 64 * 1024
ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")


class CertificateRefused(ValidationFailed):
    """An uploaded or imported file that cannot become the organization's certificate."""


@dataclass(frozen=True)
class UploadedFile:
    name: str
    data: bytes


def key_aad(organization_id: int, public_key_sha256: str) -> bytes:
    """Binds a private key's ciphertext to its organization and its public key."""
    return f"certificates.private_key:{organization_id}:{public_key_sha256}".encode()


def list_certificates(session: DbSession, organization_id: int) -> list[Certificate]:
    """Newest first, every environment."""
    query = (
        select(Certificate)
        .where(Certificate.organization_id == organization_id)
        .order_by(Certificate.created_at.desc(), Certificate.id.desc())
    )
    return list(session.scalars(query))


def active_certificate(
    session: DbSession, organization_id: int, environment: str
) -> Certificate | None:
    return session.scalar(
        select(Certificate).where(
            Certificate.organization_id == organization_id,
            Certificate.environment == environment,
            Certificate.status == CertificateStatus.ACTIVE,
        )
    )


def get_certificate(session: DbSession, organization_id: int, certificate_id: int) -> Certificate:
    certificate = session.get(Certificate, certificate_id)
    if certificate is None or certificate.organization_id != organization_id:
        raise NotFound(_("No encontramos ese certificado."))
    return certificate


def default_alias(today: dt.date) -> str:
    """A new alias per request: ARCA wants a new one for each renewal."""
    return f"talonario-{today:%Y%m%d}"


def generate_request(
    session: DbSession,
    organization: Organization,
    user: User | None,
    environment: str,
    alias: str,
    keyring: KeyRing,
) -> Certificate:
    """A new RSA-2048 key (stored encrypted) and its CSR, in state pending. Commits."""
    alias = alias.strip()
    if not ALIAS.match(alias):
        raise ValidationFailed(
            _("El alias lleva letras, números, puntos o guiones, sin espacios (hasta 50)."),
            field="alias",
        )
    key = pki.generate_private_key()
    csr = pki.build_csr(key, organization.legal_name, alias, organization.cuit)
    certificate = _new_certificate(organization, user, environment, alias, key, keyring)
    certificate.csr_pem = csr.decode()
    session.add(certificate)
    session.flush()
    _audit(session, certificate, user, "certificate.generate")
    session.commit()
    return certificate


def install_certificate(
    session: DbSession,
    organization: Organization,
    user: User | None,
    certificate: Certificate,
    upload: UploadedFile,
    now: dt.datetime,
) -> Certificate:
    """Put ARCA's certificate (PEM or DER) on its pending key and make it the active one.

    Checked first, nothing stored on failure (`CertificateRefused` says why): the file parses,
    its CUIT is the organization's, it was issued for this key, its CA is the environment's, and
    `now` is within its dates. Replaces the environment's active certificate. Commits.
    """
    if certificate.certificate_pem is not None:
        raise Conflict(_("Esta solicitud ya tiene su certificado."))
    info = _read_certificate(upload)
    _check_certificate(info, organization, certificate.environment, now)
    if info.public_key_sha256 != certificate.public_key_sha256:
        raise CertificateRefused(
            _(
                "El certificado no corresponde a la clave de la solicitud «%(alias)s»: ARCA lo "
                "emitió para otro CSR. Subí el certificado que obtuviste con este CSR.",
                alias=certificate.alias,
            )
        )
    _fill(certificate, info, now)
    _activate(session, certificate, now)
    _audit(session, certificate, user, "certificate.upload", fingerprint=info.fingerprint)
    session.commit()
    return certificate


def issue_with_sandbox_ca(
    session: DbSession,
    organization: Organization,
    user: User | None,
    certificate: Certificate,
    gateway: ArcaGateway,
) -> Certificate:
    """The portal's step done by the sandbox's CA, then installed as an upload would be."""
    if gateway.environment_name != SANDBOX or certificate.environment != SANDBOX:
        raise Conflict(_("La CA de prueba solo existe en el sandbox."))
    if certificate.csr_pem is None or certificate.certificate_pem is not None:
        raise Conflict(_("Esta solicitud ya tiene su certificado."))
    try:
        issued = gateway.issue_sandbox_certificate(certificate.csr_pem.encode())
    except ServiceUnavailable as error:
        raise Conflict(_("El sandbox no responde: %(error)s", error=error)) from error
    upload = UploadedFile(f"{certificate.alias}.crt", issued)
    return install_certificate(session, organization, user, certificate, upload, gateway.now())


def import_pair(
    session: DbSession,
    organization: Organization,
    user: User | None,
    environment: str,
    key_file: UploadedFile,
    certificate_file: UploadedFile,
    password: str,
    now: dt.datetime,
    keyring: KeyRing,
) -> Certificate:
    """An existing key (PEM/DER, maybe encrypted) and its certificate; active at once. Commits."""
    secret = password.encode() or None
    _check_size(key_file)
    try:
        key = pki.load_private_key(key_file.data, secret)
    except pki.CertificateFileError as error:
        raise CertificateRefused(_key_message(error), field="key_file") from error
    info = _read_certificate(certificate_file)
    return _import(session, organization, user, environment, key, info, now, keyring)


def import_pkcs12(
    session: DbSession,
    organization: Organization,
    user: User | None,
    environment: str,
    bundle: UploadedFile,
    password: str,
    now: dt.datetime,
    keyring: KeyRing,
) -> Certificate:
    """A PKCS#12 (.p12/.pfx) holding key and certificate; active at once. Commits."""
    _check_size(bundle)
    try:
        key, x509_certificate = pki.load_pkcs12(bundle.data, password.encode() or None)
    except pki.CertificateFileError as error:
        raise CertificateRefused(_pkcs12_message(error), field="bundle") from error
    info = pki.describe(x509_certificate)
    return _import(session, organization, user, environment, key, info, now, keyring)


def activate_certificate(
    session: DbSession, user: User | None, certificate: Certificate, now: dt.datetime
) -> Certificate:
    """Make a replaced (still valid) certificate the active one again. Commits."""
    if certificate.status == CertificateStatus.ACTIVE:
        return certificate
    if certificate.status == CertificateStatus.PENDING:
        raise Conflict(_("Primero subí el certificado que emitió ARCA para esta solicitud."))
    if certificate.state(now) == CertificateState.EXPIRED:
        raise Conflict(_("Ese certificado está vencido: no se puede activar."))
    _activate(session, certificate, now)
    _audit(session, certificate, user, "certificate.activate")
    session.commit()
    return certificate


def delete_certificate(
    session: DbSession, user: User | None, certificate: Certificate, now: dt.datetime
) -> None:
    """Delete a certificate and its key for good. The active one only once it has expired."""
    if (
        certificate.status == CertificateStatus.ACTIVE
        and certificate.state(now) != CertificateState.EXPIRED
    ):
        raise Conflict(
            _("Es el certificado con el que facturás: activá o subí otro antes de borrarlo.")
        )
    _audit(session, certificate, user, "certificate.delete", alias=certificate.alias)
    session.delete(certificate)
    session.commit()


def load_credential(session: DbSession, certificate: Certificate, keyring: KeyRing) -> Credential:
    """The one place a private key is decrypted: for signing WSAA's login request, in memory."""
    if certificate.certificate_pem is None:
        raise Conflict(_("Esta solicitud todavía no tiene su certificado."))
    organization = session.get_one(Organization, certificate.organization_id)
    key_pem = keyring.decrypt(
        certificate.private_key,
        key_aad(certificate.organization_id, certificate.public_key_sha256),
    )
    if not key_pem:  # destroyed when the organization was closed (organizations/closing.py)
        raise Conflict(
            _("La clave privada de este certificado se destruyó al cerrar la organización.")
        )
    return Credential(
        cuit=organization.cuit,
        certificate_pem=certificate.certificate_pem.encode(),
        private_key_pem=key_pem,
    )


def certificate_alert(
    session: DbSession, organization_id: int, environment: str, now: dt.datetime
) -> Certificate | None:
    """The active certificate when it needs attention (expiring within 30 days, or expired)."""
    certificate = active_certificate(session, organization_id, environment)
    if certificate is None:
        return None
    if certificate.state(now) in (CertificateState.EXPIRING, CertificateState.EXPIRED):
        return certificate
    return None


def has_active_certificate(session: DbSession, organization_id: int, environment: str) -> bool:
    certificate = active_certificate(session, organization_id, environment)
    return certificate is not None and certificate.state() != CertificateState.EXPIRED


# --- helpers ---------------------------------------------------------------------------------


def _new_certificate(
    organization: Organization,
    user: User | None,
    environment: str,
    alias: str,
    key: rsa.RSAPrivateKey,
    keyring: KeyRing,
) -> Certificate:
    public_sha = pki.public_key_sha256(key.public_key())
    return Certificate(
        organization_id=organization.id,
        environment=environment,
        alias=alias,
        status=CertificateStatus.PENDING,
        public_key_sha256=public_sha,
        private_key=keyring.encrypt(pki.private_key_pem(key), key_aad(organization.id, public_sha)),
        created_by_id=user.id if user else None,
    )


def _import(
    session: DbSession,
    organization: Organization,
    user: User | None,
    environment: str,
    key: rsa.RSAPrivateKey,
    info: pki.CertificateInfo,
    now: dt.datetime,
    keyring: KeyRing,
) -> Certificate:
    _check_certificate(info, organization, environment, now)
    if pki.public_key_sha256(key.public_key()) != info.public_key_sha256:
        raise CertificateRefused(
            _("La clave privada no corresponde al certificado: son de pares distintos."),
            field="key_file",
        )
    _refuse_known_key(session, organization.id, info.public_key_sha256)
    certificate = _new_certificate(
        organization, user, environment, imported_alias(info.alias), key, keyring
    )
    _fill(certificate, info, now)
    session.add(certificate)
    session.flush()
    _activate(session, certificate, now)
    _audit(session, certificate, user, "certificate.import", fingerprint=info.fingerprint)
    session.commit()
    return certificate


def imported_alias(common_name: str | None) -> str:
    """An imported certificate's CN as its alias: any certificate can be imported, and its CN
    may be longer than the column or hold characters the database cannot store."""
    alias = UNSAFE_CHARACTERS.sub("", common_name or "").strip()[:64]  # alias: String(64)
    return alias or "importado"


def _refuse_known_key(session: DbSession, organization_id: int, public_key_sha256: str) -> None:
    known = session.scalar(
        select(Certificate).where(
            Certificate.organization_id == organization_id,
            Certificate.public_key_sha256 == public_key_sha256,
        )
    )
    if known is not None:
        raise Conflict(_("Ese certificado ya está cargado (alias «%(alias)s»).", alias=known.alias))


def _check_size(upload: UploadedFile) -> None:
    if not upload.data:
        raise CertificateRefused(_("El archivo «%(name)s» está vacío.", name=upload.name))
    if len(upload.data) > MAX_FILE_BYTES:
        raise CertificateRefused(
            _(
                "El archivo «%(name)s» pesa %(size)s KB: un certificado o una clave de ARCA pesa "
                "unos pocos KB. Revisá que sea el archivo correcto.",
                name=upload.name,
                size=len(upload.data) // 1024,
            )
        )


def _read_certificate(upload: UploadedFile) -> pki.CertificateInfo:
    _check_size(upload)
    try:
        return pki.describe(pki.load_certificate(upload.data))
    except pki.CertificateFileError as error:
        raise CertificateRefused(
            _(
                "«%(name)s» no es un certificado X.509 (ni PEM ni DER). Subí el archivo .crt "
                "que descargaste de ARCA.",
                name=upload.name,
            ),
            field="certificate_file",
        ) from error


def _check_certificate(
    info: pki.CertificateInfo, organization: Organization, environment: str, now: dt.datetime
) -> None:
    """The checks every certificate passes before it is stored, in the order a user fixes them."""
    if info.subject_cuit is None:
        raise CertificateRefused(
            _(
                "El certificado no tiene una CUIT en su sujeto (serialNumber=CUIT …): no es un "
                "certificado de ARCA para web services."
            )
        )
    if info.subject_cuit != organization.cuit:
        raise CertificateRefused(
            _(
                "El certificado es de la CUIT %(theirs)s, no de %(ours)s (esta organización).",
                theirs=format_cuit(info.subject_cuit),
                ours=format_cuit(organization.cuit),
            )
        )
    _check_issuer(info, environment)
    _check_dates(info, now)


def _check_issuer(info: pki.CertificateInfo, environment: str) -> None:
    # An unknown issuer is let through for ARCA's environments (ARCA may rename its CAs; WSAA
    # has the last word), but the sandbox's CA is ours: nothing else can work there.
    if environment == SANDBOX and info.issuer_environment != SANDBOX:
        raise CertificateRefused(
            _(
                "Este certificado no lo emitió la CA de prueba del sandbox (emisor: %(issuer)s). "
                "En el sandbox usá «Emitir con la CA de prueba».",
                issuer=info.issuer,
            )
        )
    if info.issuer_environment not in (None, environment):
        raise CertificateRefused(
            _(
                "Este certificado lo emitió la autoridad de %(issuer)s, pero es para "
                "%(environment)s: cada ambiente de ARCA tiene su propia autoridad.",
                issuer=environment_name(info.issuer_environment or ""),
                environment=environment_name(environment),
            )
        )
    _check_signature(info, environment)


def _check_signature(info: pki.CertificateInfo, environment: str) -> None:
    """The issuer proven by signature wherever the environment's CA is known (the sandbox's;
    ARCA's are not shipped, see `trust`): a CA merely *named* like it is refused."""
    try:
        authority = environment_authority(environment)
    except ServiceUnavailable as error:
        raise Conflict(_("El sandbox no responde: %(error)s", error=error)) from error
    if authority is None:
        if environment == SANDBOX:  # the app runs against ARCA: no sandbox CA to ask
            raise CertificateRefused(
                _("No podemos verificar este certificado del sandbox: la aplicación usa ARCA.")
            )
        return
    if not pki.issued_by(pki.load_certificate(info.pem), authority):
        raise CertificateRefused(
            _(
                "El certificado dice que lo emitió «%(issuer)s», pero su firma no es de esa "
                "autoridad: no lo emitió la CA de %(environment)s. Subí el certificado que "
                "descargaste de ARCA (o, en el sandbox, usá «Emitir con la CA de prueba»).",
                issuer=info.issuer,
                environment=environment_name(environment),
            )
        )


def _check_dates(info: pki.CertificateInfo, now: dt.datetime) -> None:
    if now >= info.not_valid_after:
        raise CertificateRefused(
            _(
                "El certificado venció el %(day)s. Generá una solicitud nueva y pedí otro a ARCA.",
                day=format_moment(info.not_valid_after),
            )
        )
    if now < info.not_valid_before:
        raise CertificateRefused(
            _(
                "El certificado recién es válido desde el %(day)s. Revisá la fecha y hora del "
                "servidor.",
                day=format_moment(info.not_valid_before),
            )
        )


def environment_name(environment: str) -> str:
    names = {
        "sandbox": _("el sandbox"),
        "homologacion": _("homologación"),
        "produccion": _("producción"),
    }
    return names.get(environment, environment)


def _fill(certificate: Certificate, info: pki.CertificateInfo, now: dt.datetime) -> None:
    certificate.certificate_pem = info.pem.decode()
    certificate.fingerprint = info.fingerprint
    # As long as their columns: what a certificate holds is the issuer's choice, not ours.
    certificate.issuer = info.issuer[:300]
    certificate.serial_number = info.serial_number[:64]
    certificate.not_valid_before = info.not_valid_before
    certificate.not_valid_after = info.not_valid_after
    certificate.installed_at = now


def _activate(session: DbSession, certificate: Certificate, now: dt.datetime) -> None:
    previous = active_certificate(session, certificate.organization_id, certificate.environment)
    if previous is not None and previous.id != certificate.id:
        previous.status = CertificateStatus.REPLACED
        previous.replaced_at = now
        # The partial unique index allows one active row: write the demotion first.
        session.flush()
    certificate.status = CertificateStatus.ACTIVE
    certificate.replaced_at = None


def _audit(
    session: DbSession, certificate: Certificate, user: User | None, action: str, **details: str
) -> None:
    record_event(
        session,
        certificate.organization_id,
        action,
        user,
        subject=("certificate", certificate.id),
        details={"alias": certificate.alias, "environment": certificate.environment, **details},
    )


def _cost_message(error: pki.CertificateFileError) -> str | None:
    """Why a file whose key derivation is too costly, or unknowable, is refused; else None."""
    if isinstance(error, pki.KdfTooCostly) and error.kind == "scrypt":
        return _(
            "El archivo pide una derivación de clave scrypt desmedida (%(value)s; aceptamos "
            "hasta %(cap)s). Exportalo de nuevo con los valores habituales de OpenSSL.",
            value=format_decimal(error.value),
            cap=format_decimal(error.cap),
        )
    if isinstance(error, pki.KdfTooCostly):
        return _(
            "El archivo pide %(value)s vueltas de derivación de la clave: los de ARCA y OpenSSL "
            "usan unas pocas miles y aceptamos hasta %(cap)s. Exportalo de nuevo con los "
            "valores habituales.",
            value=format_decimal(error.value),
            cap=format_decimal(error.cap),
        )
    if isinstance(error, pki.UnsupportedEncryption):
        return _(
            "El archivo está cifrado con un método antiguo o poco común que no podemos revisar "
            "antes de abrirlo. Exportalo de nuevo con OpenSSL 3 (cifrado AES) o subí la clave y "
            "el certificado por separado."
        )
    return None


def _key_message(error: pki.CertificateFileError) -> str:
    cost = _cost_message(error)
    if cost is not None:
        return cost
    if isinstance(error, pki.PasswordRequired):
        return _("La clave privada está cifrada: escribí su contraseña.")
    if isinstance(error, pki.WrongPassword):
        return _("La contraseña no abre la clave privada.")
    if isinstance(error, pki.UnsupportedKey):
        return _("ARCA solo acepta claves RSA de 2048 bits o más.")
    return _("El archivo de la clave no es una clave privada (PEM o DER).")


def _pkcs12_message(error: pki.CertificateFileError) -> str:
    cost = _cost_message(error)
    if cost is not None:
        return cost
    if isinstance(error, pki.PasswordRequired):
        return _("El archivo PKCS#12 está protegido: escribí su contraseña.")
    if isinstance(error, pki.WrongPassword):
        return _("La contraseña del archivo PKCS#12 no es correcta.")
    if isinstance(error, pki.UnsupportedKey):
        return _("ARCA solo acepta claves RSA de 2048 bits o más.")
    return _("El archivo no es un PKCS#12 (.p12 o .pfx) con una clave y su certificado.")
